"""Error formatting: every problem, one line each, with the user's dotted path (no union tags)."""

from __future__ import annotations

import pytest
from pydantic import Field, ValidationError

from typedengine.config.base import Config
from typedengine.config.errors import ConfigError, ConfigIssue, format_validation_error, render_issues

from .toy_configs import CheckpointHook, EMAHook, Toy


def issues_of(data: object, cls: type[Config] = Toy) -> list[str]:
    with pytest.raises(ValidationError) as info:
        cls.model_validate(data)
    return [str(i) for i in format_validation_error(info.value, cls)]


def test_union_tags_are_removed_from_paths() -> None:
    got = issues_of({"train": {"type": "epoch", "max_epochs": 0}, "optim_wrapper": {"optimizer": {"type": "adamw", "lr": -1}}})
    assert got == ["train.max_epochs: must be >= 1", "optim_wrapper.optimizer.lr: must be > 0.0"]


def test_unknown_key_suggests_the_sibling_field_inside_a_union_member() -> None:
    assert issues_of({"train": {"type": "epoch", "max_epoch": 5}}) == [
        "train.max_epoch: unknown field; did you mean 'max_epochs'?"
    ]
    # the sibling names come from the member the tag selected, not from the other members
    assert issues_of({"train": {"type": "iter", "max_iter": 5}}) == [
        "train.max_iter: unknown field; did you mean 'max_iters'?"
    ]


def test_unknown_key_without_a_close_match_has_no_suggestion() -> None:
    assert issues_of({"banana": 1}) == ["banana: unknown field"]


def test_bad_tag_lists_the_choices_and_suggests() -> None:
    assert issues_of({"optim_wrapper": {"optimizer": {"type": "adamx"}}}) == [
        "optim_wrapper.optimizer: unknown type 'adamx'; did you mean 'adamw'? (choices: sgd, adamw)"
    ]
    assert issues_of({"optim_wrapper": {"optimizer": {"lr": 1.0}}}) == [
        "optim_wrapper.optimizer: missing the 'type' key that selects the variant (choices: sgd, adamw)"
    ]


def test_list_positions_generic_models_and_types() -> None:
    got = issues_of(
        {
            "custom_hooks": [{"type": "ema", "momentum": 2}, {"type": "checkpoint", "intervall": 3}],
            "milestones": [1, "x"],
            "seed": 1.5,
            "train_dataloader": {"dataset": {"size": 0}, "batch_size": "big"},
        }
    )
    assert got == [
        "seed: expected an integer, got 1.5",
        "custom_hooks[0].momentum: must be < 1.0",
        "custom_hooks[1].intervall: unknown field; did you mean 'interval'?",
        "milestones[1]: expected an integer, got 'x'",
        "train_dataloader.dataset.size: must be >= 1",
        "train_dataloader.batch_size: expected an integer, got 'big'",
    ]


def test_cross_field_problems_are_all_reported_with_their_paths() -> None:
    got = issues_of({"train": {"type": "epoch", "max_epochs": 2, "val_begin": 5}, "milestones": [1, 4, 8]})
    assert got == ["train.val_begin: must be <= train.max_epochs (2)", "milestones: [4, 8] lie after the last epoch (2)"]


def test_nested_model_validator_paths_are_prefixed() -> None:
    from pydantic import model_validator

    from typedengine.config.errors import ConfigProblems

    class Checked(Config):
        low: int = Field(0, description="low")
        high: int = Field(1, description="high")

        @model_validator(mode="after")
        def _order(self) -> Checked:
            if self.low >= self.high:
                raise ConfigProblems([ConfigIssue("low", "must be < high"), ConfigIssue("high", "must be > low")])
            return self

    class Outer(Config):
        ranges: tuple[Checked, ...] = Field((), description="r")

    assert issues_of({"ranges": [{"low": 0, "high": 1}, {"low": 3, "high": 2}]}, Outer) == [
        "ranges[1].low: must be < high",
        "ranges[1].high: must be > low",
    ]


def test_smart_union_names_the_member() -> None:
    class Smart(Config):
        hook: CheckpointHook | EMAHook = Field(CheckpointHook(), description="h")

    got = issues_of({"hook": {"interval": 0}}, Smart)
    assert "hook.interval: must be >= 1 (as CheckpointHook)" in got


def test_literal_and_missing_messages() -> None:
    class Lit(Config):
        name: str = Field(description="required")
        level: str = Field("INFO", pattern="^(INFO|DEBUG)$", description="lvl")

    got = issues_of({"level": "LOUD"}, Lit)
    assert got[0] == "name: required field is missing"
    assert got[1].startswith("level: String should match pattern")


def test_render_and_config_error_text() -> None:
    issues = [ConfigIssue("a.b", "must be >= 1"), ConfigIssue("c", "unknown field")]
    text = render_issues(issues, "exp.yaml")
    assert text.splitlines() == ["error: 2 config problems in exp.yaml:", "  a.b: must be >= 1", "  c: unknown field"]
    err = ConfigError(issues[:1])
    assert str(err) == "error: 1 config problem:\n  a.b: must be >= 1"
    assert err.issues == (issues[0],)


def test_optional_annotated_union_paths_drop_the_tag() -> None:
    from .toy_configs import Optimizer

    class Holder(Config):
        optimizer: Optimizer | None = Field(None, description="maybe an optimizer")

    assert issues_of({"optimizer": {"type": "adamw", "lr": 0, "betas": 1}}, Holder) == [
        "optimizer.lr: must be > 0.0",
        "optimizer.betas: unknown field",
    ]
    assert issues_of({"optimizer": {"type": "adamx"}}, Holder) == [
        "optimizer: unknown type 'adamx'; did you mean 'adamw'? (choices: sgd, adamw)"
    ]
