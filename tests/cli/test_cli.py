"""typedengine.cli in-process: flags anywhere, variants, presets, layering, print/save, errors, ranks."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest
from pydantic import Field

from tests.config.toy_configs import (
    SGD,
    AdamW,
    CheckpointHook,
    EMAHook,
    EpochLoop,
    IterLoop,
    OptimWrapper,
    Required,
    Toy,
)
from typedengine.cli import cli
from typedengine.config.base import Config
from typedengine.config.files import load_config
from typedengine.runner.command import reproduce_command

NO_ENV: dict[str, str] = {}


def run(args: list[str], env: dict[str, str] | None = None, **kwargs: object) -> Toy:
    return cli(Toy, args=args, environ=NO_ENV if env is None else env, **kwargs)  # type: ignore[arg-type]


def exits(
    args: list[str], capsys: pytest.CaptureFixture[str], env: dict[str, str] | None = None, **kwargs: object
) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        run(args, env, **kwargs)
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_no_args_gives_the_defaults() -> None:
    assert run([]) == Toy()


def test_nested_flags_and_subcommands_in_any_order() -> None:
    cfg = run(["--train.max-epochs", "8", "optim-wrapper.optimizer:adamw", "--optim-wrapper.optimizer.lr", "3e-4", "--seed", "3"])
    assert cfg.train == EpochLoop(max_epochs=8)
    assert cfg.optim_wrapper.optimizer == AdamW(lr=3e-4)
    assert cfg.seed == 3
    same = run(["optim-wrapper.optimizer:adamw", "--seed", "3", "--optim-wrapper.optimizer.lr", "3e-4", "--train.max-epochs", "8"])
    assert same == cfg


def test_switching_variant_starts_from_its_defaults_not_the_old_fields() -> None:
    base = Toy(optim_wrapper=OptimWrapper(optimizer=SGD(lr=0.5, momentum=0.9)))
    cfg = cli(Toy, default=base, args=["optim-wrapper.optimizer:adamw"], environ=NO_ENV)
    assert cfg.optim_wrapper.optimizer == AdamW()
    cfg = cli(Toy, default=base, args=["train:iter-based", "--train.max-iters", "7"], environ=NO_ENV)
    assert cfg.train == IterLoop(max_iters=7)


def test_optional_slots_json_lists_refs_and_tuples() -> None:
    cfg = run(
        [
            "default-hooks.checkpoint:None",
            "default-hooks.ema:ema",  # the type tag names a variant without an explicit subcommand name
            "--default-hooks.ema.momentum", "0.01",
            "--custom-hooks", '[{"type": "ema", "momentum": 0.1}, {"type": "checkpoint", "interval": 2}]',
            "--activation", "math.tanh",
            "--milestones", "2", "4",
            "--train-dataloader.dataset.size", "12",
        ]
    )
    import math

    assert cfg.default_hooks.checkpoint is None
    assert cfg.default_hooks.ema == EMAHook(momentum=0.01)
    assert cfg.custom_hooks == (EMAHook(momentum=0.1), CheckpointHook(interval=2))
    assert cfg.activation is math.tanh
    assert cfg.milestones == (2, 4)
    assert cfg.train_dataloader.dataset.size == 12


def test_negated_bool_flags_inside_optional_slots() -> None:
    # tyro alone rejects the negated form of a flag that would select the slot implicitly
    cfg = run(["--default-hooks.checkpoint.no-save-last", "--default-hooks.checkpoint.interval", "3"])
    assert cfg.default_hooks.checkpoint == CheckpointHook(interval=3, save_last=False)
    cfg = run(["--default-hooks.checkpoint.interval", "3", "--default-hooks.checkpoint.no-save-last"])
    assert cfg.default_hooks.checkpoint == CheckpointHook(interval=3, save_last=False)
    assert run(["--default-hooks.checkpoint.save-last"]).default_hooks.checkpoint == CheckpointHook()


def test_presets(capsys: pytest.CaptureFixture[str]) -> None:
    presets = {
        "small": ("two epochs", Toy(train=EpochLoop(max_epochs=2), milestones=(1,))),
        "long": ("iteration based", Toy(train=IterLoop(max_iters=10_000))),
    }
    assert run(["small"], presets=presets).train == EpochLoop(max_epochs=2)
    assert run(["small", "--train.max-epochs", "3"], presets=presets).train == EpochLoop(max_epochs=3)
    assert run(["long", "--seed", "1"], presets=presets) == Toy(train=IterLoop(max_iters=10_000), seed=1)
    assert run([], presets=presets) == Toy()  # no preset: the class defaults (or default=)
    code, _, err = exits(["smal"], capsys, presets=presets)
    assert code == 2
    assert err == "error: 1 config problem in the command line:\n  unknown preset 'smal'; did you mean 'small'? (presets: small, long)\n"


def test_help_lists_fields_presets_and_our_options(capsys: pytest.CaptureFixture[str]) -> None:
    presets = {"small": ("two epochs", Toy(train=EpochLoop(max_epochs=2), milestones=(1,)))}
    code, out, _ = exits(["--help"], capsys, presets=presets)
    assert code == 0
    for text in ("--train.max-epochs", "Epochs to train.", "optim-wrapper.optimizer:adamw", "small: two epochs",
                 "--print-config", "--save-config", "--config FILE", "--plan", "--custom-hooks"):
        assert text in out, text
    code, out, _ = exits(["small", "--help"], capsys, presets=presets)
    assert "(default: 2)" in out  # help shows the preset's values


def test_config_file_env_and_flags_layer_in_order(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text("train:\n  max_epochs: 20\n  val_begin: 2\nseed: 1\nmilestones: [5]\n")
    env = {"TYPEDENGINE_TRAIN__MAX_EPOCHS": "12", "TYPEDENGINE_SEED": "2"}
    cfg = run(["--config", str(path), "--seed", "3"], env)
    assert (cfg.train, cfg.seed, cfg.milestones) == (EpochLoop(max_epochs=12, val_begin=2), 3, (5,))
    cfg = run([f"--config={path}"], env)
    assert cfg.seed == 2
    assert run(["--config", str(path)]).train == EpochLoop(max_epochs=20, val_begin=2)


def test_print_config_prints_the_resolved_json_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = exits(["--print-config", "--train.max-epochs", "7", "optim-wrapper.optimizer:adamw"], capsys)
    assert (code, err) == (0, "")
    printed = Toy.model_validate_json(out)
    assert printed.train == EpochLoop(max_epochs=7) and printed.optim_wrapper.optimizer == AdamW()
    assert json.loads(out)["optim_wrapper"]["optimizer"]["type"] == "adamw"


def test_save_config_writes_a_loadable_file_and_continues(tmp_path: Path) -> None:
    target = tmp_path / "out" / "resolved.yaml"
    cfg = run(["--save-config", str(target), "--seed", "9", "train:iter-based"])
    assert load_config(Toy, target) == cfg
    assert cfg.seed == 9 and isinstance(cfg.train, IterLoop)


def test_all_problems_reported_at_once_exit_2_nothing_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "never.json"
    code, out, err = exits(
        [
            "--save-config", str(target),
            "--train.max-epochs", "0",
            "optim-wrapper.optimizer:adamw", "--optim-wrapper.optimizer.lr", "-1",
            "--seed", "abc",
            "--custom-hooks", '[{"type": "ema", "momentum": 2}]',
            "--train-dataloader.batch-size", "0",
        ],
        capsys,
    )
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0] == "error: 5 config problems in the command line:"
    assert sorted(lines[1:]) == sorted([
        "  seed: expected an integer, got 'abc'",
        "  train.max_epochs: must be >= 1",
        "  optim_wrapper.optimizer.lr: must be > 0.0",
        "  custom_hooks[0].momentum: must be < 1.0",
        "  train_dataloader.batch_size: must be >= 1",
    ])
    assert "Traceback" not in err
    assert not target.exists()


def test_cross_field_problems_from_flags(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = exits(["--train.max-epochs", "2", "--train.val-begin", "3", "--milestones", "1", "5"], capsys)
    assert code == 2
    assert err.splitlines() == [
        "error: 2 config problems in the command line:",
        "  train.val_begin: must be <= train.max_epochs (2)",
        "  milestones: [5] lie after the last epoch (2)",
    ]


def test_file_and_env_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "exp.json"
    path.write_text('{"train": {"type": "epoch", "max_epoch": 3}}')
    code, _, err = exits(["--config", str(path)], capsys, env={"TYPEDENGINE_SEED": "x"})
    assert code == 2
    assert err.splitlines() == [
        f"error: 2 config problems in {path} and the environment:",
        "  seed: expected an integer, got 'x' (from TYPEDENGINE_SEED)",
        f"  train.max_epoch: unknown field; did you mean 'max_epochs'? (from {path})",
    ]
    code, _, err = exits(["--config", str(tmp_path / "missing.yaml")], capsys)
    assert (code, err.splitlines()[1]) == (2, "  file not found")
    code, _, err = exits(["--config"], capsys)
    assert (code, err.splitlines()[1]) == (2, "  --config: expects a file path")


def test_unknown_flags_and_choices_are_listed_with_suggestions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = exits(
        ["--train.max-epoch", "3", "--trian.max-epochs", "2", "optim-wrapper.optimizer:adamx", "--seed.x", "1",
         "--default-hooks.checkpoint.no-save-last", "--default-hooks.checkpoint.no-intervall"],
        capsys,
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "error: 5 config problems in the command line:",
        "  --train.max-epoch: unknown flag; did you mean --train.max-epochs?",
        "  --trian.max-epochs: unknown flag; did you mean --train.max-epochs?",
        "  optim-wrapper.optimizer:adamx: unknown choice; did you mean optim-wrapper.optimizer:adamw? (choices: sgd, adamw)",
        "  --seed.x: unknown flag",
        "  --default-hooks.checkpoint.no-intervall: unknown flag; did you mean --default-hooks.checkpoint.interval?",
    ]


def test_what_the_precheck_cannot_judge_is_left_to_tyro(capsys: pytest.CaptureFixture[str]) -> None:
    # a stray word is neither a flag nor a subcommand: tyro's own error, still exit 2 without a traceback
    code, _, err = exits(["banana"], capsys)
    assert code == 2 and "Traceback" not in err
    assert "Unrecognized options: banana" in err


def test_only_rank_0_prints(capsys: pytest.CaptureFixture[str]) -> None:
    for env in ({"RANK": "1"}, {"SLURM_PROCID": "3"}):
        for args in (["--seed", "x"], ["--train.max-epoch", "3"], ["--help"], ["--print-config"]):
            code, out, err = exits(args, capsys, env=env)
            assert (out, err) == ("", ""), args
            assert code == (0 if args[0] in ("--help", "--print-config") else 2)
    code, out, err = exits(["--seed", "x"], capsys, env={"RANK": "0"})
    assert code == 2 and "seed: expected an integer" in err


def test_save_config_only_on_rank_0(tmp_path: Path) -> None:
    target = tmp_path / "c.json"
    run(["--save-config", str(target)], {"RANK": "2"})
    assert not target.exists()
    run(["--save-config", str(target)], {"RANK": "0"})
    assert load_config(Toy, target) == Toy()


def test_required_fields_come_from_flags_or_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(Required, args=["--name", "a"], environ=NO_ENV) == Required(name="a")
    path = tmp_path / "r.json"
    path.write_text('{"name": "b"}')
    assert cli(Required, args=["--config", str(path), "--epochs", "2"], environ=NO_ENV) == Required(name="b", epochs=2)
    with pytest.raises(SystemExit) as info:
        cli(Required, args=[], environ=NO_ENV)
    assert info.value.code == 2
    assert "--name" in capsys.readouterr().err


def test_reproduce_command_quotes_and_keeps_env() -> None:
    cmd = reproduce_command(["--custom-hooks", '[{"type": "ema"}]', "--seed", "1"], {"TYPEDENGINE_SEED": "2", "HOME": "/x"})
    # the interpreter that ran, not whatever `python` is on PATH
    assert cmd.startswith(f"TYPEDENGINE_SEED=2 {shlex.quote(sys.executable)} ")
    assert cmd.endswith("""--custom-hooks '[{"type": "ema"}]' --seed 1""")


def test_a_root_field_named_like_our_options_is_a_developer_error() -> None:
    from pydantic import Field

    from typedengine.config.base import Config

    class Clashing(Config):
        plan: str = Field("a", description="Shadows --plan.")

    with pytest.raises(TypeError, match=r"\['plan'\] that clash"):
        cli(Clashing, args=[], environ={})


class Resumable(Config):
    """A root with a ``bool | Path`` field, like RunnerConfig.resume."""

    resume: bool | Path = Field(False, description="True: the latest checkpoint; a path: that file.")
    epochs: int = Field(3, ge=1, description="Epochs.")


def test_a_bare_bool_or_path_flag_means_true() -> None:
    assert cli(Resumable, args=["--resume"], environ=NO_ENV).resume is True
    assert cli(Resumable, args=["--resume", "--epochs", "2"], environ=NO_ENV) == Resumable(resume=True, epochs=2)
    assert cli(Resumable, args=["--resume", "a.pth"], environ=NO_ENV).resume == Path("a.pth")
    assert cli(Resumable, args=["--resume", "True"], environ=NO_ENV).resume is True
    assert cli(Resumable, args=["--no-resume"], environ=NO_ENV).resume is False


def test_tyro_errors_are_condensed_to_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli(Resumable, args=["--epochs"], environ=NO_ENV)
    assert info.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: 1 config problem in the command line:"
    assert err[1].startswith("  Missing argument: Missing value for argument '--epochs'")
    assert len(err) == 3 and err[2] == "(see --help)"
