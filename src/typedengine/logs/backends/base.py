"""The :class:`VisBackend` protocol: where the visualizer sends scalars, the config and images.

A backend is any object with these four methods; the built-in ones (local files, TensorBoard, MLflow,
W&B) are configured by the members of :data:`~typedengine.logs.backends.choices.VisBackendConfig`.
Backends open their files or connections on first use, so an unused backend costs nothing.

Example::

    class PrintBackend:
        def add_scalars(self, scalars, step, *, epoch=None, iter=None, mode="train"): print(step, scalars)
        def add_config(self, config_json, command): pass
        def add_image(self, name, image, step): pass
        def close(self): pass
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .png import ImageArray

__all__ = ["VisBackend"]


@runtime_checkable
class VisBackend(Protocol):
    """Receives what the (rank-0) visualizer logs. ``image`` is HWC (or HW) ``uint8``, RGB."""

    def add_scalars(
        self,
        scalars: Mapping[str, float],
        step: int,
        *,
        epoch: int | None = None,
        iter: int | None = None,
        mode: str = "train",
    ) -> None:
        """Log ``scalars`` (names without the mode prefix) at ``step`` (the global training iteration)."""

    def add_config(self, config_json: Mapping[str, object], command: str) -> None:
        """Record the resolved config (JSON data) and the exact command line."""

    def add_image(self, name: str, image: ImageArray, step: int) -> None:
        """Record an image."""

    def close(self) -> None:
        """Flush and release files/connections (called once at the end of the run; idempotent)."""
