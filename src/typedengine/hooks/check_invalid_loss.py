"""CheckInvalidLossHook: catch NaN/inf losses without a host sync every iteration — on by default.

A default hook (``default_hooks.check_invalid_loss``; ``default-hooks.check-invalid-loss:none`` turns the
guard off), so a run whose loss turns NaN or inf never ends with exit code 0 unless the user asked for it.

``policy="raise"`` (default): each iteration keeps a reference to its (detached) loss — no kernel, no sync;
every ``interval_iters`` iterations, at the end of each epoch and at the end of training the kept losses
are checked at once — a single sync — and a :class:`NonFiniteLossError` (a
:class:`~typedengine.errors.Fault`, exit code 1, and a :class:`FloatingPointError`) names the first
iteration whose loss was not finite. The error therefore surfaces up to ``interval_iters`` iterations
late; ``interval_iters=1`` checks every step at the cost of one sync per iteration.

``policy="skip"``: a step pre-hook on the optimizer(s) checks that every gradient is finite and, if not,
drops the gradients so the optimizer leaves the weights (and its moments) unchanged for that step. This
needs one sync per optimizer step; each skipped step is logged as a warning naming the iteration.
(With AMP, the grad scaler already skips steps with inf gradients; this catches NaN losses in fp32 too.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ..config.base import Config, Tag
from ..errors import Fault
from .hook import Hook
from .priority import Priority

if TYPE_CHECKING:
    import torch
    from torch.utils.hooks import RemovableHandle

    from ..batches import DataBatch
    from ..runner.runner import Runner

__all__ = ["CheckInvalidLossHook", "CheckInvalidLossHookConfig", "NonFiniteLossError"]

Policy = Literal["raise", "skip"]


class NonFiniteLossError(Fault, FloatingPointError):
    """The training loss became NaN or inf (exit code 1); the message names the first such iteration."""


def _optimizers(wrapper: object) -> list[torch.optim.Optimizer]:
    """The torch optimizers inside an OptimWrapper or OptimWrapperDict."""
    import torch

    inner = getattr(wrapper, "optimizer", None)
    if isinstance(inner, torch.optim.Optimizer):
        return [inner]
    wrappers = getattr(wrapper, "optim_wrappers", None)
    if isinstance(wrappers, Mapping):
        return [opt for w in wrappers.values() for opt in _optimizers(w)]
    return []


class CheckInvalidLossHook(Hook):
    """Raises on (or skips steps with) NaN/inf losses, checking only every ``interval_iters`` (NORMAL)."""

    priority = Priority.NORMAL

    def __init__(self, *, interval_iters: int = 50, policy: Policy = "raise", loss_key: str = "loss") -> None:
        if interval_iters < 1:
            raise ValueError(f"interval_iters must be >= 1, got {interval_iters}")
        self.interval_iters = interval_iters
        self.policy = policy
        self.loss_key = loss_key
        self.skipped_iters: list[int] = []
        self._window: list[torch.Tensor] = []
        self._window_start = 0
        self._handles: list[RemovableHandle] = []
        self._runner: Runner | None = None

    # --- skip policy -----------------------------------------------------------------------------------
    def before_train(self, runner: Runner) -> None:
        self._runner = runner
        if self.policy == "skip":
            for optimizer in _optimizers(runner.optim_wrapper):
                self._handles.append(optimizer.register_step_pre_hook(self._pre_step))

    def _pre_step(self, optimizer: torch.optim.Optimizer, args: object, kwargs: object) -> None:
        import torch

        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        if not grads:
            return
        finite = torch.stack([torch.isfinite(n) for n in torch._foreach_norm(grads)]).all()
        if bool(finite):  # the one host sync per step this policy costs
            return
        for group in optimizer.param_groups:
            for p in group["params"]:
                p.grad = None  # optimizers skip parameters without a gradient: the step changes nothing
        iteration = self._runner.state.iter + 1 if self._runner is not None else -1
        self.skipped_iters.append(iteration)
        if self._runner is not None:
            self._runner.logger.warning(
                f"non-finite gradients at iteration {iteration}: optimizer step skipped"
            )

    def after_train(self, runner: Runner) -> None:
        self._check(runner)
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    # --- raise policy ----------------------------------------------------------------------------------
    def after_train_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: Mapping[str, object] | None = None,
    ) -> None:
        if self.policy != "raise":
            return
        import torch

        loss = (outputs or {}).get(self.loss_key)
        iteration = runner.state.iter + 1
        if not isinstance(loss, torch.Tensor):
            if isinstance(loss, float) and not math.isfinite(loss):
                raise NonFiniteLossError(self._message(iteration, loss))
            return
        if not self._window:
            self._window_start = iteration
        self._window.append(loss.detach())  # a reference: no kernel, no sync, no autograd graph kept
        if iteration % self.interval_iters == 0:
            self._check(runner)

    def after_train_epoch(self, runner: Runner) -> None:
        self._check(runner)

    def _message(self, iteration: int, value: float) -> str:
        return (
            f"the loss ({self.loss_key!r}) became {value} at iteration {iteration} "
            f"(checked every {self.interval_iters} iterations); lower the learning rate, enable gradient "
            "clipping, or skip such steps with --default-hooks.check-invalid-loss.policy skip "
            "(default-hooks.check-invalid-loss:none turns the check off)"
        )

    def _check(self, runner: Runner) -> None:
        """Check the losses kept since the last check: one sync, then they are let go."""
        if not self._window:
            return
        import torch

        window, self._window = self._window, []
        values = torch.cat([t.reshape(-1)[:1].float() for t in window])
        bad = ~torch.isfinite(values)
        if bool(bad.any()):  # the one sync per check interval
            first = int(bad.nonzero()[0])
            raise NonFiniteLossError(self._message(self._window_start + first, float(values[first])))


class CheckInvalidLossHookConfig(Config):
    """Stop on (or skip steps with) NaN/inf losses, checking at an interval to avoid per-step syncs."""

    type: Tag[Literal["check-invalid-loss"]] = "check-invalid-loss"
    interval_iters: int = Field(
        50, ge=1, description="Iterations between checks (each check is one host sync)."
    )
    policy: Policy = Field(
        "raise", description="raise: error naming the iteration; skip: drop non-finite steps."
    )
    loss_key: str = Field("loss", description="Key of the total loss in the step outputs.")

    def build(self) -> CheckInvalidLossHook:
        """The hook."""
        return CheckInvalidLossHook(
            interval_iters=self.interval_iters, policy=self.policy, loss_key=self.loss_key
        )
