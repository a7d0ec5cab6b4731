"""Gradient clipping: by total norm or by value, as a config union and the small runtime objects it builds.

The norm variant returns the total gradient norm as a device tensor (no host sync); the optim wrapper keeps
it for logging as ``grad_norm``.

Example::

    OptimWrapperConfig(clip_grad=ClipGradNormConfig(max_norm=1.0))
    # CLI: optim-wrapper.clip-grad:norm --optim-wrapper.clip-grad.max-norm 1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal

import tyro
from pydantic import Field

from ..config.base import Config, Tag, Variants

if TYPE_CHECKING:
    import torch

__all__ = ["ClipGradByNorm", "ClipGradByValue", "ClipGradConfig", "ClipGradNormConfig", "ClipGradValueConfig"]


@dataclass(frozen=True)
class ClipGradByNorm:
    """Clip the gradients' total norm to ``max_norm`` (``torch.nn.utils.clip_grad_norm_``)."""

    max_norm: float
    norm_type: float = 2.0
    error_if_nonfinite: bool = False

    log_name = "grad_norm"

    def __call__(self, params: Sequence[torch.Tensor]) -> torch.Tensor | None:
        """Clip in place; return the total norm before clipping (a device tensor)."""
        import torch

        return torch.nn.utils.clip_grad_norm_(
            params, self.max_norm, norm_type=self.norm_type, error_if_nonfinite=self.error_if_nonfinite
        )


@dataclass(frozen=True)
class ClipGradByValue:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` (``torch.nn.utils.clip_grad_value_``)."""

    clip_value: float

    log_name = "grad_value"

    def __call__(self, params: Sequence[torch.Tensor]) -> torch.Tensor | None:
        """Clip in place; nothing to log (returns None)."""
        import torch

        torch.nn.utils.clip_grad_value_(params, self.clip_value)
        return None


class ClipGradNormConfig(Config):
    """Clip by the total gradient norm over all parameters that have a gradient."""

    type: Tag[Literal["norm"]] = "norm"
    max_norm: float = Field(1.0, gt=0.0, description="Largest allowed total gradient norm.")
    norm_type: float = Field(2.0, gt=0.0, description="p of the p-norm (use inf for the max norm).")
    error_if_nonfinite: bool = Field(False, description="Raise if the total norm is nan or inf.")

    def build(self) -> ClipGradByNorm:
        """The runtime clipper."""
        return ClipGradByNorm(self.max_norm, self.norm_type, self.error_if_nonfinite)


class ClipGradValueConfig(Config):
    """Clamp each gradient element to ``[-clip_value, clip_value]``."""

    type: Tag[Literal["value"]] = "value"
    clip_value: float = Field(1.0, gt=0.0, description="Largest allowed absolute gradient element.")

    def build(self) -> ClipGradByValue:
        """The runtime clipper."""
        return ClipGradByValue(self.clip_value)


ClipGradConfig = Annotated[
    Annotated[ClipGradNormConfig, tyro.conf.subcommand("norm")]
    | Annotated[ClipGradValueConfig, tyro.conf.subcommand("value")],
    Variants,
]
"""Gradient clipping: ``norm`` or ``value``."""
