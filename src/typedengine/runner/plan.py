"""``--plan``: what a run will do, computed from its config alone (no data, no model, no GPU).

:func:`compute_plan` returns a :class:`RunPlan` (numbers a test can compare with a real run);
:func:`make_plan` renders it as text::

    python examples/01_digits.py --plan --train.max-epochs 3

It answers, before the first batch: how many epochs and iterations (iterations per epoch come from the
train dataset's ``declared_length()``; unknown when it returns None), the effective batch
(batch × accumulation × world size), after which iterations validation, checkpoints and log lines fire,
the learning rate of every iteration (the run's own scheduler classes, stepped exactly as the
``ParamSchedulerHook`` steps them, on a one-parameter optimizer built from the config), and which files
the run writes where.

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

if TYPE_CHECKING:
    from ..hooks.checkpoint import CheckpointHookConfig
    from ..hooks.logger import LoggerHookConfig
    from ..optim.choices import OptimWrapperUnion
    from .config import RunnerConfig

__all__ = ["RunPlan", "compute_plan", "make_plan"]

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


def _iters_per_epoch(samples: int, batch_size: int, world_size: int, drop_last: bool) -> int:
    per_rank = math.ceil(samples / world_size)  # DefaultSampler pads to a multiple of the world size
    return per_rank // batch_size if drop_last else math.ceil(per_rank / batch_size)


def _every_n(count: int, n: int, start: int) -> bool:
    return n > 0 and count > start and (count - start) % n == 0


def _checkpoint_points(
    ckpt: CheckpointHookConfig, *, max_epochs: int, max_iters: int | None
) -> tuple[tuple[int, ...], tuple[int, ...] | None, tuple[str, ...]]:
    """(epochs, global iterations, file names) of the periodic/last saves, as CheckpointHook decides them."""
    if ckpt.by_epoch:
        # the hook counts epochs in after_train_epoch; an iteration loop has one epoch that ends the run
        epochs = tuple(
            e
            for e in range(1, max_epochs + 1)
            if _every_n(e, ckpt.interval, ckpt.save_begin) or (ckpt.save_last and e == max_epochs)
        )
        tmpl = ckpt.filename_tmpl or "epoch_{}.pth"
        names = tuple(tmpl.format(e) for e in epochs)
        if max_iters is None:
            return epochs, None, names
        per_epoch = max_iters // max_epochs
        return epochs, tuple(e * per_epoch for e in epochs), names
    if max_iters is None:
        return (), None, ()
    iters = tuple(
        i
        for i in range(1, max_iters + 1)
        if _every_n(i, ckpt.interval, ckpt.save_begin) or (ckpt.save_last and i == max_iters)
    )
    tmpl = ckpt.filename_tmpl or "iter_{}.pth"
    return (), iters, tuple(tmpl.format(i) for i in iters)


def _log_points(
    logger: LoggerHookConfig, *, by_epoch: bool, max_epochs: int, iters_per_epoch: int | None, max_iters: int | None
) -> tuple[int, ...] | None:
    """Global iterations after which the LoggerHook writes a train line (and scalars)."""
    k = logger.interval_iters
    if not by_epoch:
        if max_iters is None:
            return None
        return tuple(i for i in range(1, max_iters + 1) if i % k == 0 or (i == max_iters and not logger.ignore_last))
    if iters_per_epoch is None:
        return None
    n = iters_per_epoch
    in_epoch = [d for d in range(1, n + 1) if d % k == 0 or (d == n and (not logger.ignore_last or n <= k))]
    return tuple(e * n + d for e in range(max_epochs) for d in in_epoch)


def _lr_curves(
    cfg: RunnerConfig, *, world_size: int, epoch_length: int, max_epochs: int, max_iters: int | None, per_iteration: bool
) -> tuple[dict[str, tuple[float, ...]], list[str]]:
    """The LR of every iteration (or epoch), per optim wrapper, from the configured schedulers."""
    import torch  # lazy: only the LR simulation needs it (a one-element tensor on the CPU)

    from ..optim.amp import AmpOptimWrapperConfig
    from ..optim.schedulers.choices import build_param_schedulers
    from ..optim.wrapper import OptimWrapperConfig
    from ..optim.wrapper_dict import OptimWrapperDictConfig

    notes: list[str] = []
    ow: OptimWrapperUnion | None = cfg.optim_wrapper
    if ow is None:
        return {}, notes
    singles: dict[str, OptimWrapperConfig | AmpOptimWrapperConfig]
    if isinstance(ow, OptimWrapperDictConfig):
        singles = dict(ow.wrappers)
    else:
        singles = {"": ow}
    curves: dict[str, tuple[float, ...]] = {}
    for name, single in singles.items():
        optimizer = single.optimizer.build([torch.zeros(1, requires_grad=True)])
        if cfg.auto_scale_lr is not None and cfg.auto_scale_lr.enable and cfg.train_dataloader is not None:
            factor = cfg.train_dataloader.batch_size * world_size / cfg.auto_scale_lr.base_batch_size
            for group in optimizer.param_groups:
                group["lr"] = group["lr"] * factor
        schedulers = build_param_schedulers(
            cfg.param_scheduler,
            optimizer,
            epoch_length=epoch_length,
            max_epochs=max_epochs,
            max_iters=max_iters if max_iters is not None else max_epochs,
        )
        if any(s.need_val_args for s in schedulers):
            notes.append("ReduceOnPlateau depends on validation metrics: the curve shows it without reductions")
        group = optimizer.param_groups[0]
        values: list[float] = []
        if per_iteration:
            assert max_iters is not None
            iters_in_epoch = max_iters // max_epochs
            for _ in range(max_epochs):
                for _ in range(iters_in_epoch):
                    values.append(float(group["lr"]))
                    for s in schedulers:
                        if not s.by_epoch:
                            s.step()
                for s in schedulers:
                    if s.by_epoch:
                        s.step()
        else:
            for _ in range(max_epochs):
                values.append(float(group["lr"]))
                for s in schedulers:
                    s.step()
        curves[name] = tuple(values)
    return curves, notes


def _outputs(cfg: RunnerConfig, ckpt: CheckpointHookConfig | None, ckpt_files: Sequence[str]) -> list[tuple[str, str]]:
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
        ckpt_dir = (ckpt.out_dir / work.name) if ckpt.out_dir is not None else work
        if ckpt_files:
            shown = ", ".join(ckpt_files) if len(ckpt_files) <= 4 else f"{ckpt_files[0]} ... {ckpt_files[-1]}"
            keep = f"; keeps the newest {ckpt.max_keep_ckpts}" if ckpt.max_keep_ckpts > 0 else ""
            out.append((str(ckpt_dir / shown), f"{len(ckpt_files)} checkpoints{keep}"))
            out.append((str(work / "last_checkpoint"), "pointer to the newest checkpoint"))
        for key in ckpt.save_best:
            out.append((str(ckpt_dir / f"best_{key.replace('/', '_')}_<n>.pth"), f"best '{key}' weights"))
    return out


def compute_plan(cfg: RunnerConfig, *, world_size: int = 1) -> RunPlan:
    """The run's schedule from ``cfg`` alone (see the module docstring)."""
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    train = cfg.train
    if train is None or cfg.train_dataloader is None or cfg.optim_wrapper is None:
        raise ValueError("the config has no training part (train, train_dataloader and optim_wrapper)")
    notes: list[str] = []
    loader = cfg.train_dataloader
    samples = loader.dataset.declared_length()
    by_epoch = train.by_epoch
    accumulation = getattr(cfg.optim_wrapper, "accumulative_counts", 1)
    if not isinstance(accumulation, int):
        accumulation = 1
    iters_per_epoch: int | None
    if by_epoch:
        max_epochs = train.run_length()
        iters_per_epoch = None
        if samples is not None:
            iters_per_epoch = _iters_per_epoch(samples, loader.batch_size, world_size, loader.drop_last)
        else:
            notes.append(f"{type(loader.dataset).__name__}.declared_length() is None: iterations per epoch unknown")
        max_iters = None if iters_per_epoch is None else max_epochs * iters_per_epoch
    else:
        max_epochs = 1
        max_iters = train.run_length()
        iters_per_epoch = max_iters
    epoch_length = iters_per_epoch if iters_per_epoch is not None else 0

    val_epochs: tuple[int, ...] = ()
    val_iters: tuple[int, ...] | None = ()
    if cfg.val_dataloader is not None:
        points = tuple(train.validation_points())
        if by_epoch:
            val_epochs = points
            val_iters = None if iters_per_epoch is None else tuple(e * iters_per_epoch for e in points)
        else:
            val_iters = points

    ckpt = cfg.default_hooks.checkpoint
    ckpt_epochs: tuple[int, ...] = ()
    ckpt_iters: tuple[int, ...] | None = ()
    ckpt_files: tuple[str, ...] = ()
    if ckpt is not None:
        ckpt_epochs, ckpt_iters, ckpt_files = _checkpoint_points(
            ckpt, max_epochs=max_epochs, max_iters=max_iters
        )
        if ckpt.by_epoch and not by_epoch:
            notes.append("checkpoint.by_epoch with an iteration-based loop: it saves once, at the end of the run")

    logger = cfg.default_hooks.logger
    log_iters = (
        _log_points(logger, by_epoch=by_epoch, max_epochs=max_epochs, iters_per_epoch=iters_per_epoch, max_iters=max_iters)
        if logger is not None
        else ()
    )

    per_iteration = max_iters is not None and max_iters <= MAX_SIMULATED_ITERS
    only_epoch_schedules = all(s.by_epoch and not s.convert_to_iter_based for s in cfg.param_scheduler)
    lr: dict[str, tuple[float, ...]] = {}
    lr_unit = "iteration" if per_iteration else "epoch"
    if per_iteration or (by_epoch and only_epoch_schedules):
        lr, lr_notes = _lr_curves(
            cfg,
            world_size=world_size,
            epoch_length=epoch_length,
            max_epochs=max_epochs,
            max_iters=max_iters,
            per_iteration=per_iteration,
        )
        notes.extend(lr_notes)
    else:
        notes.append("LR curve not computed: iteration schedules need the epoch length or the run is too long")

    breakpoints: set[int] = set()
    for sched in cfg.param_scheduler:
        scale = epoch_length if (per_iteration and sched.by_epoch) else 1
        for edge in (sched.begin, sched.end):
            if edge is not None and scale > 0:
                breakpoints.update({edge * scale - 1, edge * scale})

    return RunPlan(
        world_size=world_size,
        by_epoch=by_epoch,
        max_epochs=max_epochs,
        iters_per_epoch=iters_per_epoch,
        max_iters=max_iters,
        train_samples=samples,
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


def _chart(values: Sequence[float], unit: str, extra: Sequence[int] = (), rows: int = 12, width: int = 40) -> list[str]:
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
    per_epoch = f"{plan.iters_per_epoch} iterations per epoch" if plan.iters_per_epoch is not None else "iterations per epoch unknown"
    lines.append("Training")
    if plan.by_epoch:
        total = f"{plan.max_iters} iterations" if plan.max_iters is not None else "? iterations"
        lines.append(f"  epoch-based: {plan.max_epochs} epochs x {per_epoch} = {total}")
        lines.append(f"  train data: {samples}, batch {plan.batch_size} per process")
    else:
        lines.append(f"  iteration-based: {plan.max_iters} iterations (train data: {samples}, batch {plan.batch_size})")
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
            lines.append(f"Learning rate{label} per {plan.lr_unit}: {values[0]:.5g} -> {values[-1]:.5g} (max {max(values):.5g})")
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
    """The ``--plan`` text for ``cfg`` (nothing is built; a one-element CPU tensor drives the schedulers)."""
    return render_plan(compute_plan(cfg, world_size=world_size), type(cfg).__name__)
