"""--plan: the schedule computed from the config alone matches what a real run of the digits example does."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from typedengine.cli import cli
from typedengine.config.base import replace
from typedengine.config.files import load_config
from typedengine.runner.plan import compute_plan, make_plan

from .digits import DigitsExperiment, run_example


def logged_rows(work_dir: Path) -> list[dict[str, object]]:
    (scalars,) = work_dir.glob("*/scalars.jsonl")
    return [json.loads(line) for line in scalars.read_text().splitlines()]


def compare_plan_with_run(work_dir: Path) -> None:
    (config_json,) = work_dir.glob("*/config.json")
    cfg = load_config(DigitsExperiment, config_json)  # the run's own resolved config
    plan = compute_plan(cfg)
    rows = logged_rows(work_dir)
    train_rows = [r for r in rows if r["mode"] == "train"]
    val_steps = [r["step"] for r in rows if r["mode"] == "val"]

    assert plan.val_iters is not None and plan.log_iters is not None and plan.checkpoint_iters is not None
    assert val_steps == list(plan.val_iters)
    assert [r["step"] for r in train_rows] == list(plan.log_iters)
    # the LR logged at step s is the rate iteration s-1 used
    (lr,) = plan.lr.values()
    assert len(lr) == plan.max_iters
    for row in train_rows:
        step, logged = row["step"], row["lr"]
        assert isinstance(step, int) and isinstance(logged, float)
        assert math.isclose(logged, lr[step - 1], rel_tol=1e-9, abs_tol=1e-15), (step, logged, lr[step - 1])
    saved = sorted(p.name for p in work_dir.glob("*.pth"))
    assert saved == sorted(plan.checkpoint_files)


def test_plan_matches_an_epoch_based_run(tmp_path: Path) -> None:
    args = [
        "--train.max-epochs", "3",
        "--train.val-interval", "2",
        "--default-hooks.logger.interval-iters", "5",
        "--default-hooks.checkpoint.interval", "2",
        "--work-dir", str(tmp_path),
    ]  # fmt: skip
    planned = run_example(*args, "--plan")
    assert planned.returncode == 0, planned.stderr
    assert "validation: after epochs 2, 3" in planned.stdout
    assert "= after iterations 46, 69" in planned.stdout
    assert not any(tmp_path.iterdir())  # --plan builds and writes nothing
    done = run_example(*args)
    assert done.returncode == 0, done.stderr
    compare_plan_with_run(tmp_path)


def test_plan_matches_an_iteration_based_run(tmp_path: Path) -> None:
    args = [
        "train:iter-based",
        "--train.max-iters", "30",
        "--train.val-interval", "12",
        "--param-scheduler.1.no-by-epoch",  # the cosine decay steps per iteration in an iteration-based run
        "--default-hooks.logger.interval-iters", "4",
        "--default-hooks.checkpoint.no-by-epoch",
        "--default-hooks.checkpoint.interval", "10",
        "--work-dir", str(tmp_path),
    ]  # fmt: skip
    done = run_example(*args)
    assert done.returncode == 0, done.stderr
    compare_plan_with_run(tmp_path)


def test_world_size_accumulation_and_effective_batch() -> None:
    cfg = DigitsExperiment()
    assert cfg.train_dataloader is not None and cfg.optim_wrapper is not None
    one = compute_plan(cfg)
    assert (one.train_samples, one.iters_per_epoch, one.effective_batch) == (1438, math.ceil(1438 / 64), 64)
    four = compute_plan(cfg, world_size=4)
    assert four.iters_per_epoch == math.ceil(math.ceil(1438 / 4) / 64)
    assert four.effective_batch == 64 * 4
    dl = replace(cfg.train_dataloader, drop_last=True, batch_size=100)
    ow = replace(cfg.optim_wrapper, accumulative_counts=4)
    acc = compute_plan(replace(cfg, train_dataloader=dl, optim_wrapper=ow), world_size=2)
    assert acc.iters_per_epoch == (1438 // 2) // 100
    assert acc.effective_batch == 100 * 4 * 2
    assert acc.optimizer_steps == math.ceil(acc.iters_per_epoch * 10 / 4)


def test_plan_text_has_every_section() -> None:
    text = make_plan(DigitsExperiment())
    for part in (
        "10 epochs x 23 iterations per epoch = 230 iterations",
        "effective batch: 64 x 1 accumulation x 1 process(es) = 64",
        "validation: every epoch",
        "checkpoints: every epoch",
        "log lines: after iterations 10, 20, 33",
        "Learning rate per iteration: 0.005",
        "iter      19  0.05",
        "work_dirs/digits/<timestamp>/scalars.jsonl",
        "work_dirs/digits/epoch_1.pth ... epoch_10.pth",
    ):
        assert part in text, part


def test_cli_plan_exits_0_and_uses_world_size(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli(
            DigitsExperiment,
            args=["--plan", "--train-dataloader.batch-size", "32"],
            environ={"RANK": "0", "WORLD_SIZE": "2"},
        )
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "Plan for DigitsExperiment (world size 2)" in out
    assert f"x {math.ceil(719 / 32)} iterations per epoch" in out


def test_plan_of_a_non_runner_config_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.config.toy_configs import Toy

    with pytest.raises(SystemExit) as info:
        cli(Toy, args=["--plan"], environ={})
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines()[1] == "  --plan: needs a RunnerConfig root, not Toy"


def test_plan_without_a_training_part_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        base = replace(
            DigitsExperiment(), train=None, train_dataloader=None, optim_wrapper=None, param_scheduler=()
        )
        cli(DigitsExperiment, default=base, args=["--plan"], environ={})
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines()[1] == (
        "  --plan: the config has no training part (train, train_dataloader and optim_wrapper)"
    )


def test_plan_imports_no_torch_in_a_fresh_process() -> None:
    """--plan builds nothing: computing a plan must not import torch (it costs seconds)."""
    import subprocess
    import sys

    from .digits import ROOT

    code = (
        "import sys\n"
        "from tests.cli.digits import DigitsExperiment\n"
        "from typedengine.runner.plan import compute_plan, make_plan\n"
        "plan = compute_plan(DigitsExperiment())\n"
        "make_plan(DigitsExperiment())\n"
        "assert len(plan.lr['']) == 230, len(plan.lr[''])\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
