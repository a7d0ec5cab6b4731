"""The deferred parse: tyro records constructor calls, the root is validated once (all problems together)."""

from __future__ import annotations

import pytest
from pydantic import Field

from tests.config.toy_configs import DatasetBase, EpochLoop, Squares, Toy
from typedengine.cli import cli
from typedengine.config.base import Config
from typedengine.config.deferred import Deferred, deferred_registry, to_data


class Loose(Config):
    """A root whose field is typed with a base class but holds a subclass instance (tyro follows it)."""

    data: DatasetBase = Field(Squares(), description="Any dataset config.")
    epochs: int = Field(1, ge=1, description="Epochs.")


def test_subclass_instance_in_a_base_typed_field_keeps_its_fields() -> None:
    cfg = cli(Loose, args=["--data.size", "5"], environ={})
    assert cfg.data == Squares(size=5)
    with pytest.raises(SystemExit) as info:
        cli(Loose, args=["--data.size", "0", "--epochs", "0"], environ={})
    assert info.value.code == 2


def test_problems_in_a_subclass_node_are_reported_with_their_path(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli(Loose, args=["--data.size", "0", "--epochs", "0"], environ={})
    assert capsys.readouterr().err.splitlines() == [
        "error: 2 config problems in the command line:",
        "  data.size: must be >= 1",
        "  epochs: must be >= 1",
    ]


def test_to_data_turns_recorded_calls_into_plain_data() -> None:
    tree = Deferred(Toy, {"train": Deferred(EpochLoop, {"type": "epoch", "max_epochs": "3"}), "milestones": ("1",)})
    assert to_data(tree) == {"train": {"type": "epoch", "max_epochs": "3"}, "milestones": ("1",)}
    assert Toy.model_validate(to_data(tree)).train == EpochLoop(max_epochs=3)


def test_registry_is_fresh_per_call() -> None:
    assert deferred_registry() is not deferred_registry()
