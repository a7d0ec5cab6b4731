"""What ``--help`` shows: plain-text help from reST docstrings, and names a person would write for variants.

Docstrings and field descriptions are written in reST for the API docs (``max_epochs``,
:class:`~typedengine.Runner`, ``Example::``). :func:`plain_text` renders that markup as plain text when the
help is built, so no docstring has to change for the terminal: ``Train for ``max_epochs`` epochs`` reads
"Train for max_epochs epochs".

Union members become subcommands. A member without an explicit ``tyro.conf.subcommand(name)`` would be
named by tyro from its class, generic parameters included
(``train-dataloader:data-loader-config[-digits-data]-digits-data``). :func:`variant_name` gives every
member the name a person would write: the explicit subcommand name, else the member's ``type`` tag, else
its class name without ``Config`` and without generic parameters (``train-dataloader:data-loader``).
:func:`annotate_variants` puts those names, and plain-text descriptions, on a field's union members; the
command-line parser and its checks (:mod:`typedengine.config.flags`) use the same names.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing

import tyro

from typedengine.config.annotations import is_model, is_union

__all__ = ["annotate_variants", "explicit_variant_name", "plain_text", "variant_name"]

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|obj|exc|ref|const|py:\w+):`~?([^`<]*?)(?:\s*<[^>]*>)?`")
_LITERAL = re.compile(r"``(.+?)``")
_EMPHASIS = re.compile(r"(?<![\w*])\*\*?([^*\s][^*]*?)\*\*?(?![\w*])")
_LINK = re.compile(r"`([^`<]+?)\s*<[^>]+>`_")


def _role_text(match: re.Match[str]) -> str:
    target = match.group(1).strip()
    tilde = match.group(0).split("`", 1)[1].startswith("~")
    return target.rsplit(".", 1)[-1] if tilde else target


def plain_text(text: str | None) -> str | None:
    """reST markup rendered as plain text (roles, literals, emphasis, links, ``::`` code markers)."""
    if text is None:
        return None
    out = _ROLE.sub(_role_text, text)
    out = _LINK.sub(r"\1", out)
    out = _LITERAL.sub(r"\1", out)
    out = _EMPHASIS.sub(r"\1", out)
    out = re.sub(r"(?m)^(\s*)::\s*$", "", out)  # a lone "::" line introduces a code block
    out = re.sub(r"(\S)::(\s*)$", r"\1:\2", out, flags=re.MULTILINE)  # "Example::" -> "Example:"
    return out


def _camel_to_kebab(name: str) -> str:
    return re.sub(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))", r"-\1", name).lower()


def explicit_variant_name(member: object) -> str | None:
    """The name given with ``Annotated[X, tyro.conf.subcommand("name")]``, if any."""
    for meta in getattr(member, "__metadata__", ()):
        if type(meta).__name__ == "_SubcommandConfig":
            name = getattr(meta, "name", None)
            if isinstance(name, str):
                return name
    return None


def variant_name(member: object) -> str:
    """The subcommand name of a union member (see the module docstring); ``none`` for ``None``."""
    explicit = explicit_variant_name(member)
    if explicit is not None:
        return explicit
    bare = member
    while typing.get_origin(bare) is typing.Annotated:
        bare = typing.get_args(bare)[0]
    if bare is type(None):
        return "none"
    if is_model(bare):
        tag_field = bare.model_fields.get("type")
        tag = tag_field.default if tag_field is not None else None
        if isinstance(tag, str) and tag:
            return tag.replace("_", "-")
        metadata = getattr(bare, "__pydantic_generic_metadata__", None) or {}
        origin = metadata.get("origin") or bare
        name = getattr(origin, "__name__", str(origin)).split("[", 1)[0]
        if name.endswith("Config") and name != "Config":
            name = name[: -len("Config")]
        return _camel_to_kebab(name)
    return _camel_to_kebab(getattr(bare, "__name__", str(bare)))


def _describe(member: object, bare: object) -> object:
    """``member`` with a subcommand marker holding its variant name and plain-text description."""
    doc = getattr(bare, "__doc__", None)
    # the list of variants shows each one's first paragraph; the whole docstring heads its own group
    summary = inspect.cleandoc(doc).split("\n\n", 1)[0] if isinstance(doc, str) and doc.strip() else None
    description = plain_text(summary)
    metadata = list(getattr(member, "__metadata__", ()))
    for i, meta in enumerate(metadata):
        if type(meta).__name__ == "_SubcommandConfig" and dataclasses.is_dataclass(meta):
            if getattr(meta, "description", None) is None and description is not None:
                metadata[i] = dataclasses.replace(meta, description=description)  # type: ignore[type-var]
            return typing.Annotated[(bare, *metadata)]
    marker = tyro.conf.subcommand(variant_name(member), description=description)
    return typing.Annotated[(bare, *metadata, marker)]


def annotate_variants(tp: object) -> object:
    """``tp`` with every model member of its unions named and described for the CLI (others unchanged)."""
    metadata: tuple[object, ...] = ()
    bare = tp
    if typing.get_origin(tp) is typing.Annotated:
        bare, *rest = typing.get_args(tp)
        metadata = tuple(rest)
    origin = typing.get_origin(bare)
    if origin in (tuple, list) and typing.get_args(bare):
        args = tuple(a if a is Ellipsis else annotate_variants(a) for a in typing.get_args(bare))
        if all(new is old for new, old in zip(args, typing.get_args(bare))):
            return tp
        container: object = tuple[args] if origin is tuple else list[args[0]]  # type: ignore[valid-type]
        return typing.Annotated[(container, *metadata)] if metadata else container
    if not is_union(bare):
        return tp
    members = typing.get_args(bare)
    if not any(is_model(_strip(m)) or is_union(_strip(m)) for m in members):
        return tp
    changed: list[object] = []
    for member in members:
        inner = _strip(member)
        if is_model(inner):
            changed.append(_describe(member, inner))
        elif is_union(inner):
            changed.append(annotate_variants(member))
        else:
            changed.append(member)
    rebuilt: object = typing.Union[tuple(changed)]  # noqa: UP007  # built from a runtime tuple
    return typing.Annotated[(rebuilt, *metadata)] if metadata else rebuilt


def _strip(tp: object) -> object:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp
