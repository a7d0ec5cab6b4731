"""Models: the BaseModel contract, ModelConfig, data preprocessors and distributed wrapping."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_imports import lazy_getattr

_EXPORTS: dict[str, str] = {
    "BaseModel": ".base",
    "ForwardMode": ".base",
    "ModelConfig": ".config",
    "BaseDataPreprocessorConfig": ".preprocessor",
    "DataPreprocessorConfig": ".preprocessor",
    "ImgDataPreprocessorConfig": ".preprocessor",
    "DDPConfig": ".wrapping",
    "FSDPConfig": ".fsdp",
    "ModelWrapperConfig": ".wrapping",
    "NoWrapperConfig": ".wrapping",
    "is_model_wrapper": ".ddp",
    "unwrap_model": ".ddp",
}

__all__ = [
    "BaseDataPreprocessorConfig",
    "BaseModel",
    "DDPConfig",
    "DataPreprocessorConfig",
    "FSDPConfig",
    "ForwardMode",
    "ImgDataPreprocessorConfig",
    "ModelConfig",
    "ModelWrapperConfig",
    "NoWrapperConfig",
    "is_model_wrapper",
    "unwrap_model",
]

if TYPE_CHECKING:
    from .base import BaseModel as BaseModel
    from .base import ForwardMode as ForwardMode
    from .config import ModelConfig as ModelConfig
    from .ddp import is_model_wrapper as is_model_wrapper
    from .ddp import unwrap_model as unwrap_model
    from .fsdp import FSDPConfig as FSDPConfig
    from .preprocessor import BaseDataPreprocessorConfig as BaseDataPreprocessorConfig
    from .preprocessor import DataPreprocessorConfig as DataPreprocessorConfig
    from .preprocessor import ImgDataPreprocessorConfig as ImgDataPreprocessorConfig
    from .wrapping import DDPConfig as DDPConfig
    from .wrapping import ModelWrapperConfig as ModelWrapperConfig
    from .wrapping import NoWrapperConfig as NoWrapperConfig

__getattr__ = lazy_getattr(__name__, _EXPORTS)
