"""Every setting a researcher edits on the Runs page is named in words, not by its field name."""

from __future__ import annotations

from dataclasses import fields, is_dataclass

from pipelines.config import readable_name, setting_label
from pipelines.runs.stages import STAGES


def _settings(config_type):
    for f in fields(config_type):
        if is_dataclass(f.type) or (isinstance(f.default_factory, type)
                                    and is_dataclass(f.default_factory)):  # fmt: skip
            yield from _settings(f.default_factory)
        else:
            yield f


def test_every_stage_setting_has_a_name_in_words():
    seen = 0
    for stage in STAGES.values():
        for f in _settings(stage.config_type):
            label = setting_label(f)
            assert "_" not in label and label[:1].isupper(), (stage.name, f.name, label)
            seen += 1
    assert seen > 50


def test_field_names_read_as_words_with_their_acronyms():
    assert readable_name("lr") == "Learning rate"
    assert readable_name("npo_beta") == "NPO beta"
    assert readable_name("simnpo_gamma") == "SimNPO gamma"
    assert readable_name("lora_rank") == "LoRA rank"
    assert readable_name("grad_accum") == "Gradient accumulation"
