"""Runtime side of FSDP2 (``fully_shard``): full state dicts for checkpoints, and local gradient shards.

A sharded model's ``state_dict()`` holds DTensor shards, which a checkpoint file cannot store (and which
would tie the file to one world size). Checkpoints of a sharded model therefore hold **full** tensors:
:func:`full_model_state` / :func:`full_optimizer_state` gather them to rank 0 on the CPU (collectives:
every rank calls them; ranks other than 0 get empty dicts) and :func:`load_full_model_state` /
:func:`load_full_optimizer_state` shard them back on every rank. The file is an ordinary checkpoint: it
loads with ``torch.load(weights_only=True)``, into an unsharded model (``load_from``), or into a run with a
different number of ranks. Optimizer state is keyed by parameter name (``"net.0.weight"``), as
``torch.distributed.checkpoint.state_dict`` writes it, not by index.

Gradients accumulated inside a window (a checkpoint between micro-batches) are sharded too: they are
saved per rank as local shards (:func:`local_grad`) and put back with :func:`set_local_grad`, so a resume
on the same number of ranks is exact.

The whole state is gathered on rank 0; a model whose full state does not fit in rank 0's CPU memory
needs sharded checkpoint files (``torch.distributed.checkpoint``), which typedengine does not write yet.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from torch.distributed.checkpoint.state_dict import StateDictOptions

__all__ = [
    "full_model_state",
    "full_optimizer_state",
    "is_fully_sharded",
    "load_full_model_state",
    "load_full_optimizer_state",
    "local_grad",
    "set_local_grad",
]


def is_fully_sharded(model: nn.Module) -> bool:
    """True when ``fully_shard`` was applied to ``model`` (its root)."""
    fsdp = sys.modules.get("torch.distributed.fsdp")
    if fsdp is None:  # nothing is sharded before FSDP is imported (and importing it here would cost time)
        return False
    return isinstance(model, fsdp.FSDPModule)


def _options(*, gather: bool, strict: bool = True) -> StateDictOptions:
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    # gathering: full tensors, on the CPU, on rank 0 only; loading: every rank passes the full tensors
    return StateDictOptions(full_state_dict=True, cpu_offload=gather, strict=strict)


def full_model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The full (unsharded) weights of a sharded ``model`` on rank 0's CPU; ``{}`` on other ranks. Collective."""
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    state = get_model_state_dict(model, options=_options(gather=True))
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def load_full_model_state(model: nn.Module, state: Mapping[str, torch.Tensor], *, strict: bool) -> None:
    """Shard full weights (the same on every rank) into ``model``. Collective."""
    from torch.distributed.checkpoint.state_dict import set_model_state_dict

    set_model_state_dict(model, dict(state), options=_options(gather=False, strict=strict))


def full_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, object]:
    """``optimizer``'s full state (``state`` and ``param_groups`` keyed by parameter name) on rank 0. Collective."""
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

    return dict(get_optimizer_state_dict(model, optimizer, options=_options(gather=True)))


def load_full_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer, state: Mapping[str, object]) -> None:
    """Shard a full optimizer state (from :func:`full_optimizer_state`) into ``optimizer``. Collective."""
    from torch.distributed.checkpoint.state_dict import set_optimizer_state_dict

    wanted = {k: state[k] for k in ("state", "param_groups") if k in state}
    set_optimizer_state_dict(model, optimizer, wanted, options=_options(gather=False))  # type: ignore[arg-type]  # torch types it as its own TypedDict


def local_grad(param: nn.Parameter) -> torch.Tensor | None:
    """This rank's part of ``param.grad`` (a copy): the local shard of a DTensor gradient, else the gradient."""
    grad = param.grad
    if grad is None:
        return None
    to_local = getattr(grad, "to_local", None)
    local = to_local() if callable(to_local) else grad
    assert isinstance(local, torch.Tensor)
    return local.detach().clone()


def set_local_grad(param: nn.Parameter, local: torch.Tensor) -> None:
    """Set ``param.grad`` from this rank's part (wrapped back into a DTensor for a sharded parameter)."""
    mesh = getattr(param, "device_mesh", None)
    if mesh is None:
        param.grad = local.to(device=param.device, dtype=param.dtype)
        return
    from torch.distributed.tensor import DTensor

    assert isinstance(param, DTensor)
    shard = local.to(device=param.to_local().device, dtype=param.dtype)
    param.grad = DTensor.from_local(shard, mesh, param.placements, shape=param.shape, stride=param.stride())
