"""init_distributed: launcher=auto under a real torchrun and in a plain process, SLURM variables, teardown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.distributed.dist_harness import free_port, run_ranks
from typedengine.distributed.ops import all_reduce, get_local_rank, is_distributed
from typedengine.distributed.process_group import DistConfig, DistInfo, distributed, init_distributed
from typedengine.errors import UsageError

PROBE = Path(__file__).with_name("launch_probe.py")
ROOT = Path(__file__).resolve().parents[2]


def _probe(cmd: list[str], out: Path) -> list[dict[str, Any]]:
    """Run the probe with a clean launcher environment; every rank's JSON report, in rank order."""
    launcher_vars = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}
    keep = {k: v for k, v in os.environ.items() if k not in launcher_vars and not k.startswith("SLURM_")}
    env = {**keep, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src"), "PROBE_OUT": str(out)}
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=90, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [json.loads(p.read_text()) for p in sorted(out.glob("rank*.json"))]


def test_auto_is_pytorch_under_torchrun(tmp_path: Path) -> None:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(port),
        str(PROBE),
    ]
    seen = _probe(cmd, tmp_path)
    assert [
        (s["launcher"], s["rank"], s["world_size"], s["local_rank"], s["get_local_rank"]) for s in seen
    ] == [
        ("pytorch", 0, 2, 0, 0),
        ("pytorch", 1, 2, 1, 1),
    ]
    assert all(s["sum"] == 3.0 and s["backend"] == "gloo" and s["device"] == "cpu" for s in seen)


def test_auto_is_none_in_a_plain_process(tmp_path: Path) -> None:
    (seen,) = _probe([sys.executable, str(PROBE)], tmp_path)
    assert seen == {
        "launcher": "none",
        "rank": 0,
        "world_size": 1,
        "local_rank": 0,
        "get_local_rank": 0,
        "device": "cpu",
        "backend": None,
        "sum": 1.0,
    }


def test_none_launcher_creates_no_group() -> None:
    info = init_distributed("none", DistConfig(), device="cpu")
    assert info == DistInfo(0, 1, 0, torch.device("cpu"), "none", None)
    assert info.is_main and not is_distributed()
    assert init_distributed("auto", DistConfig(), env={"PATH": "/bin"}, device="cpu").launcher == "none"


def test_bad_launch_settings_fail_before_joining() -> None:
    with pytest.raises(ValueError, match="RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT"):
        init_distributed("pytorch", DistConfig(), env={}, device="cpu")
    if not torch.cuda.is_available():
        env = {"RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"}
        with pytest.raises(RuntimeError, match="nccl needs CUDA"):
            init_distributed("pytorch", DistConfig(backend="nccl"), env=env, device="cpu")
        with pytest.raises(UsageError, match="no CUDA device"):
            init_distributed("pytorch", DistConfig(), env=env, device="cuda")
    assert not is_distributed()


def test_unreachable_rendezvous_fails_within_the_timeout() -> None:
    env = {"RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port())}
    saved = {k: os.environ.get(k) for k in env | {"LOCAL_RANK": ""}}
    try:
        with pytest.raises(RuntimeError, match="could not join the process group"):
            init_distributed("pytorch", DistConfig(backend="gloo", timeout_s=2), env=env, device="cpu")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert not is_distributed()


def _join_from_fake_slurm() -> dict[str, Any]:
    rank, port = os.environ["RANK"], os.environ["MASTER_PORT"]
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR"):
        del os.environ[key]  # only SLURM's variables describe the job
    slurm = {
        "SLURM_PROCID": rank,
        "SLURM_NTASKS": "2",
        "SLURM_LOCALID": rank,
        "SLURM_NODELIST": "127.0.0.1",
        "SLURM_STEP_ID": "0",
        "SLURM_STEP_NUM_TASKS": "2",
        "MASTER_PORT": port,
    }
    out: dict[str, Any] = {}
    try:
        with distributed("auto", DistConfig(backend="gloo", timeout_s=20), env=slurm, device="cpu") as info:
            out["info"] = (info.launcher, info.rank, info.world_size, info.local_rank, str(info.device))
            out["sum"] = all_reduce(torch.tensor([1.0])).item()
            out["local_rank"] = get_local_rank()
            out["exported"] = {k: os.environ[k] for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR")}
            raise KeyError("boom")  # the context manager must tear the group down on errors too
    except KeyError:
        out["distributed_after_error"] = is_distributed()
    return out


def test_slurm_launch_joins_and_tears_down_on_error() -> None:
    r0, r1 = run_ranks(_join_from_fake_slurm, 2, init=False)
    for r, res in enumerate((r0, r1)):
        assert res["info"] == ("slurm", r, 2, r, "cpu")
        assert res["sum"] == 2.0
        assert res["local_rank"] == r
        assert res["exported"] == {
            "RANK": str(r),
            "WORLD_SIZE": "2",
            "LOCAL_RANK": str(r),
            "MASTER_ADDR": "127.0.0.1",
        }
        assert res["distributed_after_error"] is False


def _leave(late_rank: int, earlier_groups: int) -> dict[str, float | bool]:
    """Leave with rank 1's destroy taking 0.4 s; ``earlier_groups`` groups already left through this store."""
    import time

    import torch.distributed as dist
    from torch.distributed import distributed_c10d

    from typedengine.distributed import process_group

    store = distributed_c10d._get_default_store()
    rank, world = dist.get_rank(), dist.get_world_size()
    if rank == 0 and earlier_groups:  # what earlier groups' leaves left in a store that outlives them
        store.add("typedengine/leave/arrived", world * earlier_groups)
        store.add("typedengine/leave/left", (world - 1) * earlier_groups)
    dist.barrier()
    destroy = dist.destroy_process_group
    if rank == 1:
        dist.destroy_process_group = lambda *a, **k: (time.sleep(0.4), destroy(*a, **k))[1]  # type: ignore[assignment]
    if rank == late_rank:
        time.sleep(0.3)
    start = time.monotonic()
    try:
        process_group.leave_distributed(timeout_s=30)
    finally:
        dist.destroy_process_group = destroy  # type: ignore[assignment]
    return {"initialized": dist.is_initialized(), "seconds": time.monotonic() - start}


@pytest.mark.parametrize(("late_rank", "earlier_groups"), [(0, 0), (1, 0), (0, 2)])
def test_a_clean_end_leaves_the_group_with_rank_0_last(late_rank: int, earlier_groups: int) -> None:
    """Rank 0 destroys its group only after rank 1 destroyed its own (slowly), whoever arrives late and
    however many groups already left through the same store."""
    r0, r1 = run_ranks(_leave, 2, late_rank, earlier_groups, wall_timeout_s=60)
    assert not r0["initialized"] and not r1["initialized"]
    waited_for_rank1 = 0.4 + (0.3 if late_rank == 1 else 0.0)
    assert r0["seconds"] >= waited_for_rank1 - 0.02
    assert r1["seconds"] >= 0.4  # its own slow destroy
