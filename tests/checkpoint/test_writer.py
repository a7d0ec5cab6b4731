"""Background checkpoint writer: order, error hand-back, frozen state independent of training."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import torch

from typedengine.checkpoint import writer as writer_module
from typedengine.checkpoint.io import (
    atomic_write_bytes,
    check_serialisable,
    encode_checkpoint,
    file_checksum,
    load_checkpoint_file,
    save_checkpoint_file,
)
from typedengine.checkpoint.writer import CheckpointWriter, freeze_checkpoint, snapshot


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


@pytest.mark.parametrize("inline", [True, False], ids=["encoded-now", "snapshot-then-encoded"])
def test_frozen_checkpoint_is_the_state_at_freeze_time_and_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inline: bool
) -> None:
    """Both paths (small: bytes now; large: a copy now) write what the state was when frozen."""
    if not inline:
        monkeypatch.setattr(writer_module, "ENCODE_INLINE_BYTES", 8)  # 12 bytes of tensors: the large path
    copies: list[object] = []
    real_snapshot = writer_module.snapshot
    monkeypatch.setattr(writer_module, "snapshot", lambda obj: copies.append(obj) or real_snapshot(obj))
    weight = torch.zeros(3)
    state = {"state_dict": {"w": weight}, "meta": {"epoch": 1, "hist": [1.0, 2.0]}}
    task = freeze_checkpoint(state, tmp_path / "a.pth")
    assert (copies[:1] == [state]) is not inline  # the path taken: encoded now, or copied now
    weight.add_(1.0)
    state["meta"]["epoch"] = 2  # type: ignore[index]
    assert not (tmp_path / "a.pth").exists()  # nothing written before the task runs
    task()
    assert file_checksum(tmp_path / "a.pth") is not None
    loaded = torch.load(tmp_path / "a.pth", weights_only=True)
    assert torch.equal(loaded["state_dict"]["w"], torch.zeros(3))
    assert loaded["meta"] == {"epoch": 1, "hist": [1.0, 2.0]}
    assert load_checkpoint_file(tmp_path / "a.pth")["meta"] == {"epoch": 1, "hist": [1.0, 2.0]}


def test_freezing_refuses_bad_content_before_anything_is_queued(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"checkpoint\['meta'\] is a builtins.object"):
        freeze_checkpoint({"meta": object()}, tmp_path / "a.pth")
    assert list(tmp_path.iterdir()) == []


def test_encoded_bytes_equal_a_saved_file_up_to_torch_s_serialization_id(tmp_path: Path) -> None:
    state = {"w": torch.arange(6.0).reshape(2, 3), "n": 3, "s": "x"}
    data = encode_checkpoint(state)
    atomic_write_bytes(tmp_path / "enc.pth", data)
    save_checkpoint_file(state, tmp_path / "file.pth")
    assert file_checksum(tmp_path / "enc.pth") is not None
    assert len(data) == (tmp_path / "file.pth").stat().st_size
    a, b = torch.load(tmp_path / "enc.pth", weights_only=True), torch.load(tmp_path / "file.pth", weights_only=True)
    assert a.keys() == b.keys() and torch.equal(a["w"], b["w"]) and (a["n"], a["s"]) == (b["n"], b["s"])


def test_check_serialisable_reports_the_bytes_torch_save_writes() -> None:
    state = {"a": torch.zeros(4), "b": [torch.zeros(2, dtype=torch.float64), {"c": torch.zeros(3, dtype=torch.int8)}]}
    assert check_serialisable(state) == 16 + 16 + 3
    assert check_serialisable(torch.ones(5)) == 20
    assert check_serialisable({"x": 1}) == 0
    big = torch.zeros(1000)
    assert check_serialisable({"view": big[:4], "again": big[10:20]}) == 4000  # one whole storage, once


def test_sparse_gradients_are_checkpoint_data(tmp_path: Path) -> None:
    """A mid-window checkpoint of an nn.Embedding(sparse=True) holds a sparse COO gradient."""
    emb = torch.nn.Embedding(10, 3, sparse=True)
    emb(torch.tensor([1, 4])).sum().backward()
    grad = emb.weight.grad
    assert grad is not None and grad.layout is torch.sparse_coo
    assert check_serialisable({"grads": [{"weight": grad}]}) == 10 * 3 * 4  # counted at its dense size
    freeze_checkpoint({"grads": [{"weight": grad}]}, tmp_path / "g.pth")()
    loaded = load_checkpoint_file(tmp_path / "g.pth")["grads"]
    assert isinstance(loaded, list) and torch.equal(loaded[0]["weight"].to_dense(), grad.to_dense())
