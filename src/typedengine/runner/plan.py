"""``--plan``: what a run will do, computed from its config alone (no data, no model, no GPU, no torch).

:func:`compute_plan` returns a :class:`RunPlan` (numbers a test can compare with a real run);
:func:`make_plan` renders it as text::

    python examples/01_digits.py --plan --train.max-epochs 3

It answers, before the first batch: how many epochs and iterations (iterations per epoch come from the
train dataset's ``declared_length()``; unknown when it returns None), the effective batch
(batch × accumulation × world size), after which iterations validation, checkpoints and log lines fire,
the learning rate of every iteration, and which files the run writes where.

The plan is the run's :class:`~typedengine.runner.schedule.RunSchedule` printed: every "when" comes from
the same schedule the loops and hooks ask, with the hooks' own cadences (the checkpoint and logger hook
configs are built — plain Python — and their ``cadence`` applied), and the LR curve is the run's own
scheduler classes stepped by the schedule's stepping rule on a plain-Python stand-in of the param groups.

Conventions match the runtime: counts are 1-based "after N iterations/epochs"; ``lr[i]`` is the rate
used by iteration ``i`` (0-based), which the logger records at step ``i + 1``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .schedule import RunSchedule, StandInTarget, advance_schedulers, replay_schedulers

if TYPE_CHECKING:
    from ..hooks.checkpoint import CheckpointHook
    from ..optim.optimizers import OptimizerConfig
    from .config import RunnerConfig

__all__ = ["RunPlan", "compute_plan", "make_plan", "optimizer_hyperparameters"]

MAX_SIMULATED_ITERS = 5_000_000
"""Longer runs are not stepped through for the LR curve (it would take seconds)."""


@dataclass(frozen=True)
class RunPlan:
    """The schedule of a run, as numbers. Iteration counts are 1-based ("after N iterations")."""

    world_size: int
    by_epoch: bool
    max_epochs: int
    """Epochs of an epoch-based loop; 1 for an iteration-based loop (one endless pass)."""
    iters_per_epoch: int | None
    """Per process; None when the dataset declares no length (epoch-based loops)."""
    max_iters: int | None
    train_samples: int | None
    batch_size: int | None
    accumulative_counts: int
    val_epochs: tuple[int, ...]
    """Epochs after which validation runs (epoch-based loops)."""
    val_iters: tuple[int, ...] | None
    checkpoint_epochs: tuple[int, ...]
    checkpoint_iters: tuple[int, ...] | None
    checkpoint_files: tuple[str, ...]
    log_iters: tuple[int, ...] | None
    lr: dict[str, tuple[float, ...]]
    """Per optim wrapper ('' for a single one): the LR of every iteration (or every epoch, see ``lr_unit``)."""
    lr_unit: str
    lr_breakpoints: tuple[int, ...]
    """Indices where a scheduler window opens or closes (always shown in the chart)."""
    outputs: tuple[tuple[str, str], ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def effective_batch(self) -> int | None:
        """Samples per optimizer step: batch × accumulation × world size."""
        if self.batch_size is None:
            return None
        return self.batch_size * self.accumulative_counts * self.world_size

    @property
    def optimizer_steps(self) -> int | None:
        """Optimizer steps over the run (every ``accumulative_counts`` iterations, plus the last)."""
        if self.max_iters is None:
            return None
        return math.ceil(self.max_iters / self.accumulative_counts)


def optimizer_hyperparameters(optimizer: OptimizerConfig) -> dict[str, object]:
    """The param-group hyperparameters an optimizer config builds (``lr``, ``betas``, ...), without torch
    for the built-in optimizers (an imported class is inspected for its defaults)."""
    torch_kwargs = getattr(optimizer, "torch_kwargs", None)
    if callable(torch_kwargs):
        values = torch_kwargs()
        assert isinstance(values, dict)
        return dict(values)
    import inspect

    from ..optim.optimizers import ImportedOptimizerConfig

    assert isinstance(optimizer, ImportedOptimizerConfig)
    params = inspect.signature(optimizer.optimizer_class()).parameters
    defaults: dict[str, object] = {
        name: p.default for name, p in params.items() if p.default is not inspect.Parameter.empty
    }
    return {**defaults, **optimizer.kwargs}


def _lr_curves(
    cfg: RunnerConfig, schedule: RunSchedule, *, per_iteration: bool
) -> tuple[dict[str, tuple[float, ...]], list[str]]:
    """The LR of every iteration (or epoch), per optim wrapper, from the configured schedulers."""
    from ..optim.amp import AmpOptimWrapperConfig
    from ..optim.schedulers.choices import build_param_schedulers
    from ..optim.wrapper import OptimWrapperConfig
    from ..optim.wrapper_dict import OptimWrapperDictConfig

    notes: list[str] = []
    ow = cfg.optim_wrapper
    if ow is None:
        return {}, notes
    singles: dict[str, OptimWrapperConfig | AmpOptimWrapperConfig]
    singles = dict(ow.wrappers) if isinstance(ow, OptimWrapperDictConfig) else {"": ow}
    curves: dict[str, tuple[float, ...]] = {}
    for name, single in singles.items():
        target = StandInTarget([optimizer_hyperparameters(single.optimizer)])
        group = target.param_groups[0]
        if cfg.auto_scale_lr is not None and cfg.auto_scale_lr.enable:
            group["lr"] = group["lr"] * schedule.lr_scale(cfg.auto_scale_lr.base_batch_size)
        schedulers = build_param_schedulers(
            cfg.param_scheduler,
            target,
            epoch_length=schedule.epoch_length or 0,
            max_epochs=schedule.max_epochs,
            max_iters=schedule.max_iters if schedule.max_iters is not None else schedule.max_epochs,
        )
        if any(s.need_val_args for s in schedulers):
            notes.append(
                "ReduceOnPlateau depends on validation metrics: the curve shows it without reductions"
            )
        values: list[float] = []

        def record(group: dict[str, object] = group, values: list[float] = values) -> None:
            values.append(float(group["lr"]))  # type: ignore[arg-type]  # the scheduled lr is a number

        if per_iteration:
            epochs, inner = (schedule.max_epochs, 0) if schedule.by_epoch else (0, schedule.run_length)
            replay_schedulers(schedulers, schedule, epochs=epochs, inner_iters=inner, before_iter=record)
        else:  # epoch-based schedules over epochs of unknown length
            for _ in range(schedule.max_epochs):
                record()
                advance_schedulers(schedulers, "epoch")
        curves[name] = tuple(values)
    return curves, notes


def _outputs(
    cfg: RunnerConfig, ckpt: CheckpointHook | None, ckpt_files: Sequence[str]
) -> list[tuple[str, str]]:
    from ..hooks.checkpoint import best_checkpoint_name
    from ..logs.backends.local import LocalBackendConfig
    from ..logs.backends.mlflow import MlflowBackendConfig
    from ..logs.backends.tensorboard import TensorboardBackendConfig
    from ..logs.backends.wandb import WandbBackendConfig

    work = Path(cfg.work_dir)
    log_dir = work / "<timestamp>"
    out: list[tuple[str, str]] = [(str(log_dir / "<timestamp>.log"), "text log (rank 0)")]
    for backend in cfg.visualizer.backends:
        if isinstance(backend, LocalBackendConfig):
            out.append((str(log_dir / backend.scalars_file), "scalars, one JSON object per log step"))
            out.append((str(log_dir / "config.json"), "the resolved config (loads back to an equal object)"))
            out.append((str(log_dir / "command.txt"), "the command line"))
        elif isinstance(backend, TensorboardBackendConfig):
            out.append((str(log_dir / backend.log_subdir), "TensorBoard event files"))
        elif isinstance(backend, MlflowBackendConfig):
            out.append((backend.tracking_uri or str(work / "mlruns"), "MLflow run"))
        elif isinstance(backend, WandbBackendConfig):
            out.append((str(log_dir / "wandb"), "W&B run files"))
    if ckpt is not None:
        ckpt_dir = (ckpt.out_dir_arg / work.name) if ckpt.out_dir_arg is not None else work
        if ckpt_files:
            shown = ", ".join(ckpt_files) if len(ckpt_files) <= 4 else f"{ckpt_files[0]} ... {ckpt_files[-1]}"
            keep = f"; keeps the newest {ckpt.max_keep_ckpts}" if ckpt.max_keep_ckpts > 0 else ""
            out.append((str(ckpt_dir / shown), f"{len(ckpt_files)} checkpoints{keep}"))
            out.append((str(work / "last_checkpoint"), "pointer to the newest checkpoint"))
        for key in ckpt.save_best:
            metric = _first_metric_key(cfg) if key == "auto" else key
            name = best_checkpoint_name(metric, by_epoch=ckpt.by_epoch, count="<n>")
            out.append((str(ckpt_dir / name), f"best '{metric}' weights"))
    return out


def _first_metric_key(cfg: RunnerConfig) -> str:
    """The key ``save_best="auto"`` picks: the first one the first metric declares."""
    metrics = cfg.val_evaluator.metrics if cfg.val_evaluator is not None else ()
    keys = metrics[0].produced_keys() if metrics else ()
    return keys[0] if keys else "<first metric>"


def compute_plan(cfg: RunnerConfig, *, world_size: int = 1) -> RunPlan:
    """The run's schedule from ``cfg`` alone (see the module docstring)."""
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    schedule = RunSchedule.from_config(cfg, world_size=world_size)
    if schedule is None or cfg.train_dataloader is None or cfg.optim_wrapper is None:
        raise ValueError("the config has no training part (train, train_dataloader and optim_wrapper)")
    notes: list[str] = []
    loader = cfg.train_dataloader
    by_epoch = schedule.by_epoch
    accumulation = getattr(cfg.optim_wrapper, "accumulative_counts", 1)
    if not isinstance(accumulation, int):
        accumulation = 1
    iters_per_epoch = schedule.iters_in_epoch
    max_iters = schedule.max_iters
    if iters_per_epoch is None:
        notes.append(
            f"{type(loader.dataset).__name__}.declared_length() is None: iterations per epoch unknown"
        )

    val_epochs: tuple[int, ...] = ()
    val_iters: tuple[int, ...] | None = ()
    if cfg.val_dataloader is not None:
        points = schedule.validation_points()
        if by_epoch:
            val_epochs = points
            val_iters = None if iters_per_epoch is None else tuple(e * iters_per_epoch for e in points)
        else:
            val_iters = points

    ckpt = cfg.default_hooks.checkpoint.build() if cfg.default_hooks.checkpoint is not None else None
    ckpt_epochs: tuple[int, ...] = ()
    ckpt_iters: tuple[int, ...] | None = ()
    ckpt_files: tuple[str, ...] = ()
    if ckpt is not None:
        ckpt_epochs, ckpt_iters = schedule.checkpoint_points(ckpt.cadence)
        counts = ckpt_epochs if ckpt.cadence.by_epoch else (ckpt_iters or ())
        ckpt_files = tuple(ckpt.filename_tmpl.format(c) for c in counts)
        problem = schedule.cadence_problem(ckpt.cadence)
        if problem is not None:
            notes.append(f"default_hooks.checkpoint: {problem}")

    logger = cfg.default_hooks.logger
    log_iters = schedule.log_points(logger.build().cadence) if logger is not None else ()

    per_iteration = max_iters is not None and max_iters <= MAX_SIMULATED_ITERS
    only_epoch_schedules = all(s.by_epoch and not s.convert_to_iter_based for s in cfg.param_scheduler)
    lr: dict[str, tuple[float, ...]] = {}
    lr_unit = "iteration" if per_iteration else "epoch"
    if per_iteration or (by_epoch and only_epoch_schedules):
        lr, lr_notes = _lr_curves(cfg, schedule, per_iteration=per_iteration)
        notes.extend(lr_notes)
    else:
        notes.append(
            "LR curve not computed: iteration schedules need the epoch length or the run is too long"
        )

    epoch_length = iters_per_epoch if iters_per_epoch is not None else 0
    breakpoints: set[int] = set()
    for sched in cfg.param_scheduler:
        scale = epoch_length if (per_iteration and sched.by_epoch) else 1
        for edge in (sched.begin, sched.end):
            if edge is not None and scale > 0:
                breakpoints.update({edge * scale - 1, edge * scale})

    return RunPlan(
        world_size=world_size,
        by_epoch=by_epoch,
        max_epochs=schedule.max_epochs,
        iters_per_epoch=iters_per_epoch,
        max_iters=max_iters,
        train_samples=schedule.samples,
        batch_size=loader.batch_size,
        accumulative_counts=accumulation,
        val_epochs=val_epochs,
        val_iters=val_iters,
        checkpoint_epochs=ckpt_epochs,
        checkpoint_iters=ckpt_iters,
        checkpoint_files=ckpt_files,
        log_iters=log_iters,
        lr=lr,
        lr_unit=lr_unit,
        lr_breakpoints=tuple(sorted(b for b in breakpoints if b >= 0)),
        outputs=tuple(_outputs(cfg, ckpt, ckpt_files)),
        notes=tuple(notes),
    )


# --- rendering ---------------------------------------------------------------------------------------------


def _points(values: Sequence[int] | None, unit: str) -> str:
    if values is None:
        return "unknown (iterations per epoch unknown)"
    if not values:
        return "never"
    if len(values) > 6:
        steps = {b - a for a, b in itertools.pairwise(values)}
        if len(steps) == 1:
            step = steps.pop()
            every = f"every {unit}" if step == 1 else f"every {step} {unit}s"
            return f"{every}: {values[0]}, {values[1]}, ..., {values[-1]} ({len(values)} times)"
    if len(values) <= 8:
        return f"after {unit}s " + ", ".join(str(v) for v in values)
    head = ", ".join(str(v) for v in values[:5])
    return f"after {unit}s {head}, ..., {values[-1]} ({len(values)} times)"


def _sample_indices(n: int, count: int) -> list[int]:
    if n <= count:
        return list(range(n))
    return sorted({round(i * (n - 1) / (count - 1)) for i in range(count)})


def _chart(
    values: Sequence[float], unit: str, extra: Sequence[int] = (), rows: int = 12, width: int = 40
) -> list[str]:
    top = max(values) if values else 0.0
    lines: list[str] = []
    shown = sorted(set(_sample_indices(len(values), rows)) | {i for i in extra if i < len(values)})
    for i in shown:
        v = values[i]
        bar = "█" * (round(width * v / top) if top > 0 else 0)
        lines.append(f"    {unit} {i:>7}  {v:<11.5g} {bar}")
    return lines


def render_plan(plan: RunPlan, title: str) -> str:
    """The text ``--plan`` prints."""
    lines = [f"Plan for {title} (world size {plan.world_size})", ""]
    samples = f"{plan.train_samples} samples" if plan.train_samples is not None else "length unknown"
    per_epoch = (
        f"{plan.iters_per_epoch} iterations per epoch"
        if plan.iters_per_epoch is not None
        else "iterations per epoch unknown"
    )
    lines.append("Training")
    if plan.by_epoch:
        total = f"{plan.max_iters} iterations" if plan.max_iters is not None else "? iterations"
        lines.append(f"  epoch-based: {plan.max_epochs} epochs x {per_epoch} = {total}")
        lines.append(f"  train data: {samples}, batch {plan.batch_size} per process")
    else:
        lines.append(
            f"  iteration-based: {plan.max_iters} iterations (train data: {samples}, batch {plan.batch_size})"
        )
    eff = plan.effective_batch
    lines.append(
        f"  effective batch: {plan.batch_size} x {plan.accumulative_counts} accumulation x {plan.world_size} "
        f"process(es) = {eff} samples per optimizer step"
    )
    if plan.optimizer_steps is not None:
        lines.append(f"  optimizer steps: {plan.optimizer_steps}")
    lines.append("")
    lines.append("When things happen")
    if plan.by_epoch and plan.val_epochs:
        lines.append(f"  validation: {_points(plan.val_epochs, 'epoch')}")
        lines.append(f"              = {_points(plan.val_iters, 'iteration')}")
    else:
        lines.append(f"  validation: {_points(plan.val_iters, 'iteration')}")
    if plan.checkpoint_epochs:
        lines.append(f"  checkpoints: {_points(plan.checkpoint_epochs, 'epoch')}")
        lines.append(f"               = {_points(plan.checkpoint_iters, 'iteration')}")
    else:
        lines.append(f"  checkpoints: {_points(plan.checkpoint_iters, 'iteration')}")
    lines.append(f"  log lines: {_points(plan.log_iters, 'iteration')}")
    lines.append("")
    for name, values in plan.lr.items():
        label = f" ({name})" if name else ""
        if values:
            lines.append(
                f"Learning rate{label} per {plan.lr_unit}: {values[0]:.5g} -> {values[-1]:.5g} (max {max(values):.5g})"
            )
            unit = "iter" if plan.lr_unit == "iteration" else "epoch"
            lines.extend(_chart(values, unit, plan.lr_breakpoints))
            lines.append("")
    lines.append("Outputs")
    width = max((len(p) for p, _ in plan.outputs), default=0)
    lines.extend(f"  {path:<{width}}  {what}" for path, what in plan.outputs)
    if plan.notes:
        lines.append("")
        lines.append("Notes")
        lines.extend(f"  - {note}" for note in plan.notes)
    return "\n".join(lines)


def make_plan(cfg: RunnerConfig, *, world_size: int = 1) -> str:
    """The ``--plan`` text for ``cfg`` (nothing is built; torch is not imported)."""
    return render_plan(compute_plan(cfg, world_size=world_size), type(cfg).__name__)
