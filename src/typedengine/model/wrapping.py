"""How the model is spread over ranks: ``none``, ``ddp`` (DistributedDataParallel) or ``fsdp`` (FSDP2).

``model_wrapper`` is a closed union; each member's ``build(model, device)`` moves the model to the rank's
device and wraps (or shards) it. In one process without a process group every strategy returns the
model unwrapped on its device, so the same experiment file runs under ``python`` and ``torchrun``.

Example::

    wrapped = DDPConfig(find_unused_parameters=True).build(model, info.device)
    log_vars = wrapped.train_step(batch, optim_wrapper)   # forward runs through DDP, gradients sync
    unwrap_model(wrapped) is model                        # True

:class:`~typedengine.model.ddp.DDPModel` keeps the runner's model contract (``train_step`` / ``val_step`` / ``test_step``). FSDP2's
``fully_shard`` changes the model in place (it stays the user's class), so it needs no wrapper class.

Where the members live: :class:`~typedengine.model.fsdp.FSDPConfig` sits in :mod:`typedengine.model.fsdp`,
beside the FSDP code it drives (that module imports torch inside functions only). ``none`` and
:class:`DDPConfig` stay here, beside the union: the class ``DDPConfig`` builds, ``DDPModel``, subclasses
``DistributedDataParallel``, so :mod:`typedengine.model.ddp` imports torch when it is imported, and the
config layer (what ``--help`` and ``--plan`` import) must not.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Annotated, Literal

import tyro
from pydantic import Field

from typedengine.config.base import Config, Tag, Variants
from typedengine.config.errors import ConfigIssue

from .fsdp import FSDPConfig

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = [
    "DDPConfig",
    "ModelWrapperConfig",
    "NoWrapperConfig",
    "check_model_wrapper",
]


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
        import torch
        from torch import nn
        from torch.nn.parallel import DistributedDataParallel

        from typedengine.distributed.ops import is_distributed

        from .ddp import DDPModel

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


ModelWrapperConfig = Annotated[
    Annotated[NoWrapperConfig, tyro.conf.subcommand("none")]
    | Annotated[DDPConfig, tyro.conf.subcommand("ddp")]
    | Annotated[FSDPConfig, tyro.conf.subcommand("fsdp")],
    Variants,
]
"""How to distribute the model: ``none``, ``ddp`` or ``fsdp`` (select with ``model-wrapper:NAME``)."""


def check_model_wrapper(
    cfg: NoWrapperConfig | DDPConfig | FSDPConfig, *, device_type: str, path: str = "model_wrapper"
) -> list[ConfigIssue]:
    """Problems of ``cfg`` on a ``device_type`` device (``"cuda"``, ``"cpu"``), found before the first batch."""
    issues: list[ConfigIssue] = []
    if isinstance(cfg, DDPConfig) and cfg.sync_bn and device_type != "cuda":
        issues.append(ConfigIssue(f"{path}.sync_bn", "SyncBatchNorm needs CUDA; set sync_bn=False on CPU"))
    return issues
