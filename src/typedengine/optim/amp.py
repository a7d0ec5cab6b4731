"""AmpOptimWrapper: mixed precision (autocast) around forward, loss scaling around backward.

``optim_context(model)`` enters ``torch.autocast(device_type, dtype)``. With ``float16`` a
``torch.amp.GradScaler`` scales the loss, gradients are unscaled before clipping, and its state is saved
in the wrapper's state dict under ``loss_scaler``. ``bfloat16`` has the range of float32, so it needs no
loss scaling: no scaler is used (and no per-step host sync is added); it works on CPU. ``float16`` needs
an accelerator (CUDA); asking for it on CPU is a config error (see
:func:`~typedengine.optim.checks.check_optim_wrapper`).

Loss scale (fp16): ``"dynamic"`` (GradScaler with the ``scaler`` settings) or a number (a static scale,
re-set after every step).

Example::

    AmpOptimWrapperConfig(optimizer=AdamWConfig(lr=1e-3), dtype="bfloat16")
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from ..config.base import Config, Tag
from .wrapper import GradClipper, OptimWrapper, OptimWrapperConfigBase

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["AmpOptimWrapper", "AmpOptimWrapperConfig", "GradScalerConfig", "fp16_capable"]

AmpDtype = Literal["float16", "bfloat16"]

FP16_DEVICES = frozenset({"cuda", "xpu", "npu", "mlu", "musa"})
"""Device types where float16 autocast with a GradScaler is supported."""


def fp16_capable(device_type: str) -> bool:
    """True when float16 mixed precision (autocast + GradScaler) can run on ``device_type``."""
    return device_type in FP16_DEVICES


class AmpOptimWrapper(OptimWrapper):
    """An :class:`OptimWrapper` with autocast and (for float16) a GradScaler.

    Args:
        optimizer, accumulative_counts, clip_grad: as :class:`OptimWrapper`.
        device_type: the autocast device ("cuda", "cpu", ...).
        dtype: autocast dtype; None picks float16 on accelerators and bfloat16 on CPU.
        loss_scale: "dynamic" or a static scale (float16 only).
        scaler_kwargs: extra ``GradScaler`` arguments for the dynamic scale (init_scale, growth_interval...).
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        accumulative_counts: int = 1,
        clip_grad: GradClipper | None = None,
        *,
        device_type: str = "cuda",
        dtype: torch.dtype | None = None,
        loss_scale: Literal["dynamic"] | float = "dynamic",
        scaler_kwargs: Mapping[str, float | int] | None = None,
    ) -> None:
        import torch

        super().__init__(optimizer, accumulative_counts=accumulative_counts, clip_grad=clip_grad)
        if dtype is None:
            dtype = torch.float16 if fp16_capable(device_type) else torch.bfloat16
        if dtype not in (torch.float16, torch.bfloat16):
            raise ValueError(f"AMP dtype must be float16 or bfloat16, got {dtype}")
        if dtype is torch.float16 and not fp16_capable(device_type):
            raise ValueError(
                f"float16 mixed precision needs a GPU; device {device_type!r} cannot do it (use bfloat16)"
            )
        self.device_type = device_type
        self.cast_dtype = dtype
        self._static_scale: float | None = None
        self.loss_scaler: torch.amp.GradScaler | None = None
        if dtype is torch.float16:
            if loss_scale == "dynamic":
                kw = dict(scaler_kwargs or {})
                self.loss_scaler = torch.amp.GradScaler(
                    device_type,
                    init_scale=float(kw.pop("init_scale", 2.0**16)),
                    growth_factor=float(kw.pop("growth_factor", 2.0)),
                    backoff_factor=float(kw.pop("backoff_factor", 0.5)),
                    growth_interval=int(kw.pop("growth_interval", 2000)),
                )
                if kw:
                    raise ValueError(f"unknown GradScaler settings {sorted(kw)}")
            else:
                if loss_scale <= 0:
                    raise ValueError(f"a static loss_scale must be > 0, got {loss_scale}")
                self._static_scale = float(loss_scale)
                self.loss_scaler = torch.amp.GradScaler(device_type, init_scale=self._static_scale)

    def backward(self, loss: torch.Tensor, **kwargs: object) -> None:
        """Backward of the (scaled, for float16) loss; counts one micro-batch."""
        if self.loss_scaler is not None:
            loss = self.loss_scaler.scale(loss)
        loss.backward(**kwargs)  # type: ignore[no-untyped-call]  # torch's Tensor.backward is untyped
        self._inner_count += 1

    def step(self, **kwargs: object) -> None:
        """Unscale (float16), clip, step (skipped by the scaler on inf/nan) and update the scale."""
        if self.loss_scaler is None:
            super().step(**kwargs)
            return
        if self.clip_grad is not None:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        if self._static_scale is not None:
            self.loss_scaler.update(self._static_scale)
        else:
            self.loss_scaler.update()

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """DDP no_sync while accumulating (as the base) plus autocast to the AMP dtype."""
        import torch

        with super().optim_context(model), torch.autocast(self.device_type, dtype=self.cast_dtype):
            yield

    def state_dict(self) -> dict[str, Any]:
        """The optimizer state plus ``loss_scaler`` (the GradScaler state) when one is used."""
        state = super().state_dict()
        if self.loss_scaler is not None:
            state["loss_scaler"] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore the optimizer and the GradScaler state."""
        state = dict(state_dict)
        scaler_state = state.pop("loss_scaler", None)
        if scaler_state is not None and self.loss_scaler is not None:
            self.loss_scaler.load_state_dict(scaler_state)
        super().load_state_dict(state)

    def log_scalars(self) -> dict[str, torch.Tensor]:
        """As the base, plus ``loss_scale`` (a device tensor) when a GradScaler is used."""
        scalars = super().log_scalars()
        if self.loss_scaler is not None and self.loss_scaler.is_enabled():
            scale = getattr(self.loss_scaler, "_scale", None)
            if scale is not None:
                scalars["loss_scale"] = scale.detach()
        return scalars


class GradScalerConfig(Config):
    """Settings of the dynamic loss scaler (``torch.amp.GradScaler``)."""

    init_scale: float = Field(2.0**16, gt=0.0, description="Initial loss scale.")
    growth_factor: float = Field(
        2.0, gt=1.0, description="Scale multiplier after growth_interval clean steps."
    )
    backoff_factor: float = Field(0.5, gt=0.0, lt=1.0, description="Scale multiplier after an inf/nan step.")
    growth_interval: int = Field(2000, ge=1, description="Clean steps before the scale grows.")


class AmpOptimWrapperConfig(OptimWrapperConfigBase):
    """Mixed-precision optim wrapper: autocast + loss scaling (float16) or plain bf16 autocast.

    Example::

        AmpOptimWrapperConfig(optimizer=SGDConfig(lr=0.1), dtype="bfloat16")
    """

    type: Tag[Literal["amp"]] = "amp"
    dtype: AmpDtype | None = Field(
        None, description="Autocast dtype; None: float16 on GPU, bfloat16 on CPU. float16 needs a GPU."
    )
    loss_scale: Literal["dynamic"] | Annotated[float, Field(gt=0.0)] = Field(
        "dynamic", description="float16 loss scale: 'dynamic' or a fixed number (> 0)."
    )
    scaler: GradScalerConfig = Field(
        default_factory=GradScalerConfig, description="Dynamic loss-scaler settings (float16)."
    )

    def resolved_dtype(self, device_type: str) -> AmpDtype:
        """The dtype used on ``device_type`` (None resolved)."""
        if self.dtype is not None:
            return self.dtype
        return "float16" if fp16_capable(device_type) else "bfloat16"

    def build(self, model: nn.Module) -> AmpOptimWrapper:
        """Build on ``model``; the autocast device is the device of the model's parameters."""
        import torch

        device_type = next((p.device.type for p in model.parameters()), "cpu")
        return AmpOptimWrapper(
            self.build_optimizer(model),
            accumulative_counts=self.accumulative_counts,
            clip_grad=None if self.clip_grad is None else self.clip_grad.build(),
            device_type=device_type,
            dtype=getattr(torch, self.resolved_dtype(device_type)),
            loss_scale=self.loss_scale,
            scaler_kwargs=self.scaler.model_dump(),
        )
