"""EMAHook: an exponential moving average of the model's weights, used for validation and checkpoints.

Update rule (MMEngine's ``ExponentialMovingAverage``; ``momentum`` weights the **new** value)::

    ema ← (1 − momentum) · ema + momentum · weights      (every ``interval`` iterations)

The first update copies the weights. Before ``begin_iter``/``begin_epoch`` the EMA just follows the weights.
Buffers (BatchNorm statistics) are copied from the model unless ``update_buffers`` averages them too.
Updates are in-place foreach ops on device: no host synchronisation.

* Validation and test run with the EMA weights (swapped in before the epoch, swapped back after).
* A checkpoint's ``state_dict`` holds the **EMA** weights (what inference wants) and ``ema_state_dict``
  the raw training weights; with the hook registered, loading or resuming restores both (the raw weights
  to the model, the average to the EMA). Without the hook a loaded checkpoint gives the EMA weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from ..config.base import Config, Tag
from .hook import Hook
from .priority import Priority

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ..batches import DataBatch
    from ..runner.runner import Runner

__all__ = ["EMAHook", "EMAHookConfig", "ExponentialMovingAverage"]

STATE_KEY = "state_dict"
EMA_KEY = "ema_state_dict"
STEPS_KEY = "ema_steps"


class ExponentialMovingAverage:
    """Averaged copies of a module's parameters (and buffers), updated with foreach lerp.

    Example::

        ema = ExponentialMovingAverage(model, momentum=0.01)
        for batch in loader:
            ...; optimizer.step()
            ema.update(model)
        ema.swap(model)   # model now holds the average; call again to swap back
    """

    def __init__(
        self, model: nn.Module, *, momentum: float = 0.0002, interval: int = 1, update_buffers: bool = False
    ) -> None:
        if not 0.0 < momentum <= 1.0:
            raise ValueError(f"momentum must be in (0, 1], got {momentum}")
        if interval < 1:
            raise ValueError(f"interval must be >= 1, got {interval}")
        self.momentum = momentum
        self.interval = interval
        self.update_buffers = update_buffers
        self.steps = 0
        self.param_names = [n for n, _ in model.named_parameters()]
        self.buffer_names = [n for n, _ in model.named_buffers()]
        self.params = [p.detach().clone() for _, p in model.named_parameters()]
        self.buffers = [b.detach().clone() for _, b in model.named_buffers()]

    def _model_tensors(self, model: nn.Module) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        return [p.detach() for _, p in model.named_parameters()], [
            b.detach() for _, b in model.named_buffers()
        ]

    def copy_from(self, model: nn.Module) -> None:
        """Make the average equal to the model's current weights."""
        import torch

        params, buffers = self._model_tensors(model)
        with torch.no_grad():
            torch._foreach_copy_(self.params, params)
            if self.buffers:
                torch._foreach_copy_(self.buffers, buffers)

    def update(self, model: nn.Module) -> None:
        """One averaging step (a copy on the first call; averaged every ``interval`` calls)."""
        import torch

        params, buffers = self._model_tensors(model)
        with torch.no_grad():
            if self.steps == 0:
                self.copy_from(model)
            elif self.steps % self.interval == 0:
                floats = [(e, p) for e, p in zip(self.params, params) if e.is_floating_point()]
                if floats:
                    torch._foreach_lerp_([e for e, _ in floats], [p for _, p in floats], self.momentum)
                if self.update_buffers:
                    fb = [(e, b) for e, b in zip(self.buffers, buffers) if e.is_floating_point()]
                    if fb:
                        torch._foreach_lerp_([e for e, _ in fb], [b for _, b in fb], self.momentum)
                    for e, b in zip(self.buffers, buffers):
                        if not e.is_floating_point():
                            e.copy_(b)
            if not self.update_buffers and self.buffers:
                torch._foreach_copy_(self.buffers, buffers)
        self.steps += 1

    def swap(self, model: nn.Module) -> None:
        """Exchange the model's weights with the average (its own inverse)."""
        import torch

        params, buffers = self._model_tensors(model)
        with torch.no_grad():
            for mine, theirs in zip(self.params + self.buffers, params + buffers):
                tmp = theirs.clone()
                theirs.copy_(mine)
                mine.copy_(tmp)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Named averaged tensors (parameter and buffer names of the model)."""
        names = self.param_names + self.buffer_names
        return {n: t.detach().clone().cpu() for n, t in zip(names, self.params + self.buffers)}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Load averaged tensors by name (names missing from ``state`` keep their current values)."""
        import torch

        with torch.no_grad():
            for name, tensor in zip(self.param_names + self.buffer_names, self.params + self.buffers):
                value = state.get(name)
                if isinstance(value, torch.Tensor):
                    tensor.copy_(value.to(tensor.device))


class EMAHook(Hook):
    """Keeps an :class:`ExponentialMovingAverage` of ``runner.unwrapped_model`` (NORMAL priority)."""

    priority = Priority.NORMAL

    def __init__(
        self,
        *,
        momentum: float = 0.0002,
        interval: int = 1,
        update_buffers: bool = False,
        begin_iter: int = 0,
        begin_epoch: int = 0,
    ) -> None:
        if begin_iter and begin_epoch:
            raise ValueError("begin_iter and begin_epoch are mutually exclusive")
        self.momentum = momentum
        self.interval = interval
        self.update_buffers = update_buffers
        self.begin_iter = begin_iter
        self.begin_epoch = begin_epoch
        self.ema: ExponentialMovingAverage | None = None
        self._pending: Mapping[str, object] | None = None
        self._pending_steps = 0
        self._swapped = False

    def _ensure(self, runner: Runner) -> ExponentialMovingAverage:
        if self.ema is None:
            from ..model.fsdp import is_fully_sharded

            if is_fully_sharded(runner.unwrapped_model):
                raise ValueError("EMAHook does not support an FSDP2-sharded model (model_wrapper fsdp) yet")
            self.ema = ExponentialMovingAverage(
                runner.unwrapped_model,
                momentum=self.momentum,
                interval=self.interval,
                update_buffers=self.update_buffers,
            )
            if self._pending is not None:
                self.ema.load_state_dict(self._pending)
                self.ema.steps = self._pending_steps
                self._pending = None
        return self.ema

    def before_train(self, runner: Runner) -> None:
        self._ensure(runner)

    def _started(self, runner: Runner) -> bool:
        state = runner.state
        return state.iter + 1 >= self.begin_iter and state.epoch >= self.begin_epoch

    def after_train_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DataBatch | None = None,
        outputs: Mapping[str, object] | None = None,
    ) -> None:
        ema = self._ensure(runner)
        if self._started(runner):
            ema.update(runner.unwrapped_model)
        else:
            ema.copy_from(runner.unwrapped_model)

    # --- validation / test see the EMA weights ---------------------------------------------------------
    def _swap_in(self, runner: Runner) -> None:
        if not self._swapped:
            self._ensure(runner).swap(runner.unwrapped_model)
            self._swapped = True

    def _swap_out(self, runner: Runner) -> None:
        if self._swapped and self.ema is not None:
            self.ema.swap(runner.unwrapped_model)
            self._swapped = False

    def before_val_epoch(self, runner: Runner) -> None:
        self._swap_in(runner)

    def after_val_epoch(self, runner: Runner, metrics: Mapping[str, float] | None = None) -> None:
        self._swap_out(runner)

    def before_test_epoch(self, runner: Runner) -> None:
        self._swap_in(runner)

    def after_test_epoch(self, runner: Runner, metrics: Mapping[str, float] | None = None) -> None:
        self._swap_out(runner)

    # --- checkpoints -----------------------------------------------------------------------------------
    def before_save_checkpoint(self, runner: Runner, checkpoint: dict[str, object]) -> None:
        """``state_dict`` ← EMA weights; ``ema_state_dict`` ← the raw weights it held; ``ema_steps``."""
        ema = self._ensure(runner)
        averaged = ema.state_dict()
        weights = checkpoint.get(STATE_KEY)
        if not isinstance(weights, dict):
            checkpoint[EMA_KEY] = averaged
            checkpoint[STEPS_KEY] = ema.steps
            return
        raw: dict[str, object] = {}
        for name, value in averaged.items():
            if name in weights:
                raw[name] = weights[name]
                weights[name] = value
        checkpoint[EMA_KEY] = raw
        checkpoint[STEPS_KEY] = ema.steps

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict[str, object]) -> None:
        """Swap back so the model loads the raw weights; the EMA gets the average (now or when built)."""
        weights = checkpoint.get(STATE_KEY)
        raw = checkpoint.get(EMA_KEY)
        if not isinstance(weights, dict) or not isinstance(raw, dict):
            # a checkpoint written without the hook: the EMA starts from the loaded weights
            if isinstance(weights, dict):
                self._set_average(runner, dict(weights), 0)
            return
        averaged: dict[str, object] = {}
        for name, value in raw.items():
            if name in weights:
                averaged[name] = weights[name]
                weights[name] = value
        steps = checkpoint.get(STEPS_KEY)
        self._set_average(runner, averaged, steps if isinstance(steps, int) else 1)

    def _set_average(self, runner: Runner, averaged: Mapping[str, object], steps: int) -> None:
        if self.ema is None:
            self._pending, self._pending_steps = averaged, steps
        else:
            self.ema.load_state_dict(averaged)
            self.ema.steps = steps


class EMAHookConfig(Config):
    """Exponential moving average of the weights for validation and checkpoints (``default_hooks.ema``).

    Example: ``EMAHookConfig(momentum=0.001, begin_epoch=2)``.
    """

    type: Tag[Literal["ema"]] = "ema"
    momentum: float = Field(
        0.0002, gt=0, le=1, description="Weight of the new value: ema = (1-m)*ema + m*weights."
    )
    interval: int = Field(1, ge=1, description="Average every this many iterations.")
    update_buffers: bool = Field(False, description="Average float buffers too (else they are copied).")
    begin_iter: int = Field(
        0, ge=0, description="Start averaging at this iteration (the EMA copies the weights before)."
    )
    begin_epoch: int = Field(
        0, ge=0, description="Start averaging at this epoch (exclusive with begin_iter)."
    )

    @model_validator(mode="after")
    def _exclusive(self) -> EMAHookConfig:
        if self.begin_iter and self.begin_epoch:
            raise ValueError("begin_iter and begin_epoch are mutually exclusive; set only one")
        return self

    def build(self) -> EMAHook:
        """The hook."""
        return EMAHook(
            momentum=self.momentum,
            interval=self.interval,
            update_buffers=self.update_buffers,
            begin_iter=self.begin_iter,
            begin_epoch=self.begin_epoch,
        )
