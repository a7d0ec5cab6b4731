"""Mistake: a model config whose build() does not return a typedengine BaseModel."""

from __future__ import annotations

import torch
from pydantic import Field

import typedengine as te


class LinearConfig(te.ModelConfig):
    """Returns a plain torch module, which has no train_step/val_step."""

    features: int = Field(4, gt=0, description="Features.")

    def build(self) -> torch.nn.Linear:  # E: Return type "Linear" of "build" incompatible with return type "BaseModel" in supertype "typedengine.model.config.ModelConfig"  [override]
        return torch.nn.Linear(self.features, 2)
