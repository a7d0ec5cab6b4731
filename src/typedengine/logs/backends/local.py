"""The local backend: plain files in the run's log directory (always on by default).

Files written under ``save_dir`` (``work_dir/<timestamp>/``):

* ``scalars.jsonl`` — one JSON object per logged step:
  ``{"mode": "train", "step": 10, "epoch": 1, "iter": 10, "lr": 0.001, "loss": 0.53}``. ``step`` is the
  global training iteration for every mode (val rows too), so one file has one x-axis; ``epoch`` is left out
  in iteration-based runs.
* ``vis_data/scalars.json`` — the same train and val scalars in MMEngine's ``LocalVisBackend`` format, for
  tools that read MMEngine work dirs (mmdet's ``analyze_logs.py``, users' scripts): one ``json.dumps`` object
  per line, train rows ``{"lr": …, "data_time": …, "loss": …, "time": …, "epoch": 1, "iter": 10,
  "memory": …, "step": 10}`` (``epoch`` only in epoch-based runs, ``memory`` only on CUDA), val rows
  ``{"accuracy": …, "step": 1}`` with MMEngine's step: the epoch in epoch-based runs, the iteration
  otherwise. Test metrics are not in it (MMEngine writes none there either). ``mmengine_scalars_file=None``
  turns it off.
* ``config.json`` — the resolved config (loadable back into an equal config object).
* ``command.txt`` — the exact command line that started the run.
* ``vis/<name>_<step>.png`` — images.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

from pydantic import Field

from ...config.base import Config, Tag

if TYPE_CHECKING:
    from .png import ImageArray

__all__ = ["MMENGINE_SCALARS_FILE", "LocalBackend", "LocalBackendConfig"]

MMENGINE_SCALARS_FILE = "vis_data/scalars.json"
"""Where MMEngine's LocalVisBackend writes its scalars, relative to the run's log directory."""


def _json_number(value: float) -> float | str:
    """JSON has no NaN/inf: write them as strings ("nan", "inf", "-inf") so every reader can parse the line."""
    return value if math.isfinite(value) else str(value)


class LocalBackend:
    """Writes ``scalars.jsonl``, ``config.json``, ``command.txt`` and ``vis/*.png`` under ``save_dir``.

    Example::

        backend = LocalBackend(Path("work_dirs/exp/20260514_101203"))
        backend.add_scalars({"loss": 0.5}, step=10, epoch=1, iter=10, mode="train")
    """

    def __init__(
        self,
        save_dir: Path,
        *,
        scalars_file: str = "scalars.jsonl",
        mmengine_scalars_file: str | None = MMENGINE_SCALARS_FILE,
    ) -> None:
        self.save_dir = save_dir
        self.scalars_path = save_dir / scalars_file
        self.mmengine_scalars_path = save_dir / mmengine_scalars_file if mmengine_scalars_file else None
        self._scalars: TextIO | None = None
        self._mmengine_scalars: TextIO | None = None

    def add_scalars(
        self,
        scalars: Mapping[str, float],
        step: int,
        *,
        epoch: int | None = None,
        iter: int | None = None,
        mode: str = "train",
    ) -> None:
        row: dict[str, object] = {"mode": mode, "step": step}
        if epoch is not None:
            row["epoch"] = epoch
        if iter is not None:
            row["iter"] = iter
        for key, value in scalars.items():
            row[key] = _json_number(float(value))
        if self._scalars is None:
            self.save_dir.mkdir(parents=True, exist_ok=True)
            self._scalars = self.scalars_path.open("a", encoding="utf-8")
        self._scalars.write(json.dumps(row) + "\n")
        self._scalars.flush()  # every row is on disk (for `typedengine plot` during training, and crashes)
        if self.mmengine_scalars_path is not None and mode != "test":
            self._write_mmengine_row(scalars, step, epoch=epoch, iter=iter, mode=mode)

    def _write_mmengine_row(
        self, scalars: Mapping[str, float], step: int, *, epoch: int | None, iter: int | None, mode: str
    ) -> None:
        """One row as MMEngine's LoggerHook + LocalVisBackend write it (key order and step rule included)."""
        row: dict[str, object] = {k: float(v) for k, v in scalars.items() if k != "memory"}
        if mode == "train":
            if epoch is not None:
                row["epoch"] = epoch
            row["iter"] = iter if iter is not None else step
            if "memory" in scalars:
                row["memory"] = int(scalars["memory"])
        elif epoch is not None:  # MMEngine's log_metric_by_epoch: val rows count epochs
            step = epoch
        row["step"] = step
        if self._mmengine_scalars is None:
            assert self.mmengine_scalars_path is not None
            self.mmengine_scalars_path.parent.mkdir(parents=True, exist_ok=True)
            self._mmengine_scalars = self.mmengine_scalars_path.open("a", encoding="utf-8")
        self._mmengine_scalars.write(json.dumps(row) + "\n")  # NaN as MMEngine's json.dump writes it
        self._mmengine_scalars.flush()

    def add_config(self, config_json: Mapping[str, object], command: str) -> None:
        self.save_dir.mkdir(parents=True, exist_ok=True)
        (self.save_dir / "config.json").write_text(json.dumps(config_json, indent=2) + "\n", encoding="utf-8")
        (self.save_dir / "command.txt").write_text(command + "\n", encoding="utf-8")

    def add_image(self, name: str, image: ImageArray, step: int) -> None:
        safe = name.replace("/", "_")
        from .png import write_png

        write_png(self.save_dir / "vis" / f"{safe}_{step}.png", image)

    def close(self) -> None:
        """Close the scalar files (a later write reopens them in append mode)."""
        if self._scalars is not None:
            self._scalars.close()
            self._scalars = None
        if self._mmengine_scalars is not None:
            self._mmengine_scalars.close()
            self._mmengine_scalars = None


class LocalBackendConfig(Config):
    """Plain files in the run's log directory: ``scalars.jsonl``, ``vis_data/scalars.json`` (MMEngine's
    format), ``config.json``, ``command.txt``, ``vis/``.

    Example: ``VisualizerConfig(backends=(LocalBackendConfig(), TensorboardBackendConfig()))``.
    """

    type: Tag[Literal["local"]] = "local"
    scalars_file: str = Field(
        "scalars.jsonl", min_length=1, description="File name of the JSON-lines scalar log."
    )
    mmengine_scalars_file: str | None = Field(
        MMENGINE_SCALARS_FILE,
        min_length=1,
        description="The scalars again, in MMEngine's format and place (for MMEngine log tools); None: off.",
    )

    def build(self, *, save_dir: Path) -> LocalBackend:
        """The backend writing under ``save_dir``."""
        return LocalBackend(
            save_dir, scalars_file=self.scalars_file, mmengine_scalars_file=self.mmengine_scalars_file
        )
