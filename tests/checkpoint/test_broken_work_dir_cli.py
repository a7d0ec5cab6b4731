"""As a user would: ``python examples/01_digits.py`` killed with SIGKILL, its work dir damaged by hand,
then run again with ``--resume True`` (or an explicit ``--resume PATH``) in a fresh process.

The resumed run must end with the weights of an uninterrupted run (the digits example is exact on resume),
say what it did with the damage, and never start from scratch while checkpoints exist.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from typedengine.checkpoint.io import LAST_CHECKPOINT, load_checkpoint_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "01_digits.py"
ARGS = ["--train.max-epochs", "3"]

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "examples")}


def _run(work: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), "--work-dir", str(work), *ARGS, *extra],
        cwd=work.parent,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _final_weights(work: Path) -> dict[str, torch.Tensor]:
    weights = load_checkpoint_file(work / "epoch_3.pth")["state_dict"]
    assert isinstance(weights, dict)
    return weights


def _kill_after_epoch_2(work: Path) -> None:
    """Start the run, SIGKILL it once epoch_2.pth is complete (the pointer names it)."""
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--work-dir", str(work), *ARGS],
        cwd=work.parent,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pointer = work / LAST_CHECKPOINT
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if pointer.exists() and pointer.read_text().strip() == "epoch_2.pth":
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert (work / "epoch_2.pth").exists() and not (work / "epoch_3.pth").exists(), "killed too late"


def test_killed_run_with_a_truncated_newest_file_and_a_garbage_pointer_resumes_exactly(
    tmp_path: Path,
) -> None:
    reference = tmp_path / "reference"
    out = _run(reference)
    assert out.returncode == 0, out.stderr[-3000:]

    work = tmp_path / "damaged"
    _kill_after_epoch_2(work)
    newest = work / "epoch_2.pth"
    newest.write_bytes(newest.read_bytes()[:-4096])  # an interrupted copy
    (work / LAST_CHECKPOINT).write_bytes(b"\x00\xffnot a path\x9c")  # a stray write into the pointer

    # an explicit --resume of the damaged file: one message naming it, the good one and the flag, exit 1
    explicit = _run(work, "--resume", str(newest))
    assert explicit.returncode == 1, explicit.stdout[-2000:] + explicit.stderr[-2000:]
    text = explicit.stdout + explicit.stderr
    # paths are shown as the user typed them: relative to the directory the command ran in
    assert f"{newest}: incomplete checkpoint: a zip archive without its end" in text
    assert "to use damaged/epoch_1.pth (it verifies): --resume damaged/epoch_1.pth" in text
    assert "Traceback" not in text and "TYPEDENGINE_DEBUG=1" in text
    assert not (work / "epoch_3.pth").exists()

    resumed = _run(work, "--resume", "True")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert "auto-resume: resuming from damaged/epoch_1.pth (epoch 1, iter 23)" in log
    assert "last_checkpoint is not valid UTF-8 text" in log
    assert "not used (left in place): damaged/epoch_2.pth: incomplete checkpoint" in log
    assert "starting from scratch" not in log
    ref, got = _final_weights(reference), _final_weights(work)
    assert ref.keys() == got.keys() and all(torch.equal(ref[k], got[k]) for k in ref)

    # once more: the run is finished, and says so
    again = _run(work, "--resume", "True")
    assert again.returncode == 0
    assert "training already finished at epoch 3 / iter 69" in again.stdout + again.stderr
    assert "raise --train.max-epochs to continue" in again.stdout + again.stderr
