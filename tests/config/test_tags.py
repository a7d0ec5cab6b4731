"""Variant tags: kebab-case out, either spelling and former tags in, through every way a config arrives."""

from __future__ import annotations

from collections.abc import Mapping
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
