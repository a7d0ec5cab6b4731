"""FSDP2 (fully_shard) trains like the unsharded model: on the CPU with gloo, and on CUDA with NCCL when present."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from tests.dist.dist_harness import run_ranks
from typedengine.dist import get_rank, get_world_size
from typedengine.model.base import BaseModel
from typedengine.model.ddp import gradient_sync, unwrap_model
from typedengine.model.wrapping import FSDPConfig
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


def _fsdp_vs_plain(device_type: str) -> dict[str, Any]:
    rank, world = get_rank(), get_world_size()
    device = torch.device("cuda", torch.cuda.current_device()) if device_type == "cuda" else torch.device("cpu")
    x, y = _data(device)
    global_batch = 32
    local = global_batch // world

    sharded = FSDPConfig(shard_modules=("Block",)).build(_Net(), device)
    opt = torch.optim.SGD(sharded.parameters(), lr=0.05)
    wrapper = OptimWrapper(opt)
    for step in range(4):
        rows = slice(step * global_batch + rank * local, step * global_batch + (rank + 1) * local)
        with gradient_sync(sharded, True):
            sharded.train_step({"x": x[rows], "y": y[rows]}, wrapper)  # type: ignore[operator]
    full = {k: v.full_tensor().cpu() for k, v in sharded.state_dict().items()}  # DTensor shards → full

    plain = _Net().to(device)
    popt = torch.optim.SGD(plain.parameters(), lr=0.05)
    for step in range(4):
        rows = slice(step * global_batch, (step + 1) * global_batch)
        loss = F.mse_loss(plain(x[rows], y[rows]), y[rows])
        popt.zero_grad()
        loss.backward()
        popt.step()
    return {
        "fsdp": full,
        "plain": {k: v.detach().cpu() for k, v in plain.state_dict().items()},
        "unwrapped_is_model": unwrap_model(sharded) is sharded,
    }


def test_fsdp_matches_unsharded_training_on_cpu_with_gloo() -> None:
    for res in run_ranks(_fsdp_vs_plain, 2, "cpu", backend="gloo", wall_timeout_s=180):
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
