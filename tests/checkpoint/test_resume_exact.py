"""Acceptance: kill real training processes at random points, resume, and end bit-identical.

Each test trains :mod:`tests.checkpoint.harness` (dropout, shuffling, SGD momentum, a per-iteration LR
schedule, gradient accumulation over 3 micro-batches) once without interruption, then again in a
subprocess that is SIGKILLed (or signalled) at randomly drawn iterations and resumed each time with
``resume=True``. The final weights must be ``torch.equal`` to the uninterrupted run's.

The kill points are drawn from ``TE_RESUME_SEED`` (default: the current time); the seed is in every
assertion message, so a failure can be replayed with ``TE_RESUME_SEED=<seed> pytest ...``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from typedengine.checkpoint.io import LAST_CHECKPOINT, find_latest, load_checkpoint_file
from typedengine.checkpoint.preemption import PREEMPTED_EXIT_CODE

REPO = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("TE_RESUME_SEED", str(int(time.time()) % 100_000)))

pytestmark = pytest.mark.slow


def _train(spec: dict[str, object]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "tests.checkpoint.harness", json.dumps(spec)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _final(work_dir: Path) -> dict[str, torch.Tensor]:
    weights = torch.load(work_dir / "final.pt", weights_only=True)
    assert isinstance(weights, dict)
    return weights


_REFERENCES: dict[str, dict[str, torch.Tensor]] = {}


def _reference(tmp_path: Path, spec: dict[str, object]) -> dict[str, torch.Tensor]:
    """The uninterrupted run's final weights (computed once per spec in a test session)."""
    key = json.dumps(spec, sort_keys=True)
    if key not in _REFERENCES:
        out = _train({**spec, "work_dir": str(tmp_path / "reference")})
        assert out.returncode == 0, out.stderr[-3000:]
        _REFERENCES[key] = _final(tmp_path / "reference")
    return _REFERENCES[key]


def _assert_equal(ref: dict[str, torch.Tensor], got: dict[str, torch.Tensor], note: str) -> None:
    assert ref.keys() == got.keys()
    diffs = {k: float((ref[k] - got[k]).abs().max()) for k in ref if not torch.equal(ref[k], got[k])}
    assert not diffs, f"{note}: weights differ from the uninterrupted run: {diffs}"


def _every_checkpoint_loads_weights_only(work_dir: Path) -> int:
    files = sorted(work_dir.glob("*.pth"))
    for path in files:
        torch.load(path, weights_only=True)  # a plain reader, no typedengine involved
        load_checkpoint_file(path)  # and the checksum verifies
    assert not [p for p in work_dir.iterdir() if ".tmp-" in p.name], "a temporary file was left behind"
    return len(files)


def _kill_points(rng: random.Random, total: int, count: int, every: int = 1) -> list[int]:
    """Distinct kill iterations (epoch ends after a partial batch included), late enough that a save is
    on disk: files are written in the background with at most one save in flight."""
    return sorted(rng.sample(range(2 * every + 1, total), count))


def test_epoch_loop_sigkill_mid_epoch_and_mid_accumulation(tmp_path: Path) -> None:
    """Checkpoints every 2 iterations with accumulation 3: most saves are inside a window."""
    spec: dict[str, object] = {
        "epoch_loop": True,
        "max_epochs": 3,
        "interval": 2,
        "accumulate": 3,
        "val": True,
    }
    ref = _reference(tmp_path, spec)
    rng = random.Random(SEED)
    kills = _kill_points(rng, total=39, count=3, every=2)  # 13 iterations per epoch
    note = f"TE_RESUME_SEED={SEED}, SIGKILL after iterations {kills}"
    work = tmp_path / "killed"
    resumed_from: list[str] = []
    for i, k in enumerate(kills):
        out = _train({**spec, "work_dir": str(work), "resume": i > 0, "kill_at_iter": k})
        assert out.returncode == -9, f"{note}: {out.stderr[-2000:]}"
        latest = find_latest(work)
        assert latest is not None
        resumed_from.append(latest.name)
        state = load_checkpoint_file(latest)["run_state"]
        # the last save before the kill (every 2 iterations, and at epoch ends), or the one before it:
        # files are written in the background with at most one save in flight
        assert isinstance(state, dict) and k - k % 2 - 2 <= state["iter"] <= k, note
    out = _train({**spec, "work_dir": str(work), "resume": True})
    assert out.returncode == 0, f"{note}: {out.stderr[-3000:]}"
    _assert_equal(ref, _final(work), f"{note}, resumed from {resumed_from}")
    assert _every_checkpoint_loads_weights_only(work) >= 19


def test_iteration_loop_sigkill_including_during_a_save_then_sigterm(tmp_path: Path) -> None:
    spec: dict[str, object] = {"epoch_loop": False, "max_iters": 30, "interval": 2, "accumulate": 3}
    ref = _reference(tmp_path, spec)
    rng = random.Random(SEED + 1)
    # >= 5: saves run in the background (at most one in flight), so a kill needs two saves scheduled
    # before it to be sure the first one is on disk
    kill = rng.randrange(5, 12)
    nth_save = rng.randrange(8, 11)  # the 8th..10th file written by the second process
    cut = rng.randrange(500, 6000)
    note = f"TE_RESUME_SEED={SEED}: kill at {kill}, kill in save #{nth_save} after {cut} bytes"
    work = tmp_path / "killed"
    out = _train({**spec, "work_dir": str(work), "kill_at_iter": kill})
    assert out.returncode == -9, note
    before = find_latest(work)
    assert before is not None
    out = _train(
        {**spec, "work_dir": str(work), "resume": True, "kill_in_save": nth_save, "kill_after_bytes": cut}
    )
    assert out.returncode == -9, f"{note}: {out.stderr[-2000:]}"
    # the killed save left a temporary behind, but the pointer names a complete, verified checkpoint
    assert [p for p in work.iterdir() if ".tmp-" in p.name], note
    latest = find_latest(work)
    assert latest is not None
    state = load_checkpoint_file(latest)["run_state"]
    assert isinstance(state, dict) and isinstance(state["iter"], int)
    term_at = rng.randrange(state["iter"] + 1, 30)
    note += f", SIGTERM at {term_at}"
    out = _train(
        {**spec, "work_dir": str(work), "resume": True, "signal_at_iter": term_at, "signal_name": "SIGTERM"}
    )
    assert out.returncode == PREEMPTED_EXIT_CODE, f"{note}: {out.stderr[-2000:]}"
    assert (work / LAST_CHECKPOINT).read_text().strip() == f"iter_{term_at}.pth", note
    out = _train({**spec, "work_dir": str(work), "resume": True})
    assert out.returncode == 0, f"{note}: {out.stderr[-3000:]}"
    _assert_equal(ref, _final(work), note)
    _every_checkpoint_loads_weights_only(work)


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGUSR1", "SIGINT"])
def test_preemption_signal_saves_exits_75_and_resume_continues_exactly(
    tmp_path: Path, signal_name: str
) -> None:
    """Epoch loop, checkpoints only at epoch ends: the signal mid-epoch still yields an exact resume."""
    spec: dict[str, object] = {"epoch_loop": True, "max_epochs": 2, "interval": 1, "hook_by_epoch": True}
    ref = _reference(tmp_path, spec)
    at = random.Random(SEED + 2).choice(list(range(2, 25)))
    work = tmp_path / "preempted"
    out = _train({**spec, "work_dir": str(work), "signal_at_iter": at, "signal_name": signal_name})
    note = f"TE_RESUME_SEED={SEED}: {signal_name} during iteration {at}"
    assert out.returncode == PREEMPTED_EXIT_CODE, f"{note}: {out.stderr[-2000:]}"
    assert f"{signal_name}: saved iter_{at}.pth; exiting with code 75" in out.stdout + out.stderr, note
    ckpt = load_checkpoint_file(work / f"iter_{at}.pth")
    state = ckpt["run_state"]
    assert isinstance(state, dict)
    assert (state["iter"], state["epoch"], state["inner_iter"]) == (
        at,
        (at - 1) // 13,
        at - 13 * ((at - 1) // 13),
    )
    out = _train({**spec, "work_dir": str(work), "resume": True})
    assert out.returncode == 0, f"{note}: {out.stderr[-3000:]}"
    _assert_equal(ref, _final(work), note)


def test_max_keep_ckpts_survives_resume(tmp_path: Path) -> None:
    spec: dict[str, object] = {
        "epoch_loop": False,
        "max_iters": 24,
        "interval": 3,
        "max_keep": 2,
        "accumulate": 1,
    }
    work = tmp_path / "keep"
    out = _train({**spec, "work_dir": str(work), "kill_at_iter": 11})
    assert out.returncode == -9
    # iter_9 may still have been in flight (background writes), or written but iter_3 not yet pruned
    assert sorted(p.name for p in work.glob("*.pth")) in (
        ["iter_6.pth", "iter_9.pth"],
        ["iter_3.pth", "iter_6.pth"],
        ["iter_3.pth", "iter_6.pth", "iter_9.pth"],
    )
    out = _train({**spec, "work_dir": str(work), "resume": True})
    assert out.returncode == 0, out.stderr[-3000:]
    assert sorted(p.name for p in work.glob("*.pth")) == ["iter_21.pth", "iter_24.pth"]
    state = load_checkpoint_file(work / "iter_24.pth")["run_state"]
    assert isinstance(state, dict) and state["kept_checkpoints"] == ["iter_21.pth", "iter_24.pth"]
