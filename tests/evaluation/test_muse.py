"""MUSE's metrics: ROUGE-L, Min-K%, membership AUC and PrivLeak, VerbMem and KnowMem, QA files."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from pipelines.evaluation import evaluate, muse
from pipelines.evaluation import qa as qa_pairs
from pipelines.training.loop import TrainConfig, language_modeling_examples, pad_id_of, train
from pipelines.types import UnlearnError
from tests.conftest import DEMO

CONFIG = muse.MuseConfig(excerpts=4, prefix_tokens=8, continuation_tokens=16, leak_texts=6,
                         leak_tokens=24, batch_size=4)  # fmt: skip


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.pad_token = tokenizer.eos_token
    return AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval(), tokenizer


@pytest.fixture(scope="module")
def texts():
    book = (DEMO / "forget" / "book1.md").read_text()
    village = (DEMO / "retain" / "village-tales.md").read_text()
    return [book[:1500]], [village[:1500]]


@pytest.fixture(scope="module")
def memorised(tiny, texts):
    """The tiny model trained hard on the forget excerpt, so that it knows it by heart."""
    model, tokenizer = tiny
    blocks = muse.leak_blocks(tokenizer, texts[0], CONFIG)
    blocks += muse.forget_excerpts(tokenizer, texts[0], CONFIG)
    config = TrainConfig(epochs=40, lr=3e-3, batch_size=4, seed=0)
    trained, _ = train(copy.deepcopy(model), language_modeling_examples(blocks), config,
                       pad_id=pad_id_of(tokenizer))  # fmt: skip
    return trained.eval()


def test_rouge_l_is_the_longest_common_subsequence():
    assert muse.rouge_l("the cat sat", "the cat sat") == (1.0, 1.0)
    assert muse.rouge_l("dog", "the cat") == (0.0, 0.0)
    # LCS "the cat on mat": 4 of 6 predicted words, 4 of 5 reference words
    f1, recall = muse.rouge_l("the cat sat on the mat", "the cat on a mat")
    assert recall == pytest.approx(4 / 5) and f1 == pytest.approx(
        2 * (4 / 6) * (4 / 5) / (4 / 6 + 4 / 5)
    )


def test_min_k_is_the_mean_of_the_lowest_token_log_probabilities(tiny):
    model, tokenizer = tiny
    block = tokenizer("Thumsath Krydrous makes a home in the city of Ferkfell")["input_ids"]
    (score,) = muse.min_k_scores(model, tokenizer, [block], 0.4)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([block])).logits[0, :-1]
    token_logprobs = torch.log_softmax(logits, -1)[torch.arange(len(block) - 1), block[1:]]
    lowest = token_logprobs.sort().values[: math.ceil(0.4 * (len(block) - 1))]
    assert score == pytest.approx(float(lowest.mean()), abs=1e-5)
    # right padding in a batch leaves each block's score as it is alone
    short = block[:6]
    batched = muse.min_k_scores(model, tokenizer, [block, short], 0.4)
    assert batched[0] == pytest.approx(score, abs=1e-5)
    assert batched[1] == pytest.approx(
        muse.min_k_scores(model, tokenizer, [short], 0.4)[0], abs=1e-5
    )


def test_a_model_that_memorised_the_text_leaks_it_and_repeats_it(tiny, memorised, texts):
    model, tokenizer = tiny
    given = muse.inputs(tokenizer, texts[0], texts[1], [], CONFIG)
    assert len(given.excerpts) == 4 and len(given.members) == len(given.non_members) == 6
    before = muse.measure(model, tokenizer, given, CONFIG)
    after = muse.measure(memorised, tokenizer, given, CONFIG)
    assert after["verbmem"] > 0.8 > 0.2 > before["verbmem"]
    assert after["auc"] == 1.0 and after["auc"] > before["auc"]
    assert before["knowmem_forget"] is None and before["knowmem_retain"] is None  # no QA pairs
    leak = muse.privleak(after["auc"], before["auc"])
    assert leak == pytest.approx((1.0 - before["auc"]) / before["auc"]) and leak > 0
    assert muse.privleak(before["auc"], before["auc"]) == 0
    assert (
        muse.privleak(None, 0.5) is None
        and muse.membership_auc(model, tokenizer, [], [1], CONFIG) is None
    )


def test_knowmem_asks_few_shot_and_scores_the_first_line_by_recall(monkeypatch, tiny):
    model, tokenizer = tiny
    pairs = [qa_pairs.QAPair(f"Who made lamp {i}?", f"Maker {i}", "forget") for i in range(4)]
    seen = []

    def answers(_model, _tokenizer, prompts, config):
        seen.extend(prompts)
        assert config.max_new_tokens == CONFIG.answer_tokens
        return [" Maker 0\nQuestion: more", " the Maker", " nobody", " Maker 3 of the hills"]

    monkeypatch.setattr(evaluate, "complete", answers)
    score = muse.knowmem(model, tokenizer, pairs, CONFIG)
    assert score == pytest.approx((1 + 0.5 + 0 + 1) / 4)
    assert seen[0].endswith("Question: Who made lamp 0?\nAnswer:")
    assert "Answer: Maker 0" not in seen[0] and seen[0].count("Question:") == CONFIG.shots + 1


def test_qa_files_are_checked_line_by_line():
    good = b'{"question": "Who?", "answer": "Ann", "set": "retain"}\n\n'
    good += b'{"question": "Q", "answer": "A"}'
    assert qa_pairs.read_qa(good) == [
        qa_pairs.QAPair("Who?", "Ann", "retain"),
        qa_pairs.QAPair("Q", "A"),
    ]
    assert qa_pairs.read_qa(qa_pairs.write_qa(qa_pairs.read_qa(good))) == qa_pairs.read_qa(good)
    for bad, message in [
        (b'{"question": "Q", "answer": "A", "set": "keep"}', "forget or retain"),
        (b'{"question": "Q", "answer": 3}', "answer"),
        (b'{"question": " ", "answer": "A"}', "question"),
        (b'{"question": "Q", "answer": "A", "answer": "B"}', "line 1"),
        (b"[1]", "one JSON object"),
        (b"\n", "no question-answer pairs"),
    ]:
        with pytest.raises(UnlearnError, match=message):
            qa_pairs.read_qa(bad)


def test_the_demo_qa_set_asks_about_every_fact_and_keeps_general_knowledge():
    pairs = qa_pairs.read_qa((DEMO / "qa.jsonl").read_bytes())
    facts = (DEMO / "facts.csv").read_text().splitlines()[1:]
    assert sum(p.set == "forget" for p in pairs) == len(facts)
    assert {p.answer for p in pairs if p.set == "retain"} >= {"Paris", "seven"}
    for pair in pairs:
        assert pair.answer.lower() not in pair.question.lower()


def test_the_llm_writes_qa_pairs_grounded_in_their_passage():
    from tests.conftest import ScriptedLLM

    text = (DEMO / "forget" / "book1.md").read_text()[:1200]
    assert "Ferkfell" in text
    client = ScriptedLLM([{"pairs": [
        {"question": "Where does Thumsath Krydrous live?", "answer": "Ferkfell"},
        {"question": "Which town is Ferkfell?", "answer": "Ferkfell"},
        {"question": "Where is the dark tower?", "answer": "Mordor"},
    ]}])  # fmt: skip
    pairs, failures = qa_pairs.llm_pairs(client, [text], "forget", passages=1)
    assert pairs == [qa_pairs.QAPair("Where does Thumsath Krydrous live?", "Ferkfell")]
    assert "contains its answer" in failures[0] and "'Mordor' is not in the passage" in failures[1]


def test_eval_qa_cli_stores_a_file_and_a_bad_one_changes_nothing(
    store, admin, tiny_model_dir, tmp_path
):
    from pipelines.cli import main as cli
    from pipelines.evaluation import project as eval_project
    from pipelines.store.projects import create_project

    project = create_project(store, admin, "Q", str(tiny_model_dir))
    good, bad = tmp_path / "qa.jsonl", tmp_path / "bad.jsonl"
    good.write_bytes((DEMO / "qa.jsonl").read_bytes())
    bad.write_text('{"question": "Who?", "answer": "Ann", "set": "both"}\n')
    argv = ["eval-qa", "--project", "Q", "--source", "file", "--file"]
    assert cli.main([*argv, str(good)]) == 0
    assert cli.main([*argv, str(bad)]) != 0
    stored = eval_project.default_qa(store, project)
    assert stored == qa_pairs.read_qa(good.read_bytes())  # the bad file stored nothing
