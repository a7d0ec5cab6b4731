"""RunSchedule: the one home of every "when": its rules, and --plan equal to real runs (resumed ones too)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import typedengine as te
from typedengine.hooks.checkpoint import CheckpointHookConfig
from typedengine.hooks.choices import DefaultHooksConfig
from typedengine.hooks.logger import LoggerHookConfig
from typedengine import CosineAnnealingSchedulerConfig, LinearSchedulerConfig, MultiStepSchedulerConfig, ParamSchedulerConfig
from typedengine.runner.plan import compute_plan
from typedengine.runner.schedule import (
    LogCadence,
    RunSchedule,
    SaveCadence,
    StandInTarget,
    advance_schedulers,
    loader_length,
    replay_schedulers,
)

from .schedule_toys import Record, StopAfter, ToyRun, checkpoint_names, train


def test_loader_length_pads_ranks_and_drops_last() -> None:
    assert loader_length(22, 4, 1, drop_last=False) == 6
    assert loader_length(22, 4, 1, drop_last=True) == 5
    assert loader_length(22, 4, 3, drop_last=False) == 2  # ceil(22 / 3) = 8 per rank
    assert loader_length(1438, 64, 4, drop_last=False) == math.ceil(math.ceil(1438 / 4) / 64)


def test_schedule_from_config_reads_the_declared_length() -> None:
    schedule = RunSchedule.from_config(ToyRun())
    assert schedule is not None
    assert (schedule.max_epochs, schedule.iters_per_epoch, schedule.max_iters, schedule.epoch_length) == (
        4,
        6,
        24,
        6,
    )
    hooks = DefaultHooksConfig(checkpoint=CheckpointHookConfig(by_epoch=False))
    iters = RunSchedule.from_config(
        te.replace(ToyRun(), train=te.IterBasedTrainLoopConfig(max_iters=50), default_hooks=hooks)
    )
    assert iters is not None
    assert (iters.max_epochs, iters.iters_in_epoch, iters.max_iters, iters.epoch_length) == (1, 50, 50, 6)
    assert (
        RunSchedule.from_config(te.replace(ToyRun(), train=None, train_dataloader=None, optim_wrapper=None))
        is None
    )


def test_checkpoint_cadence_counts_from_save_begin_like_the_hook() -> None:
    schedule = RunSchedule(by_epoch=True, run_length=7, iters_per_epoch=3)
    begin2 = SaveCadence(interval=2, by_epoch=True, save_begin=2, save_last=False)
    assert schedule.checkpoint_points(begin2) == ((2, 4, 6), (6, 12, 18))  # --plan once said 4, 6
    assert schedule.checkpoint_points(SaveCadence(interval=3, by_epoch=True)) == ((3, 6, 7), (9, 18, 21))
    iters = SaveCadence(interval=5, by_epoch=False, save_begin=3)
    assert schedule.checkpoint_points(iters) == ((), (3, 8, 13, 18, 21))
    assert schedule.checkpoint_points(SaveCadence(interval=-1, by_epoch=True, save_last=False)) == ((), ())
    assert schedule.cadence_problem(begin2) is None
    loop = RunSchedule(by_epoch=False, run_length=20)
    problem = loop.cadence_problem(SaveCadence(interval=1, by_epoch=True))
    assert problem is not None and "epoch_1.pth" in problem


def test_log_cadence_counts_inside_epochs_or_globally() -> None:
    epochs = RunSchedule(by_epoch=True, run_length=2, iters_per_epoch=5)
    assert epochs.log_points(LogCadence(interval_iters=2)) == (2, 4, 7, 9)
    assert epochs.log_points(LogCadence(interval_iters=2, ignore_last=False)) == (2, 4, 5, 7, 9, 10)
    assert epochs.log_points(LogCadence(interval_iters=8)) == (5, 10)  # an epoch shorter than one interval
    iters = RunSchedule(by_epoch=False, run_length=10)
    assert iters.log_points(LogCadence(interval_iters=4)) == (4, 8)
    assert iters.log_points(LogCadence(interval_iters=4, ignore_last=False)) == (4, 8, 10)


def test_validation_points_with_begin_interval_last_and_dynamic_switch() -> None:
    schedule = RunSchedule(
        by_epoch=True,
        run_length=10,
        iters_per_epoch=1,
        val_begin=2,
        val_interval=4,
        dynamic_intervals=((7, 1),),
    )
    assert schedule.validation_points() == (4, 7, 8, 9, 10)


def test_scheduler_events_follow_the_loops_order() -> None:
    schedule = RunSchedule(by_epoch=True, run_length=3, iters_per_epoch=2)
    assert list(schedule.scheduler_events(epochs=1, inner_iters=1)) == ["iter", "iter", "epoch", "iter"]
    iters = RunSchedule(by_epoch=False, run_length=3)
    assert list(iters.scheduler_events(epochs=0, inner_iters=3)) == ["iter", "iter", "iter"]


def test_replay_on_a_stand_in_matches_the_closed_form() -> None:
    from typedengine.optim.schedulers.choices import build_param_schedulers

    target = StandInTarget([{"lr": 0.1, "momentum": 0.9}])
    schedule = RunSchedule(by_epoch=True, run_length=4, iters_per_epoch=5)
    schedulers = build_param_schedulers(
        [LinearSchedulerConfig(start_factor=0.5, by_epoch=False, end=4), CosineAnnealingSchedulerConfig(by_epoch=True)],
        target,
        epoch_length=5,
        max_epochs=4,
        max_iters=20,
    )
    seen: list[float] = []
    replay_schedulers(
        schedulers,
        schedule,
        epochs=4,
        inner_iters=0,
        before_iter=lambda: seen.append(target.param_groups[0]["lr"]),
    )
    expected = [
        0.1 * (0.5 + 0.5 * min(i, 3) / 3) * (1 + math.cos(math.pi * (i // 5) / 4)) / 2 for i in range(20)
    ]
    assert seen == pytest.approx(expected, rel=1e-12)
    # both windows are closed now ([0, 4) epochs, [0, 4) iterations): further steps leave the value alone
    advance_schedulers(schedulers, "epoch")
    advance_schedulers(schedulers, "iter")
    assert target.param_groups[0]["lr"] == pytest.approx(expected[-1], rel=1e-12)


def test_resume_point_maps_a_sample_index_onto_other_sizes() -> None:
    schedule = RunSchedule(by_epoch=True, run_length=3, iters_per_epoch=6, batch_size=4, samples=22)
    same = schedule.resume_point(epoch=1, iter=9, inner_iter=3, sample_index=12, batch_size=4, world_size=1)
    assert (same.epoch, same.iter, same.inner_iter, same.sample_index, same.moved) == (1, 9, 3, 12, False)
    # saved with batch 8 on 1 process after 2 batches (16 samples): batch 4 continues after 4 batches
    moved = schedule.resume_point(epoch=1, iter=5, inner_iter=2, sample_index=16, batch_size=8, world_size=1)
    assert (moved.epoch, moved.iter, moved.inner_iter, moved.sample_index, moved.moved) == (
        1,
        10,
        4,
        16,
        True,
    )
    # 2 processes x batch 3 after 3 batches = 18 samples: rounded down to whole batches of this run
    ws = schedule.resume_point(epoch=0, iter=3, inner_iter=3, sample_index=18, batch_size=3, world_size=2)
    assert (ws.iter, ws.inner_iter, ws.sample_index) == (4, 4, 16)
    # the whole epoch was consumed: the epoch is complete in this run too
    end = schedule.resume_point(epoch=0, iter=3, inner_iter=3, sample_index=24, batch_size=8, world_size=1)
    assert (end.iter, end.inner_iter) == (6, 6)
    iters = RunSchedule(by_epoch=False, run_length=100, batch_size=4)
    kept = iters.resume_point(epoch=0, iter=40, inner_iter=40, sample_index=320, batch_size=8, world_size=1)
    assert (kept.iter, kept.sample_index, kept.moved) == (40, 160, True)


# --- --plan equals the real run, over a grid, also when stopped and resumed --------------------------------
def _hooks(*, ckpt: CheckpointHookConfig, logger: LoggerHookConfig) -> DefaultHooksConfig:
    return DefaultHooksConfig(checkpoint=ckpt, logger=logger.model_copy(update={"progress": False}))


EPOCH_SCHEDULE: tuple[ParamSchedulerConfig, ...] = (
    LinearSchedulerConfig(start_factor=0.25, by_epoch=False, end=7),
    MultiStepSchedulerConfig(milestones=(2, 3), gamma=0.5),
)
ITER_SCHEDULE: tuple[ParamSchedulerConfig, ...] = (
    LinearSchedulerConfig(start_factor=0.25, by_epoch=False, end=7),
    CosineAnnealingSchedulerConfig(by_epoch=False, begin=7, eta_min=0.001),
)

GRID: dict[str, tuple[dict[str, object], dict[str, int] | None]] = {
    "epochs, save_begin 2": (
        {
            "train": te.EpochBasedTrainLoopConfig(max_epochs=6, val_interval=2),
            "ckpt": CheckpointHookConfig(interval=2, save_begin=2, save_last=False),
            "logger": LoggerHookConfig(interval_iters=4),
        },
        None,
    ),
    "epochs, stopped after an epoch's checkpoint, before its validation": (
        {
            "train": te.EpochBasedTrainLoopConfig(max_epochs=4, val_begin=2),
            "ckpt": CheckpointHookConfig(interval=1),
            "logger": LoggerHookConfig(interval_iters=4, ignore_last=False),
        },
        {"epoch": 2},
    ),
    "epochs, iteration checkpoints, dynamic intervals, stopped mid-epoch": (
        {
            "train": te.EpochBasedTrainLoopConfig(max_epochs=5, val_interval=3, dynamic_intervals=((4, 1),)),
            "ckpt": CheckpointHookConfig(interval=5, by_epoch=False, save_begin=3),
            "logger": LoggerHookConfig(interval_iters=5),
        },
        {"iteration": 13},
    ),
    "epochs, save_last off, val_begin 3": (
        {
            "train": te.EpochBasedTrainLoopConfig(max_epochs=5, val_begin=3),
            "ckpt": CheckpointHookConfig(interval=2, save_last=False),
            "logger": LoggerHookConfig(interval_iters=10),
        },
        None,
    ),
    "iterations, save_begin, val_begin, stopped at a checkpoint that validation follows": (
        {
            "train": te.IterBasedTrainLoopConfig(max_iters=30, val_interval=7, val_begin=10),
            "ckpt": CheckpointHookConfig(interval=7, by_epoch=False, save_begin=0),
            "logger": LoggerHookConfig(interval_iters=4),
        },
        {"iteration": 14},
    ),
    "iterations, dynamic intervals, save_last off": (
        {
            "train": te.IterBasedTrainLoopConfig(max_iters=25, val_interval=10, dynamic_intervals=((20, 3),)),
            "ckpt": CheckpointHookConfig(interval=6, by_epoch=False, save_begin=2, save_last=False),
            "logger": LoggerHookConfig(interval_iters=3, ignore_last=False),
        },
        {"iteration": 8},
    ),
}


@pytest.mark.parametrize("name", list(GRID))
def test_plan_equals_the_run(tmp_path: Path, name: str) -> None:
    spec, stop = GRID[name]
    train_cfg = spec["train"]
    assert isinstance(train_cfg, (te.EpochBasedTrainLoopConfig, te.IterBasedTrainLoopConfig))
    ckpt, logger = spec["ckpt"], spec["logger"]
    assert isinstance(ckpt, CheckpointHookConfig) and isinstance(logger, LoggerHookConfig)
    cfg = ToyRun(
        work_dir=tmp_path / "run",
        train=train_cfg,
        param_scheduler=EPOCH_SCHEDULE if train_cfg.by_epoch else ITER_SCHEDULE,
        default_hooks=_hooks(ckpt=ckpt, logger=logger),
    )
    plan = compute_plan(cfg)
    if stop is None:
        record = train(cfg)
        files = checkpoint_names(tmp_path / "run")
    else:
        first = train(cfg, stop=StopAfter(**stop))
        (latest,) = [p for p in (tmp_path / "run").glob("*.pth") if p.name == _stop_file(ckpt, stop)]
        resumed_cfg = te.replace(cfg, work_dir=tmp_path / "resumed", resume=latest)
        record = first.merge(train(resumed_cfg))
        files = sorted(
            [n for n in checkpoint_names(tmp_path / "run") if _count(n) <= _stop_count(ckpt, stop)]
            + [n for n in checkpoint_names(tmp_path / "resumed") if _count(n) > _stop_count(ckpt, stop)]
        )
        assert sorted(record.groups) == list(range(plan.max_iters or 0))
    _compare(plan, record, files)


def _count(name: str) -> int:
    return int(name.rsplit("_", 1)[1].split(".")[0])


def _stop_count(ckpt: CheckpointHookConfig, stop: dict[str, int]) -> int:
    return stop["epoch"] if ckpt.by_epoch else stop["iteration"]


def _stop_file(ckpt: CheckpointHookConfig, stop: dict[str, int]) -> str:
    return f"epoch_{stop['epoch']}.pth" if ckpt.by_epoch else f"iter_{stop['iteration']}.pth"


def _compare(plan: object, record: Record, files: list[str]) -> None:
    from typedengine.runner.plan import RunPlan

    assert isinstance(plan, RunPlan)
    assert plan.val_iters is not None and plan.log_iters is not None
    assert record.val_iters == list(plan.val_iters)
    assert [r["step"] for r in record.rows if r["mode"] == "val"] == list(plan.val_iters)
    train_rows = [r for r in record.rows if r["mode"] == "train"]
    assert [r["step"] for r in train_rows] == list(plan.log_iters)
    (lr,) = plan.lr.values()
    assert record.lr() == pytest.approx(list(lr), rel=1e-12, abs=1e-15)
    for row in train_rows:
        assert row["lr"] == pytest.approx(lr[int(row["step"]) - 1], rel=1e-12)  # type: ignore[call-overload]
    assert files == sorted(plan.checkpoint_files)


@pytest.mark.parametrize("save_best", ["auto", "accuracy"])
def test_plan_names_the_best_checkpoint_the_hook_writes(tmp_path: Path, save_best: str) -> None:
    import re

    ckpt = CheckpointHookConfig(interval=-1, save_last=False, save_best=save_best)
    cfg = ToyRun(
        work_dir=tmp_path,
        train=te.EpochBasedTrainLoopConfig(max_epochs=2),
        default_hooks=_hooks(ckpt=ckpt, logger=LoggerHookConfig()),
    )
    (predicted,) = [Path(path).name for path, what in compute_plan(cfg).outputs if what.startswith("best")]
    assert predicted == "best_accuracy_epoch_<n>.pth"
    train(cfg)
    (written,) = [n for n in checkpoint_names(tmp_path) if n.startswith("best")]
    assert re.fullmatch(re.escape(predicted).replace("<n>", r"\d+"), written), (predicted, written)


# --- config-time cadence checks ----------------------------------------------------------------------------
def _issues(**changes: object) -> list[str]:
    from typedengine.runner.config import cross_field_issues

    cfg = ToyRun.model_construct(**{**dict(ToyRun()), **changes})
    return [str(issue) for issue in cross_field_issues(cfg)]


def test_an_epoch_checkpoint_cadence_in_an_iteration_run_is_refused_with_the_fix() -> None:
    run = te.IterBasedTrainLoopConfig(max_iters=40)
    (issue,) = _issues(train=run)
    assert issue.startswith("default_hooks.checkpoint.by_epoch: by_epoch=True in an iteration-based run")
    assert "--default-hooks.checkpoint.no-by-epoch" in issue
    custom = (CheckpointHookConfig(interval=5),)
    hooks = DefaultHooksConfig(checkpoint=None)
    (issue,) = _issues(train=run, default_hooks=hooks, custom_hooks=custom)
    assert issue.startswith("custom_hooks[0].by_epoch:") and '"by_epoch": false' in issue
    assert (
        _issues(train=run, default_hooks=DefaultHooksConfig(checkpoint=CheckpointHookConfig(by_epoch=False)))
        == []
    )
    # an iteration cadence in an epoch-based run is fine (MMEngine allows it)
    assert _issues(default_hooks=DefaultHooksConfig(checkpoint=CheckpointHookConfig(by_epoch=False))) == []


def test_the_cli_refuses_it_before_anything_is_built(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.cli.digits import DigitsExperiment
    from typedengine.cli import cli

    with pytest.raises(SystemExit) as info:
        cli(DigitsExperiment, args=["train:iter-based", "--param-scheduler.1.no-by-epoch"], environ={})
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "default_hooks.checkpoint.by_epoch: by_epoch=True in an iteration-based run" in err


@pytest.mark.parametrize(
    ("scheduler", "expected"),
    [
        (
            CosineAnnealingSchedulerConfig(end=8),
            "param_scheduler[0].end: the window ends at 8 epochs but the run has 4 epochs",
        ),
        (
            LinearSchedulerConfig(start_factor=0.5, end_factor=0.1, by_epoch=False, end=30),
            "param_scheduler[0].end: the window ends at 30 iterations but the run has 24 iterations",
        ),
        (
            CosineAnnealingSchedulerConfig(begin=1, T_max=4),
            "param_scheduler[0].T_max: T_max=4 from step 1 ends at 5 epochs",
        ),
        (
            CosineAnnealingSchedulerConfig(end=5, convert_to_iter_based=True),
            "param_scheduler[0].end: the window ends at 5 epochs but the run has 4 epochs",
        ),
    ],
)
def test_a_schedule_that_never_completes_is_refused(scheduler: ParamSchedulerConfig, expected: str) -> None:
    (issue,) = _issues(param_scheduler=(scheduler,))
    assert issue.startswith(expected), issue
    assert "never completes" in issue


def test_windows_inside_the_run_and_open_ends_pass() -> None:
    fine: tuple[ParamSchedulerConfig, ...] = (
        LinearSchedulerConfig(start_factor=0.1, by_epoch=False, end=24),
        CosineAnnealingSchedulerConfig(begin=1, T_max=3),
        MultiStepSchedulerConfig(milestones=(2, 3)),
    )
    assert _issues(param_scheduler=fine) == []
    hooks = DefaultHooksConfig(checkpoint=CheckpointHookConfig(by_epoch=False))
    passes = (
        CosineAnnealingSchedulerConfig(end=3, convert_to_iter_based=True),
    )  # 3 passes of 6 = 18 <= 20 iterations
    assert (
        _issues(train=te.IterBasedTrainLoopConfig(max_iters=20), default_hooks=hooks, param_scheduler=passes)
        == []
    )
    four = (CosineAnnealingSchedulerConfig(end=4, convert_to_iter_based=True),)  # 24 > 20
    (issue,) = _issues(
        train=te.IterBasedTrainLoopConfig(max_iters=20), default_hooks=hooks, param_scheduler=four
    )
    assert issue.startswith("param_scheduler[0].end: the window ends at 4 epochs (passes over the data)")
