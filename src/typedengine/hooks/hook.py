"""The :class:`Hook` base: MMEngine's 22 hook points, each a no-op to override.

A hook is called at the points whose methods its class overrides — the runner precomputes, per point,
the list of hooks that override it, so a hook that does nothing at a point costs nothing there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from .priority import Priority

if TYPE_CHECKING:
    from ..batches import DataBatch, StepOutputs
    from ..runner.runner import Runner

__all__ = ["HOOK_POINTS", "Hook"]

HOOK_POINTS: tuple[str, ...] = (
    "before_run",
    "after_load_checkpoint",
    "before_train",
    "before_train_epoch",
    "before_train_iter",
    "after_train_iter",
    "after_train_epoch",
    "before_val",
    "before_val_epoch",
    "before_val_iter",
    "after_val_iter",
    "after_val_epoch",
    "after_val",
    "before_save_checkpoint",
    "after_train",
    "before_test",
    "before_test_epoch",
    "before_test_iter",
    "after_test_iter",
    "after_test_epoch",
    "after_test",
    "after_run",
)


class Hook:
    """Base class of every hook. Override the points you need; all others are skipped at no cost.

    ``priority`` (class attribute, or the ``priority=`` argument of :meth:`Runner.register_hook`) orders
    hooks at each point: lower runs first; ties keep registration order (default hooks before custom).

    Example::

        class PrintLoss(Hook):
            priority = Priority.LOW
            def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
                if outputs is not None and runner.state.iter % 100 == 0:
                    print(float(outputs["loss"]))
    """

    priority: ClassVar[int | str | Priority] = Priority.NORMAL

    # --- run -------------------------------------------------------------------------------------------
    def before_run(self, runner: Runner) -> None:
        """Called once at the start of ``train()``, ``val()`` or ``test()``."""

    def after_run(self, runner: Runner) -> None:
        """Called once at the end of ``train()``, ``val()`` or ``test()``."""

    # --- checkpoints -----------------------------------------------------------------------------------
    def after_load_checkpoint(self, runner: Runner, checkpoint: dict[str, object]) -> None:
        """Called after a checkpoint is read, before its contents are applied (may edit the dict)."""

    def before_save_checkpoint(self, runner: Runner, checkpoint: dict[str, object]) -> None:
        """Called with the checkpoint dict before it is written (may add entries)."""

    # --- train -----------------------------------------------------------------------------------------
    def before_train(self, runner: Runner) -> None:
        """Called before the first training epoch."""

    def after_train(self, runner: Runner) -> None:
        """Called after the last training epoch (and its validation)."""

    def before_train_epoch(self, runner: Runner) -> None:
        """Called at the start of each training epoch."""

    def after_train_epoch(self, runner: Runner) -> None:
        """Called at the end of each training epoch (before its validation)."""

    def before_train_iter(self, runner: Runner, batch_idx: int, data_batch: DataBatch | None = None) -> None:
        """Called before each training iteration."""

    def after_train_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: Mapping[str, object] | None = None,
    ) -> None:
        """Called after each training iteration with the step's log variables (tensors, not synced)."""

    # --- val -------------------------------------------------------------------------------------------
    def before_val(self, runner: Runner) -> None:
        """Called before a validation run."""

    def after_val(self, runner: Runner) -> None:
        """Called after a validation run."""

    def before_val_epoch(self, runner: Runner) -> None:
        """Called at the start of the validation epoch."""

    def after_val_epoch(self, runner: Runner, metrics: Mapping[str, float] | None = None) -> None:
        """Called with the validation metrics at the end of the validation epoch."""

    def before_val_iter(self, runner: Runner, batch_idx: int, data_batch: DataBatch | None = None) -> None:
        """Called before each validation iteration."""

    def after_val_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: StepOutputs | None = None,
    ) -> None:
        """Called after each validation iteration with the model's predictions."""

    # --- test ------------------------------------------------------------------------------------------
    def before_test(self, runner: Runner) -> None:
        """Called before a test run."""

    def after_test(self, runner: Runner) -> None:
        """Called after a test run."""

    def before_test_epoch(self, runner: Runner) -> None:
        """Called at the start of the test epoch."""

    def after_test_epoch(self, runner: Runner, metrics: Mapping[str, float] | None = None) -> None:
        """Called with the test metrics at the end of the test epoch."""

    def before_test_iter(self, runner: Runner, batch_idx: int, data_batch: DataBatch | None = None) -> None:
        """Called before each test iteration."""

    def after_test_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: StepOutputs | None = None,
    ) -> None:
        """Called after each test iteration with the model's predictions."""

    # --- helpers ---------------------------------------------------------------------------------------
    @classmethod
    def triggered_points(cls) -> tuple[str, ...]:
        """The hook points this class overrides (the ones the runner will call)."""
        return _triggered_points(cls)

    @staticmethod
    def every_n(count: int, n: int, start: int = 0) -> bool:
        """True when ``count`` (1-based: epochs or iterations done) is on an ``n`` cadence from ``start``."""
        return n > 0 and count > start and (count - start) % n == 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


_TRIGGERED: dict[type[Hook], tuple[str, ...]] = {}


def _triggered_points(cls: type[Hook]) -> tuple[str, ...]:
    points = _TRIGGERED.get(cls)
    if points is None:
        points = _TRIGGERED[cls] = tuple(p for p in HOOK_POINTS if getattr(cls, p) is not getattr(Hook, p))
    return points
