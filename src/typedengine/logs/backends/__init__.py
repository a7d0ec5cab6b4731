"""Visualisation backends: local files, TensorBoard, MLflow, W&B."""

from .base import VisBackend as VisBackend
from .choices import OPTIONAL_PACKAGES as OPTIONAL_PACKAGES
from .choices import VisBackendConfig as VisBackendConfig
from .local import LocalBackend as LocalBackend
from .local import LocalBackendConfig as LocalBackendConfig
from .mlflow import MlflowBackend as MlflowBackend
from .mlflow import MlflowBackendConfig as MlflowBackendConfig
from .tensorboard import TensorboardBackend as TensorboardBackend
from .tensorboard import TensorboardBackendConfig as TensorboardBackendConfig
from .wandb import WandbBackend as WandbBackend
from .wandb import WandbBackendConfig as WandbBackendConfig

__all__ = [
    "OPTIONAL_PACKAGES",
    "LocalBackend",
    "LocalBackendConfig",
    "MlflowBackend",
    "MlflowBackendConfig",
    "TensorboardBackend",
    "TensorboardBackendConfig",
    "VisBackend",
    "VisBackendConfig",
    "WandbBackend",
    "WandbBackendConfig",
]
