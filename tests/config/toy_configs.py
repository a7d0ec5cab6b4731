"""A small config tree with the shapes RunnerConfig has: unions, optional slots, tuples, a JSON list,
an import ref, a generic dataloader, and a cross-field validator that reports several problems at once."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Generic, Literal, TypeVar

import tyro
from pydantic import Field, model_validator

from typedengine.config.base import Config, Tag
from typedengine.config.errors import ConfigIssue, ConfigProblems
from typedengine.config.json_args import JsonList
from typedengine.config.refs import ImportRef


class SGD(Config):
    """Stochastic gradient descent."""

    type: Tag[Literal["sgd"]] = "sgd"
    lr: float = Field(0.1, gt=0, description="Learning rate.")
    momentum: float = Field(0.0, ge=0, lt=1, description="Momentum.")


class AdamW(Config):
    """Adam with decoupled weight decay."""

    type: Tag[Literal["adamw"]] = "adamw"
    lr: float = Field(1e-3, gt=0, description="Learning rate.")
    weight_decay: float = Field(0.01, ge=0, description="Weight decay.")


Optimizer = Annotated[
    Annotated[SGD, tyro.conf.subcommand("sgd")] | Annotated[AdamW, tyro.conf.subcommand("adamw")],
    Field(discriminator="type"),
]


class OptimWrapper(Config):
    """Optimizer and how it steps."""

    optimizer: Optimizer = Field(SGD(), description="The optimizer.")
    accumulative_counts: int = Field(1, ge=1, description="Gradient accumulation steps.")
    max_norm: float = Field(math.inf, gt=0, description="Gradient clipping norm (inf: off).")


class EpochLoop(Config):
    """Epoch-based training."""

    type: Tag[Literal["epoch"]] = "epoch"
    max_epochs: int = Field(10, ge=1, description="Epochs to train.")
    val_begin: int = Field(1, ge=1, description="First epoch that validates.")


class IterLoop(Config):
    """Iteration-based training."""

    type: Tag[Literal["iter"]] = "iter"
    max_iters: int = Field(1000, ge=1, description="Iterations to train.")


TrainLoop = Annotated[
    Annotated[EpochLoop, tyro.conf.subcommand("epoch-based")] | Annotated[IterLoop, tyro.conf.subcommand("iter-based")],
    Field(discriminator="type"),
]


class CheckpointHook(Config):
    """Saves checkpoints."""

    type: Tag[Literal["checkpoint"]] = "checkpoint"
    interval: int = Field(1, ge=1, description="Save every N epochs.")
    save_last: bool = Field(True, description="Also save after the last epoch.")


class EMAHook(Config):
    """Moving average of the weights."""

    type: Tag[Literal["ema"]] = "ema"
    momentum: float = Field(0.0002, gt=0, lt=1, description="EMA momentum.")


Hook = Annotated[
    Annotated[CheckpointHook, tyro.conf.subcommand("checkpoint")] | Annotated[EMAHook, tyro.conf.subcommand("ema")],
    Field(discriminator="type"),
]


class DefaultHooks(Config):
    """Named hook slots."""

    checkpoint: CheckpointHook | None = Field(CheckpointHook(), description="Checkpoint slot.")
    ema: EMAHook | None = Field(None, description="EMA slot (off).")


class DatasetBase(Config):
    """Base of dataset configs."""


class Squares(DatasetBase):
    """A toy dataset."""

    size: int = Field(100, ge=1, description="Number of samples.")


D = TypeVar("D", bound=DatasetBase)


class Loader(Config, Generic[D]):
    """A dataloader over a typed dataset."""

    dataset: D = Field(description="The dataset.")
    batch_size: int = Field(8, ge=1, description="Samples per batch.")


def relu(x: float) -> float:
    """Module-level function used as an ImportRef default."""
    return max(0.0, x)


class Toy(Config):
    """A toy experiment."""

    work_dir: Path = Field(Path("work_dirs/toy"), description="Output directory.")
    seed: int | None = Field(None, description="Random seed (None: random).")
    train: TrainLoop = Field(EpochLoop(), description="Training loop.")
    optim_wrapper: OptimWrapper = Field(OptimWrapper(), description="Optimizer wrapper.")
    default_hooks: DefaultHooks = Field(DefaultHooks(), description="Default hooks.")
    custom_hooks: JsonList[Hook] = Field((), description="Extra hooks as a JSON list.")
    milestones: tuple[int, ...] = Field((3, 6), description="Epochs where the LR drops.")
    activation: ImportRef[Callable[[float], float]] = Field(relu, description="Activation function.")
    train_dataloader: Loader[Squares] = Field(Loader[Squares](dataset=Squares()), description="Training data.")

    @model_validator(mode="after")
    def _cross(self) -> Toy:
        issues: list[ConfigIssue] = []
        if isinstance(self.train, EpochLoop):
            if self.train.val_begin > self.train.max_epochs:
                issues.append(ConfigIssue("train.val_begin", f"must be <= train.max_epochs ({self.train.max_epochs})"))
            late = [m for m in self.milestones if m > self.train.max_epochs]
            if late:
                issues.append(ConfigIssue("milestones", f"{late} lie after the last epoch ({self.train.max_epochs})"))
        if issues:
            raise ConfigProblems(issues)
        return self


class Required(Config):
    """A root with a required field."""

    name: str = Field(description="Run name (required).")
    epochs: int = Field(3, ge=1, description="Epochs.")
