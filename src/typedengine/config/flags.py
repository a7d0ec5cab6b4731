"""What command-line flags and subcommands a config tree accepts, checked before tyro parses.

tyro reports an unknown flag in a box that first lists every subcommand of the tree (dozens of lines for a
RunnerConfig) and only then its suggestion. :func:`unknown_tokens` recognises most mistakes from the
model classes alone and words them like every other config problem::

    --train.max-epoch: unknown flag; did you mean --train.max-epochs?
    optim-wrapper.optimizer:adamx: unknown choice; did you mean optim-wrapper.optimizer:adamw? (choices: sgd, adam, ...)

It only reports what it is sure about (a path through models, tuples and unions whose members name
their subcommands); anything else is left to tyro.

:func:`expand_negated_flags` works around a tyro 1.0.17 limitation: with ``CascadeSubcommandArgs`` the
negated form of a boolean flag (``--train-dataloader.no-shuffle``) does not select a default subcommand
implicitly, while the positive form does.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Sequence

from pydantic import BaseModel

from typedengine.config.annotations import is_union, item_annotation, model_options, strip_annotated
from typedengine.config.errors import ConfigIssue

__all__ = ["expand_negated_flags", "models_at", "unknown_tokens"]

_OWN = {"--help", "-h", "--config", "--print-config", "--save-config", "--plan"}


def _dash(name: str) -> str:
    return name.replace("_", "-")


def _with_subclasses(models: Sequence[type[BaseModel]]) -> list[type[BaseModel]]:
    """``models`` and all their subclasses: tyro follows a default's runtime type, which may be a subclass."""
    out: list[type[BaseModel]] = []
    todo = list(models)
    while todo:
        model = todo.pop()
        if model not in out:
            out.append(model)
            todo.extend(model.__subclasses__())
    return out


def _walk(config_cls: type[BaseModel], parts: Sequence[str]) -> tuple[list[object], int, bool]:
    """Follow flag segments through the tree.

    Returns the annotations reached, the index of the first segment nothing matched (``len(parts)`` if
    all matched) and whether the walk stayed on ground it understands (models, tuples, unions).
    """
    annotations: list[object] = [config_cls]
    for index, part in enumerate(parts):
        nxt: list[object] = []
        for annotation in annotations:
            bare, _ = strip_annotated(annotation)
            options = model_options(annotation)
            if part.isdigit():
                item = item_annotation(annotation, int(part))
                if item is not None:
                    nxt.append(item)
                continue
            if not options:
                members = [strip_annotated(m)[0] for m in typing.get_args(bare)] if is_union(bare) else [bare]
                if any(m is dict or typing.get_origin(m) is dict for m in members):
                    return annotations, index, False  # dict keys become flags too: leave them to tyro
                continue
            for model in _with_subclasses(options):
                field = model.model_fields.get(part.replace("-", "_"))
                if field is not None:
                    nxt.append(typing.Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation)
        if not nxt:
            return annotations, index, True
        annotations = nxt
    return annotations, len(parts), True


def models_at(config_cls: type[BaseModel], parts: Sequence[str]) -> list[type[BaseModel]]:
    """The config classes a dotted flag prefix can reach (every union member; tuple positions by index)."""
    annotations, stop, _ = _walk(config_cls, parts)
    if stop < len(parts):
        return []
    return _with_subclasses([m for a in annotations for m in model_options(a)])


def _is_bool_flag(models: Sequence[type[BaseModel]], name: str) -> bool:
    return any((f := m.model_fields.get(name)) is not None and f.annotation is bool for m in models)


def expand_negated_flags(config_cls: type[BaseModel], args: Sequence[str]) -> list[str]:
    """``--a.b.no-flag`` → ``--a.b.flag --a.b.no-flag`` for boolean fields inside sub-configs (see module doc)."""
    out: list[str] = []
    for arg in args:
        prefix, dot, last = arg.rpartition(".")
        if arg.startswith("--") and dot and last.startswith("no-") and "=" not in last:
            models = models_at(config_cls, prefix[2:].split("."))
            name = last[3:].replace("-", "_")
            if _is_bool_flag(models, name) and not any(f"no_{name}" in m.model_fields for m in models):
                out.append(f"{prefix}.{last[3:]}")
        out.append(arg)
    return out


def _names_at(annotations: Sequence[object]) -> list[str]:
    names: list[str] = []
    for annotation in annotations:
        for model in _with_subclasses(model_options(annotation)):
            names.extend(_dash(n) for n in model.model_fields)
    return sorted(set(names))


def _check_flag(config_cls: type[BaseModel], token: str) -> ConfigIssue | None:
    flag = token.partition("=")[0]
    if flag in _OWN or flag.startswith("--tyro-"):
        return None
    parts = flag[2:].split(".")
    annotations, stop, understood = _walk(config_cls, parts)
    if not understood:
        return None
    if stop == len(parts):
        return None
    last = parts[stop]
    if stop == len(parts) - 1 and last.startswith("no-"):
        models = _with_subclasses([m for a in annotations for m in model_options(a)])
        if _is_bool_flag(models, last[3:].replace("-", "_")):
            return None
    if not any(model_options(a) for a in annotations):
        return ConfigIssue(flag, "unknown flag")
    names = _names_at(annotations)
    close = difflib.get_close_matches(last, names, n=1, cutoff=0.6)
    hint = ""
    if close:
        hint = "; did you mean --" + ".".join([*parts[:stop], close[0], *parts[stop + 1 :]]) + "?"
    return ConfigIssue(flag, "unknown flag" + hint)


def _subcommand_names(annotation: object) -> list[str] | None:
    """tyro's names for a union field's members, when every member names its subcommand explicitly."""
    bare, _ = strip_annotated(annotation)
    if not is_union(bare):
        return None
    names: list[str] = []
    for arg in typing.get_args(bare):
        if arg is type(None):
            names.append("none")
            continue
        inner, _ = strip_annotated(arg)
        if is_union(inner):
            nested = _subcommand_names(arg)
            if nested is None:
                return None
            names.extend(nested)
            continue
        explicit = [
            getattr(meta, "name", None)
            for meta in getattr(arg, "__metadata__", ())
            if type(meta).__name__ == "_SubcommandConfig"
        ]
        if not explicit or not isinstance(explicit[0], str):
            return None
        names.append(_dash(explicit[0]))
    return names


def _check_subcommand(config_cls: type[BaseModel], token: str) -> ConfigIssue | None:
    where, _, choice = token.rpartition(":")
    if not where or not choice:
        return None
    annotations, stop, understood = _walk(config_cls, where.split("."))
    if not understood or stop < len(where.split(".")):
        return None
    names: list[str] = []
    for annotation in annotations:
        found = _subcommand_names(annotation)
        if found is None:
            return None
        names.extend(n for n in found if n not in names)
    if not names or _dash(choice).lower() in [n.lower() for n in names]:
        return None
    close = difflib.get_close_matches(_dash(choice), names, n=1, cutoff=0.6)
    hint = f"; did you mean {where}:{close[0]}?" if close else ""
    return ConfigIssue(token, f"unknown choice{hint} (choices: {', '.join(names)})")


def unknown_tokens(config_cls: type[BaseModel], args: Sequence[str]) -> list[ConfigIssue]:
    """Every flag and subcommand token of ``args`` that ``config_cls`` surely does not accept."""
    issues: list[ConfigIssue] = []
    for token in args:
        if token == "--":
            break
        issue: ConfigIssue | None = None
        if token.startswith("--") and len(token) > 2:
            issue = _check_flag(config_cls, token)
        elif ":" in token and not token.startswith("-") and " " not in token and "{" not in token:
            issue = _check_subcommand(config_cls, token)
        if issue is not None:
            issues.append(issue)
    return issues
