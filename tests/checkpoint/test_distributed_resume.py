"""Two gloo ranks: per-rank RNG and accumulated gradients are saved, resume is exact, and a signal that
reaches only one rank stops both at the same iteration with one checkpoint."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch

import typedengine as te
from tests.checkpoint.harness import DropoutMLP, experiment
from tests.distributed.dist_harness import run_ranks, run_ranks_raw
from typedengine.checkpoint.io import LAST_CHECKPOINT, load_checkpoint_file
from typedengine.checkpoint.load import load_weights

pytestmark = pytest.mark.slow


class _Stop(Exception):
    pass


class _Faults(te.Hook):
    priority = "lowest"

    def __init__(self, stop_at: int | None, signal_rank: int | None, signal_at: int | None) -> None:
        self.stop_at = stop_at
        self.signal_rank = signal_rank
        self.signal_at = signal_at
        self.started_at = -1

    def before_train(self, runner):  # type: ignore[no-untyped-def]
        self.started_at = runner.state.iter  # after a resume: the checkpoint's iteration

    def before_train_iter(self, runner, batch_idx, data_batch=None):  # type: ignore[no-untyped-def]
        if runner.rank == self.signal_rank and runner.state.iter + 1 == self.signal_at:
            os.kill(os.getpid(), signal.SIGTERM)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):  # type: ignore[no-untyped-def]
        if runner.state.iter + 1 == self.stop_at:
            raise _Stop


class _BadContentOnRank0(te.Hook):
    """Rank 0 alone adds a value no checkpoint may hold: its save fails, the other rank's does not."""

    def before_save_checkpoint(self, runner, checkpoint):  # type: ignore[no-untyped-def]
        if runner.rank == 0:
            checkpoint["meta"]["bad"] = object()


def _rank_train(spec: dict[str, object]) -> dict[str, torch.Tensor]:
    runner = te.Runner.from_config(experiment(spec))
    stop, sig_rank, sig_at = spec.get("stop_at"), spec.get("signal_rank"), spec.get("signal_at")
    faults = _Faults(
        stop if isinstance(stop, int) else None,
        sig_rank if isinstance(sig_rank, int) else None,
        sig_at if isinstance(sig_at, int) else None,
    )
    runner.register_hook(faults)
    if spec.get("bad_on_rank0"):
        runner.register_hook(_BadContentOnRank0())
    try:
        runner.train()
    except _Stop:
        return {}
    state = runner.unwrapped_model.state_dict()
    full = {k: getattr(v, "full_tensor", v.detach)() for k, v in state.items()}  # FSDP2: gather the shards
    out = {k: v.detach().clone() for k, v in full.items()}
    if spec.get("report_start"):  # the iteration this process started from (a resume starts later)
        out["__started_at"] = torch.tensor(faults.started_at)
    return out


def _equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_two_ranks_resume_exactly_from_a_mid_window_checkpoint(tmp_path: Path) -> None:
    spec: dict[str, object] = {"max_epochs": 3, "interval": 2, "accumulate": 3}  # 7 iterations per epoch
    ref = run_ranks(_rank_train, 2, {**spec, "work_dir": str(tmp_path / "ref")}, wall_timeout_s=240)
    assert _equal(ref[0], ref[1])
    work = tmp_path / "run"
    run_ranks(_rank_train, 2, {**spec, "work_dir": str(work), "stop_at": 11}, wall_timeout_s=240)
    ckpt = load_checkpoint_file(work / "iter_10.pth")
    assert isinstance(ckpt["rng"], list) and len(ckpt["rng"]) == 2
    grads = ckpt["grads"]  # 10 % 3 = 1 micro-batch accumulated, different on each rank (DDP no_sync)
    assert isinstance(grads, list) and len(grads) == 2
    assert not torch.equal(grads[0]["net.0.weight"], grads[1]["net.0.weight"])
    resumed = run_ranks(_rank_train, 2, {**spec, "work_dir": str(work), "resume": True}, wall_timeout_s=240)
    assert _equal(resumed[0], ref[0]) and _equal(resumed[1], ref[0])


def test_a_signal_on_one_rank_stops_both_at_the_same_agreed_iteration(tmp_path: Path) -> None:
    spec: dict[str, object] = {"max_epochs": 3, "interval": 100, "accumulate": 1}
    work = tmp_path / "run"
    # rank 1 alone gets SIGTERM during iteration 6; ranks compare flags every 10 iterations (the default)
    outcomes = run_ranks_raw(
        _rank_train, 2, {**spec, "work_dir": str(work), "signal_rank": 1, "signal_at": 6}, wall_timeout_s=240
    )
    for o in outcomes:
        assert o.error is not None and "Preempted" in o.error, o
    assert (work / LAST_CHECKPOINT).read_text().strip() == "iter_10.pth"
    assert sorted(p.name for p in work.glob("*.pth")) == ["iter_10.pth"]
    ref = run_ranks(_rank_train, 2, {**spec, "work_dir": str(tmp_path / "ref")}, wall_timeout_s=240)
    resumed = run_ranks(_rank_train, 2, {**spec, "work_dir": str(work), "resume": True}, wall_timeout_s=240)
    assert _equal(resumed[0], ref[0]) and _equal(resumed[1], ref[1])


def test_fsdp_checkpoints_hold_full_tensors_and_resume_exactly(tmp_path: Path) -> None:
    """FSDP2 on two gloo ranks: the file holds unsharded weights and named optimizer state (loadable into a
    plain model), per-rank gradient shards mid-window, and resuming reproduces the uninterrupted run."""
    spec: dict[str, object] = {"max_epochs": 3, "interval": 2, "accumulate": 3, "fsdp": True}
    ref = run_ranks(_rank_train, 2, {**spec, "work_dir": str(tmp_path / "ref")}, wall_timeout_s=240)
    assert _equal(ref[0], ref[1]) and ref[0]["net.0.weight"].shape == (16, 8)
    work = tmp_path / "run"
    run_ranks(_rank_train, 2, {**spec, "work_dir": str(work), "stop_at": 11}, wall_timeout_s=240)
    ckpt = load_checkpoint_file(work / "iter_10.pth")
    weights = ckpt["state_dict"]
    assert isinstance(weights, dict) and {k: tuple(v.shape) for k, v in weights.items()} == {
        "net.0.weight": (16, 8),
        "net.0.bias": (16,),
        "net.3.weight": (3, 16),
        "net.3.bias": (3,),
    }
    optim = ckpt["optimizer"]
    assert isinstance(optim, dict)
    assert optim["state"]["net.0.weight"]["momentum_buffer"].shape == (16, 8)
    grads = ckpt["grads"]  # 10 % 3 = 1 micro-batch accumulated: each rank's own shard
    assert isinstance(grads, list) and len(grads) == 2
    assert grads[0]["net.0.weight"].shape == grads[1]["net.0.weight"].shape == (8, 8)
    plain = DropoutMLP(16, 0.3)
    assert load_weights(plain, weights, strict=True).loaded == 4  # an unsharded model takes the file as is
    resumed = run_ranks(
        _rank_train, 2, {**spec, "work_dir": str(work), "resume": True, "report_start": True}, wall_timeout_s=240
    )
    assert [int(r.pop("__started_at")) for r in resumed] == [10, 10]  # it did resume, from iter_10.pth
    assert _equal(resumed[0], ref[0]) and _equal(resumed[1], ref[0])


def test_a_save_that_fails_on_rank_0_stops_every_rank_at_once(tmp_path: Path) -> None:
    """Rank 0 refuses the content (TypeError) before writing; rank 1 must not wait for it in a later
    collective until the process-group timeout: both fail at that save, within seconds."""
    import time

    spec: dict[str, object] = {"max_epochs": 3, "interval": 2, "accumulate": 1, "bad_on_rank0": True}
    start = time.monotonic()
    outcomes = run_ranks_raw(_rank_train, 2, {**spec, "work_dir": str(tmp_path)}, pg_timeout_s=120, wall_timeout_s=110)
    assert time.monotonic() - start < 60
    assert outcomes[0].error is not None and "TypeError" in outcomes[0].error and "['bad']" in outcomes[0].error
    assert outcomes[1].error is not None and "failed on rank 0" in outcomes[1].error
    assert not list(tmp_path.glob("*.pth"))


def test_two_ranks_fall_back_together_past_a_corrupt_newest_checkpoint(tmp_path: Path) -> None:
    """Rank 0 chooses (and fully verifies) the checkpoint and shares the choice: both ranks resume from the
    same intact file, and a refusal reaches both ranks as the same error."""
    spec: dict[str, object] = {"max_epochs": 3, "interval": 2, "accumulate": 3}
    ref = run_ranks(_rank_train, 2, {**spec, "work_dir": str(tmp_path / "ref")}, wall_timeout_s=240)
    work = tmp_path / "run"
    run_ranks(_rank_train, 2, {**spec, "work_dir": str(work), "stop_at": 11}, wall_timeout_s=240)
    newest = work / "iter_10.pth"
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 0x20
    newest.write_bytes(bytes(data))
    resumed = run_ranks(
        _rank_train, 2, {**spec, "work_dir": str(work), "resume": True, "report_start": True}, wall_timeout_s=240
    )
    assert [int(r.pop("__started_at")) for r in resumed] == [8, 8]
    assert _equal(resumed[0], ref[0]) and _equal(resumed[1], ref[0])

    broken = tmp_path / "broken"
    run_ranks(_rank_train, 2, {**spec, "work_dir": str(broken), "stop_at": 5}, wall_timeout_s=240)
    for path in broken.glob("iter_*.pth"):
        path.write_bytes(path.read_bytes()[:500])
    outcomes = run_ranks_raw(_rank_train, 2, {**spec, "work_dir": str(broken), "resume": True}, wall_timeout_s=240)
    for o in outcomes:
        assert o.error is not None and "CheckpointError" in o.error and "none to resume from" in o.error, o
