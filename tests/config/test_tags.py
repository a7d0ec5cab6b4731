"""Variant tags: kebab-case out, either spelling and former tags in, through every way a config arrives."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import pytest
import tyro
from pydantic import TypeAdapter, ValidationError

from typedengine.checkpoint.compat import diff_configs
from typedengine.config.base import Config, Tag, Variants, canonical_tag, canonical_tags, same_tag
from typedengine.config.layers import deep_merge


class Slow(Config):
    type: Tag[Literal["slow-start"]] = "slow-start"
    rate: float = 1.0


class Jump(Config):
    type: Tag[Literal["jump"]] = "jump"
    tag_aliases: ClassVar[Mapping[str, Mapping[str, object]]] = {
        "jump_up": {"direction": "up"},
        "jump_down": {"direction": "down"},
    }
    renamed_fields: ClassVar[Mapping[str, str]] = {"height_m": "height"}
    direction: str = "up"
    height: float = 1.0


Move = Annotated[
    Annotated[Slow, tyro.conf.subcommand("slow-start")] | Annotated[Jump, tyro.conf.subcommand("jump")],
    Variants,
]


class Plan(Config):
    first: Move = Slow()
    only_slow: Slow | None = None
    moves: tuple[Move, ...] = ()


ADAPTER: TypeAdapter[Move] = TypeAdapter(Move)


def test_either_spelling_picks_the_member_and_output_is_kebab_case() -> None:
    assert ADAPTER.validate_python({"type": "slow_start", "rate": 2.0}) == Slow(rate=2.0)
    assert ADAPTER.validate_json('{"type": "slow-start"}') == Slow()
    plan = Plan.model_validate(
        {"first": {"type": "slow_start"}, "moves": [{"type": "jump"}, {"type": "slow_start"}]}
    )
    assert plan.model_dump(mode="json")["moves"][1]["type"] == "slow-start"
    assert Plan.model_validate_json(plan.model_dump_json()) == plan


def test_a_field_holding_one_member_accepts_either_spelling_too() -> None:
    assert Plan.model_validate({"only_slow": {"type": "slow_start"}}).only_slow == Slow()
    assert Slow.model_validate({"type": "slow_start"}).type == "slow-start"


def test_former_tags_imply_their_fields_and_rename_old_ones() -> None:
    assert ADAPTER.validate_python({"type": "jump_down", "height_m": 3.0}) == Jump(
        direction="down", height=3.0
    )
    assert ADAPTER.validate_python({"type": "jump-up"}) == Jump(direction="up")
    # an old field name is accepted together with a former tag only
    with pytest.raises(ValidationError, match="height_m"):
        ADAPTER.validate_python({"type": "jump", "height_m": 3.0})


def test_unknown_tags_still_fail_with_the_current_choices() -> None:
    with pytest.raises(ValidationError) as info:
        ADAPTER.validate_python({"type": "slow_stop"})
    (err,) = info.value.errors()
    assert err["type"] == "union_tag_invalid" and "'slow-start', 'jump'" in err["msg"]


def test_two_members_spelling_one_tag_are_refused_when_the_schema_is_built() -> None:
    class Other(Config):
        type: Tag[Literal["slow_start"]] = "slow_start"

    with pytest.raises(TypeError, match="slow_start"):
        TypeAdapter(Annotated[Slow | Other, Variants])


def test_raw_json_helpers_for_merges_and_diffs() -> None:
    assert canonical_tag("early_stopping") == "early-stopping"
    assert canonical_tag("jump_down") == "jump"
    assert same_tag("slow_start", "slow-start") and not same_tag("jump", "slow-start")
    assert canonical_tags({"type": "jump_down", "height_m": 2}) == {
        "type": "jump",
        "direction": "down",
        "height": 2,
    }
    # a layer that spells the tag differently merges into the variant below instead of replacing it
    below = Plan(first=Slow(rate=3.0)).model_dump()
    merged = deep_merge(below, {"first": {"type": "slow_start"}})
    assert Plan.model_validate(merged).first == Slow(rate=3.0)


def test_the_json_schema_keeps_the_discriminator_mapping() -> None:
    schema = Plan.model_json_schema()
    first = schema["properties"]["first"]
    assert first["discriminator"] == {
        "mapping": {"jump": "#/$defs/Jump", "slow-start": "#/$defs/Slow"},
        "propertyName": "type",
    }


# --- the schedulers' former tags in every way a config arrives ------------------------------------------


def test_old_scheduler_tags_in_a_stored_checkpoint_config_make_no_resume_difference() -> None:
    from typedengine.optim.schedulers.choices import ParamSchedulerConfig
    from typedengine.optim.schedulers.cosine import CosineAnnealingSchedulerConfig
    from typedengine.optim.schedulers.linear import LinearSchedulerConfig

    class Exp(Config):
        param_scheduler: tuple[ParamSchedulerConfig, ...] = (
            LinearSchedulerConfig(start_factor=0.1, end=5),
            CosineAnnealingSchedulerConfig(param="momentum", eta_min=0.5),
        )

    new = Exp().model_dump(mode="json")
    stored = {
        "param_scheduler": [
            {k: v for k, v in new["param_scheduler"][0].items() if k != "param"} | {"type": "linear_lr"},
            {k: v for k, v in new["param_scheduler"][1].items() if k != "param"}
            | {"type": "cosine_momentum"},
        ]
    }
    assert Exp.model_validate(stored) == Exp()
    assert diff_configs(stored, new) == ()
    changed = [{**stored["param_scheduler"][0], "type": "linear_momentum"}, stored["param_scheduler"][1]]
    (diff,) = diff_configs({"param_scheduler": changed}, new)
    assert diff.path == "param_scheduler[0].param"


# --- every built-in tag, through every way a config arrives (the real digits experiment) -------------------


def _tagged_configs() -> list[type[Config]]:
    import typedengine.runner.config  # noqa: F401  (imports every built-in union)

    seen: list[type[Config]] = []
    todo: list[type[Config]] = [Config]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("typedengine.") and cls.variant_tag() is not None and cls not in seen:
            seen.append(cls)
    return seen


def test_every_built_in_tag_is_kebab_case() -> None:
    tags = {cls.__name__: cls.variant_tag() for cls in _tagged_configs()}
    assert len(tags) > 40
    assert {name: tag for name, tag in tags.items() if tag is None or "_" in tag or tag != tag.lower()} == {}
    assert tags["EarlyStoppingHookConfig"] == "early-stopping"
    assert tags["CheckInvalidLossHookConfig"] == "check-invalid-loss"


def _tags_in(value: object) -> set[str]:
    if isinstance(value, dict):
        own = {value["type"]} if isinstance(value.get("type"), str) else set()
        return own.union(*(_tags_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_tags_in(v) for v in value))
    return set()


def test_snake_case_in_a_file_the_environment_and_on_the_command_line(tmp_path: Path) -> None:
    from typedengine.cli import cli
    from typedengine.hooks.early_stopping import EarlyStoppingHookConfig
    from typedengine.hooks.sync_buffers import SyncBuffersHookConfig
    from typedengine.loops.iter_based import IterBasedTrainLoopConfig
    from typedengine.optim.schedulers.step import MultiStepSchedulerConfig

    from ..cli.digits import DigitsExperiment

    base = DigitsExperiment()
    file = tmp_path / "snake.yaml"
    file.write_text(
        "train: {type: epoch_based, val_interval: 2}\n"
        "default_hooks: {runtime_info: {type: runtime_info}, sampler_seed: {type: sampler_seed}}\n"
        "custom_hooks: [{type: early_stopping, monitor: accuracy}]\n"
    )
    from_file = cli(DigitsExperiment, args=["--config", str(file)], environ={})
    assert from_file.custom_hooks == (EarlyStoppingHookConfig(monitor="accuracy"),)
    # the same variant spelled differently merges into the defaults (max_epochs kept), it does not replace them
    assert from_file.train == base.train.model_copy(update={"val_interval": 2})
    assert from_file.default_hooks == base.default_hooks
    env = {
        "TYPEDENGINE_TRAIN__TYPE": "iter_based",
        "TYPEDENGINE_DEFAULT_HOOKS__CHECKPOINT__BY_EPOCH": "false",
        "TYPEDENGINE_CUSTOM_HOOKS": '[{"type": "sync_buffers"}]',
        "TYPEDENGINE_PARAM_SCHEDULER": '[{"type": "multistep_momentum", "milestones": [10], "by_epoch": false}]',
    }
    from_env = cli(DigitsExperiment, args=[], environ=env)
    assert isinstance(from_env.train, IterBasedTrainLoopConfig)
    assert from_env.custom_hooks == (SyncBuffersHookConfig(),)
    assert from_env.param_scheduler == (
        MultiStepSchedulerConfig(param="momentum", milestones=(10,), by_epoch=False),
    )
    snake_cli = cli(
        DigitsExperiment,
        args=["train:iter_based", "default-hooks.runtime_info:runtime_info", "--custom-hooks",
              '[{"type": "sync_buffers"}]', "param-scheduler.1:cosine_annealing", "--param-scheduler.1.param",
              "momentum", "--param-scheduler.1.no-by-epoch", "--default-hooks.checkpoint.no-by-epoch"],
        environ={},
    )  # fmt: skip
    kebab_cli = cli(
        DigitsExperiment,
        args=["train:iter-based", "default-hooks.runtime-info:runtime-info", "--custom-hooks",
              '[{"type": "sync-buffers"}]', "param-scheduler.1:cosine-annealing", "--param-scheduler.1.param",
              "momentum", "--param-scheduler.1.no-by-epoch", "--default-hooks.checkpoint.no-by-epoch"],
        environ={},
    )  # fmt: skip
    assert snake_cli == kebab_cli
    tags = _tags_in(snake_cli.model_dump(mode="json"))
    assert {"iter-based", "runtime-info", "sync-buffers", "cosine-annealing"} <= tags
    assert [t for t in tags if "_" in t] == []


def test_snake_case_tags_in_a_stored_checkpoint_config_make_no_resume_difference() -> None:
    from ..cli.digits import DigitsExperiment

    new = DigitsExperiment().model_dump(mode="json")

    def snake(value: object) -> object:
        if isinstance(value, dict):
            out = {k: snake(v) for k, v in value.items()}
            if isinstance(out.get("type"), str):
                out["type"] = str(out["type"]).replace("-", "_")
            return out
        if isinstance(value, list):
            return [snake(v) for v in value]
        return value

    stored = snake(new)
    assert isinstance(stored, dict) and stored["default_hooks"]["runtime_info"]["type"] == "runtime_info"
    assert diff_configs(stored, new) == ()
    assert DigitsExperiment.model_validate(stored) == DigitsExperiment()


def test_the_json_schema_validates_saved_and_partial_files(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from typedengine.config.files import save_config
    from typedengine.config.schema import config_json_schema

    from ..cli.digits import DigitsExperiment

    validator = jsonschema.Draft202012Validator(config_json_schema(DigitsExperiment))
    saved = json.loads(save_config(DigitsExperiment(), tmp_path / "full.json").read_text())
    assert list(validator.iter_errors(saved)) == []
    partial = {
        "train": {"type": "iter-based", "max_iters": 40},
        "custom_hooks": [{"type": "early-stopping", "monitor": "accuracy/top1"}],
        "param_scheduler": [{"type": "cosine-annealing", "param": "momentum"}],
    }
    assert list(validator.iter_errors(partial)) == []
    assert list(validator.iter_errors({"custom_hooks": [{"type": "early-stoping"}]}))  # a typo is caught
