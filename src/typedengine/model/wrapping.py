"""How the model is spread over ranks: ``none``, ``ddp`` (DistributedDataParallel) or ``fsdp`` (FSDP2).

``model_wrapper`` is a closed union; each member's ``build(model, device)`` moves the model to the rank's
device and wraps (or shards) it. In one process without a process group every strategy returns the
model unwrapped on its device, so the same experiment file runs under ``python`` and ``torchrun``.

Example::

    wrapped = DDPConfig(find_unused_parameters=True).build(model, info.device)
    log_vars = wrapped.train_step(batch, optim_wrapper)   # forward runs through DDP, gradients sync
    unwrap_model(wrapped) is model                        # True

:class:`DDPModel` keeps the runner's model contract (``train_step`` / ``val_step`` / ``test_step``). FSDP2's
``fully_shard`` changes the model in place (it stays the user's class), so it needs no wrapper class.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Literal

import torch
import tyro
from pydantic import Field
from torch import nn
from torch.nn.parallel import DataParallel, DistributedDataParallel

from typedengine.config.base import Config, Tag
from typedengine.config.errors import ConfigIssue
from typedengine.dist.failure import collective_failures
from typedengine.dist.ops import is_distributed

if TYPE_CHECKING:
    from typedengine.batches import DataBatch, StepOutputs
    from typedengine.model.base import BaseModel
    from typedengine.optim.wrapper import OptimWrapper

__all__ = [
    "DDPConfig",
    "DDPModel",
    "FSDPConfig",
    "ModelWrapperConfig",
    "NoWrapperConfig",
    "check_model_wrapper",
    "gradient_sync",
    "is_model_wrapper",
    "unwrap_model",
]

DtypeName = Literal["float32", "bfloat16", "float16"]


def _dtype(name: DtypeName | None) -> torch.dtype | None:
    return None if name is None else getattr(torch, name)  # "bfloat16" -> torch.bfloat16


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


class NoWrapperConfig(Config):
    """Train the model as it is, on the rank's device (one process, or data parallel done elsewhere)."""

    type: Tag[Literal["none"]] = "none"

    def build(self, model: nn.Module, device: torch.device) -> nn.Module:
        """The model moved to ``device``."""
        return model.to(device)


class DDPConfig(Config):
    """Replicate the model on every rank and average gradients in backward (DistributedDataParallel).

    Example::

        DDPConfig(find_unused_parameters=True, sync_bn=True)
    """

    type: Tag[Literal["ddp"]] = "ddp"
    find_unused_parameters: bool = Field(
        False,
        description="Allow parameters that get no gradient in a step (slower; needed for branching models).",
    )
    broadcast_buffers: bool = Field(
        True,
        description="Copy rank 0's buffers (e.g. BatchNorm statistics) to every rank before each forward.",
    )
    static_graph: bool = Field(
        False,
        description="Promise the set of used parameters never changes between steps (enables optimisations).",
    )
    gradient_as_bucket_view: bool = Field(
        False, description="Let gradients alias DDP's communication buckets (saves memory)."
    )
    sync_bn: bool = Field(
        False, description="Convert BatchNorm layers to SyncBatchNorm (statistics over the global batch)."
    )

    def build(self, model: nn.Module, device: torch.device) -> nn.Module:
        """A :class:`DDPModel` around ``model`` on ``device``; the model itself without a process group."""
        model = model.to(device)
        if not is_distributed():
            return model
        if self.sync_bn:
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)  # type: ignore[no-untyped-call]  # torch leaves it unannotated
        device_ids = (
            [device.index if device.index is not None else torch.cuda.current_device()]
            if device.type == "cuda"
            else None
        )
        wrap = functools.partial(
            DDPModel,
            model,
            device_ids=device_ids,
            find_unused_parameters=self.find_unused_parameters,
            static_graph=self.static_graph,
            gradient_as_bucket_view=self.gradient_as_bucket_view,
        )
        # torch 2.14 renamed the per-forward buffer sync; older releases only know `broadcast_buffers`
        if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters:
            return wrap(forward_sync_buffers=self.broadcast_buffers)
        return wrap(broadcast_buffers=self.broadcast_buffers)


class FSDPConfig(Config):
    """Shard parameters, gradients and optimizer state over the ranks with FSDP2 ``fully_shard`` (CUDA only).

    Each submodule whose class name is in ``shard_modules`` becomes its own shard unit (e.g. transformer
    blocks), then the root. Example::

        FSDPConfig(shard_modules=("Block",), param_dtype="bfloat16", reduce_dtype="float32")
    """

    type: Tag[Literal["fsdp"]] = "fsdp"
    shard_modules: tuple[str, ...] = Field(
        (), description="Class names of submodules sharded as separate units before the root."
    )
    param_dtype: DtypeName | None = Field(
        None, description="Dtype parameters are cast to for forward/backward (None: keep their dtype)."
    )
    reduce_dtype: DtypeName | None = Field(
        None, description="Dtype of the gradient reduce-scatter (None: the param dtype)."
    )
    reshard_after_forward: bool = Field(
        True,
        description="Free gathered parameters after forward (less memory, one more all-gather in backward).",
    )

    def build(self, model: nn.Module, device: torch.device) -> nn.Module:
        """``model`` sharded in place on ``device``; unsharded without a process group."""
        if device.type != "cuda":
            raise RuntimeError("model_wrapper: fsdp needs CUDA")
        model = model.to(device)
        if not is_distributed():
            return model
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        policy = MixedPrecisionPolicy(
            param_dtype=_dtype(self.param_dtype), reduce_dtype=_dtype(self.reduce_dtype)
        )
        wanted = set(self.shard_modules)
        found = {type(m).__name__ for m in model.modules()}
        missing = sorted(wanted - found)
        if missing:
            raise ValueError(
                f"model_wrapper.shard_modules: no submodule of class {missing} in {type(model).__name__}"
            )
        for name, sub in model.named_modules():
            if name and type(sub).__name__ in wanted:
                fully_shard(sub, mp_policy=policy, reshard_after_forward=self.reshard_after_forward)
        fully_shard(model, mp_policy=policy, reshard_after_forward=self.reshard_after_forward)
        return model


ModelWrapperConfig = Annotated[
    Annotated[NoWrapperConfig, tyro.conf.subcommand("none")]
    | Annotated[DDPConfig, tyro.conf.subcommand("ddp")]
    | Annotated[FSDPConfig, tyro.conf.subcommand("fsdp")],
    Field(discriminator="type"),
]
"""How to distribute the model: ``none``, ``ddp`` or ``fsdp`` (select with ``model-wrapper:NAME``)."""


def check_model_wrapper(
    cfg: NoWrapperConfig | DDPConfig | FSDPConfig, *, device_type: str, path: str = "model_wrapper"
) -> list[ConfigIssue]:
    """Problems of ``cfg`` on a ``device_type`` device (``"cuda"``, ``"cpu"``), found before the first batch."""
    issues: list[ConfigIssue] = []
    if isinstance(cfg, FSDPConfig) and device_type != "cuda":
        issues.append(ConfigIssue(path, "fsdp needs CUDA"))
    if isinstance(cfg, DDPConfig) and cfg.sync_bn and device_type != "cuda":
        issues.append(ConfigIssue(f"{path}.sync_bn", "SyncBatchNorm needs CUDA; set sync_bn=False on CPU"))
    return issues


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
    - FSDP2: calls ``set_requires_gradient_sync(enabled)``, which stays in force for the following
      backward (FSDP2 decides at backward time), so it is deliberately not restored on exit;
    - anything else: no effect.
    """
    from torch.distributed.fsdp import FSDPModule

    if isinstance(model, DistributedDataParallel) and not enabled:
        with model.no_sync():
            yield
        return
    if isinstance(model, FSDPModule):
        model.set_requires_gradient_sync(enabled)
    yield
