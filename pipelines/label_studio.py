"""The only module that imports label_studio_sdk: anchor tasks out to Label Studio and back."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipelines import dictionary
from pipelines.anchors import LABELS, merge
from pipelines.store import Store
from pipelines.store.anchors import forget_chunks, proposals_by_chunk
from pipelines.store.projects import ProjectInfo, submissions_of_kind
from pipelines.types import Actor, UnlearnError

TEMPLATES = Path(__file__).resolve().parents[1] / "annotation_templates"
TEMPLATE = "anchor_terms"
MODEL_VERSION = "unlearn-studio proposals"
LABEL_TAG, TRANSLATION_TAG, TEXT_TAG = "anchor", "translation", "text"
DEFAULT_URL = os.environ.get("UNLEARN_LS_URL", "http://127.0.0.1:8080")


def default_token() -> str:
    return os.environ.get("UNLEARN_LS_TOKEN", "")


def load_template(name: str = TEMPLATE) -> str:
    path = TEMPLATES / f"{name}.xml"
    if not path.is_file():
        raise UnlearnError(f"No annotation template {name!r} in {TEMPLATES}.")
    return path.read_text(encoding="utf-8")


# ---------- offsets: Python indexes code points, Label Studio counts UTF-16 units ----------


def to_utf16(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


def from_utf16(text: str, units: int) -> int:
    """The code-point index at `units` UTF-16 units; a position inside a surrogate pair fails."""
    count = 0
    for i, ch in enumerate(text):
        if count == units:
            return i
        count += 2 if ord(ch) > 0xFFFF else 1
        if count > units:
            raise UnlearnError(f"Offset {units} falls inside the character {ch!r}.")
    if count == units:
        return len(text)
    raise UnlearnError(f"Offset {units} lies past the end of the text.")


# ---------- connection ----------


@dataclass(frozen=True)
class Connection:
    url: str
    token: str

    @classmethod
    def from_env(cls, url: str | None = None, token: str | None = None) -> Connection:
        url = url or os.environ.get("UNLEARN_LS_URL", "")
        token = token or os.environ.get("UNLEARN_LS_TOKEN", "")
        if not url or not token:
            raise UnlearnError(
                "Label Studio needs a URL and an access token (--url/--token, or "
                "UNLEARN_LS_URL and UNLEARN_LS_TOKEN)."
            )
        return cls(url.rstrip("/"), token)


def connect(conn: Connection):
    """An SDK client, checked with one request so a down server gives a clear message."""
    from label_studio_sdk import LabelStudio

    client = LabelStudio(base_url=conn.url, api_key=conn.token, timeout=30)
    try:
        client.projects.list(page_size=1)
    except Exception as err:  # noqa: BLE001 - the SDK raises httpx and API errors alike
        raise UnlearnError(f"Label Studio at {conn.url} is not reachable: {_reason(err)}") from None
    return client


def _reason(err: Exception) -> str:
    status = getattr(err, "status_code", None)
    if status == 401:
        return "the access token was refused (401)"
    return f"{type(err).__name__}: {err}"[:300]


def project_title(project: ProjectInfo) -> str:
    return f"{project.name} · anchor terms"


def find_project(client, project: ProjectInfo):
    title = project_title(project)
    return next((p for p in client.projects.list() if p.title == title), None)


# ---------- push ----------


def regions(text: str, spans: Sequence[dict]) -> list[dict]:
    """Label and translation results per span, joined by one region id."""
    out = []
    for i, span in enumerate(spans):
        rid = f"r{i}-{span['start']}"
        where = {
            "start": to_utf16(text, span["start"]),
            "end": to_utf16(text, span["end"]),
            "text": text[span["start"] : span["end"]],
        }
        common = {"id": rid, "to_name": TEXT_TAG, "origin": "prediction"}
        out.append(
            common
            | {
                "from_name": LABEL_TAG,
                "type": "labels",
                "score": span.get("score", 1.0),
                "value": where | {"labels": [span["label"]]},
            }
        )
        out.append(
            common
            | {
                "from_name": TRANSLATION_TAG,
                "type": "textarea",
                "value": where | {"text": [span["translation"]]},
            }
        )
    return out


def task_for(chunk_id: int, text: str, spans: Sequence[dict]) -> dict:
    score = min((s.get("score", 1.0) for s in spans), default=0.0)
    return {
        "data": {"text": text, "chunk_id": chunk_id},
        "predictions": [
            {"model_version": MODEL_VERSION, "score": score, "result": regions(text, spans)}
        ],
    }


@dataclass
class PushResult:
    ls_project_id: int
    created: int
    skipped: int


def push(client, project: ProjectInfo, store: Store) -> PushResult:
    """Create (or reuse) the Label Studio project and add a task per chunk not yet there."""
    ls_project = find_project(client, project)
    if ls_project is None:
        ls_project = client.projects.create(
            title=project_title(project),
            label_config=load_template(),
            description=project.target_description or "Anchor terms for unlearning",
        )
    present = {(t.data or {}).get("chunk_id") for t in client.tasks.list(project=ls_project.id)}
    proposals = proposals_by_chunk(store, project.id)
    tasks = [
        task_for(c.id, c.text, merge(proposals.get(c.id, [])))
        for c in forget_chunks(store, project.id)
        if c.id not in present
    ]
    if tasks:
        client.projects.import_tasks(id=ls_project.id, request=tasks)
    return PushResult(ls_project.id, len(tasks), len(present - {None}))


# ---------- pull ----------


@dataclass
class Pulled:
    chunk_id: int
    annotation_id: int
    annotator: str
    updated_at: str
    spans: list[dict]


@dataclass
class PullResult:
    stored: int = 0
    unchanged: int = 0
    failures: list[str] = field(default_factory=list)


def spans_from_result(text: str, result: Sequence[dict]) -> list[dict]:
    """Label Studio results -> spans with Python offsets, each with its region's translation."""
    by_region: dict[str, dict] = {}
    for item in result:
        region = by_region.setdefault(item["id"], {})
        value = item.get("value", {})
        if item.get("from_name") == LABEL_TAG and value.get("labels"):
            region["start"] = from_utf16(text, value["start"])
            region["end"] = from_utf16(text, value["end"])
            region["text"] = text[region["start"] : region["end"]]
            region["label"] = value["labels"][0]
        elif item.get("from_name") == TRANSLATION_TAG:
            region["translation"] = " ".join(value.get("text") or [])
    spans = []
    for rid, region in by_region.items():
        if "start" not in region:
            continue  # a translation without its label region
        if region["label"] not in LABELS:
            raise UnlearnError(f"Region {rid} has the unknown label {region['label']!r}.")
        spans.append(
            {k: region[k] for k in ("start", "end", "text", "label")}
            | {"translation": region.get("translation", "")}
        )
    return sorted(spans, key=lambda s: s["start"])


def annotations(export: Sequence[dict], emails: dict[int, str]) -> list[Pulled]:
    """Finished annotations from a full JSON export (the only format that keeps region ids)."""
    found = []
    for task in export:
        text, chunk_id = task["data"]["text"], task["data"].get("chunk_id")
        for ann in task.get("annotations", []):
            if ann.get("was_cancelled") or chunk_id is None:
                continue
            who = ann.get("completed_by")
            who = who.get("email", who.get("id")) if isinstance(who, dict) else emails.get(who, who)
            found.append(
                Pulled(
                    int(chunk_id),
                    ann["id"],
                    f"ls:{who}",
                    str(ann.get("updated_at") or ann.get("created_at")),
                    spans_from_result(text, ann.get("result", [])),
                )
            )
    return found


def export_tasks(client, ls_project_id: int) -> list[dict]:
    import json

    raw = b"".join(
        client.projects.exports.download_sync(
            id=ls_project_id, export_type="JSON", download_all_tasks=True
        )
    )
    return json.loads(raw)


def pull(
    client,
    project: ProjectInfo,
    store: Store,
    actor: Actor,
    progress: Callable[[int, int], None] | None = None,
) -> PullResult:
    """Store each new or changed Label Studio annotation as its annotator's own submission."""
    ls_project = find_project(client, project)
    if ls_project is None:
        raise UnlearnError(f"Label Studio has no project {project_title(project)!r}; push first.")
    emails = {u.id: u.email for u in client.users.list()}
    seen = {
        (row.payload.get("ls_annotation_id"), row.payload.get("ls_updated_at"))
        for row in submissions_of_kind(store, project.id, dictionary.CHUNK_KIND)
    }
    texts = {c.id: c.text for c in forget_chunks(store, project.id)}
    result = PullResult()
    pulled = annotations(export_tasks(client, ls_project.id), emails)
    for i, ann in enumerate(pulled):
        if progress:
            progress(i, len(pulled))
        if (ann.annotation_id, ann.updated_at) in seen:
            result.unchanged += 1
            continue
        if ann.chunk_id not in texts:
            result.failures.append(f"annotation {ann.annotation_id}: chunk {ann.chunk_id} is gone")
            continue
        try:
            dictionary.submit_chunk(
                store,
                actor,
                project,
                ann.chunk_id,
                texts[ann.chunk_id],
                ann.spans,
                annotator=ann.annotator,
                origin="label_studio",
                ls_annotation_id=ann.annotation_id,
                ls_updated_at=ann.updated_at,
            )
            result.stored += 1
        except UnlearnError as err:
            result.failures.append(f"annotation {ann.annotation_id}: {err}")
    return result
