"""Validation cadence: val_begin, val_interval, last epoch always, dynamic_intervals."""

from __future__ import annotations

import pytest

from typedengine.loops.epoch_based import EpochBasedTrainLoopConfig
from typedengine.runner.schedule import interval_at, should_validate
from typedengine.loops.iter_based import IterBasedTrainLoopConfig


def test_val_begin_and_interval_and_last_epoch() -> None:
    cfg = EpochBasedTrainLoopConfig(max_epochs=5, val_begin=2, val_interval=2)
    assert cfg.validation_points() == [2, 4, 5]


def test_dynamic_intervals_switch_where_they_say() -> None:
    cfg = EpochBasedTrainLoopConfig(max_epochs=10, val_interval=10, dynamic_intervals=((6, 1),))
    # MMEngine validates after epoch 5 as well (off by one); we switch at epoch 6 as written.
    assert cfg.validation_points() == [6, 7, 8, 9, 10]
    assert interval_at(5, 10, ((6, 1),)) == 10
    assert interval_at(6, 10, ((6, 1),)) == 1


def test_iteration_cadence() -> None:
    cfg = IterBasedTrainLoopConfig(max_iters=25, val_interval=10)
    assert cfg.validation_points() == [10, 20, 25]
    assert not should_validate(0, total=25, val_begin=1, val_interval=10, dynamic_intervals=())


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"max_epochs": 3, "val_begin": 4}, "val_begin (4) must be <= max_epochs (3)"),
        ({"max_epochs": 5, "dynamic_intervals": ((3, 1), (2, 2))}, "strictly increasing"),
    ],
)
def test_invalid_loop_configs(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        EpochBasedTrainLoopConfig(**kwargs)  # type: ignore[arg-type]
