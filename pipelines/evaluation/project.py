"""Evaluate a project's models: resolve them, pick prompts and a judge, write the report."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from uuid import uuid4

from pipelines import models
from pipelines.anchors import dictionary
from pipelines.config import REPO_ROOT, ModelConfig
from pipelines.corpus import general_retain
from pipelines.corpus.splits import split_paragraphs
from pipelines.evaluation import cloze, evaluate, muse, quantise, report
from pipelines.evaluation import qa as qa_pairs
from pipelines.evaluation.familiarity import (
    answer_probabilities,
    mean_answer_probability,
    perplexity,
)
from pipelines.evaluation.judge import JUDGES, LLMJudge, RuleJudge, distinctive_words
from pipelines.evaluation.robustness import RobustnessConfig, mean_probability, probe
from pipelines.evaluation.utility import run_tasks
from pipelines.store import Store
from pipelines.store.access import authorize
from pipelines.store.documents import project_texts
from pipelines.store.projects import (
    ProjectInfo,
    artifact_path,
    list_artifacts,
    register_artifact,
)
from pipelines.training import model_card
from pipelines.training.loop import is_main_process
from pipelines.types import ArtifactKind, DocRole, UnlearnError
from pipelines.whp import project as whp

NAMED = {
    "reinforced": ArtifactKind.REINFORCED,
    "taught": ArtifactKind.TAUGHT,
    "unlearned": ArtifactKind.UNLEARNED,
}


def resolve_model(store: Store, project: ProjectInfo, ref: str) -> str:
    """base, start, taught, reinforced, unlearned (newest), an artefact id, or a model source."""
    if ref == "base":
        return project.base_model
    if ref == "start":
        return whp.starting_model(store, project)
    if ref in NAMED:
        found = list_artifacts(store, project.id, NAMED[ref])
        if not found:
            raise UnlearnError(
                f"Project {project.name!r} has no {ref} model yet; run the stage that makes it "
                "first, or compare other models."
            )
        return str(found[0].path)
    if ref.isdigit():
        return str(artifact_path(store, int(ref)))
    return ref


def model_choices(store: Store, project: ProjectInfo) -> dict[str, str]:
    """Shown name -> model source: the base, the starting model, and every unlearned run."""
    choices = {"base": project.base_model}
    start = whp.starting_model(store, project)
    if start != project.base_model:
        choices["start"] = start
    for found in list_artifacts(store, project.id, ArtifactKind.UNLEARNED):
        config = found.meta.get("config", {})
        lr = config.get("train", {}).get("lr")
        name = f"unlearned #{found.id} · {config.get('method', 'whp')}"
        choices[name + (f" lr {lr:g}" if lr else "")] = str(found.path)
    return choices


def model_refs(text: str) -> list[str]:
    """ "start, unlearned" -> ["start", "unlearned"]: the first is the baseline."""
    return [ref.strip() for ref in text.split(",") if ref.strip()]


def prompt_file(path: str) -> list[evaluate.EvalPrompt] | None:
    """The prompts of a JSONL file, or None (the project's defaults) when no file is given."""
    return evaluate.read_prompts(Path(path).read_bytes(), path) if path else None


def save_prompt_set(
    store: Store, actor, project: ProjectInfo, prompts: Sequence[evaluate.EvalPrompt], source: str
) -> int:
    """Store a project's evaluation prompts (with their dev/test split) as a new prompt set."""
    if not prompts:
        raise UnlearnError("No prompts to save.")
    data = evaluate.write_prompts(evaluate.with_split(prompts))
    return _save_jsonl(store, actor, project, ArtifactKind.PROMPT_SET, "prompts", data, source,
                       prompts=len(prompts))  # fmt: skip


def save_qa_set(
    store: Store, actor, project: ProjectInfo, pairs: Sequence[qa_pairs.QAPair], source: str
) -> int:
    """Store KnowMem's question-answer pairs (both sets) as a new QA set."""
    if not pairs:
        raise UnlearnError("No question-answer pairs to save.")
    counts = {which: sum(p.set == which for p in pairs) for which in qa_pairs.QA_SETS}
    return _save_jsonl(store, actor, project, ArtifactKind.QA_SET, "qa", qa_pairs.write_qa(pairs),
                       source, **counts)  # fmt: skip


def _save_jsonl(
    store,
    actor,
    project,
    kind,
    stem: str,
    data: bytes,
    source: str,
    action: str = "artifact.register",
    **meta,
) -> int:
    authorize(store, actor, action)
    folder = store.project_dir(project.id) / stem
    folder.mkdir(exist_ok=True)
    path = folder / f"{stem}-{whp.stamp()}-{uuid4().hex[:6]}.jsonl"  # two saves a second
    path.write_bytes(data)
    return register_artifact(store, actor, project.id, kind, path, action=action, source=source,
                             **meta)  # fmt: skip


def build_qa(
    store: Store, actor, project: ProjectInfo, source: str, file: str = "", passages: int = 8
) -> tuple[int, list[str]]:
    """A new QA set from the LLM (forget and retain passages) or from a JSONL file."""
    authorize(store, actor, "artifact.register")
    failures: list[str] = []
    if source == "llm":
        client = llm_client(store, "Question-answer pairs from an LLM")
        texts = {
            "forget": whp.forget_texts(store, project),
            "retain": project_texts(store, project.id, DocRole.RETAIN),
        }
        pairs = []
        for which, found in texts.items():
            made, failed = qa_pairs.llm_pairs(client, found, which, passages=passages)
            pairs += made
            failures += failed
    elif source == "file":
        pairs = qa_pairs.read_qa(Path(file).read_bytes(), file)
    else:
        raise UnlearnError(f"Unknown QA source {source!r}: llm or file.")
    return save_qa_set(store, actor, project, pairs, source), failures


def default_qa(store: Store, project: ProjectInfo) -> list[qa_pairs.QAPair]:
    """The newest stored QA set (the Demo project is seeded with its own), else none."""
    stored = list_artifacts(store, project.id, ArtifactKind.QA_SET)
    if not stored:
        return []
    return qa_pairs.read_qa(stored[0].path.read_bytes(), stored[0].path.name)


def llm_client(store: Store, what: str):
    from pipelines.llm import client_from_env
    from pipelines.store.llm_calls import StoredCallLog

    client = client_from_env(StoredCallLog(store))
    if client is None:
        raise UnlearnError(f"{what} need an endpoint: set UNLEARN_LLM_MODEL.")
    return client


def build_prompts(
    store: Store, actor, project: ProjectInfo, source: str, file: str = "", passages: int = 10
) -> tuple[int, list[str]]:
    """A new prompt set from the LLM (WHP's method), from anchor cuts, or from a JSONL file;
    the permission is checked before any paid request or file is made."""
    authorize(store, actor, "artifact.register")
    failures: list[str] = []
    if source == "llm":
        client = llm_client(store, "Prompts from an LLM")
        prompts, failures = evaluate.llm_prompts(
            client, whp.forget_texts(store, project), passages=passages
        )
    elif source == "anchor-cut":
        from pipelines.anchors.dictionary import dictionary_for

        terms = list(dictionary_for(store, project))
        prompts = evaluate.anchor_cut_prompts(whp.forget_texts(store, project), terms)
    elif source == "file":
        prompts = prompt_file(file) or []
    else:
        raise UnlearnError(f"Unknown prompt source {source!r}: llm, anchor-cut or file.")
    return save_prompt_set(store, actor, project, prompts, source), failures


def default_prompts(store: Store, project: ProjectInfo) -> list[evaluate.EvalPrompt]:
    """The newest stored prompt set (the Demo project is seeded with its own), else prompts cut
    before the anchor terms."""
    stored = list_artifacts(store, project.id, ArtifactKind.PROMPT_SET)
    if stored:
        return evaluate.read_prompts(stored[0].path.read_bytes(), stored[0].path.name)
    sets = whp.label_sets(store, project)
    if not sets:
        raise UnlearnError("No prompts: give a prompt file, or generate a label set first.")
    dictionary = whp.label_set_dictionary(sets[0])
    return evaluate.anchor_cut_prompts(whp.forget_texts(store, project), list(dictionary))


def rule_judge(store: Store, project: ProjectInfo) -> RuleJudge:
    """Unique terms: the dictionary's anchors and any given judge terms; themes: statistics."""
    terms: set[str] = set()
    for label_set in whp.label_sets(store, project)[:1]:
        terms |= set(whp.label_set_dictionary(label_set))
    for given in list_artifacts(store, project.id, ArtifactKind.JUDGE_TERMS)[:1]:
        terms |= {row["term"] for row in json.loads(given.path.read_text())}
    forget = whp.forget_texts(store, project)
    themes = distinctive_words(forget, project_texts(store, project.id, DocRole.RETAIN))
    return RuleJudge(terms, [w for w in themes if w not in {t.lower() for t in terms}])


def project_judge(store: Store, project: ProjectInfo, kind: str = "auto"):
    """The LLM judge (rules as its fallback) when an endpoint is set or asked for, else rules."""
    if kind not in JUDGES:
        raise UnlearnError(f"Unknown judge {kind!r}; choose {', '.join(JUDGES)}.")
    rules = rule_judge(store, project)
    if kind == "rules":
        return rules
    from pipelines.llm import client_from_env
    from pipelines.store.llm_calls import StoredCallLog

    client = client_from_env(StoredCallLog(store))
    if client is None:
        if kind == "llm":
            raise UnlearnError("The LLM judge needs an endpoint: set UNLEARN_LLM_MODEL.")
        return rules
    return LLMJudge(client, project.target_description, fallback=rules)


def familiarity_probe(store: Store, project: ProjectInfo, tokenizer, limit: int = 16):
    """A training probe: probability familiarity on the dev prompts (None without prompts)."""
    try:
        prompts = evaluate.with_split(default_prompts(store, project))
    except UnlearnError:
        return None
    dev = [p for p in prompts if p.split == "dev" and p.expected][:limit]
    if not dev:
        return None
    return lambda model: {"prob_familiarity": mean_probability(model, tokenizer, dev)}


def held_out_retain(store: Store, project: ProjectInfo) -> list[str]:
    """Retain text no training stage sees (see pipelines/splits.py)."""
    return split_paragraphs(project_texts(store, project.id, DocRole.RETAIN)).held_out


def privleak_reference(store: Store, project: ProjectInfo, asked: str = "auto") -> str:
    """The model whose membership AUC PrivLeak is relative to, or "none" (chance, 0.5).

    auto: the base model where the project taught it the forget text first (the demo world: the
    untaught base is an exact retrained reference), else none: a model pretrained on the text
    has no retrained twin here.
    """
    if asked != "auto":
        return asked
    return "base" if whp.starting_model(store, project) != project.base_model else "none"


@dataclass(frozen=True)
class Measures:
    """What an evaluation measures beyond familiarity and perplexity."""

    robustness: RobustnessConfig | None = None
    utility_tasks: tuple[str, ...] = ()
    muse: muse.MuseConfig | None = field(default_factory=muse.MuseConfig)
    quantisation: bool = True
    reference: str = "auto"  # PrivLeak's reference model (privleak_reference)


def run(
    store: Store,
    project: ProjectInfo,
    refs: Sequence[str],
    out_dir: Path,
    *,
    prompts: Sequence[evaluate.EvalPrompt] | None = None,
    config: evaluate.EvalConfig | None = None,
    judge_kind: str = "auto",
    measures: Measures | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Evaluate each model (the first is the baseline) and write report.json and report.html."""
    config = config or evaluate.EvalConfig()
    measures = measures or Measures()
    prompts = list(prompts or default_prompts(store, project))
    scored = [p for p in prompts if p.split == "test"] or prompts
    judge = project_judge(store, project, judge_kind)
    retain = held_out_retain(store, project)
    forget = whp.forget_texts(store, project)
    client = getattr(judge, "client", None)
    qa = default_qa(store, project) if measures.muse else []
    holdout = project_texts(store, project.id, DocRole.HOLDOUT)
    non_members = holdout or retain
    book_probes = probe_set(store, project)
    results, sources = [], {}
    for ref in refs:
        source = sources[ref] = resolve_model(store, project, ref)
        loaded = models.load(ModelConfig(source=source), models_dir=store.settings.models_dir)
        model, tokenizer = loaded.model, loaded.tokenizer
        result = evaluate.evaluate_model(
            ref, model, tokenizer, prompts, judge, retain, config, progress
        )
        if measures.robustness is not None:
            result.robustness = probe(model, tokenizer, scored, forget, measures.robustness, client)
            _tell(progress, f"{ref}: robustness probes")
        if measures.muse is not None:
            given = muse.inputs(tokenizer, forget, non_members, qa, measures.muse)
            result.muse = muse.measure(model, tokenizer, given, measures.muse)
            _tell(progress, f"{ref}: MUSE metrics")
        if measures.quantisation:
            result.quantised = quantise.probe(
                model, lambda m, t=tokenizer: mean_probability(m, t, scored)
            )
            _tell(progress, f"{ref}: quantisation probe")
        if book_probes:
            result.probes = probe_report(model, tokenizer, book_probes)
            _tell(progress, f"{ref}: probes, report half")
        if measures.utility_tasks and is_main_process():  # lm-eval runs in one process
            result.utility = run_tasks(model, tokenizer, measures.utility_tasks)
        results.append(result)
    reference = _apply_privleak(store, project, results, sources, measures, forget, non_members, qa)
    main = is_main_process()  # under accelerate launch: every process measured, one writes
    for ref, result in zip(refs, results, strict=True):
        if main:
            _card_results(Path(sources[ref]), result)
    meta = {
        "project": project.name,
        "judge": judge.name,
        "judge_failures": len(getattr(judge, "failures", [])),
        "prompts": len(prompts),
        "retain_text": "held-out paragraphs (20%)",
        "robustness": asdict(measures.robustness) if measures.robustness else None,
        "utility_tasks": list(measures.utility_tasks),
        "muse": asdict(measures.muse) if measures.muse else None,
        "qa_pairs": {w: sum(p.set == w for p in qa) for w in qa_pairs.QA_SETS},
        "privleak_reference": reference,
        "privleak_non_members": "holdout documents" if holdout else "held-out retain paragraphs",
        "quantisation": "optimum-quanto int8 and int4 weights" if measures.quantisation else None,
        "sources": sources,
        "kept_checkpoints": {ref: _kept(sources[ref]) for ref in refs if _kept(sources[ref])},
    }
    curves = {ref: _training_curve(sources[ref]) for ref in refs}
    meta |= {"config": config.__dict__, "models": list(refs)}
    built = report.build(results, meta, {ref: c for ref, c in curves.items() if c})
    if main:
        report.write(built, out_dir)
    return built


def _tell(progress: Callable[[str], None] | None, what: str) -> None:
    if progress:
        progress(what)


def _apply_privleak(
    store, project, results, sources, measures, forget, non_members, qa
) -> dict | None:
    """PrivLeak for every model against the reference's AUC; what reference was used."""
    if measures.muse is None:
        return None
    ref = privleak_reference(store, project, measures.reference)
    if ref == "none":
        reference = {"model": "none: chance (no retrained model)", "auc": muse.IDEAL_AUC}
    elif ref in sources:
        found = results[list(sources).index(ref)].muse.get("auc")
        reference = {"model": ref, "source": sources[ref], "auc": found}
    else:
        source = resolve_model(store, project, ref)
        loaded = models.load(ModelConfig(source=source), models_dir=store.settings.models_dir)
        given = muse.inputs(loaded.tokenizer, forget, non_members, qa, measures.muse)
        auc = muse.membership_auc(
            loaded.model.eval(), loaded.tokenizer, given.members, given.non_members, measures.muse
        )
        reference = {"model": ref, "source": source, "auc": auc}
    for result in results:
        result.muse["privleak"] = muse.privleak(result.muse.get("auc"), reference["auc"])
    return reference


def _training_record(source: str) -> dict:
    record = Path(source) / "unlearn_training.json"
    return json.loads(record.read_text()) if record.is_file() else {}


def _training_curve(source: str) -> list:
    """The probes recorded while one of our models trained, if any."""
    return _training_record(source).get("probes", [])


def _kept(source: str) -> str | None:
    """Which checkpoint a model's training kept, and why (None where no rule chose)."""
    return _training_record(source).get("checkpoint kept")


def _card_results(model_dir: Path, result: evaluate.ModelResult) -> None:
    """An evaluated model folder of ours gets the figures in its model card."""
    if (model_dir / "unlearn_training.json").exists():
        model_card.add_results(model_dir, report.result_summary(result))


# ---------- probes built from the book (cloze) and the shipped neighbour probes ----------

NEIGHBOUR_PROBES = REPO_ROOT / "data" / "probes" / "neighbours.jsonl"


def neighbour_probes(anchors: Sequence[str]) -> list[cloze.Probe]:
    """The shipped general-knowledge and other-fiction probes, less any that name the target."""
    names = general_retain.target_names(anchors)
    shipped = cloze.read_probes(NEIGHBOUR_PROBES.read_bytes(), NEIGHBOUR_PROBES.name)
    return [p for p in shipped if not general_retain.names_any(f"{p.prompt} {p.answer}", names)]


def build_probes(
    store: Store,
    actor,
    project: ProjectInfo,
    config: cloze.ClozeConfig,
    progress=None,
    llm_passages: int = 0,
) -> tuple[int, list[cloze.Probe]]:
    """A new probe set: cloze probes from the forget text that the base model knows, the
    question-answer probes the LLM writes from `llm_passages` sampled passages (0: none) that
    it knows too, and the neighbour probes; saved as the project's newest probe set."""
    authorize(store, actor, "artifact.register")
    anchors = published_terms(store, project)
    client = llm_client(store, "LLM probes") if llm_passages else None  # before the model loads
    base = whp.load_base(store, project)

    def score(pairs):
        _tell(progress, f"scoring {len(pairs)} candidate probes with the base model")
        return answer_probabilities(base.model, base.tokenizer, pairs, base.device)

    texts = whp.forget_texts(store, project)
    probes = cloze.build(texts, anchors, config, score)
    if client is not None:
        _tell(progress, f"the LLM writes questions from {llm_passages} passages")
        pairs, failures = qa_pairs.llm_pairs(client, texts, "forget", passages=llm_passages)
        probes += cloze.qa_probes([(p.question, p.answer) for p in pairs], config, score)
        _tell(progress, f"{len(pairs)} questions written, {len(failures)} refused or failed")
    if not probes:
        raise UnlearnError(
            "No cloze probe is known to the base model: lower the minimum probability, or add "
            "forget text."
        )
    probes += neighbour_probes(anchors)
    return save_probe_set(store, actor, project, probes, "cloze"), probes


def published_terms(store: Store, project: ProjectInfo) -> list[str]:
    """The newest published dictionary's terms (none before the first publish)."""
    published = dictionary.versions(store, project)
    return list(dictionary.as_mapping(dictionary.read_version(published[0].path))) if (
        published) else []  # fmt: skip


def save_probe_set(
    store: Store, actor, project: ProjectInfo, probes: Sequence[cloze.Probe], source: str
) -> int:
    """Store the probes (people's edits included) as a new version of the project's probe set."""
    if not probes:
        raise UnlearnError("No probes to save.")
    counts = {g: sum(p.group == g and p.status == "kept" for p in probes) for g in cloze.GROUPS}
    return _save_jsonl(store, actor, project, ArtifactKind.PROBE_SET, "probes",
                       cloze.write_probes(probes), source, "probes.edit", **counts)  # fmt: skip


def probe_set(store: Store, project: ProjectInfo) -> list[cloze.Probe]:
    """The newest probe set, or none."""
    stored = list_artifacts(store, project.id, ArtifactKind.PROBE_SET)
    return cloze.read_probes(stored[0].path.read_bytes(), stored[0].path.name) if stored else []


def probe_report(model, tokenizer, probes: Sequence[cloze.Probe]) -> dict:
    """Mean first-token answer probability per probe group, on the report half."""
    device = str(model.device)

    def mean(group: str) -> float | None:
        pairs = cloze.in_use(probes, group, "report")
        return mean_answer_probability(model, tokenizer, pairs, device)

    return {f"{group}_probes": mean(group) for group in cloze.GROUPS}


def training_probe(store: Store, project: ProjectInfo, tokenizer, limit: int = 32):
    """A training probe from the newest probe set's tuning half: the book's and the neighbours'
    mean answer probability, and perplexity on a piece of held-out retain text (None without
    a probe set). Small on purpose: it runs about eight times a fine-tune."""
    probes = probe_set(store, project)
    book = cloze.in_use(probes, "book", "tuning")[:limit]
    if not book:
        return None
    neighbours = [*cloze.in_use(probes, "general", "tuning")[: limit // 4],
                  *cloze.in_use(probes, "fiction", "tuning")[: limit // 4]]  # fmt: skip
    retain = " ".join(" ".join(held_out_retain(store, project)).split()[:PROBE_RETAIN_WORDS])

    def measure(model) -> dict:
        device = str(model.device)
        found = {"book": mean_answer_probability(model, tokenizer, book, device)}
        if neighbours:
            found["neighbours"] = mean_answer_probability(model, tokenizer, neighbours, device)
        if retain:
            found["retain_ppl"] = perplexity(model, tokenizer, [retain], device=device)
        return found

    return measure


PROBE_RETAIN_WORDS = 200  # about 270 tokens: one or two blocks, well under a second on a CPU
