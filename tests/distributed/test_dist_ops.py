"""dist ops: identities in one process, real collectives across two gloo processes."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from tests.distributed.dist_harness import run_ranks
from typedengine.distributed import ops as tdist


def test_single_process_ops_are_identities() -> None:
    assert not tdist.is_distributed()
    assert (tdist.get_rank(), tdist.get_world_size(), tdist.get_local_rank()) == (0, 1, 0)
    assert tdist.is_main_process()
    tdist.barrier()
    t = torch.tensor([1.5, -2.0])
    for op in ("sum", "mean", "max", "min"):
        out = tdist.all_reduce(t, op=op)
        assert out is t
        assert t.tolist() == [1.5, -2.0]
    gathered = tdist.all_gather(t)
    assert len(gathered) == 1 and gathered[0] is t
    obj = {"a": [1, 2]}
    assert tdist.broadcast_object(obj) is obj
    assert tdist.gather_objects(obj) == [obj]
    assert tdist.all_gather_objects(obj) == [obj]
    seeds = {tdist.sync_random_seed() for _ in range(4)}
    assert all(0 <= s < 2**31 for s in seeds)
    assert len(seeds) > 1  # fresh draws (4 equal draws out of 2**31 would be a broken generator)


def test_mean_of_integer_tensor_is_rejected_everywhere() -> None:
    with pytest.raises(TypeError, match="floating-point"):
        tdist.all_reduce(torch.tensor([1, 2]), op="mean")


def _two_rank_ops() -> dict[str, Any]:
    rank = tdist.get_rank()
    out: dict[str, Any] = {
        "rank": rank,
        "world_size": tdist.get_world_size(),
        "local_rank": tdist.get_local_rank(),
        "is_main": tdist.is_main_process(),
        "distributed": tdist.is_distributed(),
    }
    for op in ("sum", "mean", "max", "min"):
        t = torch.tensor([float(rank + 1), 10.0 * (rank + 1)])
        returned = tdist.all_reduce(t, op=op)
        out[f"reduce_{op}"] = t.tolist()
        out[f"reduce_{op}_in_place"] = returned is t
    out["gather"] = [g.tolist() for g in tdist.all_gather(torch.arange(3) + 100 * rank)]
    out["bcast0"] = tdist.broadcast_object({"from": rank, "payload": list(range(rank + 2))})
    out["bcast1"] = tdist.broadcast_object(("sent by", rank), src=1)
    out["gather_dst1"] = tdist.gather_objects(f"r{rank}", dst=1)
    out["all_gather_objects"] = tdist.all_gather_objects({"rank": rank, "len": [0] * rank})
    out["seed"] = tdist.sync_random_seed()
    tdist.barrier()
    return out


def test_two_process_collectives() -> None:
    r0, r1 = run_ranks(_two_rank_ops, 2)
    for r, res in enumerate((r0, r1)):
        assert (res["rank"], res["world_size"], res["local_rank"]) == (r, 2, r)
        assert res["is_main"] == (r == 0)
        assert res["distributed"]
        # rank 0 contributes [1, 10], rank 1 contributes [2, 20]
        assert res["reduce_sum"] == [3.0, 30.0]
        assert res["reduce_mean"] == [1.5, 15.0]
        assert res["reduce_max"] == [2.0, 20.0]
        assert res["reduce_min"] == [1.0, 10.0]
        assert all(res[f"reduce_{op}_in_place"] for op in ("sum", "mean", "max", "min"))
        assert res["gather"] == [[0, 1, 2], [100, 101, 102]]
        assert res["bcast0"] == {"from": 0, "payload": [0, 1]}
        assert res["bcast1"] == ("sent by", 1)
        assert res["all_gather_objects"] == [{"rank": 0, "len": []}, {"rank": 1, "len": [0]}]
    assert r0["gather_dst1"] is None
    assert r1["gather_dst1"] == ["r0", "r1"]
    assert r0["seed"] == r1["seed"]
    assert 0 <= r0["seed"] < 2**31
