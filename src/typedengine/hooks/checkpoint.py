"""CheckpointHook: periodic, last and best checkpoints, pruning, release export and graceful preemption.

(Longer than most modules: the config with every MMEngine parameter sits beside the hook, and regular
saves, best saves, pruning and preemption update the same RunState records, kept, best and last, together.)

Behaviour (MMEngine's ``CheckpointHook``, with its crash-safety gaps closed):

* **Regular saves** every ``interval`` epochs (``by_epoch=True``, ``epoch_{n}.pth``) or iterations
  (``iter_{n}.pth``) counted from ``save_begin``, plus the last epoch/iteration when ``save_last``. Each
  file is written atomically and verified on load (:mod:`typedengine.checkpoint.io`); the
  ``last_checkpoint`` pointer moves only after the file is complete.
* **max_keep_ckpts** keeps the newest N regular checkpoints; the list lives in ``RunState.kept_checkpoints``
  (so it survives resume) and the oldest file is deleted only *after* the new one is safely written (a
  failed write or a kill during it deletes nothing, since deletions queue behind the write on one thread).
  After a resume from an older checkpoint (a fallback past a corrupt file), the kept list is that
  checkpoint's: it names only older files, so the file resumed from is deleted only once newer ones exist.
* **save_best** (one or several metric keys, or ``"auto"`` for the first metric): after each validation in
  training the improved keys get ``best_<key>_{epoch|iter}_<n>.pth`` (weights and progress, no optimizer);
  the previous best file is deleted after the new one is written. The rule is ``greater`` or ``less``,
  given or inferred from the whole key, case-insensitively (:mod:`typedengine.evaluation.rules`: ``Top1``,
  ``acc``, ``mAP``, ... → greater; ``loss`` → less; a key of both kinds needs an explicit rule). ``"auto"``
  resolves to the first metric of the first validation, once; the resolution is stored in checkpoints, so
  a resume keeps it. A key the evaluator does not produce is a config error where the metric configs
  declare their keys, otherwise a :class:`~typedengine.errors.UsageError` at the first validation.
* **Checkpoints and validation**: a regular checkpoint is written before the validation of its epoch or
  iteration; a resume from it validates that point first (``RunState.validated``), so early stopping and
  plateau schedulers count every validation once. The checkpoint of a point is re-written after its
  validation on a new best score (MMEngine PR #1168) and where early stopping ends the run (``save_last``
  writes one there if none exists), so resuming an early-stopped run trains nothing.
* **published_keys**: after training the last and best checkpoints are exported with only those keys, as
  ``<stem>-<sha256[:8]>.safetensors`` (or ``.pth`` without safetensors).
* **Preemption** (``handle_signals``): SIGTERM, SIGUSR1 or a first Ctrl-C make the run save
  ``iter_{n}.pth`` after the current iteration and exit with code 75 (see
  :mod:`typedengine.checkpoint.preemption`); a second Ctrl-C stops at once.

Priority VERY_LOW: it runs after the logger and the scheduler hook have seen the iteration.

*When* it saves is not decided here: the hook holds its settings as a
:class:`~typedengine.runner.schedule.SaveCadence` and asks the train loop's
:class:`~typedengine.runner.schedule.RunSchedule` (as ``--plan`` does), and file names come from
``filename_tmpl`` and :func:`best_checkpoint_name` (which ``--plan`` prints).
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from ..checkpoint.contents import committed_progress
from ..config.base import Config, Tag
from ..config.errors import ConfigIssue, ConfigProblems
from ..errors import UsageError, setting_hint
from ..evaluation.rules import (
    DEFAULT_GREATER_KEYS,
    DEFAULT_LESS_KEYS,
    Rule,
    infer_rule,
    rule_problem,
    unknown_key_message,
)
from ..runner.schedule import SaveCadence
from .hook import Hook
from .priority import Priority

if TYPE_CHECKING:
    from ..batches import DataBatch
    from ..checkpoint.export import ExportFormat
    from ..checkpoint.preemption import PreemptionHandler
    from ..runner.runner import Runner
    from ..runner.schedule import RunSchedule

__all__ = [
    "CheckpointHook",
    "CheckpointHookConfig",
    "best_checkpoint_name",
]

_STATE_KEY = "save_best"
"""Checkpoint entry holding the hook's resolved best-metric keys and rules (so 'auto' survives a resume)."""

_BEST_NAME = re.compile(r"best_.+\.pth")
"""Names of best checkpoints (``best_<key>_<unit>_<n>.pth``, see :meth:`CheckpointHook._save_best`)."""

_PREEMPT_NAME = re.compile(r"iter_(\d+)\.pth")
"""The name a preemption save uses, whatever the template (see :meth:`CheckpointHook._preempt`)."""


def best_checkpoint_name(key: str, *, by_epoch: bool, count: int | str) -> str:
    """The file of the best ``key`` checkpoint after ``count`` epochs (``by_epoch``) or iterations:
    ``best_accuracy_top1_epoch_3.pth`` (a ``/`` in the key becomes ``_``)."""
    unit = "epoch" if by_epoch else "iter"
    return f"best_{key.replace('/', '_')}_{unit}_{count}.pth"


class CheckpointHook(Hook):
    """Save, prune, keep the best, export and handle preemption (see the module docstring).

    Example::

        runner.register_hook(CheckpointHook(interval=1, max_keep_ckpts=3, save_best=("accuracy/top1",)))
    """

    priority: ClassVar[int | str | Priority] = Priority.VERY_LOW

    def __init__(
        self,
        *,
        interval: int = 1,
        by_epoch: bool = True,
        save_begin: int = 0,
        max_keep_ckpts: int = -1,
        save_last: bool = True,
        save_best: Sequence[str] = (),
        rule: Sequence[Rule] = (),
        greater_keys: Sequence[str] = DEFAULT_GREATER_KEYS,
        less_keys: Sequence[str] = DEFAULT_LESS_KEYS,
        out_dir: str | os.PathLike[str] | None = None,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        filename_tmpl: str | None = None,
        published_keys: Sequence[str] = (),
        export_format: ExportFormat = "auto",
        handle_signals: bool = True,
        signal_check_interval_iters: int = 10,
        async_write: bool = True,
    ) -> None:
        if rule and len(rule) not in (1, len(save_best)):
            raise ValueError(
                f"rule needs 1 or {len(save_best)} entries (one per save_best key), got {len(rule)}"
            )
        self.interval = interval
        self.by_epoch = by_epoch
        self.save_begin = save_begin
        self.max_keep_ckpts = max_keep_ckpts
        self.save_last = save_last
        self.cadence = SaveCadence(
            interval=interval, by_epoch=by_epoch, save_begin=save_begin, save_last=save_last
        )
        """When regular saves are due; the run's schedule applies it."""
        self.save_best = tuple(save_best)
        self.greater_keys = tuple(greater_keys)
        self.less_keys = tuple(less_keys)
        self._given_rules: tuple[Rule | None, ...] = tuple(
            (rule[i] if len(rule) > 1 else rule[0]) if rule else None for i in range(len(self.save_best))
        )
        self.rules: dict[str, Rule] = {}
        """The rule of every resolved best key (an ``"auto"`` entry joins at the first validation)."""
        self.auto_key: str | None = None
        """What ``"auto"`` resolved to (the first metric of the first validation); stored in checkpoints."""
        for key, given in zip(self.save_best, self._given_rules):
            if key != "auto":
                self.rules[key] = given or infer_rule(key, self.greater_keys, self.less_keys)
        self.out_dir_arg = Path(out_dir) if out_dir is not None else None
        self.save_optimizer = save_optimizer
        self.save_param_scheduler = save_param_scheduler
        self.filename_tmpl = filename_tmpl or ("epoch_{}.pth" if by_epoch else "iter_{}.pth")
        self.published_keys = tuple(published_keys)
        self.export_format: ExportFormat = export_format
        self.handle_signals = handle_signals
        self.signal_check_interval_iters = signal_check_interval_iters
        self.async_write = async_write
        self.out_dir: Path | None = None
        self._preemption: PreemptionHandler | None = None
        self._last_saved_iter = -1
        self._loaded_iter = -1
        self._schedule: RunSchedule | None = None
        self._saved_after_validation = False
        self._resave_after_validation = False
        self._training = False
        self._validations = 0
        self._warned_missing: set[str] = set()

    # --- where and how files are named (asked by resume) ----------------------------------------------------
    def checkpoint_dir(self, runner: Runner) -> Path:
        """The directory this hook writes into: the work_dir, or ``out_dir/<work_dir name>``."""
        return self._resolve_out_dir(runner)

    def regular_name_patterns(self) -> tuple[re.Pattern[str], ...]:
        """Names of the full checkpoints this hook writes: its template, and ``iter_<n>.pth`` (preemption)."""
        prefix, _, suffix = self.filename_tmpl.partition("{}")
        own = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix))
        return (own,) if own.pattern == _PREEMPT_NAME.pattern else (own, _PREEMPT_NAME)

    def weights_only_name_patterns(self) -> tuple[re.Pattern[str], ...]:
        """Names of the files this hook writes without optimizer/scheduler state (the best checkpoints)."""
        return (_BEST_NAME,)

    # --- set-up ---------------------------------------------------------------------------------------------
    def before_train(self, runner: Runner) -> None:
        """Check the cadence against the run, resolve the output directory, clear stale temporaries, and
        install the signal handlers."""
        from ..checkpoint.io import remove_stale_temporaries
        from ..errors import UsageError

        self._schedule = runner.train_loop.schedule
        problem = self._schedule.cadence_problem(self.cadence)
        if problem is not None:
            raise UsageError(
                f"CheckpointHook: {problem}; pass by_epoch=False (--default-hooks.checkpoint.no-by-epoch) "
                "to save every `interval` iterations"
            )
        self._training = True
        self.out_dir = self._resolve_out_dir(runner)
        if runner.rank == 0:
            for stale in remove_stale_temporaries(self.out_dir):
                runner.logger.info(f"removed an incomplete checkpoint left by a killed save: {stale}")
            self._prune_orphans(runner)
        if self.handle_signals:
            from ..checkpoint.preemption import PreemptionHandler

            self._preemption = PreemptionHandler(check_interval_iters=self.signal_check_interval_iters)
            if not self._preemption.install():
                runner.logger.info("not in the main thread: preemption signals are not handled")
                self._preemption = None

    def _resolve_out_dir(self, runner: Runner) -> Path:
        if self.out_dir_arg is None:
            return runner.work_dir
        return self.out_dir_arg / runner.work_dir.name

    def _dir(self, runner: Runner) -> Path:
        if self.out_dir is None:
            self.out_dir = self._resolve_out_dir(runner)
        return self.out_dir

    # --- regular saves --------------------------------------------------------------------------------------
    def after_train_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: Mapping[str, object] | None = None,
    ) -> None:
        """Save on the iteration cadence (``by_epoch=False``) and act on a preemption request."""
        done = runner.state.iter + 1
        if self._run_schedule(runner).saves_after_iter(done, self.cadence):
            with committed_progress(runner.state, iteration_done=True):
                self._save_regular(runner, self.filename_tmpl.format(done))
        if self._preemption is not None and self._preemption.should_stop(done, world_size=runner.world_size):
            with committed_progress(runner.state, iteration_done=True):
                self._preempt(runner)

    def after_train_epoch(self, runner: Runner) -> None:
        """Save on the epoch cadence (``by_epoch=True``)."""
        done = runner.state.epoch + 1
        if self._run_schedule(runner).saves_after_epoch(done, self.cadence):
            with committed_progress(runner.state, epoch_done=True):
                self._save_regular(runner, self.filename_tmpl.format(done))

    def _run_schedule(self, runner: Runner) -> RunSchedule:
        if self._schedule is None:  # driven without before_train (e.g. by hand)
            self._schedule = runner.train_loop.schedule
        return self._schedule

    def _save_regular(self, runner: Runner, filename: str) -> Path:
        """Write a full checkpoint, move the pointer, then prune (never before the new file is safe)."""
        state = runner.state
        directory = self._dir(runner)
        name = self._relative(runner, directory / filename)
        kept_before = list(state.kept_checkpoints)
        last_before = state.last_checkpoint
        kept = [k for k in kept_before if k != name] + [name]
        doomed: list[str] = []
        if self.max_keep_ckpts > 0:
            while len(kept) > self.max_keep_ckpts:
                doomed.append(kept.pop(0))
        state.kept_checkpoints = kept
        state.last_checkpoint = name
        at = f"{state.epoch} epochs" if self.by_epoch and not state.inner_iter else f"{state.iter} iterations"
        runner.logger.info(f"Saving checkpoint at {at}")  # MMEngine's line, in its words
        try:
            path = runner.save_checkpoint(
                filename,
                out_dir=directory,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                background=self.async_write,
            )
        except BaseException:
            state.kept_checkpoints, state.last_checkpoint = kept_before, last_before
            raise
        self._last_saved_iter = state.iter
        self._saved_after_validation = state.phase == "val"
        if runner.rank == 0:
            protected = set(state.best_checkpoints.values())
            for old in doomed:
                if old not in protected:
                    # queued behind the write: deleted only once the new file is safe (a failed write
                    # stops the writer's queue, so nothing is deleted then)
                    runner.checkpoint_writer.submit(functools.partial(self._remove, runner, old))
        return path

    def _prune_orphans(self, runner: Runner) -> None:
        """After a resume, delete regular checkpoints older than the kept ones that a kill left behind.

        A run killed after a new file was written but before the oldest one was pruned leaves one file too
        many; ``max_keep_ckpts`` would never see it again (it is not in the kept list any more).
        """
        state = runner.state
        if self.max_keep_ckpts <= 0 or not state.kept_checkpoints:
            return
        prefix, _, suffix = self.filename_tmpl.partition("{}")
        pattern = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix) + r"$")
        directory = self._dir(runner)
        kept = set(state.kept_checkpoints) | set(state.best_checkpoints.values())
        counts = [int(m.group(1)) for k in state.kept_checkpoints if (m := pattern.search(Path(k).name))]
        if not counts:
            return
        oldest_kept = min(counts)
        for path in directory.glob(f"{prefix}*{suffix}"):
            m = pattern.fullmatch(path.name)
            name = self._relative(runner, path)
            if m and int(m.group(1)) < oldest_kept and name not in kept:
                self._remove(runner, name)
                runner.logger.info(f"removed {name}: beyond max_keep_ckpts={self.max_keep_ckpts} (left by a kill)")

    def _relative(self, runner: Runner, path: Path) -> str:
        return Path(os.path.relpath(path.absolute(), runner.work_dir.absolute())).as_posix()

    def _remove(self, runner: Runner, name: str) -> None:
        target = runner.work_dir / name
        try:
            target.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            runner.logger.warning(f"could not delete old checkpoint {target}: {exc}")

    # --- best, and what a validation changes --------------------------------------------------------------
    def after_val_epoch(self, runner: Runner, metrics: Mapping[str, float] | None = None) -> None:
        """In training: save the best checkpoint(s) of the improved keys (a stand-alone ``val()``: none)."""
        if self.save_best and self._training:
            self._save_best(runner, metrics or {})

    def after_val(self, runner: Runner) -> None:
        """After every ``after_val_epoch`` hook (early stopping included) ran: re-save the checkpoint of
        this point where the validation changed what a resume must know, then act on a preemption request.

        A checkpoint written before its point's validation is otherwise fine: the loop validates again on
        resume (``RunState.validated``). It is re-saved after a new best score (MMEngine PR #1168), and where
        early stopping ends the run (so a resume knows it stopped and trains nothing). The end of a full run
        is not re-saved (MMEngine's hook sequence): resuming it only repeats the last validation.
        """
        if not self._training:
            return
        state, loop = runner.state, runner.train_loop
        saved_here = bool(state.last_checkpoint) and state.iter in (self._last_saved_iter, self._loaded_iter)
        stops_here = loop.stop_training and saved_here and not self._saved_after_validation
        if self._resave_after_validation or stops_here:
            self._save_regular(runner, self._name_here(runner))
        elif loop.stop_training and self.save_last and not saved_here:
            # early stopping ended the run at a point without a checkpoint: this is its last point
            self._save_regular(runner, self._name_here(runner))
        self._resave_after_validation = False
        preemption = self._preemption
        if preemption is not None and preemption.should_stop(state.iter, world_size=runner.world_size):
            self._preempt(runner)

    def _name_here(self, runner: Runner) -> str:
        """The regular checkpoint name of this point (the preemption file when that was the one saved)."""
        state = runner.state
        if state.iter in (self._last_saved_iter, self._loaded_iter) and state.last_checkpoint:
            return Path(state.last_checkpoint).name
        return self.filename_tmpl.format(state.epoch if self.by_epoch else state.iter)

    def _resolve_keys(self, runner: Runner, metrics: Mapping[str, float]) -> list[str]:
        """The best keys of this validation; ``"auto"`` becomes the first metric, once (kept on resume)."""
        keys: list[str] = []
        for key, given in zip(self.save_best, self._given_rules):
            if key == "auto":
                if self.auto_key is None:
                    first = next(iter(metrics))
                    try:
                        rule = given or infer_rule(first, self.greater_keys, self.less_keys)
                    except ValueError as exc:
                        raise UsageError(
                            f"CheckpointHook(save_best='auto'): 'auto' is the first metric {first!r}, "
                            f"and {exc}"
                        ) from None
                    self.rules.setdefault(first, rule)
                    self.auto_key = first
                    runner.logger.info(f"save_best: 'auto' is {first!r} (rule {self.rules[first]!r})")
                key = self.auto_key
            keys.append(key)
        return list(dict.fromkeys(keys))

    def _save_best(self, runner: Runner, metrics: Mapping[str, float]) -> None:
        first = self._validations == 0
        self._validations += 1
        if not metrics:
            if first:
                raise UsageError(
                    f"CheckpointHook(save_best): the validation produced no metrics, so "
                    f"{', '.join(map(repr, self.save_best))} cannot be kept; check val_evaluator"
                )
            runner.logger.warning("save_best: the validation produced no metrics; no best checkpoint saved")
            return
        keys = self._resolve_keys(runner, metrics)
        state = runner.state
        improved: list[str] = []
        for key in keys:
            if key not in metrics:
                message = f"CheckpointHook(save_best): {unknown_key_message(key, metrics)}"
                if first:
                    raise UsageError(message)
                if key not in self._warned_missing:  # a key that appeared before and vanished: once
                    self._warned_missing.add(key)
                    runner.logger.warning(message + "; skipped")
                continue
            value = float(metrics[key])
            if math.isnan(value):
                continue
            rule = self.rules[key]
            best = state.best_scores.get(key, -math.inf if rule == "greater" else math.inf)
            if (value > best) if rule == "greater" else (value < best):
                improved.append(key)
        if not improved:
            return
        unit, count = ("epoch", state.epoch) if self.by_epoch else ("iter", state.iter)
        directory = self._dir(runner)
        for key in improved:
            state.best_scores[key] = float(metrics[key])
            previous = state.best_checkpoints.get(key)
            filename = best_checkpoint_name(key, by_epoch=self.by_epoch, count=count)
            state.best_checkpoints[key] = self._relative(runner, directory / filename)
            runner.save_checkpoint(
                filename,
                out_dir=directory,
                save_optimizer=False,
                save_param_scheduler=False,
                update_pointer=False,
                background=self.async_write,
            )
            runner.logger.info(
                f"The best checkpoint with {metrics[key]:.4f} {key} at {count} {unit} is saved to {filename}."
            )
            still_used = previous in state.best_checkpoints.values() or previous in state.kept_checkpoints
            if runner.rank == 0 and previous and not still_used:
                runner.checkpoint_writer.submit(functools.partial(self._remove, runner, previous))
        if state.last_checkpoint:
            # the last regular checkpoint predates this best score: re-saved in after_val (MMEngine PR #1168)
            self._resave_after_validation = True

    def before_save_checkpoint(self, runner: Runner, checkpoint: dict[str, object]) -> None:
        """Store what ``"auto"`` resolved to and the rules: a resume compares one key by one rule."""
        if self.save_best:
            checkpoint[_STATE_KEY] = {"auto": self.auto_key, "rules": dict(self.rules)}

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict[str, object]) -> None:
        """Note the point the run resumes from; take over the stored ``"auto"`` resolution (a resumed run
        keeps comparing the same metric)."""
        run_state = checkpoint.get("run_state")
        loaded = run_state.get("iter") if isinstance(run_state, Mapping) else None
        self._loaded_iter = loaded if isinstance(loaded, int) else -1
        stored = checkpoint.get(_STATE_KEY)
        if not isinstance(stored, Mapping) or "auto" not in self.save_best:
            return
        key, rules = stored.get("auto"), stored.get("rules")
        if isinstance(key, str):
            self.auto_key = key
            rule = rules.get(key) if isinstance(rules, Mapping) else None
            if rule in ("greater", "less") and self._given_rules[self.save_best.index("auto")] is None:
                self.rules[key] = rule

    # --- preemption -----------------------------------------------------------------------------------------
    def _preempt(self, runner: Runner) -> None:
        from ..checkpoint.preemption import Preempted

        assert self._preemption is not None
        state = runner.state
        if self._last_saved_iter == state.iter and state.last_checkpoint:
            name = state.last_checkpoint
        else:
            name = self._relative(runner, self._save_regular(runner, f"iter_{state.iter}.pth"))
        runner.flush_checkpoints()
        runner.logger.warning(
            f"{self._preemption.signal_name}: saved {name}; exiting with code 75 "
            f"(resume with {setting_hint('resume', True)})"
        )
        self._preemption.uninstall()
        raise Preempted(self._preemption.signal_name, name)

    # --- end ------------------------------------------------------------------------------------------------
    def after_train(self, runner: Runner) -> None:
        """Export ``published_keys`` of the last and best checkpoints; remove the signal handlers."""
        self._training = False
        if self._preemption is not None:
            self._preemption.uninstall()
        if not self.published_keys or runner.rank != 0:
            return
        runner.flush_checkpoints()
        from ..checkpoint.export import export_checkpoint
        from ..checkpoint.io import load_checkpoint_file

        names = [runner.state.last_checkpoint, *runner.state.best_checkpoints.values()]
        for name in dict.fromkeys(n for n in names if n):
            source = runner.work_dir / name
            if not source.is_file():
                continue
            ckpt = load_checkpoint_file(source)
            out = export_checkpoint(
                ckpt,
                source.parent,
                source.stem,
                published_keys=self.published_keys,
                format=self.export_format,
            )
            runner.logger.info(f"published {out}")

    def after_run(self, runner: Runner) -> None:
        """Remove the signal handlers (also when training ended early)."""
        self._training = False
        if self._preemption is not None:
            self._preemption.uninstall()

    def __repr__(self) -> str:
        unit = "epochs" if self.by_epoch else "iters"
        return f"CheckpointHook(interval={self.interval} {unit}, max_keep_ckpts={self.max_keep_ckpts})"


class CheckpointHookConfig(Config):
    """Checkpoint saving: cadence, pruning, best-metric files, export, preemption (``default-hooks.checkpoint``)."""

    type: Tag[Literal["checkpoint"]] = "checkpoint"
    interval: int = Field(
        1, ge=-1, description="Save every N epochs (by_epoch) or iterations; -1 or 0: no periodic saves."
    )
    by_epoch: bool = Field(True, description="Count interval and save_begin in epochs (else iterations).")
    save_begin: int = Field(
        0, ge=0, description="First epoch/iteration count from which periodic saves count."
    )
    max_keep_ckpts: int = Field(
        -1,
        ge=-1,
        description="Keep only the newest N periodic checkpoints (-1 or 0: keep all); kept across resume.",
    )
    save_last: bool = Field(True, description="Always save after the last epoch/iteration.")
    save_best: tuple[str, ...] = Field(
        (), description="Metric keys whose best value gets its own checkpoint ('auto': the first metric)."
    )
    rule: tuple[Rule, ...] = Field(
        (),
        description="'greater' or 'less' per save_best key (or one for all); empty: inferred from the whole "
        "key, case-insensitively (acc, top, mAP, ...: greater; loss: less).",
    )
    greater_keys: tuple[str, ...] = Field(
        DEFAULT_GREATER_KEYS, description="Key names, or parts of them, for which larger is better."
    )
    less_keys: tuple[str, ...] = Field(
        DEFAULT_LESS_KEYS, description="Key names, or parts of them, for which smaller is better."
    )
    out_dir: Path | None = Field(
        None, description="Directory for checkpoints (out_dir/<work_dir name>); None: the work_dir."
    )
    save_optimizer: bool = Field(True, description="Include the optimizer state (needed to resume exactly).")
    save_param_scheduler: bool = Field(
        True, description="Include the scheduler state (needed to resume exactly)."
    )
    filename_tmpl: str | None = Field(
        None, description="File name with one '{}' for the count; None: 'epoch_{}.pth' or 'iter_{}.pth'."
    )
    published_keys: tuple[str, ...] = Field(
        (),
        description="After training, export these checkpoint keys (e.g. meta state_dict) with a hash in the name.",
    )
    export_format: Literal["auto", "safetensors", "pth"] = Field(
        "auto", description="Format of the published export ('auto': safetensors when installed)."
    )
    handle_signals: bool = Field(
        True,
        description="On SIGTERM/SIGUSR1/first Ctrl-C: save after the current iteration and exit with code 75.",
    )
    signal_check_interval_iters: int = Field(
        10, ge=1, description="In distributed runs, ranks agree on a stop request every N iterations."
    )
    async_write: bool = Field(
        True,
        description="Write files on a background thread (training continues; at most one save in flight).",
    )

    @field_validator("save_best", "published_keys", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @field_validator("filename_tmpl")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.count("{}") != 1 or value.replace("{}", "").count("{") or value.replace("{}", "").count("}"):
            raise ValueError(
                "must contain exactly one '{}' (the epoch or iteration count) and no other braces"
            )
        if "/" in value or "\\" in value:
            raise ValueError("must be a file name, not a path (use out_dir for the directory)")
        return value

    @model_validator(mode="after")
    def _rules(self) -> CheckpointHookConfig:
        if self.rule and len(self.rule) not in (1, len(self.save_best)):
            raise ConfigProblems(
                [ConfigIssue("rule", f"give 1 or {len(self.save_best)} entries (one per save_best key)")]
            )
        issues: list[ConfigIssue] = []
        for i, key in enumerate(self.save_best):
            if key in self.save_best[:i]:
                issues.append(ConfigIssue(f"save_best[{i}]", f"{key!r} is listed twice"))
            elif key != "auto" and self._rule_at(i) is None:
                problem = rule_problem(key, self.greater_keys, self.less_keys)
                if problem:
                    issues.append(ConfigIssue(f"save_best[{i}]", problem))
        if issues:
            raise ConfigProblems(issues)
        return self

    def _rule_at(self, i: int) -> Rule | None:
        return (self.rule[i] if len(self.rule) > 1 else self.rule[0]) if self.rule else None

    def metric_issues(self, metric_keys: Sequence[str] | None, *, validates: bool) -> list[ConfigIssue]:
        """``save_best`` keys the validation will not produce (see :func:`~typedengine.evaluation.rules.
        check_metric_monitors`); ``metric_keys`` None: the metrics do not declare their keys."""
        if not self.save_best:
            return []
        if not validates:
            return [
                ConfigIssue(
                    "save_best",
                    "the run does not validate (no val_dataloader/val_evaluator), so no metric is ever "
                    "produced; configure validation or remove save_best",
                )
            ]
        if not metric_keys:
            return []
        issues: list[ConfigIssue] = []
        for i, key in enumerate(self.save_best):
            if key == "auto":
                first = metric_keys[0]
                problem = None if self._rule_at(i) else rule_problem(first, self.greater_keys, self.less_keys)
                if problem:
                    message = f"'auto' is the first metric {first!r}: {problem}"
                    issues.append(ConfigIssue(f"save_best[{i}]", message))
            elif key not in metric_keys:
                issues.append(ConfigIssue(f"save_best[{i}]", unknown_key_message(key, metric_keys)))
        return issues

    def build(self) -> CheckpointHook:
        """The hook."""
        return CheckpointHook(
            interval=self.interval,
            by_epoch=self.by_epoch,
            save_begin=self.save_begin,
            max_keep_ckpts=self.max_keep_ckpts,
            save_last=self.save_last,
            save_best=self.save_best,
            rule=self.rule,
            greater_keys=self.greater_keys,
            less_keys=self.less_keys,
            out_dir=self.out_dir,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            filename_tmpl=self.filename_tmpl,
            published_keys=self.published_keys,
            export_format=self.export_format,
            handle_signals=self.handle_signals,
            signal_check_interval_iters=self.signal_check_interval_iters,
            async_write=self.async_write,
        )
