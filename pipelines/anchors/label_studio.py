"""The only module that imports label_studio_sdk: anchor tasks out to Label Studio and back."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from pipelines.config import REPO_ROOT
from pipelines.types import ANCHOR_LABELS, UnlearnError

TEMPLATES = REPO_ROOT / "annotation_templates"
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


def project_title(project_name: str) -> str:
    return f"{project_name} · anchor terms"


def find_project(client, project_name: str):
    title = project_title(project_name)
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


def push(
    client, project_name: str, description: str, chunks: Sequence[tuple[int, str, list[dict]]]
) -> PushResult:
    """Create (or reuse) the Label Studio project and add a task per (chunk id, text, spans) not
    yet there."""
    ls_project = find_project(client, project_name)
    if ls_project is None:
        ls_project = client.projects.create(
            title=project_title(project_name),
            label_config=load_template(),
            description=description or "Anchor terms for unlearning",
        )
    present = {(t.data or {}).get("chunk_id") for t in client.tasks.list(project=ls_project.id)}
    tasks = [task_for(cid, text, spans) for cid, text, spans in chunks if cid not in present]
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
        if region["label"] not in ANCHOR_LABELS:
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


def pull(client, project_name: str) -> list[Pulled]:
    """Every finished annotation of the project's Label Studio tasks."""
    ls_project = find_project(client, project_name)
    if ls_project is None:
        title = project_title(project_name)
        raise UnlearnError(f"Label Studio has no project {title!r}; push first.")
    emails = {u.id: u.email for u in client.users.list()}
    return annotations(export_tasks(client, ls_project.id), emails)
