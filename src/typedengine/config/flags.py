"""What command-line flags and subcommands a config tree accepts, checked before tyro parses.

tyro reports an unknown flag in a box that first lists every subcommand of the tree (dozens of lines for a
RunnerConfig) and only then its suggestion. :func:`unknown_tokens` recognises most mistakes from the
model classes alone and words them like every other config problem::

    --train.max-epoch: unknown flag; did you mean --train.max-epochs?
    optim-wrapper.optimizer:adamx: unknown choice; did you mean optim-wrapper.optimizer:adamw? (choices: sgd, adam, ...)

It only reports what it is sure about (a path through models, tuples and unions); anything else is left
to tyro. Suggestions ignore case (``--param-scheduler.1.t-max`` suggests ``T-max``).

:func:`typedengine.config.variants.variant_issues` names the variant a flag belongs to when another
one is selected.

:func:`normalize_args` makes "flags in any order" true: subcommand tokens move to the front (parents
before children), so a variant's flags may come before the token that selects it. It also accepts a bare
``--resume`` (a ``bool | PATH`` field) as ``--resume True``, ``--flag True|False`` for a plain boolean
flag, and works around a tyro 1.0.17 limitation: with ``CascadeSubcommandArgs`` the negated form of a
boolean flag (``--train-dataloader.no-shuffle``) does not select a default subcommand implicitly, while
the positive form does.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Sequence

from pydantic import BaseModel

from typedengine.config.annotations import is_model, is_union, item_annotation, model_options, strip_annotated
from typedengine.config.cli_text import variant_name
from typedengine.config.errors import ConfigIssue

__all__ = [
    "OWN_OPTIONS",
    "expand_negated_flags",
    "models_at",
    "normalize_args",
    "resolves_to_field",
    "subcommand_choice",
    "unknown_tokens",
    "variants_of",
]

OWN_OPTIONS = {"--help", "-h", "--config", "--print-config", "--save-config", "--plan"}


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
    """A boolean field (``--x`` / ``--no-x``), or a ``bool | PATH`` one (``--no-resume`` = ``--resume False``)."""
    return any(
        (f := m.model_fields.get(name)) is not None and (f.annotation is bool or _is_bool_union(f.annotation))
        for m in models
    )


def expand_negated_flags(config_cls: type[BaseModel], args: Sequence[str]) -> list[str]:
    """``--a.b.no-flag`` → ``--a.b.flag --a.b.no-flag`` for boolean fields inside sub-configs (see module doc)."""
    out: list[str] = []
    for arg in args:
        prefix, dot, last = arg.rpartition(".")
        if arg.startswith("--") and dot and last.startswith("no-") and "=" not in last:
            models = models_at(config_cls, prefix[2:].split("."))
            name = last[3:].replace("-", "_")
            plain = any((f := m.model_fields.get(name)) is not None and f.annotation is bool for m in models)
            if plain and not any(f"no_{name}" in m.model_fields for m in models):
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
    if flag in OWN_OPTIONS or flag.startswith("--tyro-"):
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
    close = _close_name(last, names)
    hint = ""
    if close:
        hint = "; did you mean --" + ".".join([*parts[:stop], close, *parts[stop + 1 :]]) + "?"
    return ConfigIssue(flag, "unknown flag" + hint)


def _close_name(name: str, names: Sequence[str]) -> str | None:
    """The closest of ``names`` to ``name``, ignoring case (``t-max`` → ``T-max``), or None."""
    by_folded: dict[str, str] = {}
    for n in names:
        by_folded.setdefault(n.lower(), n)
    close = difflib.get_close_matches(name.lower(), list(by_folded), n=1, cutoff=0.6)
    return by_folded[close[0]] if close else None


def variants_of(annotation: object) -> dict[str, object] | None:
    """A union field's members by subcommand name (nested unions flattened), or None for a non-union."""
    bare, _ = strip_annotated(annotation)
    if not is_union(bare):
        return None
    found: dict[str, object] = {}
    for arg in typing.get_args(bare):
        inner, _ = strip_annotated(arg)
        if is_union(inner):
            found.update(variants_of(arg) or {})
        else:
            found.setdefault(_dash(variant_name(arg)), inner)
    return found


def _subcommand_names(annotation: object) -> list[str] | None:
    """The subcommand names of a union field's members (``none`` for None), or None for a non-union."""
    variants = variants_of(annotation)
    if variants is None or not any(is_model(m) for m in variants.values()):
        return None
    return list(variants)


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
    close = _close_name(_dash(choice), names)
    hint = f"; did you mean {where}:{close}?" if close else ""
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


def _is_subcommand_token(token: str) -> bool:
    return ":" in token and not token.startswith("-") and " " not in token and "{" not in token


def subcommand_choice(config_cls: type[BaseModel], token: str) -> tuple[str, str] | None:
    """``(where, choice)`` when ``token`` selects an existing variant (``optim-wrapper.optimizer:adam``)."""
    if not _is_subcommand_token(token):
        return None
    where, _, choice = token.rpartition(":")
    if not where or not choice:
        return None
    annotations, stop, understood = _walk(config_cls, where.split("."))
    if not understood or stop < len(where.split(".")):
        return None
    for annotation in annotations:
        names = _subcommand_names(annotation)
        if names is not None and _dash(choice).lower() in [n.lower() for n in names]:
            return where, _dash(choice)
    return None


# --- argument normalisation --------------------------------------------------------------------------------

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def _field_types(config_cls: type[BaseModel], flag: str) -> list[object]:
    """The bare annotations a flag's last segment may have (several through unions)."""
    parts = flag[2:].split(".")
    annotations, stop, _ = _walk(config_cls, parts)
    if stop < len(parts):
        return []
    return [strip_annotated(a)[0] for a in annotations]


def _is_bool(tp: object) -> bool:
    return tp is bool


def _is_bool_union(tp: object) -> bool:
    if not is_union(tp):
        return False
    members = [strip_annotated(m)[0] for m in typing.get_args(tp)]
    return bool in members and any(m is not bool and m is not type(None) for m in members)


def normalize_args(config_cls: type[BaseModel], args: Sequence[str]) -> list[str]:
    """The arguments as tyro needs them (see the module docstring); unknown tokens pass unchanged."""
    head: list[tuple[int, str]] = []
    rest: list[str] = []
    tokens: list[str] = []
    for token in args:  # --x=value -> --x value, so booleans get the same treatment in both forms
        name, eq, value = token.partition("=")
        if token.startswith("--") and eq and name not in OWN_OPTIONS and _field_types(config_cls, name):
            tokens.extend([name, value])
        else:
            tokens.append(token)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "--":
            rest.extend(tokens[i:])
            break
        if subcommand_choice(config_cls, token) is not None:
            head.append((token.rpartition(":")[0].count("."), token))
            i += 1
            continue
        if token.startswith("--") and "=" not in token and token not in OWN_OPTIONS:
            types = _field_types(config_cls, token)
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            value_follows = following is not None and not following.startswith("--") and (
                subcommand_choice(config_cls, following) is None
            )
            if types and all(_is_bool_union(t) for t in types) and not value_follows:
                rest.extend([token, "True"])  # a bare --resume means --resume True
                i += 1
                continue
            if types and all(_is_bool(t) for t in types) and following is not None:
                word = following.lower()
                if word in _TRUE | _FALSE:
                    prefix, dot, last = token.rpartition(".")
                    name = token[2:] if not dot else last
                    if word in _TRUE:
                        rest.append(token)
                    else:
                        rest.append(f"{prefix}.no-{name}" if dot else f"--no-{name}")
                    i += 2
                    continue
            negated = _negated_bool_union(config_cls, token)
            if negated is not None:
                rest.extend([negated, "False"])  # --no-resume means --resume False
                i += 1
                continue
        rest.append(token)
        i += 1
    ordered = [token for _, token in sorted(head, key=lambda item: item[0])]
    return expand_negated_flags(config_cls, [*ordered, *rest])


def _negated_bool_union(config_cls: type[BaseModel], token: str) -> str | None:
    prefix, dot, last = token.rpartition(".")
    name = last if dot else token[2:]
    if not name.startswith("no-"):
        return None
    positive = f"{prefix}.{name[3:]}" if dot else f"--{name[3:]}"
    types = _field_types(config_cls, positive)
    return positive if types and all(_is_bool_union(t) for t in types) else None


def resolves_to_field(config_cls: type[BaseModel], keys: Sequence[str]) -> bool:
    """Whether the field names ``keys`` (``["train", "max_epochs"]``) lead through the tree to a field."""
    annotations, stop, _ = _walk(config_cls, list(keys))
    return stop == len(keys) and bool(annotations)
