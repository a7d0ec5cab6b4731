"""The Weights & Biases backend (offline by default; ``wandb sync`` uploads later).

Needs ``wandb`` ≥ 0.19.10 (``pip install typedengine[wandb]``; images also need ``pillow``). Scalars are
logged as ``<mode>/<name>`` with ``step`` = the global training iteration (train and val values of one
iteration share a history row); the config and the command line go to the run's config; files go to
``<save_dir>/wandb`` (``wandb leet inspect --summary <save_dir>/wandb/latest-run`` shows an offline run).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, cast

from pydantic import Field

from ...config.base import Config, Tag

if TYPE_CHECKING:
    from wandb.sdk.wandb_run import Run

    from .png import ImageArray

__all__ = ["WandbBackend", "WandbBackendConfig"]

WandbMode = Literal["offline", "online", "disabled"]


class _RunConfig(Protocol):
    """The part of ``wandb.Run.config`` used here (wandb leaves ``update`` unannotated)."""

    def update(self, d: Mapping[str, object], allow_val_change: bool | None = None) -> None: ...


class WandbBackend:
    """Logs to a W&B run of its own, started on first use and finished by :meth:`close`.

    Other W&B runs of the process (another backend's, the user's) are left alone. Logging after
    :meth:`close` (``train()`` then ``test()``) starts a new run with the same project and name.

    Example::

        backend = WandbBackend(Path("work_dirs/exp/20260514_101203"), project="exp", name="20260514_101203")
        backend.add_scalars({"loss": 0.5}, step=10, mode="train")   # key "train/loss" at step 10
        backend.close()
    """

    def __init__(self, save_dir: Path, *, project: str, name: str, mode: WandbMode = "offline") -> None:
        self.save_dir = save_dir
        self.project = project
        self.name = name
        self.mode = mode
        self._run: Run | None = None

    def _open(self) -> Run:
        if self._run is None:
            import wandb

            self.save_dir.mkdir(parents=True, exist_ok=True)
            self._run = wandb.init(
                project=self.project,
                name=self.name,
                dir=str(self.save_dir),
                mode=self.mode,
                reinit="create_new",  # the default hands back an active run of someone else's
            )
        return self._run

    def add_scalars(
        self,
        scalars: Mapping[str, float],
        step: int,
        *,
        epoch: int | None = None,
        iter: int | None = None,
        mode: str = "train",
    ) -> None:
        self._open().log({f"{mode}/{k}": float(v) for k, v in scalars.items()}, step=step)

    def add_config(self, config_json: Mapping[str, object], command: str) -> None:
        config = cast("_RunConfig", self._open().config)
        config.update({**config_json, "command": command}, allow_val_change=True)

    def add_image(self, name: str, image: ImageArray, step: int) -> None:
        import wandb

        self._open().log({name: wandb.Image(image)}, step=step)

    def close(self) -> None:
        if self._run is not None:
            self._run.finish()
            self._run = None


class WandbBackendConfig(Config):
    """A W&B run, offline by default (optional extra: ``typedengine[wandb]``)."""

    type: Tag[Literal["wandb"]] = "wandb"
    project: str | None = Field(None, description="W&B project; None = the work dir's name.")
    name: str | None = Field(None, description="W&B run name; None = the run's timestamp.")
    mode: WandbMode = Field(
        "offline", description="offline (sync later with `wandb sync`), online or disabled."
    )

    def build(self, *, save_dir: Path) -> WandbBackend:
        """The backend for the run logging to ``save_dir``."""
        return WandbBackend(
            save_dir,
            project=self.project or save_dir.resolve().parent.name,
            name=self.name or save_dir.name,
            mode=self.mode,
        )
