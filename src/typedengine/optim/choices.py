"""The optim-wrapper union the root config holds: ``default``, ``amp`` or ``dict`` (several optimizers).

Example::

    optim_wrapper: OptimWrapperUnion | None = OptimWrapperConfig(optimizer=SGDConfig(lr=0.1))
    # CLI: optim-wrapper:amp --optim-wrapper.dtype bfloat16
"""

from __future__ import annotations

from typing import Annotated

import tyro

from ..config.base import Variants
from .amp import AmpOptimWrapperConfig
from .wrapper import OptimWrapperConfig
from .wrapper_dict import OptimWrapperDictConfig

__all__ = ["OptimWrapperUnion"]

OptimWrapperUnion = Annotated[
    Annotated[OptimWrapperConfig, tyro.conf.subcommand("default")]
    | Annotated[AmpOptimWrapperConfig, tyro.conf.subcommand("amp")]
    | Annotated[OptimWrapperDictConfig, tyro.conf.subcommand("dict")],
    Variants,
]
"""The optim wrapper of a run: default, AMP, or a dict of named wrappers."""
