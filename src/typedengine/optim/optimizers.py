"""Optimizer configs: one small frozen config per ``torch.optim`` optimizer, plus an import-path escape hatch.

Each member of :data:`OptimizerConfig` carries the real constructor parameters of its torch class, with
their torch defaults and valid ranges, and builds the optimizer with ``build(params)``. ``params`` is what
torch accepts: an iterable of parameters or of param-group dicts.

Example::

    OptimWrapperConfig(optimizer=AdamWConfig(lr=3e-4, weight_decay=0.05))
    # CLI: python exp.py optim-wrapper.optimizer:adamw --optim-wrapper.optimizer.lr 3e-4

An optimizer that is not in the union (a third-party one) goes through :class:`ImportedOptimizerConfig`:
its class is imported and its keyword arguments are checked against the constructor signature when the
config is validated, so a misspelled argument fails before anything is built.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, TypeAlias

import tyro
from pydantic import Field, TypeAdapter, field_validator, model_validator

from ..config.base import Config, Tag, Variants
from .cli_json import json_spec

if TYPE_CHECKING:
    import torch

__all__ = [
    "AdadeltaConfig",
    "AdagradConfig",
    "AdamConfig",
    "AdamWConfig",
    "AdamaxConfig",
    "ImportedOptimizerConfig",
    "NAdamConfig",
    "OptimizerConfig",
    "OptimizerKwarg",
    "RAdamConfig",
    "RMSpropConfig",
    "SGDConfig",
]

Betas = tuple[
    Annotated[float, Field(ge=0.0, lt=1.0)],
    Annotated[float, Field(ge=0.0, lt=1.0)],
]


class _TorchOptimizerConfig(Config):
    """Shared shape of the built-in members: ``torch_class`` names the ``torch.optim`` class."""

    torch_class: ClassVar[str] = ""

    def torch_kwargs(self) -> dict[str, object]:
        """The constructor keyword arguments (every field except the ``type`` tag)."""
        data = {name: getattr(self, name) for name in type(self).model_fields if name != "type"}
        return data

    def base_hyperparameters(self) -> tuple[float, float | None]:
        """``(lr, weight_decay)`` that paramwise multipliers scale."""
        kwargs = self.torch_kwargs()
        lr, weight_decay = kwargs["lr"], kwargs["weight_decay"]
        assert isinstance(lr, float) and isinstance(weight_decay, float)
        return lr, weight_decay

    def build(self, params: Iterable[torch.Tensor] | Iterable[dict[str, object]]) -> torch.optim.Optimizer:
        """Build the torch optimizer over ``params`` (parameters or param-group dicts)."""
        import torch

        cls: type[torch.optim.Optimizer] = getattr(torch.optim, self.torch_class)
        return cls(params, **self.torch_kwargs())  # type: ignore[arg-type]  # group dicts are torch's ParamsT


class SGDConfig(_TorchOptimizerConfig):
    """Stochastic gradient descent (``torch.optim.SGD``), optionally with (Nesterov) momentum."""

    torch_class: ClassVar[str] = "SGD"
    type: Tag[Literal["sgd"]] = "sgd"
    lr: float = Field(1e-3, ge=0.0, description="Learning rate.")
    momentum: float = Field(0.0, ge=0.0, description="Momentum factor (0 disables momentum).")
    dampening: float = Field(0.0, ge=0.0, description="Dampening for momentum.")
    weight_decay: float = Field(0.0, ge=0.0, description="L2 penalty added to the gradient.")
    nesterov: bool = Field(False, description="Use Nesterov momentum (needs momentum > 0, dampening 0).")
    maximize: bool = Field(False, description="Maximize the objective instead of minimizing it.")
    foreach: bool | None = Field(
        None, description="Force the foreach implementation on/off (None: torch decides)."
    )
    fused: bool | None = Field(None, description="Use the fused implementation (None: torch decides).")

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self) -> SGDConfig:
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov=True needs momentum > 0 and dampening == 0")
        return self


class AdamConfig(_TorchOptimizerConfig):
    """Adam (``torch.optim.Adam``)."""

    torch_class: ClassVar[str] = "Adam"
    type: Tag[Literal["adam"]] = "adam"
    lr: float = Field(1e-3, ge=0.0, description="Learning rate.")
    betas: Betas = Field((0.9, 0.999), description="Decay rates of the first and second moment estimates.")
    eps: float = Field(1e-8, ge=0.0, description="Term added to the denominator for numerical stability.")
    weight_decay: float = Field(0.0, ge=0.0, description="L2 penalty added to the gradient.")
    amsgrad: bool = Field(False, description="Use the AMSGrad variant.")
    maximize: bool = Field(False, description="Maximize the objective instead of minimizing it.")
    foreach: bool | None = Field(
        None, description="Force the foreach implementation on/off (None: torch decides)."
    )
    fused: bool | None = Field(None, description="Use the fused implementation (None: torch decides).")


class AdamWConfig(_TorchOptimizerConfig):
    """AdamW (``torch.optim.AdamW``): Adam with decoupled weight decay."""

    torch_class: ClassVar[str] = "AdamW"
    type: Tag[Literal["adamw"]] = "adamw"
    lr: float = Field(1e-3, ge=0.0, description="Learning rate.")
    betas: Betas = Field((0.9, 0.999), description="Decay rates of the first and second moment estimates.")
    eps: float = Field(1e-8, ge=0.0, description="Term added to the denominator for numerical stability.")
    weight_decay: float = Field(0.01, ge=0.0, description="Decoupled weight decay coefficient.")
    amsgrad: bool = Field(False, description="Use the AMSGrad variant.")
    maximize: bool = Field(False, description="Maximize the objective instead of minimizing it.")
    foreach: bool | None = Field(
        None, description="Force the foreach implementation on/off (None: torch decides)."
    )
    fused: bool | None = Field(None, description="Use the fused implementation (None: torch decides).")


class RMSpropConfig(_TorchOptimizerConfig):
    """RMSprop (``torch.optim.RMSprop``)."""

    torch_class: ClassVar[str] = "RMSprop"
    type: Tag[Literal["rmsprop"]] = "rmsprop"
    lr: float = Field(1e-2, ge=0.0, description="Learning rate.")
    alpha: float = Field(0.99, ge=0.0, description="Smoothing constant of the squared-gradient average.")
    eps: float = Field(1e-8, ge=0.0, description="Term added to the denominator for numerical stability.")
    weight_decay: float = Field(0.0, ge=0.0, description="L2 penalty added to the gradient.")
    momentum: float = Field(0.0, ge=0.0, description="Momentum factor.")
    centered: bool = Field(False, description="Normalize by an estimate of the gradient variance.")
    maximize: bool = Field(False, description="Maximize the objective instead of minimizing it.")
    foreach: bool | None = Field(
        None, description="Force the foreach implementation on/off (None: torch decides)."
    )


class AdagradConfig(_TorchOptimizerConfig):
    """Adagrad (``torch.optim.Adagrad``)."""

    torch_class: ClassVar[str] = "Adagrad"
    type: Tag[Literal["adagrad"]] = "adagrad"
    lr: float = Field(1e-2, ge=0.0, description="Learning rate.")
    lr_decay: float = Field(0.0, ge=0.0, description="Learning-rate decay per step.")
    weight_decay: float = Field(0.0, ge=0.0, description="L2 penalty added to the gradient.")
    initial_accumulator_value: float = Field(
        0.0, ge=0.0, description="Start value of the squared-gradient sum."
    )
    eps: float = Field(1e-10, ge=0.0, description="Term added to the denominator for numerical stability.")
    maximize: bool = Field(False, description="Maximize the objective instead of minimizing it.")
    foreach: bool | None = Field(
        None, description="Force the foreach implementation on/off (None: torch decides)."
    )


class AdadeltaConfig(_TorchOptimizerConfig):
    """Adadelta (``torch.optim.Adadelta``)."""

    torch_class: ClassVar[str] = "Adadelta"
    type: Tag[Literal["adadelta"]] = "adadelta"
    lr: float = Field(1.0, ge=0.0, description="Coefficient that scales the delta before it is applied.")
    rho: float = Field(0.9, ge=0.0, le=1.0, description="Decay rate of the running averages.")
    eps: float = Field(1e-6, ge=0.0, description="Term added to the denominator for numerical stability.")
    weight_decay: float = Field(0.0, ge=0.0, description="L2 penalty added to the gradient.")
    maximize: bool = Field(False, description="Maximize the objective instead of minimizing it.")
    foreach: bool | None = Field(
        None, description="Force the foreach implementation on/off (None: torch decides)."
    )


class AdamaxConfig(_TorchOptimizerConfig):
    """Adamax (``torch.optim.Adamax``): Adam with the infinity norm."""

    torch_class: ClassVar[str] = "Adamax"
    type: Tag[Literal["adamax"]] = "adamax"
    lr: float = Field(2e-3, ge=0.0, description="Learning rate.")
    betas: Betas = Field((0.9, 0.999), description="Decay rates of the first moment and the infinity norm.")
    eps: float = Field(1e-8, ge=0.0, description="Term added to the denominator for numerical stability.")
    weight_decay: float = Field(0.0, ge=0.0, description="L2 penalty added to the gradient.")
    maximize: bool = Field(False, description="Maximize the objective instead of minimizing it.")
    foreach: bool | None = Field(
        None, description="Force the foreach implementation on/off (None: torch decides)."
    )


class NAdamConfig(_TorchOptimizerConfig):
    """NAdam (``torch.optim.NAdam``): Adam with Nesterov momentum."""

    torch_class: ClassVar[str] = "NAdam"
    type: Tag[Literal["nadam"]] = "nadam"
    lr: float = Field(2e-3, ge=0.0, description="Learning rate.")
    betas: Betas = Field((0.9, 0.999), description="Decay rates of the first and second moment estimates.")
    eps: float = Field(1e-8, ge=0.0, description="Term added to the denominator for numerical stability.")
    weight_decay: float = Field(0.0, ge=0.0, description="Weight decay coefficient.")
    momentum_decay: float = Field(4e-3, ge=0.0, description="Momentum decay (psi in the NAdam paper).")
    decoupled_weight_decay: bool = Field(False, description="Decouple weight decay as in AdamW (NAdamW).")
    maximize: bool = Field(False, description="Maximize the objective instead of minimizing it.")
    foreach: bool | None = Field(
        None, description="Force the foreach implementation on/off (None: torch decides)."
    )


class RAdamConfig(_TorchOptimizerConfig):
    """RAdam (``torch.optim.RAdam``): Adam with a rectified adaptive learning rate."""

    torch_class: ClassVar[str] = "RAdam"
    type: Tag[Literal["radam"]] = "radam"
    lr: float = Field(1e-3, ge=0.0, description="Learning rate.")
    betas: Betas = Field((0.9, 0.999), description="Decay rates of the first and second moment estimates.")
    eps: float = Field(1e-8, ge=0.0, description="Term added to the denominator for numerical stability.")
    weight_decay: float = Field(0.0, ge=0.0, description="Weight decay coefficient.")
    decoupled_weight_decay: bool = Field(False, description="Decouple weight decay as in AdamW.")
    maximize: bool = Field(False, description="Maximize the objective instead of minimizing it.")
    foreach: bool | None = Field(
        None, description="Force the foreach implementation on/off (None: torch decides)."
    )


OptimizerKwarg: TypeAlias = bool | int | float | str | tuple[float, ...] | None
"""A value the import-path escape hatch can pass to an optimizer constructor."""

OptimizerKwargs = Annotated[dict[str, OptimizerKwarg], json_spec(TypeAdapter(dict[str, OptimizerKwarg]))]
"""Constructor keyword arguments; one JSON argument on the command line."""


def _import_object(path: str) -> object:
    module_name, _, attr = path.rpartition(".")
    if not module_name:
        raise ValueError(f"{path!r} is not a dotted import path such as 'torch.optim.SGD'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r}: {exc}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ValueError(f"module {module_name!r} has no attribute {attr!r}") from None


def _default_kwargs() -> dict[str, OptimizerKwarg]:
    return {"lr": 0.01}


class ImportedOptimizerConfig(Config):
    """Any ``torch.optim.Optimizer`` subclass given by import path, with keyword arguments.

    The class is imported and ``kwargs`` are bound against its constructor signature when the config is
    validated, so a misspelled argument or a missing required one is a config error, not a crash at build.

    Example::

        ImportedOptimizerConfig(target="torch.optim.ASGD", kwargs={"lr": 0.01, "lambd": 1e-4})
    """

    type: Tag[Literal["import"]] = "import"
    target: str = Field("torch.optim.SGD", description="Dotted import path of the optimizer class.")
    kwargs: OptimizerKwargs = Field(
        default_factory=_default_kwargs,
        description="Keyword arguments for the constructor (lists become tuples, e.g. betas).",
    )

    @field_validator("target")
    @classmethod
    def _target_is_optimizer(cls, value: str) -> str:
        import torch

        obj = _import_object(value)
        if not (isinstance(obj, type) and issubclass(obj, torch.optim.Optimizer)):
            # ValueError, not TypeError: pydantic turns only ValueError into a validation error
            raise ValueError(f"{value!r} is not a torch.optim.Optimizer subclass")  # noqa: TRY004
        return value

    @model_validator(mode="after")
    def _kwargs_match_signature(self) -> ImportedOptimizerConfig:
        obj = _import_object(self.target)
        assert callable(obj)
        sig = inspect.signature(obj)
        try:
            sig.bind([], **self.kwargs)
        except TypeError as exc:
            accepted = [n for n in sig.parameters if n not in ("self", "params")]
            raise ValueError(
                f"kwargs do not fit {self.target}: {exc} (accepted: {', '.join(accepted)})"
            ) from None
        return self

    def __hash__(self) -> int:
        # dict fields are not hashable; the canonical JSON dump stands for the value
        return hash(self.model_dump_json())

    def optimizer_class(self) -> builtins.type[torch.optim.Optimizer]:
        """The imported optimizer class."""
        import torch

        obj = _import_object(self.target)
        assert isinstance(obj, type) and issubclass(obj, torch.optim.Optimizer)
        return obj

    def base_hyperparameters(self) -> tuple[float, float | None]:
        """``(lr, weight_decay)`` from ``kwargs``, else the constructor defaults (None: no weight decay)."""
        params = inspect.signature(self.optimizer_class()).parameters
        values: list[float | None] = []
        for name in ("lr", "weight_decay"):
            value = self.kwargs.get(name, params[name].default if name in params else None)
            values.append(float(value) if isinstance(value, (int, float)) else None)
        if values[0] is None:
            raise ValueError(f"{self.target} has no numeric lr; paramwise rules need one")
        return values[0], values[1]

    def build(self, params: Iterable[torch.Tensor] | Iterable[dict[str, object]]) -> torch.optim.Optimizer:
        """Build the optimizer over ``params`` with ``kwargs``."""
        cls = self.optimizer_class()
        # kwargs were bound against the signature at validation; torch's ParamsT is the params type
        optimizer: torch.optim.Optimizer = cls(params, **self.kwargs)  # type: ignore[arg-type]
        return optimizer


OptimizerConfig = Annotated[
    Annotated[SGDConfig, tyro.conf.subcommand("sgd")]
    | Annotated[AdamConfig, tyro.conf.subcommand("adam")]
    | Annotated[AdamWConfig, tyro.conf.subcommand("adamw")]
    | Annotated[RMSpropConfig, tyro.conf.subcommand("rmsprop")]
    | Annotated[AdagradConfig, tyro.conf.subcommand("adagrad")]
    | Annotated[AdadeltaConfig, tyro.conf.subcommand("adadelta")]
    | Annotated[AdamaxConfig, tyro.conf.subcommand("adamax")]
    | Annotated[NAdamConfig, tyro.conf.subcommand("nadam")]
    | Annotated[RAdamConfig, tyro.conf.subcommand("radam")]
    | Annotated[ImportedOptimizerConfig, tyro.conf.subcommand("import")],
    Variants,
]
"""The optimizer: a discriminated union selected by ``type`` (``optimizer:adamw`` on the CLI)."""
