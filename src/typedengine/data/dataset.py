"""DatasetConfig: the base a user's (or a built-in) dataset config subclasses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config.base import Config

if TYPE_CHECKING:
    from torch.utils.data import Dataset

__all__ = ["DatasetConfig"]


class DatasetConfig(Config):
    """Describes a dataset and builds it. Subclass it; ``DataLoaderConfig[YourDataset]`` narrows the type.

    ``declared_length()`` lets ``--plan`` compute iterations per epoch without building anything; return
    None when the length is only known after loading.
    """

    def build(self) -> Dataset[object]:
        """Build the dataset. Subclasses must override this."""
        raise NotImplementedError(f"{type(self).__name__}.build() is not implemented")

    def declared_length(self) -> int | None:
        """The number of samples, when known without building the dataset (default: unknown)."""
        return None

    def metainfo(self) -> dict[str, object]:
        """Dataset meta information (class names, …) passed to metrics and stored in checkpoints."""
        return {}
