"""Visualizer and backends: local files, TensorBoard and MLflow read back with their own readers."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import TypeAdapter

from typedengine.logs.backends.choices import VisBackendConfig
from typedengine.logs.backends.local import LocalBackend, LocalBackendConfig
from typedengine.logs.backends.mlflow import MlflowBackendConfig
from typedengine.logs.backends.png import to_hwc_uint8, write_png
from typedengine.logs.backends.tensorboard import TensorboardBackendConfig
from typedengine.logs.backends.wandb import WandbBackendConfig
from typedengine.logs.visualizer import MissingExtraError, Visualizer, VisualizerConfig, check_visualizer


def read_png(path: Path) -> tuple[int, int, int, bytes]:
    """Width, height, colour type and the decompressed rows of an 8-bit PNG (minimal decoder)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF
        if tag == b"IHDR":
            header = body
        elif tag == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, _, color, *_ = struct.unpack(">IIBBBBB", header)
    return width, height, color, zlib.decompress(idat)


def test_local_backend_files(tmp_path: Path) -> None:
    vis = VisualizerConfig().build(save_dir=tmp_path, rank=0)
    vis.add_config({"model": {"width": 32}, "train": {"max_epochs": 5}}, "python exp.py --train.max-epochs 5")
    vis.add_scalars({"loss": 0.5, "lr": 1e-3}, step=10, epoch=1, iter=10, mode="train")
    vis.add_scalars({"accuracy": 35.7}, step=20, epoch=1, iter=20, mode="val")
    vis.add_scalars({"loss": float("nan")}, step=30, epoch=2, iter=30)
    image = np.zeros((6, 8, 3), dtype=np.uint8)
    image[:, :, 0] = 255
    vis.add_image("samples/pred", image, step=20)
    vis.close()
    rows = [json.loads(line) for line in (tmp_path / "scalars.jsonl").read_text().splitlines()]
    assert rows[0] == {"mode": "train", "step": 10, "epoch": 1, "iter": 10, "loss": 0.5, "lr": 1e-3}
    assert rows[1] == {"mode": "val", "step": 20, "epoch": 1, "iter": 20, "accuracy": 35.7}
    assert rows[2]["loss"] == "nan"
    assert json.loads((tmp_path / "config.json").read_text()) == {
        "model": {"width": 32},
        "train": {"max_epochs": 5},
    }
    assert (tmp_path / "command.txt").read_text() == "python exp.py --train.max-epochs 5\n"
    w, h, color, raw = read_png(tmp_path / "vis" / "samples_pred_20.png")
    assert (w, h, color) == (8, 6, 2)
    assert raw[:4] == b"\x00\xff\x00\x00"  # filter byte, then a red pixel


def test_other_ranks_log_nothing(tmp_path: Path) -> None:
    vis = VisualizerConfig().build(save_dir=tmp_path, rank=1)
    vis.add_scalars({"loss": 1.0}, step=1)
    vis.add_config({}, "x")
    vis.close()
    assert not list(tmp_path.iterdir())


def test_image_conversion_from_chw_float_tensor(tmp_path: Path) -> None:
    t = torch.zeros(3, 4, 5)
    t[1] = 1.0
    array = to_hwc_uint8(t)
    assert array.shape == (4, 5, 3) and array.dtype == np.uint8
    assert array[0, 0].tolist() == [0, 255, 0]
    grey = to_hwc_uint8(np.full((2, 3), 0.5))
    assert grey.shape == (2, 3) and grey[0, 0] == 128
    write_png(tmp_path / "g.png", grey)
    assert read_png(tmp_path / "g.png")[:3] == (3, 2, 0)
    with pytest.raises(ValueError, match="image"):
        to_hwc_uint8(np.zeros((2, 3, 5)))


def test_tensorboard_scalars_read_back_with_event_accumulator(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    vis = VisualizerConfig(backends=(TensorboardBackendConfig(),)).build(save_dir=tmp_path, rank=0)
    for step in range(1, 6):
        vis.add_scalars({"loss": 1.0 / step}, step=step, mode="train")
    vis.add_scalars({"accuracy": 80.0}, step=5, mode="val")
    vis.add_image("sample", np.full((4, 4, 3), 200, dtype=np.uint8), step=5)
    vis.add_config({"a": 1}, "cmd")
    vis.close()
    acc = EventAccumulator(str(tmp_path / "tensorboard"))
    acc.Reload()
    assert set(acc.Tags()["scalars"]) == {"train/loss", "val/accuracy"}
    events = acc.Scalars("train/loss")
    assert [e.step for e in events] == [1, 2, 3, 4, 5]
    assert [e.value for e in events] == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.2])
    assert acc.Scalars("val/accuracy")[0].value == pytest.approx(80.0)
    assert acc.Tags()["images"] == ["sample"]


def test_mlflow_metrics_and_params_read_back_with_the_client(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    save_dir = tmp_path / "work" / "20260101_000000"
    vis = VisualizerConfig(backends=(MlflowBackendConfig(),)).build(save_dir=save_dir, rank=0)
    vis.add_config({"model": {"width": 32}, "optim": {"lr": 0.1, "betas": [0.9, 0.99]}}, "python exp.py")
    for step in (10, 20, 30):
        vis.add_scalars({"loss": step / 10.0}, step=step, mode="train")
    vis.add_scalars({"accuracy": 91.5}, step=30, mode="val")
    vis.add_image("pred", np.zeros((2, 2, 3), dtype=np.uint8), step=30)
    backend = vis.backends[0]
    run_id = backend.run_id  # type: ignore[attr-defined]
    vis.close()
    backend.add_scalars({"accuracy": 92.0}, step=40, mode="test")  # a later phase reopens the same run
    backend.close()

    client = MlflowClient(tracking_uri=(tmp_path / "work" / "mlruns").resolve().as_uri())
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "20260101_000000"
    assert client.get_experiment(run.info.experiment_id).name == "work"
    assert run.data.params == {"model.width": "32", "optim.lr": "0.1", "optim.betas": "[0.9, 0.99]"}
    history = client.get_metric_history(run_id, "train/loss")
    assert sorted((m.step, m.value) for m in history) == [(10, 1.0), (20, 2.0), (30, 3.0)]
    assert client.get_metric_history(run_id, "val/accuracy")[0].value == pytest.approx(91.5)
    assert client.get_metric_history(run_id, "test/accuracy")[0].step == 40
    assert len(client.search_runs([run.info.experiment_id])) == 1
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"config.json", "command.txt", "vis"} <= artifacts


def test_missing_optional_package_is_a_config_time_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object, **kwargs: object) -> object:
        return None if name == "wandb" else real_find_spec(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    cfg = VisualizerConfig(backends=(LocalBackendConfig(), WandbBackendConfig()))
    issues = check_visualizer(cfg)
    assert [str(i) for i in issues] == [
        "visualizer.backends[1]: the wandb backend needs the 'wandb' package: pip install typedengine[wandb]"
    ]
    with pytest.raises(MissingExtraError, match=r"pip install typedengine\[wandb\]"):
        cfg.build(save_dir=tmp_path, rank=0)


def test_backend_union_dispatches_on_type() -> None:
    adapter: TypeAdapter[tuple[VisBackendConfig, ...]] = TypeAdapter(tuple[VisBackendConfig, ...])
    parsed = adapter.validate_python(
        [{"type": "local"}, {"type": "tensorboard", "flush_secs": 5}, {"type": "mlflow"}]
    )
    assert [type(b).__name__ for b in parsed] == [
        "LocalBackendConfig",
        "TensorboardBackendConfig",
        "MlflowBackendConfig",
    ]
    cfg = VisualizerConfig(backends=parsed)
    assert VisualizerConfig.model_validate_json(cfg.model_dump_json()) == cfg


def test_custom_backend_objects_work(tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []

    class Recorder(LocalBackend):
        def add_scalars(self, scalars, step, *, epoch=None, iter=None, mode="train"):  # type: ignore[no-untyped-def]
            seen.append((mode, step))

    vis = Visualizer([Recorder(tmp_path)], rank=0)
    vis.add_scalars({"x": 1.0}, step=3, mode="test")
    vis.add_scalars({}, step=4)  # nothing to log: backends are not called
    assert seen == [("test", 3)]
