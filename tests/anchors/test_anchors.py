"""Anchor proposals, offline translations, consolidation, conflicts, agreement and versions."""

from __future__ import annotations

import json

import pytest

from pipelines.anchors import dictionary
from pipelines.anchors import project as anchor_project
from pipelines.anchors import propose as anchors
from pipelines.anchors.substitutes import offline_translations
from pipelines.config import IngestConfig
from pipelines.corpus import ingest
from pipelines.store.anchors import forget_chunks, proposals_by_chunk
from pipelines.store.projects import create_project, get_project
from pipelines.store.users import create_user
from pipelines.types import DocRole, PermissionDenied, Role, UnlearnError
from pipelines.whp import project as whp
from tests.conftest import DEMO, ScriptedLLM

NAMES = {n["term"] for n in json.loads((DEMO / "names.json").read_text())}


@pytest.fixture(scope="module")
def nlp():
    return anchors.load_spacy()


def make_project(store, actor, name="P", book="book1.md", size=4000):
    project = create_project(store, actor, name, "smollm2-135m")
    for role, folder, file in [
        (DocRole.FORGET, "forget", book),
        (DocRole.RETAIN, "retain", "village-tales.md"),
    ]:
        upload = ingest.Upload(file, (DEMO / folder / file).read_bytes()[:size])
        ingest.run(
            IngestConfig(), [upload], store=store, actor=actor, project_id=project.id, role=role
        )
    return get_project(store, project.id)


def test_occurrences_are_whole_words_computed_from_the_text():
    text = "Ada met Adam. ada! Ada's hat, and ADA."
    # A capitalised term as written and in capitals (as the translator matches it); a lowercase
    # term in any case.
    assert anchors.occurrences(text, "Ada") == [(0, 3), (19, 22), (34, 37)]
    assert anchors.occurrences(text, "ada") == [(0, 3), (14, 17), (19, 22), (34, 37)]
    assert anchors.occurrences(text, "Nobody") == []


def test_ner_finds_most_demo_names_with_exact_offsets(nlp):
    text = (DEMO / "forget" / "book1.md").read_text()[:3000]
    spans = anchors.propose_ner([anchors.ChunkText(1, text)], nlp)
    assert spans and all(text[s.start : s.end] == s.text for s in spans)
    assert all(not s.text.lower().startswith("the ") for s in spans)
    found = {s.text for s in spans}
    in_text = {n for n in NAMES if anchors.occurrences(text, n)}
    assert len(found & in_text) >= 0.7 * len(in_text)


def test_statistics_propose_words_the_reference_never_uses():
    forget = ["Quorin walked. Then Quorin sat; and Quorin slept by the zorbing river."] * 3
    reference = ["They walked and sat by the river, then slept."]
    config = anchors.ProposeConfig(min_count=3, min_ratio=0.5)
    terms = anchors.idiosyncratic_terms(forget, reference, config, stop_words={"then", "and"})
    assert "Quorin" in terms and "river" not in terms
    # Capitalised mid-sentence is a likely name; a plain word scores lower.
    assert terms["Quorin"][1] > terms["zorbing"][1]


def test_a_rare_name_the_book_repeats_is_proposed_whatever_the_reference_size():
    # 3 uses in a long text against a tiny reference: the frequency ratio alone misses it
    forget = [
        "The sailor walked to the inn and then he met Queequeg. " + "The sea was grey. " * 200,
        "He said, Queequeg is asleep; and Queequeg woke. Jonah and Jonah and Jonah.",
    ]
    reference = ["A short text about the sea and a sailor at the inn."]
    terms = anchors.idiosyncratic_terms(forget, reference, anchors.ProposeConfig())
    assert terms["Queequeg"][1] >= anchors.RARE_NAME_SCORE
    assert "Jonah" not in terms  # common enough in general English to be the world's


def test_offline_translations_are_typed_consistent_and_never_collide():
    terms = {"Ada Quill": "PERSON", "Quill": "PERSON", "Ada": "PERSON", "Ferkfell": "PLACE"}
    table = offline_translations(terms, avoid={"Sam"})
    first, last = table["Ada Quill"].split()
    assert table["Quill"] == last and table["Ada"] == first
    assert table["Ferkfell"].startswith("the ")
    values = [v.casefold() for v in table.values()]
    assert not {v.casefold() for v in terms} & set(values)
    assert "sam" not in values
    assert len(set(values)) == len(values)


def test_merge_combines_sources_and_keeps_the_longer_overlap():
    spans = [
        {"start": 0, "end": 5, "text": "Order", "label": "OTHER", "translation": "x", "score": 0.5,
         "source": "stats"},
        {"start": 0, "end": 14, "text": "Order of Ferk", "label": "ORG", "translation": "y",
         "score": 0.6, "source": "ner"},
        {"start": 0, "end": 14, "text": "Order of Ferk", "label": "ORG", "translation": "z",
         "score": 0.5, "source": "llm"},
    ]  # fmt: skip
    (merged,) = anchors.merge(spans)
    assert merged["text"] == "Order of Ferk" and merged["sources"] == ["ner", "llm"]
    assert merged["score"] == pytest.approx(0.8) and merged["translation"] == "z"


def test_llm_proposals_get_offsets_from_the_text_and_bad_items_are_recorded():
    from pipelines.llm import LLMFailure

    chunks = [anchors.ChunkText(1, "Then Ada Quill rode to Ferkfell."), anchors.ChunkText(2, "x")]
    client = ScriptedLLM(
        [
            {"terms": [
                {"term": "Ada Quill", "label": "PERSON", "translation": "Jo Smith"},
                {"term": "Zanzibar", "label": "PLACE", "translation": "a city"},
            ]},
            LLMFailure("timed out (after 4 attempts)"),
        ]
    )  # fmt: skip
    result = anchors.ProposeResult()
    spans = anchors.propose_llm(chunks, client, result)
    assert [(s.start, s.end, s.translation) for s in spans] == [(5, 14, "Jo Smith")]
    reasons = [f["reason"] for f in result.failures]
    assert "does not occur in the chunk" in reasons[0] and "timed out" in reasons[1]


def test_a_dead_llm_endpoint_stops_early_and_keeps_the_stored_llm_proposals(store, admin):
    from pipelines.llm import LLMFailure

    project = make_project(store, admin)
    chunk = next(c for c in forget_chunks(store, project.id) if "Thumsath" in c.text)
    thumsath = {"term": "Thumsath", "label": "PERSON", "translation": "Helen"}
    config = anchors.ProposeConfig(sources=("llm",), max_llm_chunks=1)
    first = [{"terms": [thumsath]}] + [{"terms": []}] * 100
    anchor_project.propose_project(
        store, admin, project, config, anchors.Proposers(client=ScriptedLLM(first))
    )
    before = proposals_by_chunk(store, project.id)
    assert any(s["text"] == "Thumsath" for s in before.get(chunk.id, []))
    down = ScriptedLLM([LLMFailure("connection refused (after 4 attempts)")] * 100)
    with pytest.raises(UnlearnError, match="kept as they were"):
        anchor_project.propose_project(
            store, admin, project, anchors.ProposeConfig(sources=("llm",)),
            anchors.Proposers(client=down),
        )  # fmt: skip
    assert len(down.replies) == 100 - anchors.DEAD_ENDPOINT_CHUNKS  # it gave up early
    assert proposals_by_chunk(store, project.id) == before


def test_propose_project_stores_spans_with_translations_and_a_report(store, admin, nlp):
    project = make_project(store, admin)
    config = anchors.ProposeConfig(sources=("ner", "stats"))
    result = anchor_project.propose_project(
        store, admin, project, config, anchors.Proposers(nlp=nlp)
    )
    stored = proposals_by_chunk(store, project.id)
    chunks = {c.id: c.text for c in forget_chunks(store, project.id)}
    assert sum(len(v) for v in stored.values()) == sum(result.counts().values()) > 10
    translations = {}
    for chunk_id, spans in stored.items():
        for s in spans:
            assert chunks[chunk_id][s["start"] : s["end"]] == s["text"]
            assert (
                s["translation"]
                and translations.setdefault(s["text"], s["translation"]) == s["translation"]
            )
    assert anchor_project.latest_report(store, project)["counts"] == result.counts()


def spans_of(text, terms):
    """Spans for {term: (label, translation)}: every occurrence in the text."""
    return [
        {"start": a, "end": b, "label": label, "translation": tr}
        for term, (label, tr) in terms.items()
        for a, b in anchors.occurrences(text, term)
    ]


def test_two_annotators_conflict_a_reviewer_settles_and_a_version_is_published(store, admin, nlp):
    project = make_project(store, admin)
    anchor_project.propose_project(
        store, admin, project, anchors.ProposeConfig(sources=("ner",)), anchors.Proposers(nlp=nlp)
    )
    chunk = next(c for c in forget_chunks(store, project.id) if "Thumsath" in c.text)
    ann1 = create_user(store, admin, "ann1", "password-1", Role.ANNOTATOR)
    ann2 = create_user(store, admin, "ann2", "password-2", Role.ANNOTATOR)
    rev = create_user(store, admin, "rev", "password-3", Role.REVIEWER)
    base = {"Thumsath": ("PERSON", "Helen"), "Skoholm": ("PLACE", "the inn town")}
    dictionary.submit_chunk(store, ann1, project, chunk.id, chunk.text, spans_of(chunk.text, base))
    other = dict(base, Thumsath=("PERSON", "Maria"))
    dictionary.submit_chunk(store, ann2, project, chunk.id, chunk.text, spans_of(chunk.text, other))

    terms = dictionary.consolidate(store, project)
    conflict = terms["thumsath"]
    assert conflict.status == "conflict" and "translations differ" in conflict.conflicts()[0]
    votes = dictionary.term_votes(store, project, "thumsath")
    assert [(v["annotator"], v["translation"]) for v in votes] == [
        ("ann1", "Helen"),
        ("ann2", "Maria"),
    ]
    assert all("Thumsath" in v["passage"] and v["chunk"] == chunk.id for v in votes)
    assert terms["skoholm"].status == "accepted" and len(terms["skoholm"].accepts) >= 2
    assert any(t.rejects for t in terms.values())  # proposals both annotators left out
    with pytest.raises(UnlearnError, match="conflict"):
        dictionary.publish(store, admin, project)
    stats = dictionary.agreement(store, project)
    assert stats["shared_chunks"] == 1 and stats["translation_agreement"] == pytest.approx(0.5)

    with pytest.raises(PermissionDenied):
        dictionary.settle(store, ann1, project, "Thumsath", "accept", "Helen", "PERSON")
    dictionary.settle(store, rev, project, "Thumsath", "accept", "Helen", "PERSON")
    with pytest.raises(PermissionDenied):
        dictionary.publish(store, rev, project)
    version = dictionary.publish(store, admin, project)
    document = dictionary.read_version(version.path)
    mapping = dictionary.as_mapping(document)
    assert version.version == 1 and mapping["Thumsath"] == "Helen"
    entry = next(e for e in document["terms"] if e["term"] == "Thumsath")
    assert entry["evidence"]["settled_by"] == "rev" and entry["evidence"]["annotators"] == [
        "ann1",
        "ann2",
    ]
    assert whp.load_dictionary(version.path) == mapping  # later stages read the version file

    # Export and import round-trip through both formats as new versions.
    for fmt, export in [("json", dictionary.export_json), ("csv", dictionary.export_csv)]:
        again = dictionary.import_dictionary(store, admin, project, export(document), f"d.{fmt}")
        assert dictionary.as_mapping(dictionary.read_version(again.path)) == mapping
    assert [v.version for v in dictionary.versions(store, project)] == [3, 2, 1]


def test_agreement_kappa_matches_a_hand_computed_example(store, admin):
    project = make_project(store, admin)
    chunk = forget_chunks(store, project.id)[0]
    ann1 = create_user(store, admin, "a1", "password-1", Role.ANNOTATOR)
    ann2 = create_user(store, admin, "a2", "password-2", Role.ANNOTATOR)
    text = chunk.text
    words = ["Thumsath", "Skoholm", "Desdo", "Zerkmath Minddrei"]
    assert all(anchors.occurrences(text, w) for w in words)
    pick = {w: ("OTHER", "x" + str(i)) for i, w in enumerate(words)}
    dictionary.submit_chunk(store, ann1, project, chunk.id, text, spans_of(text, {
        w: pick[w] for w in words[:3]}))  # fmt: skip
    dictionary.submit_chunk(store, ann2, project, chunk.id, text, spans_of(text, {
        w: pick[w] for w in words[1:]}))  # fmt: skip
    stats = dictionary.agreement(store, project)
    # items: 4 terms; a1 = 1110, a2 = 0111: p_o = 2/4, p_e = (3·3 + 1·1)/16 = 10/16,
    # kappa = (0.5 − 0.625) / (1 − 0.625) = −1/3
    assert stats["percent_agreement"] == 0.5
    assert stats["kappa"] == pytest.approx(-1 / 3, abs=1e-4)


def test_bad_submissions_and_imports_are_refused_with_a_reason(store, admin):
    project = make_project(store, admin)
    chunk = forget_chunks(store, project.id)[0]
    with pytest.raises(UnlearnError, match="outside"):
        dictionary.submit_chunk(store, admin, project, chunk.id, chunk.text, [
            {"start": 0, "end": 10**6, "label": "PERSON", "translation": "x"}])  # fmt: skip
    with pytest.raises(UnlearnError, match="needs a generic translation"):
        dictionary.submit_chunk(store, admin, project, chunk.id, chunk.text, [
            {"start": 0, "end": 3, "label": "PERSON", "translation": " "}])  # fmt: skip
    with pytest.raises(UnlearnError, match="line 1"):
        dictionary.import_dictionary(store, admin, project, b"{oops", "d.json")
    with pytest.raises(UnlearnError, match="column"):
        dictionary.import_dictionary(store, admin, project, b"word,meaning\na,b\n", "d.csv")
    with pytest.raises(UnlearnError, match="itself an anchor"):
        dictionary.import_dictionary(store, admin, project, b'{"A": "B", "B": "C"}', "d.json")
    with pytest.raises(UnlearnError, match="twice"):
        data = b"term,translation\nAda,Jo\nada,Kim\n"
        dictionary.import_dictionary(store, admin, project, data, "d.csv")
    hostile = {
        "contains the anchor 'Ada'": b'{"Ada": "Jo", "Skoholm": "the town of Ada"}',
        "label must be text": b'[{"term": "Ada", "translation": "Jo", "label": 5}]',
        "evidence, where given, must be an object": (
            b'[{"term": "Ada", "translation": "Jo", "evidence": "many"}]'
        ),
        "'term' appears twice": b'[{"term": "Ada", "term": "Bo", "translation": "Jo"}]',
        "nested too deeply": b"[" * 100_000 + b"]" * 100_000,
    }
    for message, data in hostile.items():
        with pytest.raises(UnlearnError, match=message):
            dictionary.import_dictionary(store, admin, project, data, "d.json")
    assert dictionary.versions(store, project) == []


def test_csv_export_reads_a_version_whose_evidence_is_not_an_object():
    document = {"terms": [{"term": "Ada", "translation": "Jo", "evidence": "from elsewhere"}]}
    assert dictionary.export_csv(document).decode().splitlines()[1].startswith("Ada,Jo,OTHER")


def test_accept_all_submits_proposals_above_the_score(store, admin, nlp):
    project = make_project(store, admin)
    anchor_project.propose_project(
        store, admin, project, anchors.ProposeConfig(), anchors.Proposers(nlp=nlp)
    )
    n_chunks, n_spans = dictionary.accept_all(store, admin, project, min_score=0.5)
    assert n_chunks >= 1 and n_spans >= 5
    terms = dictionary.consolidate(store, project)
    accepted = {t.text for t in terms.values() if t.status == "accepted"}
    assert "Thumsath" in accepted
    version = dictionary.publish(store, admin, project)
    assert version.n_terms == len(accepted)
    with pytest.raises(UnlearnError, match="Nothing changed since v1"):
        dictionary.publish(store, admin, project)


def test_the_reinforced_model_signal_ranks_words_by_log_prob_gain(tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pipelines.whp.labels import Models

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    reinforced = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    with torch.no_grad():  # a different model: some words gain, some lose
        for p in reinforced.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    models = Models(base, reinforced, AutoTokenizer.from_pretrained(tiny_model_dir))
    text = "Thumsath rode to Skoholm. Thumsath slept in Skoholm."
    gains = anchors.word_gains([text], models, block_tokens=64)
    assert {"Thumsath", "Skoholm", "rode"} <= set(gains)
    assert len(gains["Thumsath"]) == 2  # one mean gain per occurrence
    same = anchors.word_gains([text], Models(base, base, models.tokenizer), block_tokens=64)
    assert all(abs(g) < 1e-5 for values in same.values() for g in values)
    picked = anchors.signal_terms({"a": [2.0, 1.0], "b": [0.5, 0.5], "c": [-1, -1], "d": [9]},
                                  anchors.ProposeConfig(signal_terms=5))  # fmt: skip
    assert list(picked) == ["a", "b"]  # positive gains only, two occurrences at least


class CountingNLP:
    """The real spaCy pipeline, counting the texts each run hands it."""

    def __init__(self, nlp):
        self.nlp, self.texts = nlp, 0
        self.Defaults = nlp.Defaults

    def pipe(self, texts, **options):
        for doc in self.nlp.pipe(texts, **options):
            self.texts += 1
            yield doc


def test_a_stopped_proposer_run_resumes_from_its_checkpoint_with_the_same_spans(
    store, admin, nlp, tmp_path, monkeypatch
):
    monkeypatch.setattr(anchors, "NER_BATCH_CHUNKS", 2)
    project = make_project(store, admin, size=6000)
    n_chunks = len(forget_chunks(store, project.id))
    assert n_chunks > 4
    config = anchors.ProposeConfig(sources=("ner", "stats"))
    straight = anchor_project.propose_project(
        store, admin, project, config, anchors.Proposers(nlp=nlp)
    )
    stored = proposals_by_chunk(store, project.id)
    ticks = []

    def stop_after_two_batches(what, done, total):
        ticks.append((what, done, total))
        if what.startswith("proposer ner") and done >= 4:
            raise UnlearnError("stopped")  # what a cancelled job's progress raises

    checkpoint = anchors.Checkpoint(tmp_path / "proposals")
    with pytest.raises(UnlearnError, match="stopped"):
        anchor_project.propose_project(
            store, admin, project, config, anchors.Proposers(nlp=nlp),
            progress=stop_after_two_batches, checkpoint=checkpoint,
        )  # fmt: skip
    assert proposals_by_chunk(store, project.id) == stored  # nothing half-written
    assert ticks[:3] == [("proposer ner (1 of 2)", d, n_chunks) for d in (0, 2, 4)]
    with (tmp_path / "proposals" / "ner.jsonl").open("a") as out:
        out.write('{"chunks": [99')  # a line the kill cut short
    counting = CountingNLP(nlp)
    ticks.clear()
    resumed = anchor_project.propose_project(
        store, admin, project, config, anchors.Proposers(nlp=counting),
        progress=lambda *t: ticks.append(t), checkpoint=checkpoint,
    )  # fmt: skip
    assert counting.texts == n_chunks - 4  # the two saved batches were not read again
    assert resumed.spans == straight.spans
    assert ticks[-1] == ("done", n_chunks, n_chunks)
    assert ("proposer stats (2 of 2)", n_chunks, n_chunks) in ticks
    again = CountingNLP(nlp)
    anchor_project.propose_project(store, admin, project, config, anchors.Proposers(nlp=again),
                                   checkpoint=checkpoint)  # fmt: skip
    assert again.texts == 0


def test_the_ner_proposer_finds_the_same_entities_without_the_parser(nlp):
    import spacy

    text = (DEMO / "forget" / "book2.md").read_text()[:6000]
    shouted = "Alice ran after the Duchess! The Duchess! Oh my ears, said Tessaly Varn."
    chunks = [anchors.ChunkText(1, text), anchors.ChunkText(2, shouted)]
    full = spacy.load(nlp.path, disable=["lemmatizer"])
    assert "parser" not in nlp.pipe_names and "parser" in full.pipe_names
    spans = anchors.propose_ner(chunks, nlp)
    assert spans == anchors.propose_ner(chunks, full)
    assert not any("!" in s.text for s in spans)  # no entity runs across a sentence end


def test_ner_on_several_processes_finds_what_one_process_finds(nlp, monkeypatch):
    text = (DEMO / "forget" / "book3.md").read_text()
    chunks = [anchors.ChunkText(i, text[i * 1500 : (i + 1) * 1500]) for i in range(6)]
    one = anchors.propose_ner(chunks, nlp)
    monkeypatch.setattr(anchors, "NER_PARALLEL_MIN_CHUNKS", 2)
    monkeypatch.setattr(anchors.os, "sched_getaffinity", lambda _pid: {0, 1})
    assert anchors.ner_processes(len(chunks)) == 2
    batches = []
    assert anchors.propose_ner(chunks, nlp, lambda ids, spans: batches.append(ids)) == one
    assert batches == [list(range(6))] and one


def test_an_llm_outage_midway_keeps_the_stored_proposals_of_every_chunk_it_could_not_ask(
    store, admin
):
    from pipelines.llm import LLMFailure

    project = make_project(store, admin)
    chunks = forget_chunks(store, project.id)
    with_name = [c for c in chunks if "Thumsath" in c.text]
    assert len(with_name) >= 2
    thumsath = {"term": "Thumsath", "label": "PERSON", "translation": "Helen"}

    def replies_for(chunk_list):
        return [{"terms": [thumsath] if "Thumsath" in c.text else []} for c in chunk_list]

    config = anchors.ProposeConfig(sources=("llm",))
    anchor_project.propose_project(
        store, admin, project, config, anchors.Proposers(client=ScriptedLLM(replies_for(chunks)))
    )
    before = proposals_by_chunk(store, project.id)
    assert sum(len(v) for v in before.values()) >= 2
    # the endpoint answers the first chunk, then goes down for good
    down = ScriptedLLM(replies_for(chunks[:1]) + [LLMFailure("connection refused")] * 200)
    result = anchor_project.propose_project(
        store, admin, project, config, anchors.Proposers(client=down)
    )
    assert len(down.replies) == 200 - anchors.DEAD_ENDPOINT_CHUNKS  # it stopped asking
    assert sum(1 for f in result.failures if f.get("unanswered")) == len(chunks) - 1
    assert proposals_by_chunk(store, project.id) == before  # nothing lost, nothing doubled
