"""Layering: defaults < file < TYPEDENGINE_ environment; merged deeply, validated once, errors say where."""

from __future__ import annotations

from pathlib import Path

import pytest

from typedengine.config.errors import ConfigError
from typedengine.config.layers import deep_merge, env_overrides, load_layered

from .toy_configs import SGD, AdamW, EMAHook, EpochLoop, IterLoop, OptimWrapper, Toy


def test_deep_merge_merges_mappings_and_replaces_on_variant_switch() -> None:
    base = {"a": {"x": 1, "y": 2}, "opt": {"type": "sgd", "lr": 0.1, "momentum": 0.9}, "k": [1, 2]}
    assert deep_merge(base, {"a": {"y": 3}, "k": [5]}) == {
        "a": {"x": 1, "y": 3},
        "opt": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
        "k": [5],
    }
    # a new tag drops the old variant's fields (no stale momentum in an adamw config)
    assert deep_merge(base, {"opt": {"type": "adamw", "lr": 3e-4}})["opt"] == {"type": "adamw", "lr": 3e-4}
    # same tag: merged
    assert deep_merge(base, {"opt": {"type": "sgd", "lr": 1.0}})["opt"] == {"type": "sgd", "lr": 1.0, "momentum": 0.9}


def test_env_overrides_nest_and_decode() -> None:
    data, origin = env_overrides(
        {
            "TYPEDENGINE_TRAIN__MAX_EPOCHS": "5",
            "TYPEDENGINE_CUSTOM_HOOKS": '[{"type": "ema"}]',
            "TYPEDENGINE_SEED": "null",
            "OTHER": "1",
            "TYPEDENGINE_": "x",
        }
    )
    assert data == {"train": {"max_epochs": "5"}, "custom_hooks": [{"type": "ema"}], "seed": None}
    assert origin["train.max_epochs"] == "TYPEDENGINE_TRAIN__MAX_EPOCHS"


def test_file_then_env_then_base(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text("train:\n  max_epochs: 20\n  val_begin: 4\nseed: 3\n")
    base = Toy(optim_wrapper=OptimWrapper(optimizer=SGD(lr=0.5, momentum=0.9)))
    env = {"TYPEDENGINE_TRAIN__MAX_EPOCHS": "7", "TYPEDENGINE_OPTIM_WRAPPER__OPTIMIZER__MOMENTUM": "0.5"}
    cfg = load_layered(Toy, base, file=path, environ=env)
    assert cfg.train == EpochLoop(max_epochs=7, val_begin=4)  # env beats file, file beats base
    assert cfg.seed == 3
    assert cfg.optim_wrapper.optimizer == SGD(lr=0.5, momentum=0.5)  # base kept where nobody overrides


def test_switching_variant_in_a_file_starts_from_the_new_variant(tmp_path: Path) -> None:
    path = tmp_path / "exp.json"
    path.write_text('{"train": {"type": "iter", "max_iters": 40}, "optim_wrapper": {"optimizer": {"type": "adamw"}}}')
    cfg = load_layered(Toy, Toy(train=EpochLoop(max_epochs=8)), file=path, environ={})
    assert cfg.train == IterLoop(max_iters=40)
    assert cfg.optim_wrapper.optimizer == AdamW()


def test_without_overrides_the_base_is_returned_unchanged() -> None:
    base = Toy(seed=1)
    assert load_layered(Toy, base, environ={"PATH": "/bin"}) is base
    assert load_layered(Toy, None, environ={}) == Toy()


def test_problems_from_file_and_env_are_reported_together_with_their_origin(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text("train:\n  max_epoch: 20\nmilestones: [1, 'x']\n")
    env = {"TYPEDENGINE_OPTIM_WRAPPER__OPTIMIZER__LR": "-1", "TYPEDENGINE_SEDE": "3"}
    with pytest.raises(ConfigError) as info:
        load_layered(Toy, None, file=path, environ=env)
    assert [str(i) for i in info.value.issues] == [
        f"train.max_epoch: unknown field; did you mean 'max_epochs'? (from {path})",
        "optim_wrapper.optimizer.lr: must be > 0.0 (from TYPEDENGINE_OPTIM_WRAPPER__OPTIMIZER__LR)",
        f"milestones[1]: expected an integer, got 'x' (from {path})",
        "sede: unknown field; did you mean 'seed'? (from TYPEDENGINE_SEDE)",
    ]
    assert info.value.source == f"{path} and the environment"


def test_env_prefix_none_ignores_the_environment() -> None:
    assert load_layered(Toy, None, environ={"TYPEDENGINE_SEED": "x"}, env_prefix=None) == Toy()


def test_env_json_list_is_validated_per_element() -> None:
    cfg = load_layered(Toy, None, environ={"TYPEDENGINE_CUSTOM_HOOKS": '[{"type": "ema", "momentum": 0.1}]'})
    assert cfg.custom_hooks == (EMAHook(momentum=0.1),)
