"""RunnerConfig: JSON round trip of the digits experiment, cross-field problems reported together."""

from __future__ import annotations

import importlib

import pytest
from pydantic import ValidationError

from typedengine.config.errors import format_validation_error
from typedengine.data.dataloader import DataLoaderConfig

digits = importlib.import_module("01_digits")


def test_digits_experiment_round_trips_to_an_equal_object() -> None:
    cfg = digits.DigitsExperiment()
    again = digits.DigitsExperiment.model_validate_json(cfg.model_dump_json())
    assert again == cfg
    assert type(again.train_dataloader.dataset) is digits.DigitsData
    assert again.optim_wrapper.optimizer.type == "sgd"


def test_all_or_none_problems_reported_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        digits.DigitsExperiment(
            train=None,
            val_evaluator=None,
        )
    issues = [str(i) for i in format_validation_error(info.value, digits.DigitsExperiment)]
    assert any(i.startswith("train: training needs train_dataloader, train, optim_wrapper together") for i in issues)
    assert any(i.startswith("val_evaluator: validation needs") for i in issues)
    assert len(issues) == 2


def test_val_begin_beyond_run_names_the_path() -> None:
    from typedengine.loops.epoch_based import EpochBasedTrainLoopConfig

    with pytest.raises(ValidationError) as info:
        digits.DigitsExperiment(train={"type": "epoch-based", "max_epochs": 2, "val_begin": 3})
    issues = [str(i) for i in format_validation_error(info.value, digits.DigitsExperiment)]
    assert issues == ["train.epoch-based: val_begin (3) must be <= max_epochs (2)"] or issues == [
        "train: val_begin (3) must be <= max_epochs (2)"
    ]
    assert EpochBasedTrainLoopConfig(max_epochs=3, val_begin=3).val_begin == 3


def test_generic_dataloader_keeps_the_dataset_type() -> None:
    dl = DataLoaderConfig[digits.DigitsData](dataset=digits.DigitsData(split="val"), batch_size=8)
    dumped = dl.model_dump()
    assert dumped["dataset"]["split"] == "val"
    assert DataLoaderConfig[digits.DigitsData].model_validate(dumped) == dl
