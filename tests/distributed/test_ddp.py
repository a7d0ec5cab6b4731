"""DDP across two gloo ranks trains exactly like one process with the global batch."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from tests.distributed.dist_harness import run_ranks
from typedengine.data.samplers import DefaultSampler
from typedengine.distributed.ops import all_gather, all_reduce, get_rank, get_world_size
from typedengine.model.base import BaseModel
from typedengine.model.ddp import DDPModel, is_model_wrapper, unwrap_model
from typedengine.model.fsdp import FSDPConfig
from typedengine.model.wrapping import DDPConfig, NoWrapperConfig, check_model_wrapper
from typedengine.optim.wrapper import OptimWrapper

GLOBAL_BATCH = 64
STEPS_PER_EPOCH = 3
EPOCHS = 2


def _dataset() -> TensorDataset:
    g = torch.Generator().manual_seed(123)
    x = torch.randn(GLOBAL_BATCH * STEPS_PER_EPOCH, 6, generator=g)
    y = torch.randn(GLOBAL_BATCH * STEPS_PER_EPOCH, 3, generator=g)
    return TensorDataset(x, y)


def _plain_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))


def _train_plain(model: nn.Module, rank: int, world_size: int) -> tuple[dict[str, torch.Tensor], list[float]]:
    """SGD with momentum over EPOCHS epochs of the sampler's shard; returns weights and global-mean losses."""
    ds = _dataset()
    sampler = DefaultSampler(len(ds), seed=7, rank=rank, world_size=world_size)
    loader = DataLoader(ds, batch_size=GLOBAL_BATCH // world_size, sampler=sampler)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses: list[float] = []
    for epoch in range(EPOCHS):
        sampler.set_epoch(epoch)
        for x, y in loader:
            loss = F.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(
                all_reduce(loss.detach().clone(), op="mean").item() if world_size > 1 else loss.item()
            )
    return {k: v.detach().clone() for k, v in unwrap_model(model).state_dict().items()}, losses


def _ddp_vs_single() -> dict[str, Any]:
    rank, world = get_rank(), get_world_size()
    ddp = DDPConfig().build(_plain_net(), torch.device("cpu"))
    assert isinstance(ddp, DDPModel) and is_model_wrapper(ddp)
    ddp_weights, ddp_losses = _train_plain(ddp, rank, world)
    single_weights, single_losses = _train_plain(_plain_net(), 0, 1)  # local reference, no collectives
    return {
        "ddp": ddp_weights,
        "single": single_weights,
        "ddp_losses": ddp_losses,
        "single_losses": single_losses,
    }


class _Regressor(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))

    def forward(self, x: torch.Tensor, y: torch.Tensor, mode: str = "tensor") -> object:
        out = self.net(x)
        if mode == "loss":
            return {"loss": F.mse_loss(out, y), "abs_err": (out - y).abs().mean()}
        if mode == "predict":
            return out
        return out


def _train_steps(model: nn.Module, rank: int, world_size: int, accumulate: int) -> dict[str, Any]:
    ds = _dataset()
    sampler = DefaultSampler(len(ds), seed=3, rank=rank, world_size=world_size)
    micro = GLOBAL_BATCH // world_size // accumulate
    loader = DataLoader(ds, batch_size=micro, sampler=sampler)
    inner = unwrap_model(model)
    wrapper = OptimWrapper(torch.optim.SGD(inner.parameters(), lr=0.05), accumulative_counts=accumulate)
    wrapper.initialize_count_status(inner, 0, len(loader))
    grads_after_first_micro: list[torch.Tensor] = []
    for i, (x, y) in enumerate(loader):
        log_vars = model.train_step({"x": x, "y": y}, wrapper)  # type: ignore[operator]
        assert set(log_vars) == {"loss", "abs_err"}
        if i == 0 and accumulate > 1:
            grads_after_first_micro = all_gather(inner.net[0].weight.grad.clone())
    return {
        "weights": {k: v.detach().clone() for k, v in inner.state_dict().items()},
        "first_micro_grads": grads_after_first_micro,
        "val": model.val_step({"x": ds.tensors[0][:4], "y": ds.tensors[1][:4]}),  # type: ignore[operator]
    }


def _train_step_through_ddp() -> dict[str, Any]:
    rank, world = get_rank(), get_world_size()
    ddp = DDPConfig(broadcast_buffers=False).build(_Regressor(), torch.device("cpu"))
    accumulated = _train_steps(ddp, rank, world, accumulate=2)
    single = _train_steps(_Regressor(), 0, 1, accumulate=1)
    return {"accumulated": accumulated, "single": single}


def test_ddp_two_ranks_match_single_process_with_global_batch() -> None:
    plain0, plain1 = run_ranks(_ddp_vs_single, 2)
    # plain nn.Module: 2 ranks x 32 == 1 process x 64, every parameter, to 1e-6
    for res in (plain0, plain1):
        assert res["ddp"].keys() == res["single"].keys()
        for name in res["single"]:
            torch.testing.assert_close(res["ddp"][name], res["single"][name], atol=1e-6, rtol=0)
        # the rank-averaged loss of every step is the single-process loss of the same global batch
        assert len(res["ddp_losses"]) == EPOCHS * STEPS_PER_EPOCH
        assert res["ddp_losses"] == pytest.approx(res["single_losses"], abs=1e-6)
    for name in plain0["ddp"]:
        assert torch.equal(plain0["ddp"][name], plain1["ddp"][name])  # replicas stay identical
    # the weights moved: the test would notice a wrapper that skipped training
    assert not torch.allclose(plain0["single"]["0.weight"], _plain_net().state_dict()["0.weight"])


def test_train_step_through_ddp_with_accumulation_matches_single_process() -> None:
    steps0, steps1 = run_ranks(_train_step_through_ddp, 2)
    # BaseModel.train_step through DDPModel, 2 ranks x 2 accumulated micro-batches of 16 == 1 x 64
    for res in (steps0, steps1):
        for name, value in res["single"]["weights"].items():
            torch.testing.assert_close(res["accumulated"]["weights"][name], value, atol=1e-6, rtol=0)
        torch.testing.assert_close(res["accumulated"]["val"], res["single"]["val"], atol=1e-6, rtol=0)
    # during the first micro-batch no_sync was active: the ranks' local gradients differ
    g0, g1 = steps0["accumulated"]["first_micro_grads"]
    assert not torch.allclose(g0, g1)


def test_wrappers_without_process_group_return_the_model() -> None:
    model = _Regressor()
    for cfg in (NoWrapperConfig(), DDPConfig()):
        built = cfg.build(model, torch.device("cpu"))
        assert built is model and not is_model_wrapper(built) and unwrap_model(built) is model


def test_device_dependent_wrapper_settings_are_reported_before_building() -> None:
    assert check_model_wrapper(FSDPConfig(), device_type="cpu") == []  # FSDP2 runs on gloo too
    assert check_model_wrapper(FSDPConfig(), device_type="cuda") == []
    assert [str(i) for i in check_model_wrapper(DDPConfig(sync_bn=True), device_type="cpu")] == [
        "model_wrapper.sync_bn: SyncBatchNorm needs CUDA; set sync_bn=False on CPU"
    ]
    assert check_model_wrapper(DDPConfig(), device_type="cpu") == []
    model = _Regressor()
    assert FSDPConfig().build(model, torch.device("cpu")) is model  # no process group: left unsharded


def test_unwrap_through_compile_and_data_parallel() -> None:
    model = _Regressor()
    dp = nn.DataParallel(model)
    assert is_model_wrapper(dp) and unwrap_model(dp) is model
    compiled = torch.compile(model)  # compiles lazily, on the first call
    assert isinstance(compiled, nn.Module)
    assert is_model_wrapper(compiled) and unwrap_model(compiled) is model
    assert unwrap_model(nn.DataParallel(compiled)) is model
