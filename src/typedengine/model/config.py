"""ModelConfig: the base a user's model config subclasses (the experiment root narrows the field to it).

It sits beside :mod:`typedengine.model.base` rather than in it: ``BaseModel`` is an ``nn.Module``, so its
module imports torch when imported, while this config is part of the config layer that ``--help`` and
``--plan`` import without torch. The arrow points one way: the config builds the model, the model never
imports its config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config.base import Config

if TYPE_CHECKING:
    from .base import BaseModel

__all__ = ["ModelConfig"]


class ModelConfig(Config):
    """Subclass it with your model's hyper-parameters and a ``build()`` that returns a :class:`BaseModel`.

    The experiment root config narrows its ``model`` field to the subclass, so the CLI shows the
    subclass's fields and the JSON round trip keeps them::

        class NetConfig(ModelConfig):
            width: int = Field(32, gt=0, description="Hidden width.")
            def build(self) -> Net:
                return Net(self.width)

        class Exp(RunnerConfig):
            model: NetConfig = NetConfig()
    """

    def build(self) -> BaseModel:
        """Build the model. Subclasses must override this."""
        raise NotImplementedError(f"{type(self).__name__}.build() is not implemented")
