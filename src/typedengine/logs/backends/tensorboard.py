"""The TensorBoard backend: real event files through ``torch.utils.tensorboard.SummaryWriter``.

Needs the ``tensorboard`` package (``pip install typedengine[tensorboard]``). Scalars are written as
``<mode>/<name>`` (``train/loss``, ``val/accuracy``) at the global training iteration, so train and val
curves share an x-axis. Files go to ``<save_dir>/<log_subdir>``; ``tensorboard --logdir work_dirs`` finds them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ...config.base import Config, Tag

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

    from .png import ImageArray

__all__ = ["TensorboardBackend", "TensorboardBackendConfig"]


class TensorboardBackend:
    """Writes TensorBoard event files under ``log_dir``; the writer is created on first use.

    Example::

        backend = TensorboardBackend(Path("work_dirs/exp/20260514_101203/tensorboard"))
        backend.add_scalars({"loss": 0.5}, step=10, mode="train")   # tag "train/loss"
    """

    def __init__(self, log_dir: Path, *, flush_secs: int = 30) -> None:
        self.log_dir = log_dir
        self.flush_secs = flush_secs
        self._writer: SummaryWriter | None = None

    @property
    def writer(self) -> SummaryWriter:
        """The underlying ``SummaryWriter`` (created on first access)."""
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._writer = SummaryWriter(log_dir=str(self.log_dir), flush_secs=self.flush_secs)
        return self._writer

    def add_scalars(
        self,
        scalars: Mapping[str, float],
        step: int,
        *,
        epoch: int | None = None,
        iter: int | None = None,
        mode: str = "train",
    ) -> None:
        for key, value in scalars.items():
            self.writer.add_scalar(f"{mode}/{key}", float(value), global_step=step)

    def add_config(self, config_json: Mapping[str, object], command: str) -> None:
        text = json.dumps(config_json, indent=2)
        # TensorBoard renders text as markdown: indent four spaces to get a code block
        self.writer.add_text("config", "\n".join("    " + line for line in text.splitlines()))
        self.writer.add_text("command", "    " + command)

    def add_image(self, name: str, image: ImageArray, step: int) -> None:
        self.writer.add_image(name, image, global_step=step, dataformats="HWC" if image.ndim == 3 else "HW")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class TensorboardBackendConfig(Config):
    """TensorBoard event files under ``<log_dir>/<log_subdir>`` (optional extra: ``typedengine[tensorboard]``)."""

    type: Tag[Literal["tensorboard"]] = "tensorboard"
    log_subdir: str = Field("tensorboard", min_length=1, description="Directory under the run's log dir.")
    flush_secs: int = Field(30, ge=1, description="Seconds between flushes of the event file.")

    def build(self, *, save_dir: Path) -> TensorboardBackend:
        """The backend writing under ``save_dir / log_subdir``."""
        return TensorboardBackend(save_dir / self.log_subdir, flush_secs=self.flush_secs)
