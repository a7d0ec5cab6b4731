"""OptimWrapper: backward, gradient accumulation, clipping and the optimizer step behind one call.

``update_params(loss)`` scales the loss for accumulation, runs backward and, when an accumulation window is
complete, clips, steps and zeroes the gradients. Accumulation counts are *global* (across epochs, restored
on resume by :meth:`OptimWrapper.initialize_count_status`): with ``accumulative_counts=4`` over 10
iterations the optimizer steps after iterations 4, 8 and 10, and the losses of the last, incomplete window
are divided by 2 (the remainder), not by 4 — MMEngine's semantics.

Example::

    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=4)
    wrapper.initialize_count_status(model, init_counts=0, max_counts=total_iters)
    for batch in loader:
        with wrapper.optim_context(model):          # DDP no_sync while accumulating
            loss = model(batch)
        wrapper.update_params(loss)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ..config.base import Config, Tag
from .grad_clip import ClipGradByNorm, ClipGradByValue, ClipGradConfig
from .optimizers import OptimizerConfig, SGDConfig
from .param_groups import ParamwiseConfig

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["GradClipper", "OptimWrapper", "OptimWrapperConfig", "OptimWrapperConfigBase", "has_batch_norm"]

logger = logging.getLogger("typedengine")

GradClipper = ClipGradByNorm | ClipGradByValue

_NO_CONTEXT: AbstractContextManager[None] = nullcontext()  # reusable: entering it does nothing


def has_batch_norm(model: nn.Module) -> bool:
    """True when ``model`` contains a BatchNorm or SyncBatchNorm layer."""
    from torch import nn

    return any(isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.SyncBatchNorm)) for m in model.modules())


class OptimWrapper:
    """Drives one optimizer: loss scaling for accumulation, backward, clip, step, zero_grad.

    Args:
        optimizer: the torch optimizer.
        accumulative_counts: micro-batches per optimizer step (gradient accumulation); 1 disables it.
        clip_grad: a gradient clipper (``ClipGradByNorm`` / ``ClipGradByValue``) or None.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        accumulative_counts: int = 1,
        clip_grad: GradClipper | None = None,
    ) -> None:
        if accumulative_counts < 1:
            raise ValueError(f"accumulative_counts must be >= 1, got {accumulative_counts}")
        self.optimizer = optimizer
        self.clip_grad = clip_grad
        self._accumulative_counts = accumulative_counts
        self._inner_count = 0
        self._max_counts = -1
        self._remainder_counts = -1
        self._scalars: dict[str, torch.Tensor] = {}
        # With several param groups (paramwise rules) the optimizer-wide settings are kept as an extra
        # pseudo group that schedulers update too, so ``base_lr`` can be logged (MMEngine's behaviour).
        self.base_param_settings: dict[str, Any] | None = None
        # The FSDP2-sharded model whose parameters the optimizer updates (set by the runner): state dicts
        # are then full and keyed by parameter name, gathered to rank 0 (collectives; see model/fsdp.py).
        self.sharded_model: nn.Module | None = None
        if len(optimizer.param_groups) > 1:
            import torch

            self.base_param_settings = {"params": torch.tensor([0.0])}
            self.base_param_settings.update(optimizer.defaults)

    # --- counting -------------------------------------------------------------------------------------
    @property
    def accumulative_counts(self) -> int:
        """Micro-batches per optimizer step."""
        return self._accumulative_counts

    @property
    def inner_count(self) -> int:
        """Backward passes done so far (global, across epochs)."""
        return self._inner_count

    @property
    def max_counts(self) -> int:
        """Total backward passes of the run (-1 until :meth:`initialize_count_status`)."""
        return self._max_counts

    def initialize_count_status(self, model: nn.Module, init_counts: int, max_counts: int) -> None:
        """Set the global count (iterations already done) and the run length, e.g. on (re)start."""
        self._inner_count = init_counts
        self._max_counts = max_counts
        if self._inner_count % self._accumulative_counts != 0:
            logger.info(
                "Starting at iteration %d, inside an accumulation window of %d: the window continues with the "
                "gradients already accumulated (typedengine checkpoints store them).",
                init_counts,
                self._accumulative_counts,
            )
        if self._accumulative_counts > 1 and has_batch_norm(model):
            logger.warning(
                "Gradient accumulation with BatchNorm layers: statistics use the micro-batch size, "
                "which may slightly decrease performance."
            )
        self._remainder_counts = self._max_counts % self._accumulative_counts

    def should_update(self) -> bool:
        """True when the current accumulation window is complete (call after :meth:`backward`)."""
        return self._inner_count % self._accumulative_counts == 0 or self._inner_count == self._max_counts

    def should_sync(self) -> bool:
        """True when the next backward completes a window (gradients must be all-reduced under DDP)."""
        nxt = self._inner_count + 1
        return nxt % self._accumulative_counts == 0 or nxt == self._max_counts

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        """Divide by the window size: ``accumulative_counts``, or the remainder in the last short window."""
        if self._accumulative_counts == 1:
            return loss
        if self._max_counts == -1 or self._inner_count < self._max_counts - self._remainder_counts:
            factor = self._accumulative_counts
        else:
            factor = self._remainder_counts
        return loss / factor

    # --- the step ---------------------------------------------------------------------------------------
    def update_params(
        self,
        loss: torch.Tensor,
        step_kwargs: Mapping[str, object] | None = None,
        zero_kwargs: Mapping[str, object] | None = None,
    ) -> None:
        """Scale, backward and — when the accumulation window is complete — step and zero the gradients."""
        loss = self.scale_loss(loss)
        self.backward(loss)
        if self.should_update():
            self.step(**(step_kwargs or {}))
            self.zero_grad(**(zero_kwargs or {}))

    def backward(self, loss: torch.Tensor, **kwargs: object) -> None:
        """``loss.backward(**kwargs)`` and count one micro-batch."""
        loss.backward(**kwargs)  # type: ignore[no-untyped-call]  # torch's Tensor.backward is untyped
        self._inner_count += 1

    def step(self, **kwargs: object) -> None:
        """Clip (if configured) and step the optimizer."""
        if self.clip_grad is not None:
            self._clip_grad()
        self.optimizer.step(**kwargs)  # type: ignore[call-overload]  # a closure kwarg passes through

    def zero_grad(self, **kwargs: object) -> None:
        """Zero (by default: drop) the gradients."""
        self.optimizer.zero_grad(**kwargs)  # type: ignore[arg-type]  # set_to_none passes through

    def _clip_grad(self) -> None:
        assert self.clip_grad is not None
        params = [
            p
            for group in self.optimizer.param_groups
            for p in group["params"]
            if p.requires_grad and p.grad is not None
        ]
        if not params:
            return
        value = self.clip_grad(params)
        if value is not None:
            self._scalars[self.clip_grad.log_name] = value.detach()

    def optim_context(self, model: nn.Module) -> AbstractContextManager[None]:
        """Context for forward + loss: skips the gradient all-reduce (DDP ``no_sync``, FSDP2
        ``set_requires_gradient_sync``) on every micro-batch but the last of an accumulation window.

        Without accumulation every backward synchronises, so this is a no-op (and costs nothing)."""
        if self._accumulative_counts == 1:
            return _NO_CONTEXT
        from ..model.ddp import gradient_sync

        return gradient_sync(model, self.should_sync())

    def log_scalars(self) -> dict[str, torch.Tensor]:
        """Values to log from the last step as device tensors (``grad_norm`` when clipping by norm)."""
        return dict(self._scalars)

    # --- introspection ----------------------------------------------------------------------------------
    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The optimizer's param groups (plus the base-settings pseudo group when there are several)."""
        if self.base_param_settings is not None:
            return [*self.optimizer.param_groups, self.base_param_settings]
        return self.optimizer.param_groups

    @property
    def defaults(self) -> dict[str, Any]:
        """The optimizer's default hyper-parameters."""
        return self.optimizer.defaults

    def get_lr(self) -> dict[str, list[float]]:
        """``{"lr": [per group]}`` (plus ``"base_lr"`` when there are several groups)."""
        res: dict[str, list[float]] = {}
        if self.base_param_settings is not None:
            res["base_lr"] = [float(self.base_param_settings["lr"])]
        res["lr"] = [float(group["lr"]) for group in self.optimizer.param_groups]
        return res

    def get_momentum(self) -> dict[str, list[float]]:
        """``{"momentum": [per group]}``: ``momentum``, else ``betas[0]``, else 0."""
        momentum: list[float] = []
        for group in self.optimizer.param_groups:
            if "momentum" in group:
                momentum.append(float(group["momentum"]))
            elif "betas" in group:
                momentum.append(float(group["betas"][0]))
            else:
                momentum.append(0.0)
        return {"momentum": momentum}

    def state_dict(self) -> dict[str, Any]:
        """The optimizer state dict (plus ``base_param_settings`` when there are several groups).

        With :attr:`sharded_model` set this is a collective: the full state on rank 0, ``{}`` elsewhere.
        """
        if self.sharded_model is not None:
            from ..model.fsdp import full_optimizer_state

            state = full_optimizer_state(self.sharded_model, self.optimizer)
        else:
            state = self.optimizer.state_dict()
        if self.base_param_settings is not None:
            state["base_param_settings"] = dict(self.base_param_settings)
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore from :meth:`state_dict` output (with :attr:`sharded_model` set: a collective)."""
        state = dict(state_dict)
        base = state.pop("base_param_settings", None)
        if base is not None:
            self.base_param_settings = dict(base)
        if self.sharded_model is not None:
            from ..model.fsdp import load_full_optimizer_state

            load_full_optimizer_state(self.sharded_model, self.optimizer, state)
            return
        self.optimizer.load_state_dict(state)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(optimizer={type(self.optimizer).__name__}, "
            f"accumulative_counts={self._accumulative_counts}, clip_grad={self.clip_grad})"
        )


class OptimWrapperConfigBase(Config):
    """Fields every optim-wrapper config shares: the optimizer, accumulation, clipping, paramwise rules."""

    optimizer: OptimizerConfig = Field(
        default_factory=lambda: SGDConfig(lr=0.01), description="The optimizer (select with optimizer:NAME)."
    )
    accumulative_counts: int = Field(1, ge=1, description="Micro-batches per optimizer step.")
    clip_grad: ClipGradConfig | None = Field(
        None, description="Gradient clipping: by norm, by value, or off."
    )
    paramwise: ParamwiseConfig | None = Field(
        None, description="Per-parameter lr / weight-decay rules (one param group per parameter when set)."
    )

    def build_optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        """The torch optimizer over ``model``'s parameters, with paramwise groups when configured."""
        if self.paramwise is None:
            return self.optimizer.build(model.parameters())
        base_lr, base_weight_decay = self.optimizer.base_hyperparameters()
        groups = self.paramwise.param_groups(model, base_lr=base_lr, base_weight_decay=base_weight_decay)
        return self.optimizer.build(groups)


class OptimWrapperConfig(OptimWrapperConfigBase):
    """The default optim wrapper: an optimizer plus accumulation, clipping and paramwise rules.

    Example::

        OptimWrapperConfig(optimizer=SGDConfig(lr=0.1, momentum=0.9), accumulative_counts=4,
                           clip_grad=ClipGradNormConfig(max_norm=10.0))
    """

    type: Tag[Literal["default"]] = "default"

    def build(self, model: nn.Module) -> OptimWrapper:
        """Build the optimizer over ``model`` and wrap it."""
        return OptimWrapper(
            self.build_optimizer(model),
            accumulative_counts=self.accumulative_counts,
            clip_grad=None if self.clip_grad is None else self.clip_grad.build(),
        )
