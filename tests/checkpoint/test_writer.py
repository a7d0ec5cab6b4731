"""Background checkpoint writer: order, error hand-back, snapshots independent of training."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from typedengine.checkpoint.writer import CheckpointWriter, snapshot


def test_tasks_run_in_order_off_the_calling_thread() -> None:
    writer = CheckpointWriter()
    seen: list[tuple[int, str]] = []
    for i in range(5):
        writer.submit(lambda i=i: (time.sleep(0.01), seen.append((i, threading.current_thread().name))))
    writer.flush()
    assert [i for i, _ in seen] == [0, 1, 2, 3, 4]
    assert all(name == "typedengine-checkpoint-writer" for _, name in seen)
    writer.close()


def test_a_write_error_is_raised_on_the_next_call_and_later_tasks_are_skipped() -> None:
    writer = CheckpointWriter()
    ran: list[str] = []

    def boom() -> None:
        raise OSError(28, "No space left on device")

    writer.submit(boom)
    writer._tasks.join()
    with pytest.raises(OSError, match="No space left"):
        writer.submit(lambda: ran.append("after"))
    writer.flush()
    assert ran == []  # the task was refused, not run after the failure
    writer.close()


def test_snapshot_does_not_follow_in_place_updates() -> None:
    weight = torch.zeros(3)
    state = {"state_dict": {"w": weight}, "meta": [1, ("a", weight)]}
    frozen = snapshot(state)
    weight.add_(1.0)
    assert torch.equal(frozen["state_dict"]["w"], torch.zeros(3))  # type: ignore[index]
    assert torch.equal(frozen["meta"][1][1], torch.zeros(3))  # type: ignore[index]
