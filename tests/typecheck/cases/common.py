"""A correct experiment the mistake files build on (mypy must accept this file as it is)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

import typedengine as te
from typedengine.loops.choices import TrainLoopConfig
from typedengine.loops.epoch_based import EpochBasedTrainLoopConfig

if TYPE_CHECKING:
    import torch


class Net(te.BaseModel):
    """A model with the BaseModel contract."""

    def forward(self, x: torch.Tensor, y: torch.Tensor, mode: str = "tensor") -> object:
        return x


class NetConfig(te.ModelConfig):
    """The user's model config."""

    width: int = Field(8, gt=0, description="Hidden width.")

    def build(self) -> Net:
        return Net()


class Exp(te.RunnerConfig):
    """An experiment root that narrows the model field."""

    model: NetConfig = NetConfig()
    train: TrainLoopConfig | None = EpochBasedTrainLoopConfig(max_epochs=3)
