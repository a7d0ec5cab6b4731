"""The pre-parse check of flags and subcommand tokens against the config tree."""

from __future__ import annotations

from pydantic import Field

from typedengine.config.base import Config
from typedengine.config.flags import expand_negated_flags, models_at, unknown_tokens

from .toy_configs import CheckpointHook, DatasetBase, Squares, Toy


class WithDict(Config):
    """Dict keys become flags in tyro; the check leaves them alone."""

    hooks: dict[str, CheckpointHook] = Field(default_factory=dict, description="Named hooks.")
    data: DatasetBase = Field(Squares(), description="A base-typed field.")


def issues(args: list[str], cls: type[Config] = Toy) -> list[str]:
    return [str(i) for i in unknown_tokens(cls, args)]


def test_valid_tokens_pass() -> None:
    assert issues(["--train.max-epochs", "3", "train:iter-based", "--train.max-iters", "4", "--seed", "None",
                   "optim-wrapper.optimizer:adamw", "default-hooks.ema:None", "--default-hooks.checkpoint.no-save-last",
                   "--activation", "torch.nn:SiLU", "--custom-hooks", '[{"type": "ema"}]', "--help"]) == []  # fmt: skip


def test_unknown_flags_choices_and_suggestions() -> None:
    assert issues(["--milestone", "1", "--optim-wrapper.optimizer.lrr", "1", "train:epoch", "--work-dir.x", "y"]) == [
        "--milestone: unknown flag; did you mean --milestones?",
        "--optim-wrapper.optimizer.lrr: unknown flag; did you mean --optim-wrapper.optimizer.lr?",
        "train:epoch: unknown choice; did you mean train:epoch-based? (choices: epoch-based, iter-based)",
        "--work-dir.x: unknown flag",
    ]


def test_dict_keys_are_left_to_tyro_and_subclass_fields_count() -> None:
    assert issues(["--hooks.anything.interval", "2", "--data.size", "3"], WithDict) == []
    assert issues(["--data.sise", "3"], WithDict) == ["--data.sise: unknown flag; did you mean --data.size?"]


def test_models_at_follows_unions_tuples_and_optional_slots() -> None:
    assert {m.__name__ for m in models_at(Toy, ["optim-wrapper", "optimizer"])} == {"SGD", "AdamW"}
    assert [m.__name__ for m in models_at(Toy, ["default-hooks", "checkpoint"])] == ["CheckpointHook"]
    assert models_at(Toy, ["nope"]) == []


def test_negated_bool_flags_get_their_positive_form_first() -> None:
    assert expand_negated_flags(Toy, ["--default-hooks.checkpoint.no-save-last", "--x.no-y", "--no-z"]) == [
        "--default-hooks.checkpoint.save-last",
        "--default-hooks.checkpoint.no-save-last",
        "--x.no-y",
        "--no-z",
    ]


def variant_issues_of(args: list[str], base: object = None) -> list[str]:
    from typedengine.config.variants import variant_issues

    return [str(i) for i in variant_issues(Toy, base, args)]


def test_a_flag_of_another_variant_names_the_variant_and_how_to_select_it() -> None:
    assert variant_issues_of(["--optim-wrapper.optimizer.weight-decay", "0.1"]) == [
        ("--optim-wrapper.optimizer.weight-decay: belongs to optim-wrapper.optimizer:adamw, not to "
        "optim-wrapper.optimizer:sgd; select it first: optim-wrapper.optimizer:adamw "
        "--optim-wrapper.optimizer.weight-decay ...")
    ]
    # selected by a token anywhere on the line, or by the default the CLI starts from: no issue
    assert variant_issues_of(["--optim-wrapper.optimizer.weight-decay", "0.1", "optim-wrapper.optimizer:adamw"]) == []
    from .toy_configs import AdamW, OptimWrapper

    assert variant_issues_of(["--optim-wrapper.optimizer.weight-decay", "0.1"], Toy(optim_wrapper=OptimWrapper(optimizer=AdamW()))) == []
    assert variant_issues_of(["--default-hooks.ema.momentum", "0.1"]) == [
        ("--default-hooks.ema.momentum: default-hooks.ema is off (none); switch it on first: default-hooks.ema:ema "
        "--default-hooks.ema.momentum ...")
    ]
    assert variant_issues_of(["--train.max-iters", "3", "train:iter-based"]) == []


def test_normalized_arguments_put_variant_choices_first_parents_before_children() -> None:
    from typedengine.config.flags import normalize_args

    assert normalize_args(Toy, ["--optim-wrapper.optimizer.weight-decay", "0.1", "optim-wrapper.optimizer:adamw",
                                "--seed", "3", "train:iter-based"]) == [
        "train:iter-based", "optim-wrapper.optimizer:adamw", "--optim-wrapper.optimizer.weight-decay", "0.1", "--seed", "3",
    ]  # fmt: skip


def test_plain_booleans_take_true_and_false() -> None:
    from typedengine.config.flags import normalize_args

    assert normalize_args(Toy, ["--default-hooks.checkpoint.save-last", "False"]) == [
        "--default-hooks.checkpoint.save-last",  # the positive form first (a tyro workaround), then the negation
        "--default-hooks.checkpoint.no-save-last",
    ]
    assert normalize_args(Toy, ["--default-hooks.checkpoint.save-last", "True"]) == ["--default-hooks.checkpoint.save-last"]


def test_suggestions_ignore_case() -> None:
    from .toy_configs import Toy as T

    assert issues(["--WORK-DIRR", "x"], T) == ["--WORK-DIRR: unknown flag; did you mean --work-dir?"]
