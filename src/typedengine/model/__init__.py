"""Models: the BaseModel contract, ModelConfig, data preprocessors and distributed wrapping."""

from .base import BaseModel, ForwardMode
from .config import ModelConfig
from .preprocessor import BaseDataPreprocessorConfig, DataPreprocessorConfig, ImgDataPreprocessorConfig
from .wrapping import DDPConfig, FSDPConfig, ModelWrapperConfig, NoWrapperConfig, is_model_wrapper, unwrap_model

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
