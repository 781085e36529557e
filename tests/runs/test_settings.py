"""Stage settings: every choice the launch form and the CLI offer is one the stage accepts."""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace

import pytest

from pipelines.runs import stages
from pipelines.types import UnlearnError

STAGE_CONFIGS = [stages.TrainJob(), stages.LabelsJob(), stages.UnlearnJob(), stages.EvaluateJob()]


def settings_with_choices(config, path=()):
    """(path to the field's owner, owner, field) for every field that declares choices."""
    for f in fields(config):
        value = getattr(config, f.name)
        if is_dataclass(value):
            yield from settings_with_choices(value, (*path, f.name))
        elif f.metadata.get("choices"):
            yield path, config, f


@pytest.mark.parametrize("job", STAGE_CONFIGS, ids=lambda j: type(j).__name__)
def test_every_offered_choice_is_accepted_and_others_are_refused(job):
    offered = list(settings_with_choices(job))
    assert offered, "each stage has at least one setting with choices"
    for _, owner, f in offered:
        for choice in f.metadata["choices"]:
            assert getattr(replace(owner, **{f.name: choice}), f.name) == choice
        with pytest.raises(UnlearnError, match=f"{f.name} is 'nonsense'"):
            replace(owner, **{f.name: "nonsense"})


def test_label_precision_offers_only_what_label_generation_runs():
    (precision,) = [
        f for _, o, f in settings_with_choices(stages.LabelsJob()) if f.name == "precision"
    ]
    assert set(precision.metadata["choices"]) == {"fp32", "bf16"}  # the form once offered fp16


def test_a_stored_job_with_a_refused_value_is_a_clear_error():
    data = {"labels": {"precision": "fp16"}}
    with pytest.raises(UnlearnError, match="choose one of fp32, bf16"):
        stages.config_from_dict("labels", data)


def test_every_setting_has_help_text():
    for job in STAGE_CONFIGS:
        for _, _, f in settings_with_choices(job):
            assert f.metadata.get("help")
