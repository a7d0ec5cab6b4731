"""Which variant a command-line flag belongs to, when another one is selected.

A union field is a set of subcommands (``optim-wrapper.optimizer:sgd``, ``:adam``, ...); each flag
under it belongs to some of them. With SGD selected (by the default, a preset, a config file or a
token anywhere on the line), ``--optim-wrapper.optimizer.betas`` is not wrong but misplaced; tyro's
answer is a box listing every subcommand of the tree. :func:`variant_issues` says instead::

    --optim-wrapper.optimizer.betas: belongs to optim-wrapper.optimizer:adam (or adamw, adamax, nadam, ...),
    not to optim-wrapper.optimizer:sgd; select it first: optim-wrapper.optimizer:adam --optim-wrapper...

and for a slot that is off (``default-hooks.ema:none``): ``default-hooks.ema is off (none); switch it on
first: default-hooks.ema:ema ...``.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from typedengine.config.annotations import is_model, item_annotation, strip_annotated
from typedengine.config.errors import ConfigIssue
from typedengine.config.flags import OWN_OPTIONS, subcommand_choice, variants_of

__all__ = ["variant_issues"]

_MISSING = object()


def _default_of(model: type[BaseModel], value: object, name: str) -> object:
    """The value tyro starts field ``name`` from: the default instance's, else the class default."""
    if isinstance(value, BaseModel) and name in type(value).model_fields:
        return getattr(value, name)
    field = model.model_fields.get(name)
    if field is None:
        return _MISSING
    if field.default is not PydanticUndefined:
        return field.default
    if field.default_factory is not None:
        try:
            return field.default_factory()  # type: ignore[call-arg]  # factories without arguments
        except Exception:  # noqa: BLE001  # an odd factory: the default is simply unknown here
            return _MISSING
    return _MISSING


def _selected(variants: dict[str, object], where: str, value: object, chosen: dict[str, str]) -> str | None:
    """The name of the variant in effect at ``where``: the user's subcommand token, else the default's."""
    if where in chosen:
        return chosen[where]
    if value is _MISSING:
        return None
    if value is None:
        return "none" if "none" in variants else None
    for name, member in variants.items():
        if isinstance(member, type) and type(value) is member:
            return name
    for name, member in variants.items():
        if isinstance(member, type) and isinstance(value, member):
            return name
    return None


def _variant_issue(config_cls: type[BaseModel], base: object, flag: str, chosen: dict[str, str]) -> ConfigIssue | None:
    parts = flag[2:].split(".")
    annotation: object = config_cls
    value: object = base if base is not None else _MISSING
    done: list[str] = []
    index = 0
    while index < len(parts):
        part = parts[index]
        variants = variants_of(annotation)
        if variants is not None and any(is_model(m) for m in variants.values()):
            where = ".".join(done)
            name = _selected(variants, where, value, chosen)
            member = variants.get(name) if name is not None else None
            if member is None:
                return None
            if where in chosen and not (isinstance(member, type) and type(value) is member):
                value = _MISSING  # a switched variant starts from its own defaults
            field_name = part.replace("-", "_")
            if not (is_model(member) and _has_field(member, field_name, last=index == len(parts) - 1)):
                owners = [
                    n for n, m in variants.items()
                    if is_model(m) and _has_field(m, field_name, last=index == len(parts) - 1)
                ]  # fmt: skip
                if not owners:
                    return None
                others = f" (or {', '.join(owners[1:4])}{', ...' if len(owners) > 4 else ''})" if len(owners) > 1 else ""
                fix = f"{where}:{owners[0]} {flag} ..."
                if member is type(None):
                    return ConfigIssue(flag, f"{where} is off (none); switch it on first: {fix}")
                return ConfigIssue(
                    flag, f"belongs to {where}:{owners[0]}{others}, not to {where}:{name}; select it first: {fix}"
                )
            annotation = member
            continue
        bare, _ = strip_annotated(annotation)
        if part.isdigit():
            item = item_annotation(annotation, int(part))
            if item is None:
                return None
            annotation = item
            value = value[int(part)] if isinstance(value, (tuple, list)) and int(part) < len(value) else _MISSING
        elif is_model(bare):
            model = type(value) if isinstance(value, bare) else bare
            name = part.replace("-", "_")
            if name not in model.model_fields:
                return None
            field = model.model_fields[name]
            annotation = typing.Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
            value = _default_of(model, value, name)
        else:
            return None
        done.append(part)
        index += 1
    return None


def _has_field(model: type[BaseModel], name: str, *, last: bool) -> bool:
    if name in model.model_fields:
        return True
    return last and name.startswith("no_") and name[3:] in model.model_fields


def variant_issues(config_cls: type[BaseModel], base: object, args: Sequence[str]) -> list[ConfigIssue]:
    """Flags of a variant that is not selected, each naming the variant that has it (see module doc).

    ``base`` is the config tyro starts from (the default, preset or layered config; None: class defaults).
    """
    chosen: dict[str, str] = {}
    issues: list[ConfigIssue] = []
    for token in args:
        if token == "--":
            break
        found = subcommand_choice(config_cls, token)
        if found is None:
            continue
        where, name = found
        if where in chosen and chosen[where] != name:
            issues.append(ConfigIssue(token, f"{where} is already chosen as {where}:{chosen[where]}; choose one"))
            continue
        chosen[where] = name
    for token in args:
        if token == "--":
            break
        if token.startswith("--") and len(token) > 2 and token.partition("=")[0] not in OWN_OPTIONS:
            issue = _variant_issue(config_cls, base, token.partition("=")[0], chosen)
            if issue is not None:
                issues.append(issue)
    return issues
