"""Data preprocessor configs: move a batch to the model's device (and normalise images) inside ``train_step``.

The runner never touches batches; the model's ``data_preprocessor`` does, so the same code runs on CPU,
one GPU or under DDP. The modules these configs build are ``nn.Module`` subclasses, so they live in the
sibling :mod:`typedengine.model.preprocessor_modules` (which imports torch); this module is part of the
config layer (the root config's ``data_preprocessor`` field) and imports them only in ``build()``. The
arrow points one way: the modules never import the configs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import tyro
from pydantic import Field, model_validator

from ..config.base import Config, Tag, Variants

if TYPE_CHECKING:
    import torch

__all__ = ["BaseDataPreprocessorConfig", "DataPreprocessorConfig", "ImgDataPreprocessorConfig"]


class BaseDataPreprocessorConfig(Config):
    """Moves every tensor of the batch to the model's device; nothing else."""

    type: Tag[Literal["base"]] = "base"
    non_blocking: bool = Field(False, description="Use non-blocking host-to-device copies (pinned memory).")

    def build(self) -> torch.nn.Module:
        from .preprocessor_modules import BaseDataPreprocessor

        return BaseDataPreprocessor(non_blocking=self.non_blocking)


class ImgDataPreprocessorConfig(Config):
    """Images: optional channel flip, float cast, mean/std normalisation, padding to a size divisor."""

    type: Tag[Literal["img"]] = "img"
    mean: tuple[float, ...] | None = Field(None, description="Per-channel mean (1 or 3 values), or None.")
    std: tuple[float, ...] | None = Field(None, description="Per-channel std (1 or 3 values), or None.")
    pad_size_divisor: int = Field(1, ge=1, description="Pad H and W up to a multiple of this.")
    pad_value: float = Field(0.0, description="Value of padded pixels (in normalised space).")
    bgr_to_rgb: bool = Field(False, description="Reverse channel order BGR -> RGB before normalising.")
    rgb_to_bgr: bool = Field(False, description="Reverse channel order RGB -> BGR before normalising.")
    non_blocking: bool = Field(False, description="Use non-blocking host-to-device copies.")

    @model_validator(mode="after")
    def _check(self) -> ImgDataPreprocessorConfig:
        if (self.mean is None) != (self.std is None):
            raise ValueError("mean and std must be given together")
        for name, v in (("mean", self.mean), ("std", self.std)):
            if v is not None and len(v) not in (1, 3):
                raise ValueError(f"{name} must have 1 or 3 values, got {len(v)}")
        if self.std is not None and any(s == 0 for s in self.std):
            raise ValueError("std must not contain 0")
        if self.bgr_to_rgb and self.rgb_to_bgr:
            raise ValueError("bgr_to_rgb and rgb_to_bgr are mutually exclusive")
        return self

    def build(self) -> torch.nn.Module:
        from .preprocessor_modules import ImgDataPreprocessor

        return ImgDataPreprocessor(
            mean=self.mean,
            std=self.std,
            pad_size_divisor=self.pad_size_divisor,
            pad_value=self.pad_value,
            flip_channels=self.bgr_to_rgb or self.rgb_to_bgr,
            non_blocking=self.non_blocking,
        )


DataPreprocessorConfig = Annotated[
    Annotated[BaseDataPreprocessorConfig, tyro.conf.subcommand("base")] | Annotated[ImgDataPreprocessorConfig, tyro.conf.subcommand("img")],
    Variants,
]
"""The built-in preprocessors (``data_preprocessor:base`` / ``data_preprocessor:img``)."""
