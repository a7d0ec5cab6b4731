"""The closed set of built-in visualisation backends, as one discriminated union."""

from __future__ import annotations

from typing import Annotated

import tyro

from ...config.base import Variants
from .local import LocalBackendConfig
from .mlflow import MlflowBackendConfig
from .tensorboard import TensorboardBackendConfig
from .wandb import WandbBackendConfig

__all__ = ["OPTIONAL_PACKAGES", "VisBackendConfig"]

VisBackendConfig = Annotated[
    Annotated[LocalBackendConfig, tyro.conf.subcommand("local")]
    | Annotated[TensorboardBackendConfig, tyro.conf.subcommand("tensorboard")]
    | Annotated[MlflowBackendConfig, tyro.conf.subcommand("mlflow")]
    | Annotated[WandbBackendConfig, tyro.conf.subcommand("wandb")],
    Variants,
]
"""One backend: ``local``, ``tensorboard``, ``mlflow`` or ``wandb`` (JSON: ``{"type": "mlflow", ...}``)."""

OPTIONAL_PACKAGES: dict[str, tuple[str, str]] = {
    "tensorboard": ("tensorboard", "tensorboard"),
    "mlflow": ("mlflow", "mlflow"),
    "wandb": ("wandb", "wandb"),
}
"""backend type → (module that must be importable, typedengine extra that installs it)."""
