"""Resume with an edited config: applied edits follow the new schedule's formula from the resume point on,
moment buffers are kept, what cannot be applied is refused, a forced resume recounts and never trains NaN.

Each test trains a real run (tests/runner/schedule_toys.py), stops it right after a checkpoint, edits the
config and resumes from that file; the resumed run records the param groups every iteration used and its
logged scalars, which are compared with values computed here by hand from the schedule formulas.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

import typedengine as te
from tests.runner.schedule_toys import Record, StopAfter, ToyRun, train
from typedengine.checkpoint.errors import IncompatibleResumeError
from typedengine.checkpoint.io import load_checkpoint_file
from typedengine.hooks.checkpoint import CheckpointHookConfig
from typedengine.hooks.choices import DefaultHooksConfig
from typedengine.hooks.logger import LoggerHookConfig
from typedengine import (
    AdamWConfig,
    CosineAnnealingSchedulerConfig,
    LinearSchedulerConfig,
    MultiStepSchedulerConfig,
    OptimWrapperConfig,
    ParamwiseConfig,
    ReduceOnPlateauSchedulerConfig,
    SGDConfig,
)

IPE = 6  # 22 samples, batch 4: iterations per epoch


def _hooks(*, every: int, by_epoch: bool = False) -> DefaultHooksConfig:
    return DefaultHooksConfig(
        checkpoint=CheckpointHookConfig(interval=every, by_epoch=by_epoch, save_last=False),
        logger=LoggerHookConfig(interval_iters=1, ignore_last=False, progress=False),
    )


def _stop_and_resume(
    tmp_path: Path, cfg: ToyRun, edited: ToyRun, *, at: int
) -> tuple[Record, dict[str, object]]:
    """Train ``cfg`` until iteration ``at`` (its checkpoint iter_<at>.pth), resume it as ``edited``."""
    train(te.replace(cfg, work_dir=tmp_path / "a"), stop=StopAfter(iteration=at))
    path = tmp_path / "a" / f"iter_{at}.pth"
    resumed = train(te.replace(edited, work_dir=tmp_path / "b", resume=path))
    return resumed, load_checkpoint_file(path)


def _logged_lr(record: Record) -> dict[int, float]:
    """Logged lr per iteration (the logger records iteration i's lr at step i + 1)."""
    return {int(r["step"]) - 1: float(r["lr"]) for r in record.rows if r["mode"] == "train"}  # type: ignore[call-overload, arg-type]


def test_epoch_run_resumed_mid_epoch_follows_the_new_lr_momentum_and_length(tmp_path: Path) -> None:
    schedule = (
        LinearSchedulerConfig(start_factor=0.25, by_epoch=False, end=7),
        CosineAnnealingSchedulerConfig(by_epoch=True),
    )
    cfg = ToyRun(
        train=te.EpochBasedTrainLoopConfig(max_epochs=4),
        optim_wrapper=OptimWrapperConfig(optimizer=SGDConfig(lr=0.1, momentum=0.9, weight_decay=1e-4)),
        param_scheduler=schedule,
        default_hooks=_hooks(every=9),
    )
    edited = te.replace(
        cfg,
        train=te.EpochBasedTrainLoopConfig(max_epochs=5),
        optim_wrapper=OptimWrapperConfig(optimizer=SGDConfig(lr=0.02, momentum=0.8, weight_decay=1e-4)),
    )
    resumed, ckpt = _stop_and_resume(tmp_path, cfg, edited, at=9)  # epoch 2, 3 iterations in

    def lr(i: int) -> float:  # warmup per iteration x cosine over the 5 epochs, from the new base lr
        return 0.02 * (0.25 + 0.75 * min(i, 6) / 6) * (1 + math.cos(math.pi * (i // IPE) / 5)) / 2

    assert sorted(resumed.groups) == list(range(9, 5 * IPE))
    first = resumed.groups[9][0]  # the param groups of the first step after the resume
    assert first["lr"] == pytest.approx(lr(9), rel=1e-12)
    assert (first["momentum"], first["weight_decay"], first["initial_lr"]) == (0.8, 1e-4, 0.02)
    logged = _logged_lr(resumed)
    assert sorted(logged) == list(range(9, 5 * IPE))
    for i, value in logged.items():
        assert value == pytest.approx(lr(i), rel=1e-12), i
    # the momentum buffers are the checkpoint's, not restarted
    saved = ckpt["optimizer"]["state"]  # type: ignore[index]
    assert set(resumed.state_before_first_step) == set(saved)
    for index, buffers in resumed.state_before_first_step.items():
        assert torch.equal(buffers["momentum_buffer"], saved[index]["momentum_buffer"])
    assert "optim_wrapper.optimizer.lr: 0.1 -> 0.02, applied from iter 10" in resumed.log
    assert "optim_wrapper.optimizer.momentum: 0.9 -> 0.8, applied from iter 10" in resumed.log
    assert "train.max_epochs: 4 -> 5, applied from iter 10" in resumed.log
    assert resumed.log.count("applied from iter") == 3  # once per changed field


def test_iteration_run_applies_weight_decay_and_adam_betas_schedules(tmp_path: Path) -> None:
    def config(wd: float, betas: tuple[float, float], milestone: int) -> ToyRun:
        return ToyRun(
            train=te.IterBasedTrainLoopConfig(max_iters=30, val_interval=10),
            optim_wrapper=OptimWrapperConfig(optimizer=AdamWConfig(lr=1e-3, betas=betas, weight_decay=wd)),
            param_scheduler=(
                CosineAnnealingSchedulerConfig(param="weight_decay", by_epoch=False),
                MultiStepSchedulerConfig(param="momentum", milestones=(milestone,), gamma=0.5, by_epoch=False),
            ),
            default_hooks=_hooks(every=10),
        )

    resumed, ckpt = _stop_and_resume(
        tmp_path, config(0.05, (0.9, 0.999), 12), config(0.1, (0.8, 0.99), 15), at=10
    )
    assert sorted(resumed.groups) == list(range(10, 30))
    for i, (group,) in resumed.groups.items():
        assert group["weight_decay"] == pytest.approx(
            0.1 * (1 + math.cos(math.pi * i / 30)) / 2, rel=1e-12
        ), i
        assert group["betas"] == pytest.approx((0.8 * (0.5 if i >= 15 else 1.0), 0.99), rel=1e-12), i
        assert group["lr"] == 1e-3
    saved = ckpt["optimizer"]["state"]  # type: ignore[index]
    for index, buffers in resumed.state_before_first_step.items():
        assert torch.equal(buffers["exp_avg"], saved[index]["exp_avg"])
        assert torch.equal(buffers["exp_avg_sq"], saved[index]["exp_avg_sq"])
    for field in (
        "weight_decay: 0.05 -> 0.1",
        "betas: [0.9, 0.999] -> [0.8, 0.99]",
        "milestones: [12] -> [15]",
    ):
        assert field in resumed.log, field


def test_convert_to_iter_based_schedule_edit_applies_mid_epoch(tmp_path: Path) -> None:
    def config(milestone: int, gamma: float) -> ToyRun:
        return ToyRun(
            train=te.EpochBasedTrainLoopConfig(max_epochs=4),
            param_scheduler=(
                MultiStepSchedulerConfig(milestones=(milestone,), gamma=gamma, convert_to_iter_based=True),
            ),
            default_hooks=_hooks(every=8),
        )

    resumed, _ = _stop_and_resume(tmp_path, config(2, 0.1), config(3, 0.5), at=8)
    logged = _logged_lr(resumed)
    assert sorted(logged) == list(range(8, 4 * IPE))
    for i, value in logged.items():  # epoch 3 begins at iteration 3 * 6 = 18
        assert value == pytest.approx(0.1 * (0.5 if i >= 3 * IPE else 1.0), rel=1e-12), i


def test_an_unchanged_resume_loads_the_saved_state_exactly(tmp_path: Path) -> None:
    cfg = ToyRun(
        param_scheduler=(LinearSchedulerConfig(start_factor=0.25, by_epoch=False, end=7), CosineAnnealingSchedulerConfig()),
        default_hooks=_hooks(every=9),
    )
    whole = train(te.replace(cfg, work_dir=tmp_path / "whole"))
    resumed, _ = _stop_and_resume(tmp_path, cfg, cfg, at=9)
    assert resumed.lr() == whole.lr()[9:]
    assert "applied from iter" not in resumed.log


def test_a_replay_through_reduce_on_plateau_is_refused_unless_forced(tmp_path: Path) -> None:
    cfg = ToyRun(
        param_scheduler=(ReduceOnPlateauSchedulerConfig(monitor="accuracy", rule="greater"),),
        default_hooks=_hooks(every=9),
    )
    train(te.replace(cfg, work_dir=tmp_path / "a"), stop=StopAfter(iteration=9))
    edited = te.replace(
        cfg,
        work_dir=tmp_path / "b",
        resume=tmp_path / "a" / "iter_9.pth",
        optim_wrapper=OptimWrapperConfig(optimizer=SGDConfig(lr=0.05, momentum=0.9)),
    )
    with pytest.raises(IncompatibleResumeError) as info:
        train(edited)
    assert str(info.value).startswith("cannot resume: param_scheduler[0]: ReduceOnPlateau")
    assert "optim_wrapper.optimizer.lr" in str(info.value) and "--resume-force" in str(info.value)
    forced = train(te.replace(edited, resume_force=True))
    assert forced.groups[9][0]["lr"] == 0.05  # rebuilt without the reductions made so far, as the log says
    assert "the schedule rebuilt without the reductions made so far (--resume-force)" in forced.log


def test_a_different_param_group_layout_is_refused_unless_forced(tmp_path: Path) -> None:
    cfg = ToyRun(default_hooks=_hooks(every=9))
    train(te.replace(cfg, work_dir=tmp_path / "a"), stop=StopAfter(iteration=9))
    paramwise = OptimWrapperConfig(
        optimizer=SGDConfig(lr=0.1, momentum=0.9), paramwise=ParamwiseConfig(bias_lr_mult=2.0)
    )
    edited = te.replace(
        cfg, work_dir=tmp_path / "b", resume=tmp_path / "a" / "iter_9.pth", optim_wrapper=paramwise
    )
    with pytest.raises(IncompatibleResumeError) as info:
        train(edited)
    message = str(info.value)
    assert message.startswith(
        "cannot resume: optim_wrapper.paramwise: the checkpoint's optimizer has param groups of [2]"
    )
    assert "--resume-force" in message
    forced = train(te.replace(edited, resume_force=True))
    assert forced.state_before_first_step == {}  # the optimizer state started fresh, as the log says
    assert [g["lr"] for g in forced.groups[9][:2]] == [0.1, 0.2]
    assert "resuming with a fresh optimizer state (--resume-force)" in forced.log


def test_optimizer_type_and_state_shaping_changes_are_refused(tmp_path: Path) -> None:
    cfg = ToyRun(default_hooks=_hooks(every=9))
    train(te.replace(cfg, work_dir=tmp_path / "a"), stop=StopAfter(iteration=9))
    path = tmp_path / "a" / "iter_9.pth"
    adam = te.replace(
        cfg, work_dir=tmp_path / "b", resume=path, optim_wrapper=OptimWrapperConfig(optimizer=AdamWConfig())
    )
    with pytest.raises(IncompatibleResumeError, match=r"optim_wrapper.optimizer changed"):
        train(adam)
    forced = train(te.replace(adam, resume_force=True))
    assert forced.state_before_first_step == {} and forced.final_iter == 4 * IPE
    assert "the optimizer type changed (--resume-force): its state starts fresh" in forced.log


def test_forced_batch_size_and_accumulation_change_recounts_and_stays_finite(tmp_path: Path) -> None:
    cfg = ToyRun(
        optim_wrapper=OptimWrapperConfig(optimizer=SGDConfig(lr=0.1, momentum=0.9), accumulative_counts=3),
        default_hooks=_hooks(every=8),
    )
    train(
        te.replace(cfg, work_dir=tmp_path / "a"), stop=StopAfter(iteration=8)
    )  # epoch 2, 2 batches = 8 samples in
    loader = te.DataLoaderConfig[type(cfg.train_dataloader.dataset)](
        dataset=cfg.train_dataloader.dataset, batch_size=8
    )  # type: ignore[union-attr, misc]
    edited = te.replace(
        cfg,
        work_dir=tmp_path / "b",
        resume=tmp_path / "a" / "iter_8.pth",
        train_dataloader=loader,
        optim_wrapper=OptimWrapperConfig(optimizer=SGDConfig(lr=0.1, momentum=0.9), accumulative_counts=2),
    )
    with pytest.raises(IncompatibleResumeError, match="train_dataloader.batch_size"):
        train(edited)
    forced = train(te.replace(edited, resume_force=True))
    # batch 8: 3 iterations per epoch; 8 samples of epoch 2 = 1 batch: iteration 3 * 1 + 1 = 4 of 12
    assert sorted(forced.groups) == list(range(4, 12)) and forced.final_iter == 12
    losses = [float(r["loss"]) for r in forced.rows if r["mode"] == "train"]  # type: ignore[arg-type]
    assert len(losses) == 8 and all(math.isfinite(v) for v in losses)
    assert "continues at iteration 4 (1 of the epoch, sample 8)" in forced.log
    assert "dropped the gradients accumulated before the checkpoint" in forced.log  # 8 % 3 != 0: mid-window


def test_a_refused_resume_carries_its_table_and_logs_nothing_of_it(tmp_path: Path) -> None:
    cfg = ToyRun(default_hooks=_hooks(every=9))
    train(te.replace(cfg, work_dir=tmp_path / "a"), stop=StopAfter(iteration=9))
    edited = te.replace(
        cfg,
        work_dir=tmp_path / "b",
        resume=tmp_path / "a" / "iter_9.pth",
        randomness=te.RandomnessConfig(seed=4),
    )
    runner = te.Runner.from_config(edited)
    with pytest.raises(IncompatibleResumeError) as info:
        runner.train()
    runner.close()
    message = str(info.value)
    assert message.splitlines()[0].startswith("cannot resume: randomness.seed changed since the checkpoint")
    assert message.count("randomness.seed") == 2  # the headline and its one table row
    log = (runner.log_dir / f"{runner.timestamp}.log").read_text()
    assert "randomness.seed" not in log and "checkpoint  now" not in log
