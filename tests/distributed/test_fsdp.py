"""FSDP2 (fully_shard) trains like the unsharded model: on the CPU with gloo, and on CUDA with NCCL when present."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from tests.distributed.dist_harness import run_ranks
from typedengine.distributed.ops import get_rank, get_world_size
from typedengine.model.base import BaseModel
from typedengine.model.ddp import unwrap_model
from typedengine.model.fsdp import FSDPConfig
from typedengine.optim.wrapper import OptimWrapper


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(16, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(x)) + x


class _Net(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.inp = nn.Linear(6, 16)
        self.blocks = nn.Sequential(Block(), Block())
        self.out = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor, y: torch.Tensor, mode: str = "tensor") -> object:
        pred = self.out(self.blocks(self.inp(x)))
        return {"loss": F.mse_loss(pred, y)} if mode == "loss" else pred


def _data(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(4 * 32, 6, generator=g).to(device), torch.randn(4 * 32, 3, generator=g).to(device)


def _fsdp_vs_plain(device_type: str, accumulate: int = 1) -> dict[str, Any]:
    """4 micro-batches of 32 samples (16 per rank), one optimizer step every ``accumulate`` of them."""
    rank, world = get_rank(), get_world_size()
    device = torch.device("cuda", torch.cuda.current_device()) if device_type == "cuda" else torch.device("cpu")
    x, y = _data(device)
    global_batch = 32
    local = global_batch // world

    sharded = FSDPConfig(shard_modules=("Block",)).build(_Net(), device)
    opt = torch.optim.SGD(sharded.parameters(), lr=0.05)
    wrapper = OptimWrapper(opt, accumulative_counts=accumulate)
    wrapper.initialize_count_status(sharded, 0, 4)
    for step in range(4):
        rows = slice(step * global_batch + rank * local, step * global_batch + (rank + 1) * local)
        sharded.train_step({"x": x[rows], "y": y[rows]}, wrapper)  # type: ignore[operator]
    full = {k: v.full_tensor().cpu() for k, v in sharded.state_dict().items()}  # DTensor shards → full

    plain = _Net().to(device)
    popt = torch.optim.SGD(plain.parameters(), lr=0.05)
    for step in range(4):
        rows = slice(step * global_batch, (step + 1) * global_batch)
        loss = F.mse_loss(plain(x[rows], y[rows]), y[rows])
        (loss / accumulate).backward()
        if (step + 1) % accumulate == 0:
            popt.step()
            popt.zero_grad()
    return {
        "fsdp": full,
        "plain": {k: v.detach().cpu() for k, v in plain.state_dict().items()},
        "unwrapped_is_model": unwrap_model(sharded) is sharded,
    }


@pytest.mark.parametrize("accumulate", [1, 2])
def test_fsdp_matches_unsharded_training_on_cpu_with_gloo(accumulate: int) -> None:
    """With accumulation too: every micro-batch is reduce-scattered and the shards add up."""
    for res in run_ranks(_fsdp_vs_plain, 2, "cpu", accumulate, backend="gloo", wall_timeout_s=180):
        assert res["unwrapped_is_model"]
        for name, value in res["plain"].items():
            torch.testing.assert_close(res["fsdp"][name], value, atol=1e-5, rtol=1e-5)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fsdp_matches_unsharded_training() -> None:
    world = min(2, torch.cuda.device_count())
    for res in run_ranks(_fsdp_vs_plain, world, "cuda", backend="nccl"):
        assert res["unwrapped_is_model"]
        for name, value in res["plain"].items():
            torch.testing.assert_close(res["fsdp"][name], value, atol=1e-5, rtol=1e-5)


def _optimizer_states() -> dict[str, Any]:
    """Save/load of a sharded AdamW (weight decay) through OptimWrapper on two gloo ranks."""
    import torch.distributed as dist

    rank, world = get_rank(), get_world_size()
    cpu = torch.device("cpu")
    x, y = _data(cpu)

    def sharded_adamw() -> tuple[nn.Module, OptimWrapper]:
        model = FSDPConfig(shard_modules=("Block",)).build(_Net(), cpu)
        wrapper = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1))
        wrapper.sharded_model = model
        return model, wrapper

    model, wrapper = sharded_adamw()
    fresh_state = wrapper.state_dict()  # before any step: must not create (and so change) the state
    untouched = not wrapper.optimizer.state
    for step in range(2):
        rows = slice(step * 32 + rank * 16, step * 32 + (rank + 1) * 16)
        model.train_step({"x": x[rows], "y": y[rows]}, wrapper)  # type: ignore[operator]
    saved = [wrapper.state_dict()]  # full on rank 0, {} elsewhere
    dist.broadcast_object_list(saved, src=0)
    model2, wrapper2 = sharded_adamw()
    wrapper2.load_state_dict(saved[0])

    def local_states(w: OptimWrapper, m: nn.Module) -> dict[str, torch.Tensor]:
        params = dict(m.named_parameters())
        return {
            f"{name}.{key}": value.to_local().clone() if hasattr(value, "to_local") else value.clone()
            for name, p in params.items()
            for key, value in w.optimizer.state[p].items()
        }

    # the same two steps without FSDP: its index-keyed state_dict must load into the sharded optimizer
    plain = _Net()
    popt = torch.optim.AdamW(plain.parameters(), lr=0.01, weight_decay=0.1)
    for step in range(2):
        rows = slice(step * 32, (step + 1) * 32)
        popt.zero_grad()
        F.mse_loss(plain(x[rows], y[rows]), y[rows]).backward()
        popt.step()
    model3, wrapper3 = sharded_adamw()
    wrapper3.load_state_dict(popt.state_dict())
    plain_named = dict(plain.named_parameters())
    expected_from_plain = {
        f"{name}.{key}": value.chunk(world)[rank] if value.dim() else value
        for name, p in plain_named.items()
        for key, value in popt.state[p].items()
    }
    return {
        "untouched": untouched,
        "fresh_groups": [g["params"] for g in fresh_state["param_groups"]] if rank == 0 else None,  # type: ignore[index]
        "saved_keys": sorted(saved[0]["state"]) if isinstance(saved[0], dict) else None,
        "original": local_states(wrapper, model),
        "reloaded": local_states(wrapper2, model2),
        "from_plain": local_states(wrapper3, model3),
        "expected_from_plain": expected_from_plain,
    }


def test_sharded_optimizer_state_saves_without_stepping_and_loads_named_or_indexed() -> None:
    for rank, res in enumerate(run_ranks(_optimizer_states, 2, backend="gloo", wall_timeout_s=180)):
        assert res["untouched"], "saving an optimizer that never stepped changed its state"
        if rank == 0:
            assert res["fresh_groups"] == [[name for name, _ in _Net().named_parameters()]]
        assert res["saved_keys"] == sorted(name for name, _ in _Net().named_parameters())
        assert res["original"].keys() == res["reloaded"].keys() and res["original"]
        for key, value in res["original"].items():
            assert torch.equal(res["reloaded"][key], value), key
        for key, value in res["expected_from_plain"].items():
            torch.testing.assert_close(res["from_plain"][key], value, atol=1e-6, rtol=1e-5, msg=key)
