"""OptimWrapperDict: several named optim wrappers (e.g. generator and discriminator) behind one object.

A model with several optimizers drives each wrapper itself in its ``train_step``
(``optim_wrapper["generator"].update_params(loss_g)``); the dict's own ``update_params``, ``backward``,
``step`` and ``optim_context`` raise, as in MMEngine. ``get_lr`` / ``get_momentum`` prefix each key with the
wrapper's name (``generator.lr``), ``state_dict`` nests per name, ``zero_grad`` zeroes all.

Built from config, each entry's key names the submodule whose parameters it optimizes
(``model.get_submodule(key)``), so ``{"generator": ..., "discriminator": ...}`` fits a model with
``self.generator`` and ``self.discriminator``.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import TYPE_CHECKING, Annotated, Any, Literal

import tyro
from pydantic import Field, field_validator

from ..config.base import Config, Tag, Variants
from .amp import AmpOptimWrapperConfig
from .wrapper import OptimWrapper, OptimWrapperConfig

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["OptimWrapperDict", "OptimWrapperDictConfig", "SingleOptimWrapperConfig"]


class OptimWrapperDict:
    """Named :class:`OptimWrapper` s; drive each one in a custom ``train_step``."""

    def __init__(self, **wrappers: OptimWrapper) -> None:
        for name, wrapper in wrappers.items():
            if not isinstance(wrapper, OptimWrapper):
                raise TypeError(f"{name!r} must be an OptimWrapper, got {type(wrapper).__name__}")
        self.optim_wrappers: dict[str, OptimWrapper] = dict(wrappers)

    # --- not defined for several optimizers -------------------------------------------------------------
    def update_params(self, loss: torch.Tensor, **kwargs: object) -> None:
        """Not supported: call ``update_params`` on the wrapper that owns the loss."""
        raise NotImplementedError("OptimWrapperDict: call update_params on one wrapper, e.g. wrappers['gen']")

    def backward(self, loss: torch.Tensor, **kwargs: object) -> None:
        """Not supported: call ``backward`` on one wrapper."""
        raise NotImplementedError("OptimWrapperDict: call backward on one wrapper")

    def step(self, **kwargs: object) -> None:
        """Not supported: call ``step`` on one wrapper."""
        raise NotImplementedError("OptimWrapperDict: call step on one wrapper")

    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Not supported: use one wrapper's ``optim_context``."""
        raise NotImplementedError("OptimWrapperDict: use optim_context of one wrapper")

    # --- defined for all --------------------------------------------------------------------------------
    def zero_grad(self, **kwargs: object) -> None:
        """Zero the gradients of every optimizer."""
        for wrapper in self.optim_wrappers.values():
            wrapper.zero_grad(**kwargs)

    def initialize_count_status(self, model: nn.Module, init_counts: int, max_counts: int) -> None:
        """No-op (as MMEngine): each wrapper is stepped by the model, which owns its counting."""

    def get_lr(self) -> dict[str, list[float]]:
        """``{"<name>.lr": [...], "<name>.base_lr": [...]}`` for every wrapper."""
        return {
            f"{name}.{key}": value
            for name, w in self.optim_wrappers.items()
            for key, value in w.get_lr().items()
        }

    def get_momentum(self) -> dict[str, list[float]]:
        """``{"<name>.momentum": [...]}`` for every wrapper."""
        return {
            f"{name}.{key}": value
            for name, w in self.optim_wrappers.items()
            for key, value in w.get_momentum().items()
        }

    def log_scalars(self) -> dict[str, torch.Tensor]:
        """Every wrapper's scalars, prefixed with its name (``generator.grad_norm``)."""
        return {
            f"{name}.{key}": value
            for name, w in self.optim_wrappers.items()
            for key, value in w.log_scalars().items()
        }

    def state_dict(self) -> dict[str, Any]:
        """``{name: wrapper.state_dict()}``."""
        return {name: w.state_dict() for name, w in self.optim_wrappers.items()}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore every wrapper from :meth:`state_dict` output (names must match)."""
        missing = set(self.optim_wrappers) - set(state_dict)
        if missing:
            raise KeyError(f"optimizer state missing for {sorted(missing)}")
        for name, wrapper in self.optim_wrappers.items():
            wrapper.load_state_dict(state_dict[name])

    # --- mapping access ---------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> OptimWrapper:
        return self.optim_wrappers[name]

    def __contains__(self, name: object) -> bool:
        return name in self.optim_wrappers

    def __len__(self) -> int:
        return len(self.optim_wrappers)

    def __iter__(self) -> Iterator[str]:
        return iter(self.optim_wrappers)

    def keys(self) -> KeysView[str]:
        """Wrapper names."""
        return self.optim_wrappers.keys()

    def values(self) -> ValuesView[OptimWrapper]:
        """The wrappers."""
        return self.optim_wrappers.values()

    def items(self) -> ItemsView[str, OptimWrapper]:
        """``(name, wrapper)`` pairs."""
        return self.optim_wrappers.items()

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.optim_wrappers.items())
        return f"OptimWrapperDict({inner})"


SingleOptimWrapperConfig = Annotated[
    Annotated[OptimWrapperConfig, tyro.conf.subcommand("default")]
    | Annotated[AmpOptimWrapperConfig, tyro.conf.subcommand("amp")],
    Variants,
]
"""One optim wrapper: default or AMP."""


def _default_wrappers() -> dict[str, OptimWrapperConfig | AmpOptimWrapperConfig]:
    return {"generator": OptimWrapperConfig(), "discriminator": OptimWrapperConfig()}


class OptimWrapperDictConfig(Config):
    """Several optim wrappers, each over the parameters of the submodule named by its key.

    Example::

        OptimWrapperDictConfig(wrappers={
            "generator": OptimWrapperConfig(optimizer=AdamConfig(lr=2e-4, betas=(0.5, 0.999))),
            "discriminator": OptimWrapperConfig(optimizer=AdamConfig(lr=2e-4, betas=(0.5, 0.999))),
        })
    """

    type: Tag[Literal["dict"]] = "dict"
    wrappers: dict[str, SingleOptimWrapperConfig] = Field(
        default_factory=_default_wrappers,
        description="Submodule name (dotted path in the model) -> optim wrapper over its parameters.",
    )

    @field_validator("wrappers")
    @classmethod
    def _not_empty(
        cls, value: dict[str, OptimWrapperConfig | AmpOptimWrapperConfig]
    ) -> dict[str, OptimWrapperConfig | AmpOptimWrapperConfig]:
        if not value:
            raise ValueError("at least one optim wrapper is needed")
        return value

    def __hash__(self) -> int:
        # dict fields are not hashable; the canonical JSON dump stands for the value
        return hash(self.model_dump_json())

    def build(self, model: nn.Module) -> OptimWrapperDict:
        """Build one wrapper per entry over ``model.get_submodule(name)``."""
        module = getattr(model, "module", model)  # unwrap DDP
        built: dict[str, OptimWrapper] = {}
        for name, cfg in self.wrappers.items():
            try:
                sub = module.get_submodule(name)
            except AttributeError:
                children = ", ".join(n for n, _ in module.named_children())
                raise ValueError(
                    f"optim_wrapper.wrappers.{name}: the model has no submodule {name!r} (children: {children})"
                ) from None
            built[name] = cfg.build(sub)
        return OptimWrapperDict(**built)
