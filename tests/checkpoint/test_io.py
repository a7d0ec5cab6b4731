"""Atomic, verified, pickle-free checkpoint files and the last_checkpoint pointer."""

from __future__ import annotations

import collections
import hashlib
import io
import os
import signal
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from typedengine.checkpoint.errors import CheckpointError
from typedengine.checkpoint.io import (
    CHECKSUM_PREFIX,
    LAST_CHECKPOINT,
    PointerState,
    atomic_write_bytes,
    check_serialisable,
    file_checksum,
    find_latest,
    inspect_pointer,
    load_checkpoint_file,
    read_pointer,
    remove_stale_temporaries,
    save_checkpoint_file,
    summarize_checkpoint,
    write_pointer,
)

REPO = Path(__file__).resolve().parents[2]


def _state(scale: float = 1.0) -> dict[str, object]:
    g = torch.Generator().manual_seed(0)
    sd = collections.OrderedDict(w=torch.randn(64, 32, generator=g) * scale, b=torch.zeros(32))
    sd._metadata = {"": {"version": 1}}  # type: ignore[attr-defined]  # what nn.Module.state_dict attaches
    return {
        "state_dict": sd,
        "meta": {"epoch": 3, "iter": 120, "name": "run", "ok": True, "none": None, "lr": [0.1, 0.01]},
        "optimizer": {
            "state": {0: {"momentum_buffer": torch.ones(3)}},
            "param_groups": [{"lr": 0.1, "params": [0]}],
        },
        "shape": torch.Size([2, 3]),
        "dtype": torch.float16,
        "blob": b"\x00\x01",
        "pair": (1, "a"),
    }


def _assert_same(a: object, b: object) -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)  # type: ignore[arg-type]
        for x, y in zip(a, b):  # type: ignore[call-overload]
            _assert_same(x, y)
    else:
        assert a == b


def test_round_trip_and_plain_torch_load_weights_only(tmp_path: Path) -> None:
    state = _state()
    path = save_checkpoint_file(state, tmp_path / "epoch_3.pth")
    assert path == tmp_path / "epoch_3.pth"
    _assert_same(state, load_checkpoint_file(path))
    # any reader works: plain torch.load with weights_only=True, and a zip reader sees our comment
    plain = torch.load(path, weights_only=True)
    _assert_same(state, plain)
    assert plain["state_dict"]._metadata == {"": {"version": 1}}
    with zipfile.ZipFile(path) as zf:
        assert zf.comment.startswith(CHECKSUM_PREFIX) and len(zf.comment) == len(CHECKSUM_PREFIX) + 64
        assert zf.testzip() is None
    # nothing else is left in the directory (no temporaries)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_3.pth"]


def test_trailer_is_the_sha256_of_everything_but_the_crc_covered_data(tmp_path: Path) -> None:
    state = _state()
    path = save_checkpoint_file(state, tmp_path / "c.pth")
    data = path.read_bytes()
    trailer = data[data.rindex(CHECKSUM_PREFIX) :]
    # the archive as torch.save wrote it: everything before the trailer, with comment length 0 ...
    archive = data[: -len(trailer) - 2] + b"\0\0"
    bare = io.BytesIO()
    torch.save(state, bare)
    assert archive == bare.getvalue()  # ... is byte-identical to a bare torch.save into a file object
    # the digest covers every byte outside the entries' data; each entry's data has the CRC-32 torch stored
    outside = bytearray()
    position = 0
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        for info in sorted(zf.infolist(), key=lambda i: i.header_offset):
            name_len, extra_len = struct.unpack(
                "<26xHH", archive[info.header_offset : info.header_offset + 30]
            )
            data_start = info.header_offset + 30 + name_len + extra_len
            outside += archive[position:data_start]
            position = data_start + info.compress_size
            assert zlib.crc32(archive[data_start:position]) == info.CRC
    outside += archive[position:]
    hasher = hashlib.sha256(bytes(outside))
    assert trailer == CHECKSUM_PREFIX + hasher.hexdigest().encode()
    assert file_checksum(path) == hasher.hexdigest()


def test_truncated_file_is_one_clear_error_naming_the_file(tmp_path: Path) -> None:
    path = save_checkpoint_file(_state(), tmp_path / "epoch_1.pth")
    data = path.read_bytes()
    for keep in (len(data) - 1, len(data) - 50, len(data) // 2, 100, 0):
        path.write_bytes(data[:keep])
        with pytest.raises(CheckpointError) as info:
            load_checkpoint_file(path)
        assert str(info.value).startswith(str(path))
        assert "incomplete checkpoint" in str(info.value) or "checksum" in str(info.value)


def test_a_flipped_bit_in_any_byte_is_detected(tmp_path: Path) -> None:
    """Every byte of a small checkpoint, one random bit each: headers, data, directory, trailer."""
    path = save_checkpoint_file(
        {"w": torch.arange(40, dtype=torch.float32), "n": 3}, tmp_path / "epoch_1.pth"
    )
    data = path.read_bytes()
    rng = np.random.default_rng(0)
    for pos in range(len(data)):
        flipped = bytearray(data)
        flipped[pos] ^= 1 << int(rng.integers(0, 8))
        path.write_bytes(bytes(flipped))
        with pytest.raises(CheckpointError) as info:
            load_checkpoint_file(path)
        assert str(info.value).startswith(str(path)), pos


def test_flipped_bits_in_large_tensor_data_are_detected(tmp_path: Path) -> None:
    path = save_checkpoint_file({"w": torch.randn(512, 1024), "b": torch.randn(4096)}, tmp_path / "big.pth")
    data = path.read_bytes()
    rng = np.random.default_rng(1)
    for pos in rng.integers(0, len(data), 12):
        flipped = bytearray(data)
        flipped[int(pos)] ^= 1 << int(rng.integers(0, 8))
        path.write_bytes(bytes(flipped))
        with pytest.raises(CheckpointError, match="checksum mismatch|incomplete"):
            load_checkpoint_file(path)


def test_foreign_files_load_without_a_trailer_but_corruption_still_names_the_file(tmp_path: Path) -> None:
    weights = {"fc.weight": torch.randn(3, 2)}
    foreign = tmp_path / "pretrained.pth"
    torch.save(weights, foreign)
    with pytest.raises(CheckpointError, match="incomplete checkpoint"):
        load_checkpoint_file(foreign)
    _assert_same(weights, load_checkpoint_file(foreign, require_checksum=False))
    foreign.write_bytes(foreign.read_bytes()[:-30])
    with pytest.raises(CheckpointError) as info:
        load_checkpoint_file(foreign, require_checksum=False)
    assert str(info.value).startswith(str(foreign))
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint_file(tmp_path / "missing.pth")


def test_pickled_objects_are_never_executed(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    path = tmp_path / "evil.pth"
    torch.save({"x": Evil()}, path)
    with pytest.raises(CheckpointError, match="weights_only"):
        load_checkpoint_file(path, require_checksum=False)
    assert not (tmp_path / "pwned").exists()


def test_content_that_weights_only_cannot_read_is_refused_before_writing(tmp_path: Path) -> None:
    target = tmp_path / "x.pth"
    target.write_bytes(b"previous")
    bad = {"meta": {"hist": [1.0, np.float64(2.0)]}}
    with pytest.raises(TypeError, match=r"checkpoint\['meta'\]\['hist'\]\[1\] is a numpy.float64"):
        save_checkpoint_file(bad, target)
    assert target.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.pth"]
    Point = collections.namedtuple("Point", "x y")
    with pytest.raises(TypeError, match="Point"):
        check_serialisable({"p": Point(1, 2)})
    with pytest.raises(TypeError, match="key of type"):
        check_serialisable({("a", "b"): 1})


def test_write_failure_keeps_the_previous_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    """A real EFBIG from the kernel (file-size limit) in the middle of the write."""
    script = textwrap.dedent(
        f"""
        import resource, signal, sys, torch
        sys.path.insert(0, {str(REPO / "src")!r})
        from typedengine.checkpoint.io import save_checkpoint_file
        from typedengine.checkpoint.errors import CheckpointError
        save_checkpoint_file({{"w": torch.ones(10)}}, {str(tmp_path / "epoch_1.pth")!r})
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        try:
            save_checkpoint_file({{"w": torch.zeros(1_000_000)}}, {str(tmp_path / "epoch_1.pth")!r})
        except CheckpointError as exc:
            print("ERROR:", exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip()
    assert line.startswith(f"ERROR: {tmp_path / 'epoch_1.pth'}: could not be written (File too large)")
    assert "previous file under this name, if any, is untouched" in line
    assert torch.equal(load_checkpoint_file(tmp_path / "epoch_1.pth")["w"], torch.ones(10))  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_1.pth"]


def test_unwritable_destination_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    with pytest.raises(CheckpointError) as info:
        save_checkpoint_file({"a": 1}, blocker / "epoch_1.pth")
    assert str(info.value).startswith(str(blocker / "epoch_1.pth"))
    assert "cannot create the directory" in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_permission_error_is_reported(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    save_checkpoint_file({"a": 1}, locked / "epoch_1.pth")
    locked.chmod(0o500)
    try:
        with pytest.raises(CheckpointError, match="Permission denied"):
            save_checkpoint_file({"a": 2}, locked / "epoch_1.pth")
        assert load_checkpoint_file(locked / "epoch_1.pth") == {"a": 1}
    finally:
        locked.chmod(0o700)


def test_sigkill_during_saves_leaves_a_valid_file_and_pointer(tmp_path: Path) -> None:
    """Kill a process that keeps rewriting the same checkpoint; whatever is there must verify."""
    script = textwrap.dedent(
        f"""
        import sys, torch
        sys.path.insert(0, {str(REPO / "src")!r})
        from typedengine.checkpoint.io import save_checkpoint_file, write_pointer
        root = {str(tmp_path)!r}
        i = 0
        while True:
            i += 1
            path = save_checkpoint_file({{"i": i, "w": torch.full((300_000,), float(i))}}, root + "/latest.pth",
                                        durable=False)
            write_pointer(root, path, durable=False)
            if i == 2:
                print("ready", flush=True)
        """
    )
    rng = np.random.default_rng(1)
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        import time

        time.sleep(float(rng.uniform(0.0, 0.3)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        latest = find_latest(tmp_path)
        assert latest == tmp_path / "latest.pth"
        ckpt = load_checkpoint_file(latest)
        i = ckpt["i"]
        assert isinstance(i, int) and i >= 2
        assert torch.equal(ckpt["w"], torch.full((300_000,), float(i)))  # type: ignore[arg-type]
        removed = remove_stale_temporaries(tmp_path)
        assert all(p.name.startswith((".latest.pth.tmp-", ".last_checkpoint.tmp-")) for p in removed)
        assert sorted(p.name for p in tmp_path.iterdir()) == [LAST_CHECKPOINT, "latest.pth"]


def test_pointer_is_relative_and_survives_moving_the_work_dir(tmp_path: Path) -> None:
    work = tmp_path / "run"
    path = save_checkpoint_file({"a": 1}, work / "iter_8.pth")
    write_pointer(work, path)
    assert (work / LAST_CHECKPOINT).read_text() == "iter_8.pth\n"
    moved = tmp_path / "moved"
    work.rename(moved)
    assert find_latest(moved) == moved / "iter_8.pth"
    # a checkpoint in another directory is still named relative to the work_dir
    other = save_checkpoint_file({"a": 2}, tmp_path / "elsewhere" / "epoch_1.pth")
    write_pointer(moved, other)
    assert (moved / LAST_CHECKPOINT).read_text() == "../elsewhere/epoch_1.pth\n"
    assert find_latest(moved) == moved / "../elsewhere/epoch_1.pth"


def test_find_latest_without_pointer_or_with_a_deleted_target(tmp_path: Path) -> None:
    assert find_latest(tmp_path) is None
    (tmp_path / LAST_CHECKPOINT).write_text("epoch_9.pth")
    assert read_pointer(tmp_path) == tmp_path / "epoch_9.pth"
    assert find_latest(tmp_path) is None


def test_mmengine_absolute_pointer_from_a_moved_work_dir(tmp_path: Path) -> None:
    save_checkpoint_file({"a": 1}, tmp_path / "epoch_2.pth")
    (tmp_path / LAST_CHECKPOINT).write_text("/old/place/work_dirs/exp/epoch_2.pth")
    assert find_latest(tmp_path) == tmp_path / "epoch_2.pth"


def test_atomic_write_bytes_replaces_whole_files_only(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_stale_temporaries_are_recognised_and_nothing_else_is_removed(tmp_path: Path) -> None:
    (tmp_path / ".epoch_3.pth.tmp-123-abcd").write_bytes(b"partial")
    (tmp_path / "epoch_3.pth").write_bytes(b"x")
    (tmp_path / ".hidden").write_bytes(b"x")
    removed = remove_stale_temporaries(tmp_path)
    assert [p.name for p in removed] == [".epoch_3.pth.tmp-123-abcd"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden", "epoch_3.pth"]


def test_pointer_states_are_reported_never_raised(tmp_path: Path) -> None:
    pointer = tmp_path / LAST_CHECKPOINT
    assert inspect_pointer(tmp_path) == PointerState(pointer, None, f"there is no {LAST_CHECKPOINT} file")
    for raw, problem in [
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"\xff\xfe\x00garbage", "is not valid UTF-8 text (10 bytes)"),
        (b"epoch_1.pth\x00\x00", "does not hold one file path (13 bytes)"),
        (b"epoch_1.pth\nepoch_2.pth\n", "does not hold one file path (24 bytes)"),
        (b"epoch_9.pth\n", "names epoch_9.pth, which does not exist"),
    ]:
        pointer.write_bytes(raw)
        state = inspect_pointer(tmp_path)
        assert state.problem == f"{pointer} {problem}", raw
    pointer.write_bytes(b"\xff\xfe")
    with pytest.raises(CheckpointError, match="is not valid UTF-8"):
        read_pointer(tmp_path)
    assert find_latest(tmp_path) is None
    save_checkpoint_file({"a": 1}, tmp_path / "epoch_9.pth")
    pointer.write_bytes(b"epoch_9.pth\n")
    assert inspect_pointer(tmp_path) == PointerState(pointer, tmp_path / "epoch_9.pth", None)


def test_summary_reads_meta_after_a_quick_check_that_skips_only_tensor_data(tmp_path: Path) -> None:
    state = {"meta": {"epoch": 2, "iter": 40, "time": "2026-01-01T00:00:00+00:00"}, "w": torch.randn(4096)}
    path = save_checkpoint_file({**state, "optimizer": {}}, tmp_path / "epoch_2.pth")
    summary = summarize_checkpoint(path)
    assert summary.meta == state["meta"] and summary.entries == {"meta", "w", "optimizer"} and summary.checksummed
    data = path.read_bytes()
    # a flipped bit in the tensor data passes the quick check; the full load finds it
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("archive/data/0")
        name_len, extra_len = struct.unpack("<26xHH", data[info.header_offset : info.header_offset + 30])
        inside = info.header_offset + 30 + name_len + extra_len + 100
    flipped = bytearray(data)
    flipped[inside] ^= 0x04
    path.write_bytes(bytes(flipped))
    assert summarize_checkpoint(path).meta == state["meta"]
    with pytest.raises(CheckpointError, match="Bad CRC-32 for file 'archive/data/0'"):
        load_checkpoint_file(path)
    # a flipped bit in the pickled structure, a header or the directory, and a cut: the quick check finds them
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        pickle_at = zf.getinfo("archive/data.pkl").header_offset + 60
    for position in (pickle_at, 10, len(data) - 150):
        flipped = bytearray(data)
        flipped[position] ^= 0x01
        path.write_bytes(bytes(flipped))
        with pytest.raises(CheckpointError):
            summarize_checkpoint(path)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="incomplete checkpoint: a zip archive without its end"):
        summarize_checkpoint(path)


def test_things_that_are_not_checkpoints_say_what_they_are(tmp_path: Path) -> None:
    text = tmp_path / "notes.pth"
    text.write_text("hello")
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    folder = tmp_path / "folder.pth"
    folder.mkdir()
    cases = [
        (text, True, "not a checkpoint: not a zip archive as torch.save writes (and no typedengine checksum)"),
        (empty, True, "incomplete checkpoint: the file is empty"),
        (empty, False, "incomplete checkpoint: the file is empty"),
        (folder, True, "is a directory, not a checkpoint file"),
        (tmp_path / "missing.pth", False, "no such checkpoint file"),
    ]
    for path, require, message in cases:
        with pytest.raises(CheckpointError) as info:
            load_checkpoint_file(path, require_checksum=require)
        assert str(info.value) == f"{path}: {message}", (path, require)
    # without a checksum requirement a non-zip file still gets torch.load's own verdict, naming the file
    with pytest.raises(CheckpointError, match=f"^{text}: cannot be loaded with weights_only=True"):
        load_checkpoint_file(text, require_checksum=False)
