"""``ImportRef[T]``: use a third-party class or function by dotted path, and check its keyword arguments.

Built-in components are configs with ``build()``. For a class typedengine has no config for (a
torchvision transform, a timm model, a loss from another package) the escape hatch is a dotted import
path: in Python the field holds the object itself, in JSON/YAML files and on the command line it is the
path (``torch.nn.SiLU`` or ``torch.nn:SiLU``)::

    class HeadConfig(Config):
        activation: ImportRef[Callable[..., nn.Module]] = Field(nn.ReLU, description="Activation class.")

mypy sees the field as ``Callable[..., nn.Module]``; pydantic imports a string and then checks the
object against that type; the JSON dump writes ``module.qualname`` and loads back to the same object;
tyro shows ``--activation DOTTED.PATH``.

:class:`ImportCallConfig` pairs a target with JSON keyword arguments and checks the keywords against the
target's signature when the config is validated (unknown or missing arguments, and values of the wrong
type where the signature's annotations can be checked), so a typo fails before any training starts.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Callable, Collection, Mapping
from typing import Annotated, TypeVar

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError
from tyro.constructors import PrimitiveConstructorSpec

from typedengine.config.base import Config
from typedengine.config.errors import ConfigIssue, ConfigProblems, format_validation_error, suggest
from typedengine.config.json_args import JsonDict

__all__ = ["ImportCallConfig", "ImportRef", "check_call_kwargs", "import_object", "object_path"]

T = TypeVar("T")


def import_object(path: str) -> object:
    """Import ``pkg.module.attr`` or ``pkg.module:attr.inner``; a clear :class:`ValueError` if it fails."""
    text = path.strip()
    if not text or text.startswith(".") or " " in text:
        raise ValueError(f"not a dotted import path: {path!r}")
    if ":" in text:
        module_part, _, attr_part = text.partition(":")
        candidates = [(module_part, attr_part.split(".") if attr_part else [])]
    else:
        parts = text.split(".")
        candidates = [(".".join(parts[:i]), parts[i:]) for i in range(len(parts), 0, -1)]
    last_error = f"cannot import {path!r}"
    for module_name, attrs in candidates:
        try:
            obj: object = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # only "this prefix is not a module" is a reason to try a shorter prefix
            if exc.name is not None and module_name.startswith(exc.name):
                last_error = f"cannot import {path!r}: no module named {exc.name!r}"
                continue
            raise ValueError(f"cannot import {path!r}: {exc}") from None
        for i, attr in enumerate(attrs):
            if not hasattr(obj, attr):
                where = ".".join([module_name, *attrs[:i]])
                names = [n for n in dir(obj) if not n.startswith("_")]
                raise ValueError(f"cannot import {path!r}: {where!r} has no attribute {attr!r}{suggest(attr, names)}")
            obj = getattr(obj, attr)
        return obj
    raise ValueError(last_error)


def object_path(obj: object) -> str:
    """The dotted path that :func:`import_object` turns back into ``obj`` (``torch.nn.modules.linear.Linear``)."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<locals>" in qualname:
        raise ValueError(f"{obj!r} has no importable dotted path (define it at module level)")
    return f"{module}.{qualname}"


def _import_if_text(value: object) -> object:
    return import_object(value) if isinstance(value, str) else value


def _raw(args: list[str]) -> str:
    return args[0]  # imported by the BeforeValidator, so an import error is reported with its config path


def _anything(value: object) -> bool:
    return True


def _show(value: object) -> list[str]:
    return [value if isinstance(value, str) else object_path(value)]


ImportRef = Annotated[
    T,
    BeforeValidator(_import_if_text),
    PlainSerializer(object_path, return_type=str),
    WithJsonSchema({"type": "string", "description": "Dotted import path, e.g. 'torch.nn.ReLU'."}),
    PrimitiveConstructorSpec(
        nargs=1, metavar="DOTTED.PATH", instance_from_str=_raw, is_instance=_anything, str_from_instance=_show
    ),
]
"""An object given by its import path in files and on the command line (see the module docstring)."""


def _signature_target(target: Callable[..., object]) -> Callable[..., object]:
    return target.__init__ if inspect.isclass(target) else target


def check_call_kwargs(
    target: Callable[..., object], kwargs: Mapping[str, object], *, supplied: Collection[str] = ()
) -> list[ConfigIssue]:
    """Check ``target(**kwargs)`` without calling it: every problem, with the keyword as the path.

    ``supplied`` names the arguments the caller passes itself at build time (``params`` for an
    optimizer), so they count as present. Values are checked against the signature's annotations
    when pydantic can build a validator for them; other annotations are only checked for presence.
    """
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return []  # builtins without a signature: nothing to check
    params = signature.parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    named = {
        name: p
        for name, p in params.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    issues: list[ConfigIssue] = []
    for key in kwargs:
        if key not in named and not accepts_any:
            issues.append(ConfigIssue(key, "unexpected keyword argument" + suggest(key, named)))
    for name, param in named.items():
        if param.default is inspect.Parameter.empty and name not in kwargs and name not in supplied:
            issues.append(ConfigIssue(name, "required argument is missing"))
    try:
        hints = typing.get_type_hints(_signature_target(target))
    except Exception:  # noqa: BLE001  # unresolvable annotations in third-party code: skip the type check
        hints = {}
    for key, value in kwargs.items():
        hint = hints.get(key)
        if hint is None or key not in named:
            continue
        try:
            adapter: TypeAdapter[object] = TypeAdapter(hint)
        except (PydanticSchemaGenerationError, PydanticUserError, TypeError, NameError):
            continue
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            issues.extend(ConfigIssue(key, i.message) for i in format_validation_error(exc))
    return issues


class ImportCallConfig(Config):
    """Call any importable class or function with keyword arguments checked against its signature.

    Example (JSON): ``{"target": "torch.nn.Dropout", "kwargs": {"p": 0.1}}``; on the command line
    ``--head.target torch.nn.Dropout --head.kwargs '{"p": 0.1}'``.
    """

    target: ImportRef[Callable[..., object]] = Field(description="Class or function to call, as a dotted path.")
    kwargs: JsonDict = Field(default_factory=dict, description="Keyword arguments, as a JSON object.")
    supplied: tuple[str, ...] = Field(
        (), description="Arguments that build() passes itself (not required in kwargs)."
    )

    @model_validator(mode="after")
    def _check_kwargs(self) -> ImportCallConfig:
        issues = [
            ConfigIssue(f"kwargs.{i.path}", i.message)
            for i in check_call_kwargs(self.target, self.kwargs, supplied=self.supplied)
        ]
        if issues:
            raise ConfigProblems(issues)
        return self

    def build(self, **supplied: object) -> object:
        """Call the target with the configured keyword arguments plus ``supplied`` (e.g. ``params=...``)."""
        return self.target(**self.kwargs, **supplied)
