"""typedengine plot: a PNG of the expected size from real scalars.jsonl files, several runs overlaid."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from typedengine.logs.plot import load_scalars, main


def _write_run(log_dir: Path, scale: float, steps: range) -> None:
    log_dir.mkdir(parents=True)
    with (log_dir / "scalars.jsonl").open("w") as f:
        for step in steps:
            f.write(
                json.dumps(
                    {
                        "mode": "train",
                        "step": step,
                        "epoch": 1,
                        "iter": step,
                        "loss": scale / step,
                        "lr": 0.1 / step,
                    }
                )
                + "\n"
            )
            if step % 20 == 0:
                f.write(
                    json.dumps(
                        {"mode": "val", "step": step, "epoch": 1, "iter": step, "accuracy": 50 + step * scale}
                    )
                    + "\n"
                )


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_plot_writes_png_of_expected_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_run(tmp_path / "a" / "20260101_000000", 1.0, range(10, 60, 10))
    _write_run(tmp_path / "a" / "20260101_010000", 1.0, range(60, 110, 10))  # a resumed continuation
    _write_run(tmp_path / "b" / "20260101_000000", 2.0, range(10, 110, 10))
    out = tmp_path / "curves.png"
    assert main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out)]) == 0
    assert _png_size(out) == (800, 900)  # 8 in x (3 panels x 3 in) at 100 dpi
    assert out.stat().st_size > 20_000  # real curves, not an empty canvas
    assert "loss, lr, accuracy" in capsys.readouterr().out

    series = load_scalars(tmp_path / "a")
    assert [s for s, _ in series[("train", "loss")]] == list(range(10, 110, 10))
    assert series[("val", "accuracy")][0] == (20, 70.0)


def test_keys_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_run(tmp_path / "run" / "t", 1.0, range(10, 50, 10))
    out = tmp_path / "one.png"
    assert (
        main([str(tmp_path / "run" / "t"), "--keys", "loss", "grad_norm", "--out", str(out), "--dpi", "50"])
        == 0
    )
    assert _png_size(out) == (400, 150)
    assert "not logged: grad_norm" in capsys.readouterr().out
    assert main([str(tmp_path / "run"), "--keys", "nothing", "--out", str(out)]) == 1
    assert "available: ['accuracy', 'loss', 'lr']" in capsys.readouterr().err
    assert main([str(tmp_path / "missing")]) == 1
