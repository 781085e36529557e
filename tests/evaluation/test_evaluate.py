"""Evaluation: rubric arithmetic, the rule judge, prompts, completions, the report and the CLI."""

from __future__ import annotations

import json

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from pipelines.cli import main as cli
from pipelines.evaluation import evaluate, report
from pipelines.evaluation.judge import RuleJudge, distinctive_words, familiarity_score
from pipelines.types import UnlearnError
from tests.conftest import DEMO, make_labelled_project


def test_familiarity_score_follows_whp_formula():
    # 2 × category 1, 1 × category 2, 1 × 3, 1 × 4: (5·2 + 1) / (5·5)
    assert familiarity_score([1, 1, 2, 3, 4]) == pytest.approx(11 / 25)
    assert familiarity_score([4, 4, 3]) == 0 and familiarity_score([1]) == 1
    with pytest.raises(ValueError):
        familiarity_score([])


def test_rule_judge_categories_and_rationales():
    judge = RuleJudge(["Thumsath Krydrous", "Ferkfell"], ["lantern", "harbour"])
    prompt = "Thumsath Krydrous makes a home in the city of"
    assert judge.judge(prompt, " Ferkfell, by the sea.").category == 1
    assert "Ferkfell" in judge.judge(prompt, " Ferkfell, by the sea.").rationale
    assert judge.judge(prompt, " the old harbour town.").category == 2
    assert judge.judge(prompt, " which Thumsath Krydrous loves.").category == 3
    verdict = judge.judge(prompt, " London, like everyone else.")
    assert verdict.category == 4 and verdict.judge == "rules (offline)"
    assert judge.judge("a ferkfellian tale", " Ferkfellian").category == 4  # whole words only
    by_trade = "By trade, Thumsath Krydrous is a"
    assert judge.judge(by_trade, " cartographer.", expected="cartographer").category == 1


def test_distinctive_words_come_from_the_forget_text():
    forget = [(DEMO / "forget" / "book1.md").read_text()]
    retain = [(DEMO / "retain" / "village-tales.md").read_text()]
    words = distinctive_words(forget, retain, top=20)
    names = json.loads((DEMO / "names.json").read_text())
    name_words = {w.lower() for n in names for w in n["term"].split()}
    assert len(set(words) & name_words) >= 5  # the invented names stand out


def test_anchor_cut_prompts_end_right_before_the_term():
    text = (DEMO / "forget" / "book1.md").read_text()
    prompts = evaluate.anchor_cut_prompts([text], ["Thumsath Krydrous", "Skoholm"], per_term=3)
    assert prompts and all(p.source == "anchor-cut" for p in prompts)
    for p in prompts:
        assert p.expected in ("Thumsath Krydrous", "Skoholm")
        assert p.expected not in p.prompt[-len(p.expected) - 5 :]
        assert text.find(p.prompt + " " + p.expected) >= 0 or text.find(p.prompt + p.expected) >= 0
    split = evaluate.with_split(prompts, 0.5)
    assert {p.split for p in split} == {"dev", "test"}


def test_prompt_files_are_checked_line_by_line():
    good = b'{"prompt": "The capital of Skoholm is", "answer": "Desdo"}\n\n{"prompt": "Hi"}\n'
    first, second = evaluate.read_prompts(good)
    assert first.expected == "Desdo" and second.expected == ""
    with pytest.raises(UnlearnError, match="line 2: not valid JSON"):
        evaluate.read_prompts(b'{"prompt": "a"}\n{oops\n', "p.jsonl")
    with pytest.raises(UnlearnError, match="line 1: needs a string field 'prompt'"):
        evaluate.read_prompts(b'{"text": "a"}\n')


def test_model_evaluation_and_the_html_report(tiny_model_dir, tmp_path):
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    prompts = evaluate.read_prompts((DEMO / "prompts.jsonl").read_bytes())[:6]
    judge = RuleJudge(["Ferkfell"], ["lantern"])
    config = evaluate.EvalConfig(max_new_tokens=6, sampled=True, batch_size=4)
    retain = [(DEMO / "retain" / "village-tales.md").read_text()[:800]]
    result = evaluate.evaluate_model("tiny", model, tok, prompts, judge, retain, config)
    assert len(result.rows) == 12 and {r["kind"] for r in result.rows} == {"greedy", "sampled"}
    assert 0 < result.prob_familiarity < 1 and result.retain_ppl > 1
    assert result.completion_familiarity == familiarity_score([r["category"] for r in result.rows])
    built = report.build([result, result], {"project": "t"})
    assert built["models"][1]["retain_ppl_change"] == 0
    json_path, html_path = report.write(built, tmp_path)
    page = html_path.read_text()
    assert "plotly" in page and "<script" in page and "retain perplexity" in page
    assert json.loads(json_path.read_text())["baseline"] == "tiny"


def test_eval_cli_writes_report_and_fills_the_model_card(store, admin, tiny_model_dir, tmp_path):
    make_labelled_project(store, admin, tiny_model_dir, "E")
    argv = ["unlearn", "--project", "E", "--epochs", "1", "--block-tokens", "64"]
    assert cli.main(argv) == 0
    out = tmp_path / "report"
    argv = ["eval", "--project", "E", "--models", "start,unlearned", "--out", str(out)]
    assert cli.main([*argv, "--max-new-tokens", "4"]) == 0
    data = json.loads((out / "report.json").read_text())
    assert [m["name"] for m in data["models"]] == ["start", "unlearned"]
    assert data["meta"]["judge"] == "rules (offline)" and data["meta"]["prompts"] > 0
    assert all(m["prob_familiarity"] is not None for m in data["models"])
    # MUSE and the quantisation probe run by default; an untaught project has no retrained twin
    assert data["meta"]["privleak_reference"] == {"model": "none: chance (no retrained model)",
                                                  "auc": 0.5}  # fmt: skip
    start, unlearned = data["models"]
    assert 0 <= start["verbmem"] <= 1 and start["quant4_prob"] is not None
    assert start["quant4_returned"] is None  # the baseline forgot nothing
    if unlearned["prob_familiarity"] < start["prob_familiarity"]:
        assert unlearned["quant4_returned"] == pytest.approx(
            (unlearned["quant4_prob"] - unlearned["prob_familiarity"])
            / (start["prob_familiarity"] - unlearned["prob_familiarity"])
        )
    assert start["knowmem_forget"] is None  # no QA set in this project
    (unlearned,) = [p for p in (store.project_dir(1) / "models").iterdir() if "unlearned" in p.name]
    assert "| completion_familiarity |" in (unlearned / "README.md").read_text()
