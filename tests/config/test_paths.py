"""Path checks before a run: directories that can be created, files that are checkpoints (by their headers)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

from typedengine.checkpoint.io import checkpoint_problem, save_checkpoint_file
from typedengine.config.paths import directory_problem, output_file_problem


def test_directories(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    assert directory_problem(tmp_path / "new" / "deeper") is None
    assert directory_problem(tmp_path) is None
    assert directory_problem(tmp_path / "f") == f"{tmp_path / 'f'} is a file, not a directory"
    assert directory_problem(tmp_path / "f" / "sub") == f"{tmp_path / 'f' / 'sub'} lies under {tmp_path / 'f'}, which is a file"
    assert directory_problem("") is not None and "empty" in str(directory_problem(""))


def test_output_files(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    assert output_file_problem(tmp_path / "a" / "b.json") is None
    assert output_file_problem(tmp_path / "f") is None  # overwritten
    assert output_file_problem(tmp_path) == f"{tmp_path} is a directory"
    assert "which is a file" in str(output_file_problem(tmp_path / "f" / "b.json"))


def test_real_checkpoints_and_weights_pass(tmp_path: Path) -> None:
    state = {"state_dict": {"w": torch.zeros(2)}}
    save_checkpoint_file(state, tmp_path / "ours.pth")
    torch.save(state, tmp_path / "plain.pth")
    for name in ("ours.pth", "plain.pth"):
        assert checkpoint_problem(tmp_path / name, "resume") is None
        assert checkpoint_problem(tmp_path / name, "load_from") is None


@pytest.mark.parametrize("protocol", [2, 4])
def test_legacy_torch_files_are_weights_not_resumable(tmp_path: Path, protocol: int) -> None:
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buffer, _use_new_zipfile_serialization=False, pickle_protocol=protocol)
    path = tmp_path / "legacy.pth"
    path.write_bytes(buffer.getvalue())
    assert checkpoint_problem(path, "load_from") is None
    assert "legacy torch.save file (weights only)" in str(checkpoint_problem(path, "resume"))


def test_a_damaged_archive_is_left_to_the_loader(tmp_path: Path) -> None:
    path = tmp_path / "cut.pth"
    path.write_bytes(b"PK\x03\x04" + bytes(64))  # a checkpoint cut short: the loader names the corruption
    assert checkpoint_problem(path, "resume") is None


def test_a_dcp_directory_passes(tmp_path: Path) -> None:
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / ".metadata").write_bytes(b"x")
    assert checkpoint_problem(tmp_path / "ckpt", "resume") is None
    assert checkpoint_problem(tmp_path, "resume") == "is a directory, not a checkpoint file"
