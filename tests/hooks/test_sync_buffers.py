"""SyncBuffersHook: a no-op in one process; averages float buffers across two real gloo processes."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from tests.logs.fake_runner import FakeClock, FakeRunner, losses, run_train
from typedengine.hooks.sync_buffers import SyncBuffersHookConfig, sync_buffers


def test_single_process_is_a_no_op(tmp_path: Path) -> None:
    model = nn.BatchNorm1d(2)
    with torch.no_grad():
        model.running_mean.fill_(3.0)
    runner = FakeRunner(tmp_path, train_len=2, max_epochs=1, model=model)
    runner.register_hook(SyncBuffersHookConfig().build())
    run_train(runner, FakeClock(), losses([0.0] * 2), val_metrics=lambda e: {"acc": 1.0})
    assert model.running_mean.tolist() == [3.0, 3.0]


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        model = nn.BatchNorm1d(2)
        with torch.no_grad():
            model.running_mean.fill_(float(rank * 4))  # 0 and 4 -> mean 2
        synced = sync_buffers(model)
        torch.save(
            {"mean": model.running_mean.clone(), "count": model.num_batches_tracked.clone(), "n": synced},
            f"{out}/rank{rank}.pt",
        )
    finally:
        dist.destroy_process_group()


def test_two_processes_average_float_buffers(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.start_processes(_worker, args=(port, str(tmp_path)), nprocs=2, start_method="spawn")
    for rank in (0, 1):
        result = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert result["mean"].tolist() == [2.0, 2.0]
        assert result["n"] == 2  # running_mean and running_var; the integer counter is left alone
