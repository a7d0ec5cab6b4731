"""Whole-config checks for the optimization part of a run; pure functions returning every issue found.

The root config calls these in its cross-field validation (before anything is built) and reports all
problems at once, each naming its config path. They never raise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..config.errors import ConfigIssue
from .amp import AmpOptimWrapperConfig, fp16_capable
from .choices import OptimWrapperUnion
from .schedulers.choices import ParamSchedulerConfig
from .schedulers.cosine import CosineRestartSchedulerConfig
from .schedulers.linear import LinearSchedulerConfig
from .schedulers.plateau import ReduceOnPlateauSchedulerConfig
from .schedulers.step import MultiStepSchedulerConfig, StepSchedulerConfig
from .wrapper_dict import OptimWrapperDictConfig

__all__ = ["check_optim_wrapper", "check_param_schedulers"]


def _run_length(
    in_epochs: bool, max_epochs: int | None, max_iters: int | None, epoch_length: int | None
) -> int | None:
    if in_epochs:
        if max_epochs is not None:
            return max_epochs
        if max_iters is not None and epoch_length:
            return math.ceil(max_iters / epoch_length)
        return None
    if max_iters is not None:
        return max_iters
    if max_epochs is not None and epoch_length:
        return max_epochs * epoch_length
    return None


def check_param_schedulers(
    cfgs: Sequence[ParamSchedulerConfig],
    *,
    by_epoch_run: bool,
    max_epochs: int | None,
    max_iters: int | None,
    epoch_length: int | None,
    metric_keys: frozenset[str] | None,
    path: str = "param_scheduler",
) -> list[ConfigIssue]:
    """Problems in the scheduler list for a run of the given length (None: unknown, that check is skipped).

    Reported: a window starting at or after the end of the run (it never acts), milestones (MultiStep),
    step sizes (Step) or periods (CosineRestart) that fall beyond the run or the window, ``by_epoch``
    schedulers in an iteration-based run without ``convert_to_iter_based`` (they would never step), a
    warmup (increasing Linear factor) longer than the run, and ReduceOnPlateau monitoring a key that no
    metric produces (when ``metric_keys`` is given).
    """
    issues: list[ConfigIssue] = []
    for i, cfg in enumerate(cfgs):
        here = f"{path}[{i}]"
        unit = "epochs" if cfg.by_epoch else "iterations"
        is_plateau = isinstance(cfg, ReduceOnPlateauSchedulerConfig)
        if not by_epoch_run and cfg.by_epoch and not cfg.convert_to_iter_based and not is_plateau:
            issues.append(
                ConfigIssue(
                    f"{here}.by_epoch",
                    "by_epoch=True in an iteration-based run never steps; set by_epoch=False or "
                    "convert_to_iter_based=True",
                )
            )
        length = _run_length(cfg.by_epoch, max_epochs, max_iters, epoch_length)
        if is_plateau and metric_keys is not None:
            assert isinstance(cfg, ReduceOnPlateauSchedulerConfig)
            if cfg.monitor not in metric_keys:
                known = ", ".join(sorted(metric_keys)) or "none"
                issues.append(
                    ConfigIssue(f"{here}.monitor", f"no metric produces {cfg.monitor!r} (metrics: {known})")
                )
        if length is None:
            continue
        if cfg.begin >= length:
            issues.append(
                ConfigIssue(
                    f"{here}.begin",
                    f"the window starts at {cfg.begin} but the run has {length} {unit}: the scheduler never acts",
                )
            )
            continue
        end = cfg.end if cfg.end is not None else length
        if isinstance(cfg, LinearSchedulerConfig) and cfg.start_factor < cfg.end_factor and end > length:
            issues.append(
                ConfigIssue(
                    f"{here}.end",
                    f"the warmup ends at {end} but the run has only {length} {unit}: it never finishes",
                )
            )
        issues.extend(_step_points(cfg, here, end, length, unit))
    return issues


def _step_points(cfg: ParamSchedulerConfig, here: str, end: int, length: int, unit: str) -> list[ConfigIssue]:
    """Milestones / step sizes / periods (counted from ``begin``) that fall outside the run or window."""
    issues: list[ConfigIssue] = []
    stop = min(end, length)
    if isinstance(cfg, MultiStepSchedulerConfig):
        for j, m in enumerate(cfg.milestones):
            if cfg.begin + m >= stop:
                where = "run" if length <= end else "window"
                issues.append(
                    ConfigIssue(
                        f"{here}.milestones[{j}]",
                        f"milestone {m} (step {cfg.begin + m}) is beyond the {where}, which ends at {stop} {unit}",
                    )
                )
    elif isinstance(cfg, StepSchedulerConfig):
        if cfg.begin + cfg.step_size >= stop:
            issues.append(
                ConfigIssue(
                    f"{here}.step_size", f"step_size {cfg.step_size} never decays before {stop} {unit}"
                )
            )
    elif isinstance(cfg, CosineRestartSchedulerConfig) and cfg.begin + sum(cfg.periods) > stop:
        issues.append(
            ConfigIssue(
                f"{here}.periods",
                f"periods sum to {sum(cfg.periods)} but only {stop - cfg.begin} {unit} remain in the run",
            )
        )
    return issues


def check_optim_wrapper(
    cfg: OptimWrapperUnion | None, *, device_type: str, path: str = "optim_wrapper"
) -> list[ConfigIssue]:
    """Problems of the optim wrapper on ``device_type`` ("cpu", "cuda", ...): float16 AMP without a GPU."""
    if cfg is None:
        return []
    entries: list[tuple[str, object]]
    if isinstance(cfg, OptimWrapperDictConfig):
        entries = [(f"{path}.wrappers.{name}", sub) for name, sub in cfg.wrappers.items()]
    else:
        entries = [(path, cfg)]
    issues: list[ConfigIssue] = []
    for where, sub in entries:
        if (
            isinstance(sub, AmpOptimWrapperConfig)
            and sub.dtype == "float16"
            and not fp16_capable(device_type)
        ):
            issues.append(
                ConfigIssue(
                    f"{where}.dtype",
                    f"float16 mixed precision needs a GPU but the run is on {device_type!r}; use bfloat16",
                )
            )
    return issues
