"""The :class:`Visualizer`: fans scalars, the config and images out to the configured backends (rank 0 only).

Example::

    vis = VisualizerConfig(backends=(LocalBackendConfig(), TensorboardBackendConfig())).build(
        save_dir=runner.log_dir, rank=runner.rank)
    vis.add_config(cfg.model_dump(mode="json"), shlex.join(sys.argv))
    vis.add_scalars({"loss": 0.53, "lr": 1e-3}, step=10, epoch=1, iter=10, mode="train")
    vis.close()
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from ..config.base import Config
from ..config.errors import ConfigIssue
from .backends.base import VisBackend
from .backends.choices import OPTIONAL_PACKAGES, VisBackendConfig
from .backends.local import LocalBackendConfig

if TYPE_CHECKING:
    from .backends.png import ImageLike

__all__ = ["MissingExtraError", "Visualizer", "VisualizerConfig", "check_visualizer"]


class Visualizer:
    """Sends what hooks log to every backend. On ranks other than 0 every method does nothing.

    ``step`` is the global training iteration for every mode, so train and val share one x-axis.
    """

    def __init__(self, backends: Sequence[VisBackend], *, rank: int) -> None:
        self.rank = rank
        self.backends: tuple[VisBackend, ...] = tuple(backends) if rank == 0 else ()

    def add_scalars(
        self,
        scalars: Mapping[str, float],
        step: int,
        *,
        epoch: int | None = None,
        iter: int | None = None,
        mode: str = "train",
    ) -> None:
        """Log ``scalars`` (names without the mode prefix: ``loss``, ``accuracy``) at ``step``."""
        if not scalars:
            return
        for backend in self.backends:
            backend.add_scalars(scalars, step, epoch=epoch, iter=iter, mode=mode)

    def add_config(self, config_json: Mapping[str, object], command: str) -> None:
        """Record the resolved config (``cfg.model_dump(mode="json")``) and the exact command line."""
        for backend in self.backends:
            backend.add_config(config_json, command)

    def add_image(self, name: str, image: ImageLike, step: int) -> None:
        """Record an image: an HWC/HW array or a CHW/HW tensor (floats in [0, 1], or uint8)."""
        if not self.backends:
            return
        from .backends.png import to_hwc_uint8

        array = to_hwc_uint8(image)
        for backend in self.backends:
            backend.add_image(name, array, step)

    def close(self) -> None:
        """Close every backend (safe to repeat: each backend reopens lazily when used again, e.g. by
        ``test()`` after ``train()``, and closes again here)."""
        for backend in self.backends:
            backend.close()

    def __repr__(self) -> str:
        return f"Visualizer(rank={self.rank}, backends={[type(b).__name__ for b in self.backends]})"


class MissingExtraError(ImportError):
    """A configured backend's optional package is not installed (the message names the extra)."""


def check_visualizer(cfg: VisualizerConfig, path: str = "visualizer") -> list[ConfigIssue]:
    """Config-time check that every backend's optional package is importable.

    Returns one issue per missing package, e.g. ``visualizer.backends[1]: the tensorboard backend needs the
    'tensorboard' package: pip install typedengine[tensorboard]``.
    """
    issues: list[ConfigIssue] = []
    for i, backend in enumerate(cfg.backends):
        need = OPTIONAL_PACKAGES.get(backend.type)
        if need is None:
            continue
        module, extra = need
        if importlib.util.find_spec(module) is None:
            issues.append(
                ConfigIssue(
                    f"{path}.backends[{i}]",
                    f"the {backend.type} backend needs the '{module}' package: pip install typedengine[{extra}]",
                )
            )
    return issues


class VisualizerConfig(Config):
    """Where scalars, the config and images go.

    Example: ``VisualizerConfig(backends=(LocalBackendConfig(), MlflowBackendConfig()))``; on the command
    line the tuple is edited by index (``--visualizer.backends.0.scalars-file``).
    """

    backends: tuple[VisBackendConfig, ...] = Field(
        (LocalBackendConfig(),), description="Backends that receive scalars, the config and images."
    )

    def build(self, *, save_dir: Path, rank: int) -> Visualizer:
        """The visualizer writing under ``save_dir`` (the run's log dir); backends only on rank 0.

        Raises :class:`MissingExtraError` naming the extra to install if a backend's package is missing.
        """
        issues = check_visualizer(self)
        if issues:
            raise MissingExtraError("\n".join(str(i) for i in issues))
        if rank != 0:
            return Visualizer((), rank=rank)
        return Visualizer([b.build(save_dir=save_dir) for b in self.backends], rank=rank)
