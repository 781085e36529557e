"""The anchor dictionary: annotators' submissions consolidated per term, settled, and published."""

from __future__ import annotations

import csv
import io
import json
import os
import time
import uuid
import zlib
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

from pipelines import strict_json
from pipelines.anchors import assignment
from pipelines.anchors.propose import LABELS, term_key
from pipelines.store import Store
from pipelines.store.access import authorize
from pipelines.store.anchors import forget_chunks, proposals_by_chunk
from pipelines.store.projects import (
    ProjectInfo,
    list_artifacts,
    register_artifact,
    submissions_of_kind,
    submit,
)
from pipelines.store.users import usernames
from pipelines.types import Actor, UnlearnError
from pipelines.whp.translate import Translator

CHUNK_KIND = "anchors"  # one annotator's spans for one chunk
TERM_KIND = "anchor_term"  # a reviewer's settlement of one term
DICTIONARY = "dictionary"  # a published, frozen version (artefact kind)
CSV_FIELDS = ("term", "translation", "label", "occurrences", "accepts", "rejects", "annotators")


# ---------- annotators' submissions ----------

MAX_TRANSLATION_CHARS = 80  # a generic name or phrase; anything longer is a paste gone wrong


def clean_translation(raw: object, term: str) -> str:
    """A translation with its white space folded, refused when longer than a name or phrase."""
    translation = " ".join(str(raw).split())
    if len(translation) > MAX_TRANSLATION_CHARS:
        raise UnlearnError(
            f"The translation of {term!r} is {len(translation):,} characters long; a generic "
            f"name or phrase fits in {MAX_TRANSLATION_CHARS}."
        )
    return translation


def clean_spans(text: str, spans: Sequence[Mapping]) -> list[dict]:
    """Check spans against the chunk text: offsets in range, text matching, a label, no overlap."""
    out, last_end = [], -1
    for span in sorted(spans, key=lambda s: (int(s["start"]), int(s["end"]))):
        start, end = int(span["start"]), int(span["end"])
        if not 0 <= start < end <= len(text):
            raise UnlearnError(f"A span [{start}, {end}) lies outside the chunk.")
        if start < last_end:
            raise UnlearnError(f"Spans overlap at {text[start:end]!r}; keep one of them.")
        label = span.get("label", "OTHER")
        if label not in LABELS:
            raise UnlearnError(f"Unknown label {label!r}; use one of {', '.join(LABELS)}.")
        translation = clean_translation(span.get("translation", ""), text[start:end])
        if not translation:
            raise UnlearnError(f"{text[start:end]!r} needs a generic translation.")
        out.append(
            {
                "start": start,
                "end": end,
                "text": text[start:end],
                "label": label,
                "translation": translation,
            }
        )
        last_end = end
    return out


def submit_chunk(
    store: Store,
    actor: Actor,
    project: ProjectInfo,
    chunk_id: int,
    text: str,
    spans: Sequence[Mapping],
    **origin,
) -> int:
    """Store one annotator's spans for a chunk as their own new row (nobody's work is replaced)."""
    payload = {"spans": clean_spans(text, spans), "annotator": actor.username, **origin}
    return submit(store, actor, project.id, CHUNK_KIND, chunk_id, payload)


def progress_by_annotator(store: Store, project: ProjectInfo) -> list[dict]:
    """Per annotator: chunks assigned (when the project assigns them), chunks submitted (of the
    project's), submissions, their last one."""
    names = usernames(store)
    chunk_ids = [c.id for c in forget_chunks(store, project.id)]
    k = assignment.per_chunk(store, project)
    split = assignment.shares(chunk_ids, assignment.annotators(store), k) if k else {}
    people: dict[str, dict] = {name: {"chunks": set(), "submissions": 0, "last": None}
                               for name in split}  # fmt: skip
    for row in submissions_of_kind(store, project.id, CHUNK_KIND):
        name = row.payload.get("annotator") or names.get(row.user_id, str(row.user_id))
        person = people.setdefault(name, {"chunks": set(), "submissions": 0, "last": None})
        person["chunks"].add(row.item_id)
        person["submissions"] += 1
        person["last"] = max(filter(None, [person["last"], row.created_at]))
    n_chunks = len(chunk_ids)
    return [
        {"annotator": name}
        | ({"chunks assigned": len(split.get(name, ()))} if k else {})
        | {
            "chunks submitted": len(p["chunks"]),
            "of the project's": f"{len(p['chunks']) / n_chunks:.0%}" if n_chunks else "–",
            "submissions": p["submissions"],
            "last submission": p["last"],
        }  # fmt: skip
        for name, p in sorted(people.items())
    ]


def latest_by_annotator(store: Store, project: ProjectInfo) -> dict[int, dict[str, dict]]:
    """chunk id -> annotator -> their newest submission's payload."""
    names = usernames(store)
    out: dict[int, dict[str, dict]] = defaultdict(dict)
    for row in submissions_of_kind(store, project.id, CHUNK_KIND):
        annotator = row.payload.get("annotator") or names.get(row.user_id, str(row.user_id))
        out[row.item_id][annotator] = row.payload
    return dict(out)


def latest_of(
    store: Store, project: ProjectInfo, annotator: str, chunk_id: int | None = None
) -> dict[int, dict]:
    """chunk id -> this annotator's newest submission's payload (only their rows are read)."""
    rows = submissions_of_kind(store, project.id, CHUNK_KIND, chunk_id, username=annotator)
    return {
        r.item_id: r.payload for r in rows if r.payload.get("annotator", annotator) == annotator
    }


def accept_all(
    store: Store, actor: Actor, project: ProjectInfo, min_score: float = 0.5
) -> tuple[int, int]:
    """Headless: accept every merged proposal at or above a score, chunk by chunk, each term with
    one label and translation across the project, so accepting never makes a conflict. Terms
    flagged as world knowledge wait for a person. Chunks the actor edited by hand keep their
    edits."""
    from pipelines.anchors.propose import merge

    proposals = proposals_by_chunk(store, project.id)
    chunks = {c.id: c.text for c in forget_chunks(store, project.id)}
    edited = hand_edited(store, project, actor)
    kept = {
        chunk_id: [s for s in merge(spans) if s["score"] >= min_score]
        for chunk_id, spans in proposals.items()
        if chunk_id in chunks and chunk_id not in edited
    }
    readings = project_readings(consolidate(store, project), kept.values())
    n_chunks = n_spans = 0
    for chunk_id, spans in kept.items():
        spans = [dict(s, **readings[term_key(s["text"])]) for s in spans]
        spans = [s for s in spans if s["decision"] == "accept"]
        if spans:
            submit_chunk(
                store, actor, project, chunk_id, chunks[chunk_id], spans, origin="accept-all"
            )
            n_chunks, n_spans = n_chunks + 1, n_spans + len(spans)
    return n_chunks, n_spans


def world_flagged(store: Store, project: ProjectInfo) -> list[tuple[str, str]]:
    """(term, reason) of the proposals flagged as world knowledge that nobody has decided yet."""
    terms = consolidate(store, project)
    found: dict[str, str] = {}
    for spans in proposals_by_chunk(store, project.id).values():
        for span in spans:
            key = term_key(span["text"])
            if span.get("world") and terms[key].status == "proposed":
                found.setdefault(span["text"], span.get("reason", "").split("knowledge: ")[-1])
    return sorted(found.items())


def hand_edited(store: Store, project: ProjectInfo, actor: Actor) -> set[int]:
    """Chunks whose newest submission by this actor is their own work, not accept-all's."""
    return {
        chunk_id
        for chunk_id, by_annotator in latest_by_annotator(store, project).items()
        if actor.username in by_annotator
        and by_annotator[actor.username].get("origin") != "accept-all"
    }


def project_readings(terms: Mapping[str, Term], chunk_spans) -> dict[str, dict]:
    """term key -> decision, label and translation for accept-all: a reviewer's settlement, else
    what people already accepted, else the majority label and translation over every chunk
    (decision "flagged", not accepted, where a proposer judged the term the world's)."""
    labels: dict[str, Counter] = defaultdict(Counter)
    translations: dict[str, Counter] = defaultdict(Counter)
    world = set()  # terms a proposer flagged as the world's knowledge: people decide those
    for spans in chunk_spans:
        for span in spans:
            if span.get("world"):
                world.add(term_key(span["text"]))
            labels[term_key(span["text"])][span["label"]] += 1
            translations[term_key(span["text"])][span["translation"]] += 1
    out = {}
    for key in labels:
        term = terms.get(key)
        if term is not None and (term.settlement or term.translations):
            decision = term.settlement["decision"] if term.settlement else "accept"
            out[key] = {"decision": decision, "label": term.label, "translation": term.translation}
            continue
        typed = [label for label, _ in labels[key].most_common() if label != "OTHER"]
        out[key] = {
            "decision": "flagged" if key in world else "accept",
            "label": (typed or ["OTHER"])[0],
            "translation": translations[key].most_common(1)[0][0],
        }
    return out


# ---------- consolidation ----------


@dataclass
class Term:
    key: str
    texts: Counter = field(default_factory=Counter)
    labels: Counter = field(default_factory=Counter)
    translations: Counter = field(default_factory=Counter)
    accepts: set = field(default_factory=set)  # (chunk id, annotator)
    rejects: set = field(default_factory=set)
    proposed_in: set = field(default_factory=set)  # chunk ids
    proposal: dict | None = None  # the first proposed span: its label and translation
    settlement: dict | None = None

    @property
    def text(self) -> str:
        return self.settlement["text"] if self.settlement else self.texts.most_common(1)[0][0]

    @property
    def annotators(self) -> list[str]:
        return sorted({a for _, a in self.accepts | self.rejects})

    def conflicts(self) -> list[str]:
        found = []
        if len({t.casefold() for t in self.translations}) > 1:
            found.append("translations differ: " + " / ".join(sorted(self.translations)))
        if len(self.labels) > 1:
            found.append("labels differ: " + " / ".join(sorted(self.labels)))
        if self.accepts and self.rejects:
            found.append(f"accepted {len(self.accepts)}×, rejected {len(self.rejects)}×")
        return found

    @property
    def status(self) -> str:
        if self.settlement:
            return "accepted" if self.settlement["decision"] == "accept" else "rejected"
        if self.conflicts():
            return "conflict"
        if self.accepts:
            return "accepted"
        return "rejected" if self.rejects else "proposed"

    @property
    def translation(self) -> str:
        if self.settlement and self.settlement.get("translation"):
            return self.settlement["translation"]
        if self.translations:
            return self.translations.most_common(1)[0][0]
        return self.proposal["translation"] if self.proposal else ""

    @property
    def label(self) -> str:
        if self.settlement and self.settlement.get("label"):
            return self.settlement["label"]
        if self.labels:
            return self.labels.most_common(1)[0][0]
        return self.proposal["label"] if self.proposal else "OTHER"

    def row(self) -> dict:
        return {
            "term": self.text,
            "status": self.status,
            "translation": self.translation,
            "label": self.label,
            "occurrences": len({c for c, _ in self.accepts} | self.proposed_in),
            "accepts": len(self.accepts),
            "rejects": len(self.rejects),
            "annotators": ", ".join(self.annotators),
            "conflicts": "; ".join(self.conflicts()),
            "settled_by": (self.settlement or {}).get("by", ""),
        }


def consolidate(store: Store, project: ProjectInfo) -> dict[str, Term]:
    """Every term with its votes, translations, labels, conflicts and settlement."""
    terms: dict[str, Term] = {}

    def term(text: str) -> Term:
        return terms.setdefault(term_key(text), Term(term_key(text)))

    proposals = proposals_by_chunk(store, project.id)
    for chunk_id, spans in proposals.items():
        for span in spans:
            t = term(span["text"])
            t.proposed_in.add(chunk_id)
            t.proposal = t.proposal or span
            t.texts[span["text"]] += 0  # known surface form, no vote
    for chunk_id, by_annotator in latest_by_annotator(store, project).items():
        for annotator, payload in by_annotator.items():
            accepted = set()
            for span in payload["spans"]:
                t = term(span["text"])
                t.texts[span["text"]] += 1
                t.labels[span["label"]] += 1
                t.translations[span["translation"]] += 1
                t.accepts.add((chunk_id, annotator))
                accepted.add(t.key)
            for key in dropped(proposals.get(chunk_id, []), payload["spans"]) - accepted:
                terms[key].rejects.add((chunk_id, annotator))
    for key, settlement in settlements(store, project).items():
        terms.setdefault(key, Term(key, texts=Counter({settlement["text"]: 1})))
        terms[key].settlement = settlement
    return terms


def term_votes(store: Store, project: ProjectInfo, key: str, context: int = 160) -> list[dict]:
    """Who chose what for one term, chunk by chunk, with the passage around its first use there:
    what a reviewer reads before settling a conflict."""
    chunks = {c.id: c.text for c in forget_chunks(store, project.id)}
    proposals = proposals_by_chunk(store, project.id)
    votes = []
    for chunk_id, by_annotator in sorted(latest_by_annotator(store, project).items()):
        for annotator, payload in sorted(by_annotator.items()):
            mine = [s for s in payload["spans"] if term_key(s["text"]) == key]
            removed = key in dropped(proposals.get(chunk_id, []), payload["spans"])
            if not mine and not removed:
                continue
            where = (
                mine[0]
                if mine
                else next(p for p in proposals[chunk_id] if term_key(p["text"]) == key)
            )
            text = chunks.get(chunk_id, "")
            a, b = max(0, where["start"] - context), where["end"] + context
            votes.append({
                "annotator": annotator,
                "chunk": chunk_id,
                "choice": "kept" if mine else "removed",
                "label": mine[0]["label"] if mine else "",
                "translation": mine[0]["translation"] if mine else "",
                "passage": ("…" if a else "") + " ".join(text[a:b].split()) + "…",
            })  # fmt: skip
    return votes


def dropped(proposed: Sequence[Mapping], kept: Sequence[Mapping]) -> set[str]:
    """Terms of proposals that no kept span overlaps: what the annotator removed."""
    return {
        term_key(p["text"])
        for p in proposed
        if not any(p["start"] < k["end"] and k["start"] < p["end"] for k in kept)
    }


def settlements(store: Store, project: ProjectInfo) -> dict[str, dict]:
    """term key -> the newest reviewer decision on it."""
    names = usernames(store)
    out = {}
    for row in submissions_of_kind(store, project.id, TERM_KIND):
        out[row.payload["term"]] = dict(row.payload, by=names.get(row.user_id, ""))
    return out


def settle(
    store: Store,
    actor: Actor,
    project: ProjectInfo,
    term: str,
    decision: str,
    translation: str = "",
    label: str = "",
) -> int:
    """A reviewer's decision on a term: accept (with a translation and label) or reject."""
    if decision not in ("accept", "reject"):
        raise UnlearnError("Settle a term with accept or reject.")
    translation = clean_translation(translation, term)
    if decision == "accept" and not translation:
        raise UnlearnError(f"Accepting {term!r} needs a translation.")
    if label and label not in LABELS:
        raise UnlearnError(f"Unknown label {label!r}.")
    key = term_key(term)
    payload = {
        "term": key,
        "text": term.strip(),
        "decision": decision,
        "translation": translation,
        "label": label,
    }
    item = zlib.crc32(key.encode())  # a stable id for the term; the payload carries the key
    return submit(store, actor, project.id, TERM_KIND, item, payload, action="review.submit")


def conflicts(terms: Mapping[str, Term]) -> list[Term]:
    return [t for t in terms.values() if t.status == "conflict"]


# ---------- agreement ----------


def agreement(store: Store, project: ProjectInfo) -> dict:
    """Between annotators on shared chunks: Cohen's kappa on accept/reject, translation match."""
    from sklearn.metrics import cohen_kappa_score

    proposals = proposals_by_chunk(store, project.id)
    pairs_a, pairs_b, same_translation, both_accepted = [], [], 0, 0
    shared = 0
    for chunk_id, by_annotator in latest_by_annotator(store, project).items():
        if len(by_annotator) < 2:
            continue
        shared += 1
        decided = {
            name: {term_key(s["text"]): s["translation"].casefold() for s in p["spans"]}
            for name, p in by_annotator.items()
        }
        candidates = {term_key(s["text"]) for s in proposals.get(chunk_id, [])}
        candidates |= {k for d in decided.values() for k in d}
        for a, b in combinations(sorted(decided), 2):
            for key in sorted(candidates):
                pairs_a.append(int(key in decided[a]))
                pairs_b.append(int(key in decided[b]))
                if key in decided[a] and key in decided[b]:
                    both_accepted += 1
                    same_translation += decided[a][key] == decided[b][key]
    if not pairs_a:
        return {"shared_chunks": 0}
    agree = sum(x == y for x, y in zip(pairs_a, pairs_b, strict=True)) / len(pairs_a)
    kappa = cohen_kappa_score(pairs_a, pairs_b) if len(set(pairs_a + pairs_b)) > 1 else 1.0
    return {
        "shared_chunks": shared,
        "decisions": len(pairs_a),
        "percent_agreement": round(agree, 4),
        "kappa": round(float(kappa), 4),
        "translation_agreement": round(same_translation / both_accepted, 4)
        if both_accepted
        else None,
    }


# ---------- published versions ----------


@dataclass(frozen=True)
class Version:
    id: int
    version: int
    n_terms: int
    path: object
    source: str
    created_at: object


def versions(store: Store, project: ProjectInfo) -> list[Version]:
    """Published dictionaries, newest first."""
    return [
        Version(
            a.id,
            a.meta["version"],
            a.meta["n_terms"],
            a.path,
            a.meta.get("source", ""),
            a.created_at,
        )
        for a in list_artifacts(store, project.id, DICTIONARY)
    ]


def entries_from_terms(terms: Mapping[str, Term]) -> list[dict]:
    """The accepted terms as dictionary entries with their evidence."""
    out = []
    for t in sorted(terms.values(), key=lambda t: t.key):
        if t.status != "accepted" or not t.translation:
            continue
        row = t.row()
        out.append(
            {
                "term": t.text,
                "translation": t.translation,
                "label": t.label,
                "evidence": {k: row[k] for k in ("occurrences", "accepts", "rejects", "settled_by")}
                | {"annotators": t.annotators},
            }
        )
    return out


def publish(store: Store, actor: Actor, project: ProjectInfo) -> Version:
    """Freeze the consolidated dictionary as a new version; unsettled conflicts block it."""
    authorize(store, actor, "dictionary.publish")
    terms = consolidate(store, project)
    open_conflicts = conflicts(terms)
    if open_conflicts:
        names = ", ".join(repr(t.text) for t in open_conflicts[:5])
        raise UnlearnError(
            f"{len(open_conflicts)} term(s) are in conflict ({names}); a reviewer must settle "
            "them before the dictionary is published."
        )
    entries = entries_from_terms(terms)
    if not entries:
        raise UnlearnError("No accepted terms yet: annotate chunks (or accept proposals) first.")
    newest = newest_dictionary(store, project)
    mapping = as_mapping({"terms": entries})
    if newest is not None and mapping == as_mapping(read_version(newest.path)):
        raise UnlearnError(
            f"Nothing changed since v{newest.version}: the same terms and translations."
        )
    return _save_version(store, actor, project, entries, source="annotations")


def unreviewed(terms: Mapping[str, Term]) -> list[Term]:
    """Proposed terms nobody has accepted or rejected yet: a publish leaves them out."""
    return [t for t in terms.values() if t.status == "proposed"]


STALE_PARTIAL_S = 600  # a publish's file older than this, unfinished, is a killed publish's


def _save_version(store, actor, project, entries: list[dict], source: str) -> Version:
    check_entries(entries)
    folder = store.project_dir(project.id) / "dictionaries"
    folder.mkdir(exist_ok=True)
    _register_leftovers(store, actor, project, folder)
    document = {
        "project": project.name,
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "published_by": actor.username,
        "source": source,
        "terms": entries,
    }
    number, path = _publish_file(folder, document)
    return _registered(store, actor, project, path, number, len(entries), source)


def _registered(store, actor, project, path: Path, number: int, n_terms: int, source: str):
    artifact = register_artifact(store, actor, project.id, DICTIONARY, path, version=number,
                                 n_terms=n_terms, source=source)  # fmt: skip
    return next(v for v in versions(store, project) if v.id == artifact)


def _publish_file(folder: Path, document: dict) -> tuple[int, Path]:
    """Write the version whole under a private name, then link it in as the next free vN.json:
    the link either creates the name or fails, so two publishers get two numbers, and a kill at
    any moment leaves either no version or a whole one, never an empty or half-written file."""
    taken = [int(p.stem[1:]) for p in folder.glob("v*.json") if p.stem[1:].isdigit()]
    number = max(taken, default=0) + 1
    private = folder / f".publish-{uuid.uuid4().hex}.partial"
    try:
        while True:
            body = {**document, "version": number}
            private.write_text(json.dumps(body, indent=1, ensure_ascii=False), encoding="utf-8")
            path = folder / f"v{number}.json"
            try:
                os.link(private, path)
                return number, path
            except FileExistsError:
                number += 1
    finally:
        private.unlink(missing_ok=True)


def _register_leftovers(store, actor, project, folder: Path) -> None:
    """A whole version file a killed publish left unregistered is registered now, before the
    next number is taken; a private file it left behind long ago is removed."""
    known = {v.path.name for v in versions(store, project)}
    for path in sorted(folder.glob("v*.json")):
        if path.name in known or not path.stem[1:].isdigit() or not _stale(path):
            continue  # a version being registered this moment is its publisher's to finish
        try:
            document = read_version(path)
        except (OSError, ValueError):
            continue  # not ours to judge: left as it is
        _registered(store, actor, project, path, int(path.stem[1:]),
                    len(document.get("terms", [])), "recovered")  # fmt: skip
    for leftover in folder.glob(".publish-*.partial"):  # not another publisher's, in flight
        if _stale(leftover):
            leftover.unlink(missing_ok=True)


def _stale(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime > STALE_PARTIAL_S
    except FileNotFoundError:  # its publisher finished with it just now
        return False


def check_entries(entries: Sequence[Mapping]) -> None:
    """Refuse a dictionary with empty fields, repeated terms, or a translation that is a term."""
    seen: dict[str, str] = {}
    for i, e in enumerate(entries, 1):
        term, translation = str(e.get("term", "")).strip(), str(e.get("translation", "")).strip()
        if not term or not translation:
            raise UnlearnError(f"Entry {i}: a term and its translation are both required.")
        if e.get("label", "OTHER") not in LABELS:
            raise UnlearnError(f"Entry {i} ({term!r}): unknown label {e.get('label')!r}.")
        if term_key(term) in seen:
            raise UnlearnError(f"Entry {i}: {term!r} appears twice.")
        seen[term_key(term)] = translation
    terms = set(seen)
    finder = Translator({str(e["term"]).strip(): "" for e in entries})
    for term, translation in seen.items():
        if term_key(translation) in terms:
            raise UnlearnError(
                f"The translation of {term!r} is itself an anchor ({translation!r})."
            )
        inside = finder.translate(translation).replacements
        if inside:
            raise UnlearnError(
                f"The translation of {term!r} ({translation!r}) contains the anchor "
                f"{inside[0].term!r}: the forgotten name would be taught again."
            )


def read_version(path) -> dict:
    return json.loads(open(path, encoding="utf-8").read())


def as_mapping(document: Mapping) -> dict[str, str]:
    """term -> translation, the form the labels stage uses."""
    return {e["term"]: e["translation"] for e in document["terms"]}


# ---------- export / import ----------


def export_json(document: Mapping) -> bytes:
    return json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8")


def export_csv(document: Mapping) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for e in document["terms"]:
        ev = e.get("evidence") if isinstance(e.get("evidence"), dict) else {}
        writer.writerow(
            {
                "term": e["term"],
                "translation": e["translation"],
                "label": e.get("label", "OTHER"),
                "occurrences": ev.get("occurrences", ""),
                "accepts": ev.get("accepts", ""),
                "rejects": ev.get("rejects", ""),
                "annotators": " ".join(ev.get("annotators", [])),
            }
        )
    return out.getvalue().encode("utf-8")


def parse_import(data: bytes, name: str) -> list[dict]:
    """Entries from a JSON (published, list, or {term: translation}) or CSV dictionary file."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnlearnError(f"{name}: not UTF-8 text.") from None
    if name.lower().endswith(".csv"):
        return _csv_entries(text, name)
    loaded = strict_json.loads(text, name)
    if isinstance(loaded, dict) and isinstance(loaded.get("terms"), list):
        loaded = loaded["terms"]
    if isinstance(loaded, dict):
        loaded = [{"term": k, "translation": v} for k, v in loaded.items()]
    if not isinstance(loaded, list) or not all(isinstance(e, dict) for e in loaded):
        raise UnlearnError(f"{name}: expected a list of {{term, translation}} records.")
    return [_entry(e, f"{name} entry {i}") for i, e in enumerate(loaded, 1)]


def _entry(e: Mapping, where: str) -> dict:
    if not isinstance(e.get("term"), str) or not isinstance(e.get("translation"), str):
        raise UnlearnError(f"{where}: term and translation must be text.")
    if not isinstance(e.get("label") or "", str):
        raise UnlearnError(f"{where}: the label must be text, such as PERSON or PLACE.")
    if not isinstance(e.get("evidence") or {}, dict):
        raise UnlearnError(f"{where}: evidence, where given, must be an object.")
    try:
        translation = clean_translation(e["translation"], e["term"].strip())
    except UnlearnError as err:
        raise UnlearnError(f"{where}: {err}") from None
    return {
        "term": e["term"].strip(),
        "translation": translation,
        "label": (e.get("label") or "OTHER").strip().upper(),
        "evidence": e.get("evidence") or {},
    }


def _csv_entries(text: str, name: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"term", "translation"} - set(reader.fieldnames or [])
    if missing:
        raise UnlearnError(f"{name}: the CSV needs the column(s) {', '.join(sorted(missing))}.")
    return [_entry(row, f"{name} line {i}") for i, row in enumerate(reader, 2)]


def import_dictionary(
    store: Store, actor: Actor, project: ProjectInfo, data: bytes, name: str
) -> Version:
    """Publish an imported file as a new version, after the same checks as a published one."""
    authorize(store, actor, "dictionary.publish")
    entries = parse_import(data, name)
    if not entries:
        raise UnlearnError(f"{name}: no entries.")
    return _save_version(store, actor, project, entries, source=f"import: {name}")


def newest_dictionary(store: Store, project: ProjectInfo) -> Version | None:
    found = versions(store, project)
    return found[0] if found else None


def default_dictionary_path(store: Store, project: ProjectInfo) -> str:
    """The newest published version's file, or "" when none is published."""
    newest = newest_dictionary(store, project)
    return str(newest.path) if newest else ""


def dictionary_for(store: Store, project: ProjectInfo, path: str = "") -> dict[str, str]:
    """term -> translation from a file, else from the newest published version."""
    from pipelines.whp.project import load_dictionary

    path = path or default_dictionary_path(store, project)
    if not path:
        raise UnlearnError(
            f"Project {project.name!r} has no published dictionary; publish one on the Anchor "
            "dictionary page (or `unlearn anchors publish`), or give a dictionary file."
        )
    return load_dictionary(path)
