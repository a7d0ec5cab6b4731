"""typedengine's mypy plugin: pydantic's plugin, plus config mistakes reported where they are made.

Use it instead of ``pydantic.mypy`` (it includes it; ``[tool.pydantic-mypy]`` settings still apply)::

    [tool.mypy]
    plugins = ["typedengine.mypy"]

What it adds:

- ``te.replace(cfg, **changes)`` is checked against ``cfg``'s fields like a constructor call:
  ``Unexpected keyword argument "max_epoch" for "replace" ...; did you mean "max_epochs"?`` and
  ``Argument "max_epochs" to "replace" has incompatible type "str"; expected "int"``.
- A wrong element of a tuple field (``param_scheduler=(LinearLRConfig(), SGDConfig())``) is reported on
  the element's line, as mypy does for list items (``Tuple item 1 of "param_scheduler" has incompatible
  type "SGDConfig"; expected ...``), in a constructor call, in ``replace()`` and in a class-body default
  (``param_scheduler: tuple[...] = (...)``) alike. Plain mypy reports the whole tuple at the line where
  the statement starts.

Class-body defaults have no type-checking hook in mypy, so the semantic-analysis hook for config
classes rewrites a tuple display default into a call of an internal callable whose signature hook checks
each element; nothing else about the class changes. When mypy analyses the class body again (a deferral
in an import cycle), the original tuple is put back first (the MRO hook runs before the body), so the
analyser never sees the internal call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

# mypy's own modules import each other in a cycle: the plugin API first, the helpers after it
from mypy.plugin import ClassDefContext, FunctionSigContext, Plugin  # isort: skip
from mypy.errorcodes import ARG_TYPE, ASSIGNMENT, ErrorCode
from mypy.expandtype import expand_type_by_instance
from mypy.maptype import map_instance_to_supertype
from mypy.messages import format_type
from mypy.nodes import (
    ARG_NAMED_OPT,
    ARG_POS,
    ARG_STAR,
    GDEF,
    AssignmentStmt,
    CallExpr,
    Expression,
    NameExpr,
    RefExpr,
    TupleExpr,
    TypeInfo,
    Var,
)
from mypy.subtypes import is_subtype
from mypy.types import (
    AnyType,
    CallableType,
    FunctionLike,
    Instance,
    ProperType,
    Type,
    TypeOfAny,
    UnionType,
    get_proper_type,
    has_type_vars,
)
from pydantic.mypy import PydanticPlugin

__all__ = ["TypedEnginePlugin", "plugin"]

REPLACE = "typedengine.config.base.replace"
_ITEMS = "typedengine.mypy.<tuple items>"
_BASEMODEL = "pydantic.main.BaseModel"


def plugin(version: str) -> type[Plugin]:
    """mypy's entry point."""
    return TypedEnginePlugin


class TypedEnginePlugin(PydanticPlugin):
    """pydantic's plugin plus the checks in the module docstring."""

    def get_function_signature_hook(self, fullname: str) -> Callable[[FunctionSigContext], FunctionLike] | None:
        if fullname == REPLACE:
            return _replace_signature
        if fullname == _ITEMS:
            return _items_signature
        sym = self.lookup_fully_qualified(fullname)
        if sym is not None and isinstance(sym.node, TypeInfo) and sym.node.has_base(_BASEMODEL):
            return _constructor_signature
        return super().get_function_signature_hook(fullname)

    def get_customize_class_mro_hook(self, fullname: str) -> Callable[[ClassDefContext], None] | None:
        if fullname in _REWRITTEN:
            return _restore_tuple_defaults
        return super().get_customize_class_mro_hook(fullname)

    def get_base_class_hook(self, fullname: str) -> Callable[[ClassDefContext], None] | None:
        pydantic_hook = super().get_base_class_hook(fullname)
        if pydantic_hook is None:
            return None

        def transform(ctx: ClassDefContext) -> None:
            pydantic_hook(ctx)
            _rewrite_tuple_defaults(ctx)

        return transform


# --- tuple elements ----------------------------------------------------------------------------------------


def _variadic_item(tp: Type) -> Type | None:
    """``X`` for ``tuple[X, ...]`` (also inside ``| None``), else None."""
    proper = get_proper_type(tp)
    if isinstance(proper, UnionType):
        found = [t for t in (_variadic_item(i) for i in proper.items) if t is not None]
        return found[0] if len(found) == 1 else None
    if isinstance(proper, Instance) and proper.type.fullname == "builtins.tuple" and len(proper.args) == 1:
        return proper.args[0]
    return None


def _check_items(
    ctx: FunctionSigContext, items: Sequence[Expression], expected: Type, label: str, code: ErrorCode
) -> bool:
    """Report each element of ``items`` that does not fit ``expected``; True if any was reported."""
    reported = False
    for index, item in enumerate(items):
        with ctx.api.msg.filter_errors():  # the element's own errors are reported when mypy checks the call
            actual = ctx.api.get_expression_type(item, type_context=expected)
        if isinstance(get_proper_type(actual), AnyType) or is_subtype(actual, expected):
            continue
        ctx.api.fail(
            f"Tuple item {index} of {label} has incompatible type {format_type(actual, ctx.api.options)}; "
            f"expected {format_type(expected, ctx.api.options)}",
            item,
            code=code,
        )
        reported = True
    return reported


def _with_checked_tuples(ctx: FunctionSigContext, signature: CallableType, callee: str) -> CallableType:
    """``signature`` with tuple-display keyword arguments checked element by element (see the module doc)."""
    call = ctx.context
    if not isinstance(call, CallExpr):
        return signature
    arg_types = list(signature.arg_types)
    changed = False
    for actual, name in zip(call.args, call.arg_names):
        if not isinstance(actual, TupleExpr) or name is None or name not in signature.arg_names:
            continue
        formal = signature.arg_names.index(name)
        expected = _variadic_item(arg_types[formal])
        if expected is None or has_type_vars(expected):  # a generic's element type is inferred by mypy itself
            continue
        if _check_items(ctx, actual.items, expected, f'argument "{name}" to "{callee}"', ARG_TYPE):
            arg_types[formal] = AnyType(TypeOfAny.from_error)  # reported above, element by element
            changed = True
    return signature.copy_modified(arg_types=arg_types) if changed else signature


def _constructor_signature(ctx: FunctionSigContext) -> FunctionLike:
    signature = ctx.default_signature
    callee = get_proper_type(signature.ret_type)
    name = callee.type.name if isinstance(callee, Instance) else "constructor"
    return _with_checked_tuples(ctx, signature, name)


def _items_signature(ctx: FunctionSigContext) -> FunctionLike:
    """The rewritten class-body tuple default: check its elements against the field's element type."""
    signature = ctx.default_signature
    expected = signature.arg_types[0]
    items = ctx.args[0] if ctx.args else []
    _check_items(ctx, items, expected, f'"{signature.name}"', ASSIGNMENT)
    return signature.copy_modified(arg_types=[AnyType(TypeOfAny.special_form)])


_REWRITTEN: dict[str, list[tuple[AssignmentStmt | CallExpr, int, TupleExpr]]] = {}
"""Class fullname -> (statement or Field call, argument index or -1 for the rvalue, original tuple)."""


def _restore_tuple_defaults(ctx: ClassDefContext) -> None:
    for holder, index, original in _REWRITTEN.pop(ctx.cls.fullname, []):
        if isinstance(holder, AssignmentStmt):
            holder.rvalue = original
        else:
            holder.args[index] = original


def _rewrite_tuple_defaults(ctx: ClassDefContext) -> None:
    """``field: tuple[X, ...] = (a, b)`` (or ``= Field((a, b), ...)``) → a checked call of the elements."""
    function = ctx.api.named_type_or_none("builtins.function")
    if function is None:
        return
    done = _REWRITTEN.setdefault(ctx.cls.fullname, [])
    for stmt in ctx.cls.defs.body:
        if not isinstance(stmt, AssignmentStmt) or stmt.type is None or len(stmt.lvalues) != 1:
            continue
        lvalue = stmt.lvalues[0]
        expected = _variadic_item(stmt.type)
        if expected is None or not isinstance(lvalue, NameExpr):
            continue
        declared = get_proper_type(stmt.type)
        if isinstance(stmt.rvalue, TupleExpr) and stmt.rvalue.items:
            done.append((stmt, -1, stmt.rvalue))
            stmt.rvalue = _items_call(stmt.rvalue, expected, declared, lvalue.name, function)
        elif isinstance(stmt.rvalue, CallExpr) and isinstance(stmt.rvalue.callee, RefExpr):
            if stmt.rvalue.callee.fullname not in ("pydantic.fields.Field", "pydantic.Field"):
                continue
            call = stmt.rvalue
            for i, (arg, name) in enumerate(zip(call.args, call.arg_names)):
                if isinstance(arg, TupleExpr) and arg.items and (name == "default" or (name is None and i == 0)):
                    done.append((call, i, arg))
                    call.args[i] = _items_call(arg, expected, declared, lvalue.name, function)


def _items_call(
    display: TupleExpr, expected: Type, declared: ProperType, field: str, function: Instance
) -> CallExpr:
    signature = CallableType([expected], [ARG_STAR], [None], declared, function, name=field)
    var = Var(field, signature)
    var.is_ready = True
    callee = NameExpr(field)
    callee.node = var
    callee.fullname = _ITEMS
    callee.kind = GDEF
    callee.set_line(display)
    call = CallExpr(callee, list(display.items), [ARG_POS] * len(display.items), [None] * len(display.items))
    call.set_line(display)
    return call


# --- replace() -----------------------------------------------------------------------------------------------


def _replace_signature(ctx: FunctionSigContext) -> FunctionLike:
    """``replace(cfg, **changes)`` typed as ``replace(cfg, *, <each field of cfg's class>=...)``."""
    signature = ctx.default_signature
    if not ctx.args or len(ctx.args[0]) != 1:
        return signature
    with ctx.api.msg.filter_errors():
        target = get_proper_type(ctx.api.get_expression_type(ctx.args[0][0]))
    if not isinstance(target, Instance):
        return signature
    init = _init_signature(target)
    if init is None:
        return signature
    names = list(init.arg_names)
    replaced = signature.copy_modified(
        arg_types=[target, *init.arg_types],
        arg_kinds=[signature.arg_kinds[0], *[ARG_NAMED_OPT] * len(init.arg_types)],
        arg_names=[signature.arg_names[0], *names],
        ret_type=target,
        variables=[],
        name="replace",
    )
    return _with_checked_tuples(ctx, replaced, "replace")


def _init_signature(instance: Instance) -> CallableType | None:
    """The keyword arguments of the model's (pydantic-generated) ``__init__``, self bound to ``instance``."""
    info = instance.type
    for base in info.mro:
        sym = base.names.get("__init__")
        if sym is None or sym.node is None:
            continue
        init_type = get_proper_type(getattr(sym.node, "type", None))
        if not isinstance(init_type, CallableType) or base.fullname == _BASEMODEL:
            return None
        mapped = map_instance_to_supertype(instance, base)
        bound = get_proper_type(expand_type_by_instance(init_type, mapped))
        if not isinstance(bound, CallableType):
            return None
        keep = [i for i in range(1, len(bound.arg_kinds)) if not bound.arg_kinds[i].is_star() and bound.arg_names[i]]
        if not keep:
            return None
        return bound.copy_modified(
            arg_types=[bound.arg_types[i] for i in keep],
            arg_kinds=[bound.arg_kinds[i] for i in keep],
            arg_names=[bound.arg_names[i] for i in keep],
        )
    return None
