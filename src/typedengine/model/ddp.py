"""Runtime side of model wrapping: :class:`DDPModel`, unwrapping, and gradient-sync control.

The configs that build these live in :mod:`typedengine.model.wrapping` (importable without torch).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn.parallel import DataParallel, DistributedDataParallel

from typedengine.distributed.failure import collective_failures

if TYPE_CHECKING:
    from typedengine.batches import DataBatch, StepOutputs
    from typedengine.model.base import BaseModel
    from typedengine.optim.wrapper import OptimWrapper

__all__ = ["DDPModel", "gradient_sync", "is_model_wrapper", "unwrap_model"]


def _base_model(module: nn.Module) -> BaseModel:
    from typedengine.model.base import BaseModel

    if not isinstance(module, BaseModel):
        raise TypeError(
            f"train_step/val_step/test_step need a typedengine BaseModel inside DDP, got {type(module).__name__}"
        )
    return module


class DDPModel(DistributedDataParallel):
    """DistributedDataParallel that keeps the runner's step API; ``train_step`` forwards through DDP.

    ``module`` must be a :class:`typedengine.model.base.BaseModel` for the step methods (plain modules can
    still be called directly). Validation and test steps call the inner model: no gradient sync needed.
    """

    def train_step(self, data: DataBatch, optim_wrapper: OptimWrapper) -> dict[str, torch.Tensor]:
        """Preprocess, forward in ``loss`` mode through DDP (inside ``optim_context``), parse, update."""
        model = _base_model(self.module)
        with collective_failures("DDP train_step (buffer broadcast / gradient all-reduce)"):
            with optim_wrapper.optim_context(self):
                batch = model.data_preprocessor(data, True)
                losses = self._forward_through_ddp(batch)
            loss, log_vars = model.parse_losses(losses)
            optim_wrapper.update_params(loss)
        return log_vars

    def _forward_through_ddp(self, batch: object) -> object:
        result: object
        if isinstance(batch, Mapping):
            result = self(**batch, mode="loss")
        elif isinstance(batch, (list, tuple)):
            result = self(*batch, mode="loss")
        else:
            result = self(batch, mode="loss")
        return result

    def val_step(self, data: DataBatch) -> StepOutputs:
        """The inner model's ``val_step`` (``predict`` mode)."""
        return _base_model(self.module).val_step(data)

    def test_step(self, data: DataBatch) -> StepOutputs:
        """The inner model's ``test_step`` (``predict`` mode)."""
        return _base_model(self.module).test_step(data)


def is_model_wrapper(model: nn.Module) -> bool:
    """True for a module that wraps the user's model (DDP, DataParallel, ``torch.compile``)."""
    return isinstance(model, (DistributedDataParallel, DataParallel)) or _compiled_inner(model) is not None


def _compiled_inner(model: nn.Module) -> nn.Module | None:
    inner = getattr(model, "_orig_mod", None)  # torch.compile's OptimizedModule keeps the original here
    return inner if isinstance(inner, nn.Module) else None


def unwrap_model(model: nn.Module) -> nn.Module:
    """The user's model inside any number of wrappers (itself when not wrapped, or sharded by FSDP2)."""
    while True:
        if isinstance(model, (DistributedDataParallel, DataParallel)):
            model = model.module
            continue
        inner = _compiled_inner(model)
        if inner is None:
            return model
        model = inner


@contextmanager
def gradient_sync(model: nn.Module, enabled: bool) -> Iterator[None]:
    """Forward (and the backward that follows) with or without the gradient all-reduce (accumulation).

    Wrap the forward of each micro-batch, with ``enabled`` true only for the last one of a window:

    - DDP: ``enabled=False`` enters ``no_sync()`` (DDP decides at forward time);
    - FSDP2: no effect — every micro-batch's gradients are reduce-scattered and accumulate as shards.
      Skipping the reduce-scatter would keep a full-size gradient per rank (what FSDP exists to avoid)
      and hold it inside FSDP, out of reach of a checkpoint taken between micro-batches;
    - any other module with a ``no_sync()`` context (a DDP-like wrapper of your own): entered likewise;
    - anything else: no effect.
    """
    from .fsdp import is_fully_sharded

    if is_fully_sharded(model):
        yield
        return
    no_sync = getattr(model, "no_sync", None)
    if not enabled and callable(no_sync):
        with no_sync():
            yield
        return
    yield
