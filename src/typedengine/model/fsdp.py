"""FSDP2 (``fully_shard``): :class:`FSDPConfig`, full state dicts for checkpoints, and local gradient shards.

:class:`FSDPConfig` is a member of the ``model_wrapper`` union, so the config layer imports this module:
torch is imported inside the functions, never at module level (``--help`` must not pay for torch).

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
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from typedengine.config.base import Config, Tag

if TYPE_CHECKING:
    import torch
    from torch import nn
    from torch.distributed.checkpoint.state_dict import StateDictOptions

__all__ = [
    "DtypeName",
    "FSDPConfig",
    "full_model_state",
    "full_optimizer_state",
    "is_fully_sharded",
    "load_full_model_state",
    "load_full_optimizer_state",
    "local_grad",
    "set_local_grad",
]


DtypeName = Literal["float32", "bfloat16", "float16"]


def _dtype(name: DtypeName | None) -> torch.dtype | None:
    import torch

    return None if name is None else getattr(torch, name)  # "bfloat16" -> torch.bfloat16


class FSDPConfig(Config):
    """Shard parameters, gradients and optimizer state over the ranks with FSDP2 ``fully_shard``.

    Works on CUDA (NCCL) and on the CPU (gloo: for debugging and tests). Checkpoints hold full tensors,
    gathered to rank 0 (see :func:`full_model_state`).

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
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        from typedengine.distributed.ops import is_distributed

        model = model.to(device)
        if not is_distributed():
            return model

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
    import torch
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    state = get_model_state_dict(model, options=_options(gather=True))
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def load_full_model_state(model: nn.Module, state: Mapping[str, torch.Tensor], *, strict: bool) -> None:
    """Shard full weights (the same on every rank) into ``model``. Collective."""
    from torch.distributed.checkpoint.state_dict import set_model_state_dict

    set_model_state_dict(model, dict(state), options=_options(gather=False, strict=strict))


def _param_names(model: nn.Module) -> dict[int, str]:
    return {id(p): name for name, p in model.named_parameters()}


def full_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, object]:
    """``optimizer``'s full state (``state`` and ``param_groups`` keyed by parameter name) on rank 0. Collective.

    An optimizer that has not stepped yet (no state, the same on every rank) is described directly:
    torch's gatherer would first create its state by stepping with zero gradients, which changes the
    state of optimizers such as Adam with weight decay — saving must not change training.
    """
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

    if not optimizer.state:
        names = _param_names(model)
        groups = [
            {**{k: v for k, v in g.items() if k != "params"}, "params": [names[id(p)] for p in g["params"]]}
            for g in optimizer.param_groups
        ]
        return {"state": {}, "param_groups": groups}
    return dict(get_optimizer_state_dict(model, optimizer, options=_options(gather=True)))


def _named(model: nn.Module, optimizer: torch.optim.Optimizer, state: Mapping[str, object]) -> dict[str, object]:
    """``state`` with parameters named; an index-keyed state (``optimizer.state_dict()`` of an unsharded
    run) is renamed by position, as ``Optimizer.load_state_dict`` matches parameters."""
    groups = state.get("param_groups")
    per_param = state.get("state")
    if not isinstance(groups, list) or not isinstance(per_param, Mapping):
        raise TypeError("an optimizer state needs 'state' (a dict) and 'param_groups' (a list)")
    if not any(isinstance(i, int) for g in groups for i in g["params"]):
        return {"state": dict(per_param), "param_groups": groups}
    if len(groups) != len(optimizer.param_groups):
        raise ValueError(f"the optimizer state has {len(groups)} param groups, the optimizer {len(optimizer.param_groups)}")
    names = _param_names(model)
    rename: dict[object, str] = {}
    for saved, current in zip(groups, optimizer.param_groups):
        if len(saved["params"]) != len(current["params"]):
            raise ValueError("the optimizer state's param groups do not match the optimizer's (parameter counts differ)")
        rename.update((i, names[id(p)]) for i, p in zip(saved["params"], current["params"]))
    return {
        "state": {rename[k]: v for k, v in per_param.items()},
        "param_groups": [{**g, "params": [rename[i] for i in g["params"]]} for g in groups],
    }


def load_full_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer, state: Mapping[str, object]) -> None:
    """Shard a full optimizer state (from :func:`full_optimizer_state`, or an index-keyed one saved by an
    unsharded run) into ``optimizer``. Collective."""
    from torch.distributed.checkpoint.state_dict import set_optimizer_state_dict

    named = _named(model, optimizer, state)
    if not named["state"]:  # nothing to shard: only the hyperparameters (torch's loader would step first)
        for saved, group in zip(named["param_groups"], optimizer.param_groups):  # type: ignore[call-overload]  # a list of dicts
            group.update({k: v for k, v in saved.items() if k != "params"})
        return
    set_optimizer_state_dict(model, optimizer, named, options=_options(gather=False))  # type: ignore[arg-type]  # torch types it as its own TypedDict


def local_grad(param: nn.Parameter) -> torch.Tensor | None:
    """This rank's part of ``param.grad`` (a copy): the local shard of a DTensor gradient, else the gradient."""
    import torch

    grad = param.grad
    if grad is None:
        return None
    to_local = getattr(grad, "to_local", None)
    local = to_local() if callable(to_local) else grad
    assert isinstance(local, torch.Tensor)
    return local.detach().clone()


def set_local_grad(param: nn.Parameter, local: torch.Tensor) -> None:
    """Set ``param.grad`` from this rank's part (wrapped back into a DTensor for a sharded parameter).

    Raises :class:`ValueError` when ``local`` does not have the shape of this rank's part (a gradient
    saved under another sharding or number of ranks).
    """
    mesh = getattr(param, "device_mesh", None)
    to_local = getattr(param, "to_local", None)
    expected = tuple(to_local().shape) if mesh is not None and callable(to_local) else tuple(param.shape)
    if tuple(local.shape) != expected:
        raise ValueError(f"a gradient of shape {tuple(local.shape)} does not fit this rank's parameter {expected}")
    if mesh is None:
        param.grad = local.to(device=param.device, dtype=param.dtype)
        return
    from torch.distributed.tensor import DTensor

    assert isinstance(param, DTensor)
    shard = local.to(device=param.to_local().device, dtype=param.dtype)
    param.grad = DTensor.from_local(shard, mesh, param.placements, shape=param.shape, stride=param.stride())
