"""Config errors that name the config path: ``train.max_epochs: must be >= 1``.

Every problem is collected and reported at once: pydantic already collects field errors, the root
config's cross-field checks collect theirs into one :class:`ConfigProblems`, and the command line, config
files and environment layers report through :class:`ConfigError`.

Paths are the dotted attribute paths a user types in Python (``cfg.optim_wrapper.optimizer.lr``) and,
with ``_`` → ``-``, on the command line (``--optim-wrapper.optimizer.lr``): discriminated-union tags that
pydantic puts in its error locations are removed, list positions read ``custom_hooks[0].momentum``.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from typedengine.config.annotations import is_model, is_union, strip_annotated, union_members
from typedengine.errors import UsageError

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "ConfigProblems",
    "format_validation_error",
    "problems_error",
    "render_issues",
    "suggest",
]


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config: the dotted path of the field and a human sentence."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigProblems(ValueError):
    """Raised by cross-field validation with every problem found (not only the first).

    Raise it inside a ``model_validator``; paths are relative to the model that raises it::

        issues = []
        if self.train.val_begin > self.train.max_epochs:
            issues.append(ConfigIssue("train.val_begin", "must be <= train.max_epochs"))
        if issues:
            raise ConfigProblems(issues)
    """

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


class ConfigError(UsageError, ValueError):
    """A config could not be loaded or validated; ``issues`` lists every problem with its path.

    ``source`` names where the config came from (a file, the command line) for the headline.
    """

    def __init__(self, issues: Sequence[ConfigIssue], source: str | None = None) -> None:
        self.issues = tuple(issues)
        self.source = source
        super().__init__(render_issues(self.issues, source))


def render_issues(issues: Sequence[ConfigIssue], source: str | None = None) -> str:
    """The text users see: a headline, then one ``path: message`` line per issue."""
    where = f" in {source}" if source else ""
    noun = "problem" if len(issues) == 1 else "problems"
    lines = [f"error: {len(issues)} config {noun}{where}:"]
    lines.extend(f"  {issue}" for issue in issues)
    return "\n".join(lines)


def suggest(name: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'max_epochs'?"`` when a close match exists, else ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


# --- walking pydantic error locations through the model tree -------------------------------------------


def _tag_of(model: type[BaseModel], discriminator: str) -> object:
    field = model.model_fields.get(discriminator)
    return None if field is None else field.default


@dataclass
class _Resolved:
    path: str
    parent_fields: list[str]
    union_label: str | None
    union_tags: list[str]


def _resolve(model: type[BaseModel] | None, loc: Sequence[int | str]) -> _Resolved:
    """Map a pydantic ``loc`` to a user path, skipping union tags; also report the names valid at the end."""
    parts: list[str] = []
    current: object = model
    discriminator: str | None = None
    parent_fields: list[str] = []
    union_label: str | None = None
    union_tags: list[str] = []
    i = 0
    while i < len(loc):
        item = loc[i]
        bare, disc = strip_annotated(current)
        discriminator = disc or discriminator
        if is_union(bare):
            options = [a for a in typing.get_args(bare) if a is not type(None)]
            if len(options) == 1:  # Optional[X]: pydantic adds no location level; X may be an annotated union
                current = options[0]
                continue
            members = union_members(bare)
            models = [m for m in members if is_model(m)]
            if discriminator is not None and models:
                union_tags = [str(_tag_of(m, discriminator)) for m in models]
                chosen = next((m for m in models if _tag_of(m, discriminator) == item), None)
                if chosen is not None:
                    current, discriminator = chosen, None
                    i += 1
                    continue
            if len(members) == 1:
                current, discriminator = members[0], None
                continue
            by_name = {getattr(m, "__name__", repr(m)): m for m in members}
            if isinstance(item, str) and item in by_name:
                union_label = item
                current, discriminator = by_name[item], None
                i += 1
                continue
            current = None
        discriminator = None
        if is_model(bare):
            parent_fields = list(bare.model_fields)
            field = bare.model_fields.get(str(item))
            parts.append(("." if parts else "") + str(item))
            if field is None:
                current = None
            else:
                current = field.annotation
                discriminator = field.discriminator if isinstance(field.discriminator, str) else None
                if field.metadata:
                    current = typing.Annotated[(current, *field.metadata)]
            i += 1
            continue
        origin = typing.get_origin(bare)
        args = typing.get_args(bare)
        if isinstance(item, int) and origin in (tuple, list, set, frozenset):
            parts.append(f"[{item}]")
            if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
                current = args[item] if item < len(args) else None
            else:
                current = args[0] if args else None
            i += 1
            continue
        if origin is dict:
            parts.append(f"[{item!r}]")
            current = args[1] if len(args) == 2 else None
            i += 1
            continue
        # Unknown structure (or pydantic-internal labels such as "function-after[...]"): keep plain keys.
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item.isidentifier():
            parts.append(("." if parts else "") + item)
        current = None
        i += 1
    # When the location ends on a union that the error concerns (bad tag), report its tags.
    bare, disc = strip_annotated(current)
    options = [a for a in typing.get_args(bare) if a is not type(None)] if is_union(bare) else []
    if len(options) == 1:
        bare, disc = strip_annotated(options[0])
    if is_union(bare) and (disc or discriminator):
        key = disc or discriminator or ""
        union_tags = [str(_tag_of(m, key)) for m in union_members(bare) if is_model(m)]
    return _Resolved("".join(parts), parent_fields, union_label, union_tags)


# --- messages -----------------------------------------------------------------------------------------------

_SHORT = {
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "multiple_of": "must be a multiple of {multiple_of}",
}

_EXPECTED = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "tuple_type": "a list",
    "list_type": "a list",
    "set_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping of fields",
    "model_attributes_type": "a mapping of fields",
    "path_type": "a path",
    "callable_type": "a callable (a dotted import path)",
    "is_subclass_of": "a class",
    "none_required": "null",
}


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(err: ErrorDetails, where: _Resolved) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind in _SHORT:
        try:
            return _SHORT[kind].format(**ctx)
        except (KeyError, IndexError):
            return err["msg"]
    if kind == "extra_forbidden":
        name = str(err["loc"][-1]) if err["loc"] else ""
        return "unknown field" + suggest(name, where.parent_fields)
    if kind == "missing":
        if err["loc"] and isinstance(err["loc"][-1], int):
            return "missing: the list has too few values"
        return "required field is missing"
    if kind == "union_tag_invalid":
        tag = str(ctx.get("tag", ""))
        choices = where.union_tags or [str(ctx.get("expected_tags", ""))]
        return f"unknown type '{tag}'{suggest(tag, choices)} (choices: {', '.join(choices)})"
    if kind == "union_tag_not_found":
        key = str(ctx.get("discriminator", "'type'")).strip("'")
        listed = ", ".join(where.union_tags)
        return f"missing the '{key}' key that selects the variant" + (f" (choices: {listed})" if listed else "")
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '?')}, got {_show(err['input'])}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_show(err['input'])}"
    if kind in ("value_error", "assertion_error"):
        return err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return err["msg"]


def format_validation_error(exc: ValidationError, model: type[BaseModel] | None = None) -> list[ConfigIssue]:
    """Turn a pydantic error into one :class:`ConfigIssue` per problem, each naming its config path.

    ``model`` is the class that was validated; with it, union tags are removed from the paths and unknown
    fields get a "did you mean" suggestion from the sibling field names.
    """
    issues: list[ConfigIssue] = []
    errors = _merge_union_members(exc.errors(include_url=False), model)
    for err in errors:
        if isinstance(err, ConfigIssue):
            issues.append(err)
            continue
        where = _resolve(model, err["loc"])
        original = (err.get("ctx") or {}).get("error")
        if isinstance(original, ConfigProblems):
            # a ConfigProblems raised inside a model_validator arrives as one value_error: unpack it
            for issue in original.issues:
                path = ".".join(p for p in (where.path, issue.path) if p)
                issues.append(ConfigIssue(path, issue.message))
            continue
        message = _message(err, where)
        if where.union_label is not None:
            message += f" (as {where.union_label})"
        issues.append(ConfigIssue(where.path, message))
    return issues


def _alternatives(err: ErrorDetails) -> list[str] | None:
    """What an error says the value should have been, as alternatives (None: not a type/choice error)."""
    kind = err["type"]
    if kind == "literal_error":
        expected = str((err.get("ctx") or {}).get("expected", ""))
        return [p for p in re.split(r", | or ", expected) if p] or None
    if kind in _EXPECTED:
        return [p for p in _EXPECTED[kind].split(" or ")]
    return None


def _merge_union_members(
    errors: list[ErrorDetails], model: type[BaseModel] | None
) -> list[ErrorDetails | ConfigIssue]:
    """One issue for a value that fits no member of a union of plain types (``bool | Literal["warn"]``):
    pydantic reports one error per member; the user needs one line listing what fits."""
    out: list[ErrorDetails | ConfigIssue] = []
    i = 0
    while i < len(errors):
        err = errors[i]
        alternatives = _alternatives(err)
        j = i + 1
        if alternatives is not None and len(err["loc"]) > 0:
            path = _resolve(model, err["loc"]).path
            while j < len(errors):
                nxt = errors[j]
                more = _alternatives(nxt)
                if more is None or nxt.get("input") != err.get("input") or _resolve(model, nxt["loc"]).path != path:
                    break
                alternatives = alternatives + [a for a in more if a not in alternatives]
                j += 1
            if j - i > 1:
                listed = alternatives[0] if len(alternatives) == 1 else ", ".join(alternatives[:-1]) + f" or {alternatives[-1]}"
                out.append(ConfigIssue(path, f"expected {listed}, got {_show(err['input'])}"))
                i = j
                continue
        out.append(err)
        i += 1
    return out


def problems_error(title: str, issues: Sequence[ConfigIssue]) -> ValidationError:
    """A :class:`ValidationError` carrying several custom issues (for code that validates by hand)."""
    line_errors: list[InitErrorDetails] = [
        {
            "type": PydanticCustomError("config_problem", "{message}", {"message": i.message}),
            "loc": tuple(i.path.split(".")) if i.path else (),
            "input": None,
        }
        for i in issues
    ]
    return ValidationError.from_exception_data(title, line_errors)
