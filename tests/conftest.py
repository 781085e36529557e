"""Fixtures: a fresh UNLEARN_HOME per test, a migrated store, actors per role, a tiny real model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pipelines.config import Settings
from pipelines.store import open_store
from pipelines.store.users import create_user, ensure_admin
from pipelines.types import Role

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"
ADMIN_PASSWORD = "admin-pass-123"


@pytest.fixture(autouse=True)
def unlearn_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("UNLEARN_HOME", str(home))
    monkeypatch.setenv("UNLEARN_ADMIN_PASSWORD", ADMIN_PASSWORD)
    monkeypatch.delenv("UNLEARN_DATABASE_URL", raising=False)
    monkeypatch.delenv("UNLEARN_USER", raising=False)
    return home


@pytest.fixture
def store(unlearn_home):
    return open_store(Settings.from_env())


@pytest.fixture
def admin(store):
    return ensure_admin(store, ADMIN_PASSWORD)[0]


@pytest.fixture
def researcher(store, admin):
    return create_user(store, admin, "rita", "research-pass", Role.RESEARCHER)


@pytest.fixture
def annotator(store, admin):
    return create_user(store, admin, "ann", "annotate-pass", Role.ANNOTATOR)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A random-weight Llama with a real BPE tokenizer trained here on the demo text (no hub)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    texts = [
        p.read_text() for role in ("forget", "retain") for p in sorted(DEMO.glob(f"{role}/*.md"))
    ]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<unk>", "<s>", "</s>"])
    bpe.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=1,
        eos_token_id=2,
    )
    out = tmp_path_factory.mktemp("tiny-llama")
    with torch.random.fork_rng():  # the same weights in every session: margins do not drift
        torch.manual_seed(0)
        LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def make_labelled_project(store, admin, model_dir: Path, name: str, book: str = "book2.md"):
    """A project on the given model with 3,000 bytes of a demo book, reinforced and labelled.

    Returns the project, its label set and the label run's summary.
    """
    from pipelines.config import IngestConfig
    from pipelines.corpus import ingest
    from pipelines.store.projects import create_project, get_project
    from pipelines.training.loop import TrainConfig
    from pipelines.types import DocRole
    from pipelines.whp import labels as generic_labels
    from pipelines.whp import project as whp
    from pipelines.whp import reinforce

    project = create_project(store, admin, name, str(model_dir))
    upload = ingest.Upload(book, (DEMO / "forget" / book).read_bytes()[:3000])
    ingest.run(
        IngestConfig(),
        [upload],
        store=store,
        actor=admin,
        project_id=project.id,
        role=DocRole.FORGET,
    )
    project = get_project(store, project.id)
    config = reinforce.ReinforceConfig(block_tokens=64, train=TrainConfig(epochs=1, lr=1e-3))
    whp.reinforce_project(store, admin, project, config)
    dictionary = whp.load_dictionary(DEMO / "reference_dictionary.json")
    label_config = generic_labels.LabelConfig(block_tokens=64, review_fraction=0.05)
    _, summary = whp.generate_project_labels(store, admin, project, dictionary, label_config)
    (label_set,) = whp.label_sets(store, project)
    return project, label_set, summary


class ScriptedLLM:
    """Unit-test stand-in for pipelines.llm.LLMClient: one scripted reply (or error) per call."""

    def __init__(self, replies):
        self.replies = list(replies)

    def structured(self, purpose, system, user, schema):
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return schema.model_validate(reply), False
