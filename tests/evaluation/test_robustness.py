"""The LLM judge and LLM-built prompts, the held-out retain split, and the robustness probes."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from pipelines.cli import main as cli
from pipelines.corpus.splits import split_paragraphs
from pipelines.evaluation import evaluate, robustness
from pipelines.evaluation import project as eval_project
from pipelines.evaluation.evaluate import EvalPrompt
from pipelines.evaluation.judge import RULE_JUDGE, LLMJudge, RuleJudge
from pipelines.evaluation.utility import available
from pipelines.llm import LLMClient, LLMFailure, LLMSettings
from pipelines.store.llm_calls import StoredCallLog, recent_calls
from pipelines.store.projects import get_project
from pipelines.types import UnlearnError
from tests.conftest import DEMO, ScriptedLLM, make_labelled_project
from tests.servers import KATAN, llm_server


def katan_client(store, port, mode):
    settings = LLMSettings(model="gpt-4o", base_url=f"http://127.0.0.1:{port}/v1", mode=mode,
                           backoff_s=0.01)  # fmt: skip
    return LLMClient(settings, StoredCallLog(store))


@pytest.mark.skipif(KATAN is None, reason="llm-katan is not installed (dev extra)")
def test_the_llm_judge_on_a_real_server_and_its_fallback_on_a_malformed_reply(store):
    server, port = llm_server()
    rules = RuleJudge(["Ferkfell"])
    with server:
        good = LLMJudge(katan_client(store, port, "tools"), "the Salt Roads books", rules)
        verdict = good.judge("The road led to", " Ferkfell, as always.", "Ferkfell")
        bad = LLMJudge(katan_client(store, port, "json_schema"), "", rules)
        fallback = bad.judge("The road led to", " Ferkfell, as always.", "Ferkfell")
        strict = LLMJudge(katan_client(store, port, "json_schema"))
        with pytest.raises(LLMFailure):
            strict.judge("p", "c")
    assert verdict.judge == "llm (gpt-4o)" and verdict.category in (1, 2, 3, 4)
    assert fallback.judge == RULE_JUDGE and fallback.category == 1
    assert "LLM failed" in fallback.rationale and len(bad.failures) == 1
    calls = recent_calls(store)
    assert {c.purpose for c in calls} == {"judge"}
    assert "Category 1 needs" in calls[0].request["messages"][0]["content"]
    assert "category" in json.dumps(calls[-1].request["tools"])


def test_llm_prompts_keep_only_grounded_probes():
    text = "At dawn Thumsath rode to Skoholm with the lantern. " * 40
    client = ScriptedLLM([{"prompts": [
        {"prompt": "At dawn the cartographer rode to", "expected": "Skoholm"},
        {"prompt": "At dawn Thumsath rode to Skoholm", "expected": "Skoholm"},
        {"prompt": "The wizard lived in a tower in", "expected": "Mordor"},
    ]}])  # fmt: skip
    prompts, failures = evaluate.llm_prompts(client, [text], passages=1, size=400)
    assert [(p.prompt, p.expected, p.source) for p in prompts] == [
        ("At dawn the cartographer rode to", "Skoholm", "llm")
    ]
    assert "contains its answer" in failures[0] and "not in the passage" in failures[1]


def test_the_held_out_retain_split_is_seeded_disjoint_and_complete():
    texts = ["\n\n".join(f"doc{d} paragraph {i}" for i in range(20)) for d in range(3)]
    split = split_paragraphs(texts)
    assert split == split_paragraphs(texts)
    train = {p for t in split.train for p in t.split("\n\n")}
    held = {p for t in split.held_out for p in t.split("\n\n")}
    assert not train & held and len(train | held) == 60
    assert 3 <= len(held) <= 25
    assert split_paragraphs([texts[0], "new doc\n\nsecond"]).held_out[0] == split.held_out[0]


def test_reframed_and_in_context_prompts():
    prompts = [EvalPrompt("The envoy of Ferkfell was", "Poulvyl")]
    assert len(robustness.reframed(prompts)) == len(robustness.REFRAMES)
    forget = ["Poulvyl spoke. " * 30 + "Quiet fields and roads. " * 30]
    config = robustness.RobustnessConfig(context_chars=100)
    (shown,) = robustness.in_context(prompts, forget, config)
    context = shown.prompt.split("\n\n")[0]
    assert "poulvyl" not in context.lower() and shown.prompt.endswith(prompts[0].prompt)


def test_the_relearning_probe_trains_a_copy_and_moves_the_probability(tiny_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    book = (DEMO / "forget" / "book1.md").read_text()[:4000]
    prompts = evaluate.anchor_cut_prompts([book], ["Thumsath", "Skoholm"])
    config = robustness.RobustnessConfig(relearn_steps=4, relearn_block_tokens=64, relearn_lr=1e-2)
    found = robustness.probe(model, tok, prompts, [book], config)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # a copy trained
    plain = robustness.mean_probability(model, tok, prompts)
    assert found["relearned_prob"] > plain  # a few steps on the book bring its names back
    assert 0 <= found["reframed_prob"] <= 1 and 0 <= found["in_context_prob"] <= 1


def test_stored_prompt_sets_and_a_robust_eval_report(store, admin, tiny_model_dir, tmp_path):
    make_labelled_project(store, admin, tiny_model_dir, "R")
    project = get_project(store, "R")
    lines = [{"prompt": f"Travellers crossing Desdo always stopped at {i}", "expected": "Skoholm"}
             for i in range(6)]  # fmt: skip
    file = tmp_path / "p.jsonl"
    file.write_text("\n".join(json.dumps(line) for line in lines))
    assert (
        cli.main(["eval-prompts", "--project", "R", "--source", "file", "--file", str(file)]) == 0
    )
    stored = eval_project.default_prompts(store, project)
    assert len(stored) == 6 and {p.split for p in stored} == {"dev", "test"}

    # Unlearning probes familiarity on the dev prompts as it trains: a curve against steps.
    assert cli.main(["unlearn", "--project", "R", "--epochs", "2", "--block-tokens", "64"]) == 0
    out = tmp_path / "report"
    argv = ["eval", "--project", "R", "--models", "start,unlearned", "--out", str(out)]
    assert cli.main([*argv, "--max-new-tokens", "3", "--robustness", "--relearn-steps", "2"]) == 0
    data = json.loads((out / "report.json").read_text())
    for model in data["models"]:
        assert model["relearned_prob"] is not None and model["in_context_prob"] is not None
    assert data["meta"]["retain_text"].startswith("held-out")
    steps = [step for step, _ in data["curves"]["unlearned"]]
    assert steps[0] == 0 and steps == sorted(steps) and len(steps) >= 3
    page = (out / "report.html").read_text()
    assert "relearning probe" in page and "against training steps" in page
    utility = [k for k in data["models"][0] if k.startswith("utility: ")]
    assert utility == (["utility: unlearn_general_knowledge"] if available() else [])


def test_general_tasks_run_offline_through_lm_eval_on_the_local_task_file(tiny_model_dir):
    pytest.importorskip("lm_eval", reason="the utility extra (make test installs it)")
    from pipelines.evaluation import utility

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    assert utility.local_tasks() == ["unlearn_general_knowledge"]
    found = utility.run_tasks(model, tok, ["unlearn_general_knowledge"], limit=8)
    assert 0 <= found["unlearn_general_knowledge"] <= 1
    with pytest.raises(UnlearnError, match="cannot load"):
        utility.run_tasks(model, tok, ["no_such_task"])
    assert utility.resolve_tasks("auto") == ["unlearn_general_knowledge"]
    assert utility.resolve_tasks("") == []
