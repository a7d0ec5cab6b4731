"""Evaluate one expression of an MMEngine config file without running it (the whitelist).

Evaluated: literals; list, tuple and dict displays (``**`` and ``*`` unpacking included); names bound
earlier in the file; ``_base_.x`` and ``{{_base_.x}}`` references into the merged base configs (the same
objects, so changing them changes the base, as in MMEngine); arithmetic, comparisons, ``and``/``or``/``not``,
conditional expressions, f-strings, indexing and slicing; calls of ``dict``, ``list``, ``tuple`` and a few
pure built-ins (``int``, ``float``, ``str``, ``bool``, ``len``, ``min``, ``max``, ``abs``, ``round``); the data
methods configs use (``d.update(...)``, ``l.append(...)``, ``'...'.format(...)``, ...).

Anything else (a call of another function, a lambda, a comprehension, an attribute of an imported
module) is an :class:`~.values.Opaque` that keeps its source text; values too large to build (``'x' *
10**9``) are refused the same way. A reference the config gets wrong (an undefined name, a missing base
key) is a :class:`~.values.MigrateError` naming the line, as MMEngine would stop there too.

Why over 400 lines: the expression cases are one whitelist; each is a few lines, and splitting them would
scatter the list of what is evaluated over several files.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeGuard

from .values import CfgDict, Key, Location, MigrateError, Opaque, Symbol, Value

__all__ = ["BASE_REF", "Expressions", "FileResult", "Unsupported", "is_key"]

BASE_REF = re.compile(r"^\{\{\s*_base_\.([\w.]+)\s*\}\}$")
"""A whole string that is a ``{{_base_.a.b}}`` reference (the reader quotes bare references first)."""

MAX_ITEMS = 100_000
"""Longest sequence or string the evaluator builds (``'x' * 10**9`` is refused, not computed)."""

_BIN_OPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.BitOr: operator.or_, ast.BitAnd: operator.and_, ast.BitXor: operator.xor,
    ast.LShift: operator.lshift, ast.RShift: operator.rshift,
}  # fmt: skip
_CMP_OPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: operator.contains(b, a),
    ast.NotIn: lambda a, b: not operator.contains(b, a), ast.Is: operator.is_, ast.IsNot: operator.is_not,
}  # fmt: skip
_PURE_BUILTINS: dict[str, Callable[..., object]] = {
    "int": int, "float": float, "str": str, "bool": bool, "len": len, "min": min, "max": max, "abs": abs,
    "round": round,
}  # fmt: skip
_DICT_METHODS = frozenset({"get", "copy", "update", "pop", "setdefault", "keys", "values", "items"})
_LIST_METHODS = frozenset({"append", "extend", "insert", "pop", "copy", "index", "count"})
_STR_METHODS = frozenset(
    {
        "format",
        "join",
        "replace",
        "strip",
        "lstrip",
        "rstrip",
        "split",
        "upper",
        "lower",
        "startswith",
        "endswith",
    }
)


class Unsupported(Exception):
    """Internal: the expression is outside the whitelist (becomes an Opaque)."""


class FileResult:
    """A file's top-level bindings, what it did not evaluate, and which top-level keys it read."""

    def __init__(self, path: Path) -> None:
        self.bindings = CfgDict(Location(path, 1))
        self.opaque: list[Opaque] = []
        self.blocks: list[tuple[Location, str]] = []
        self.consumed: set[Location] = set()


class Expressions:
    """Evaluates expressions of one file; :mod:`.evaluate` adds the statements."""

    def __init__(self, path: Path, text: str, base: CfgDict | None) -> None:
        self.path = path
        self.text = text
        self.base = base
        self.result = FileResult(path)
        self.env = self.result.bindings
        self.unknown_names_possible = False  # after `from x import *` or a block: undefined names are Opaque

    def loc(self, node: ast.AST) -> Location:
        return Location(self.path, getattr(node, "lineno", 1))

    def opaque(self, node: ast.AST, reason: str) -> Opaque:
        source = ast.get_source_segment(self.text, node) or ast.unparse(node)
        made = Opaque(" ".join(source.split()), self.loc(node), reason)
        self.result.opaque.append(made)
        return made

    def error(self, node: ast.AST, message: str) -> MigrateError:
        return MigrateError(f"{self.path}:{self.loc(node).line}: {message}")

    # --- expressions ---------------------------------------------------------------------------------
    def expr(self, node: ast.expr) -> Value:
        try:
            return self._expr(node)
        except Unsupported as exc:
            return self.opaque(node, str(exc))
        except MigrateError:
            raise
        except (ArithmeticError, TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            return self.opaque(node, f"raises {type(exc).__name__} ({exc})")

    def _expr(self, node: ast.expr) -> Value:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, (ast.List, ast.Tuple)):
            items: list[Value] = []
            for elt in node.elts:
                if isinstance(elt, ast.Starred):
                    inner = self.expr(elt.value)
                    items.extend(self.iterate(elt, inner))
                else:
                    items.append(self.expr(elt))
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.Dict):
            out = CfgDict(self.loc(node))
            for k, v in zip(node.keys, node.values):
                if k is None:
                    self.merge_mapping(out, self.expr(v), v)
                else:
                    key = self.expr(k)
                    if not is_key(key):
                        raise Unsupported("a dict key that is not a plain value")
                    out.set(key, self.expr(v), self.loc(k))
            return out
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, ast.BinOp):
            return self.binop(node, node.op, self.expr(node.left), self.expr(node.right))
        if isinstance(node, ast.UnaryOp):
            operand = self.known(node, self.expr(node.operand))
            if isinstance(node.op, ast.Not):
                return not operand
            unary: dict[type[ast.unaryop], Callable[[Any], Any]] = {
                ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert,
            }  # fmt: skip
            return _checked(unary[type(node.op)](operand))
        if isinstance(node, ast.BoolOp):
            result: Value = None
            for value_node in node.values:
                result = self.known(node, self.expr(value_node))
                if bool(result) == isinstance(node.op, ast.Or):
                    return result
            return result
        if isinstance(node, ast.Compare):
            left = self.known(node, self.expr(node.left))
            for op_node, right_node in zip(node.ops, node.comparators):
                right = self.known(node, self.expr(right_node))
                if not _CMP_OPS[type(op_node)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            test = self.known(node, self.expr(node.test))
            return self.expr(node.body if test else node.orelse)
        if isinstance(node, ast.JoinedStr):
            return self.fstring(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Set) and _is_bare_base_ref(node):
            raise self.error(node, "a `{{_base_...}}` reference the reader could not resolve")
        raise Unsupported(f"{_describe(node)} is not evaluated (typedengine migrate never runs config code)")

    def known(self, node: ast.AST, value: Value) -> Value:
        """``value``, or the whole ``node`` as Opaque when an operand is not known."""
        if isinstance(value, (Opaque, Symbol)):
            what = value.source if isinstance(value, Opaque) else value.path
            raise Unsupported(f"uses `{what}`, which is not evaluated")
        return value

    def constant(self, node: ast.Constant) -> Value:
        value = node.value
        if isinstance(value, str):
            ref = BASE_REF.match(value)
            return self.base_ref(node, ref.group(1)) if ref else value
        if value is None or isinstance(value, (bool, int, float)):
            return value
        raise Unsupported(f"a {type(value).__name__} literal is not a config value")

    def name(self, node: ast.Name) -> Value:
        if node.id == "_base_":
            if self.base is None:
                raise self.error(node, "`_base_` is used but the file has no `_base_` files")
            return self.base
        if node.id in self.env:
            self.result.consumed.add(self.env.where_of(node.id))
            return self.env[node.id]
        if self.unknown_names_possible:
            raise Unsupported(f"name `{node.id}` may come from a statement that is not run")
        raise self.error(node, f"name '{node.id}' is not defined (MMEngine would stop with a NameError too)")

    def base_ref(self, node: ast.expr, dotted: str) -> Value:
        if self.base is None:
            raise self.error(node, f"`{{{{_base_.{dotted}}}}}` is used but the file has no `_base_` files")
        value: Value = self.base
        for i, part in enumerate(dotted.split(".")):
            if isinstance(value, CfgDict) and part in value:
                if i == 0:
                    self.result.consumed.add(value.where_of(part))
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                raise self.error(node, f"`_base_.{dotted}`: the base configs have no `{part}` there")
        return value

    def attribute(self, node: ast.Attribute) -> Value:
        if isinstance(node.value, ast.Name) and node.value.id == "_base_":
            return self.base_ref(node, node.attr)
        obj = self.expr(node.value)
        if isinstance(obj, Symbol):
            return Symbol(f"{obj.path}.{node.attr}")
        if isinstance(obj, CfgDict):
            if node.attr not in obj:
                raise self.error(node, f"the dict has no key '{node.attr}' ({ast.unparse(node)})")
            return obj[node.attr]
        self.known(node, obj)
        raise Unsupported(f"attribute `{node.attr}` of a {type(obj).__name__} is not evaluated")

    def subscript(self, node: ast.Subscript) -> Value:
        obj = self.known(node, self.expr(node.value))
        if isinstance(node.slice, ast.Slice):
            bounds = (node.slice.lower, node.slice.upper, node.slice.step)
            parts = [None if p is None else self.known(node, self.expr(p)) for p in bounds]
            ints = [p for p in parts if p is None or isinstance(p, int)]
            if not isinstance(obj, (list, tuple, str)) or len(ints) != 3:
                raise Unsupported("slicing that is not understood")
            return obj[slice(ints[0], ints[1], ints[2])]
        key = self.known(node, self.expr(node.slice))
        if isinstance(obj, CfgDict) and is_key(key):
            if obj is self.base and key in obj:
                self.result.consumed.add(obj.where_of(key))
            return obj[key]
        if isinstance(obj, (list, tuple, str)) and isinstance(key, int):
            return obj[key]
        raise Unsupported("indexing that is not understood")

    def binop(self, node: ast.AST, op: ast.operator, left: Value, right: Value) -> Value:
        left, right = self.known(node, left), self.known(node, right)
        if isinstance(op, ast.BitOr) and isinstance(left, CfgDict) and isinstance(right, CfgDict):
            out = left.shallow_copy()
            self.merge_mapping(out, right, node)
            return out
        if (
            isinstance(op, ast.Pow)
            and isinstance(left, int)
            and isinstance(right, int)
            and (abs(left) > 1 and right * math.log2(abs(left)) > 4096)
        ):
            raise Unsupported("a power too large to compute")
        if isinstance(op, ast.LShift) and isinstance(right, int) and right > 4096:
            raise Unsupported("a shift too large to compute")
        if isinstance(op, ast.Mult) and _repeat_length(left, right) > MAX_ITEMS:
            raise Unsupported("a repetition too long to build")
        if isinstance(left, CfgDict) or isinstance(right, CfgDict):
            raise Unsupported("arithmetic on dicts is not evaluated")
        fn = _BIN_OPS.get(type(op))
        if fn is None:
            raise Unsupported(f"the `{type(op).__name__}` operator is not evaluated")
        return _checked(fn(left, right))

    def fstring(self, node: ast.JoinedStr) -> Value:
        out: list[str] = []
        for part in node.values:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                out.append(part.value)
            elif isinstance(part, ast.FormattedValue):
                value = self.known(node, self.expr(part.value))
                if not (value is None or isinstance(value, (bool, int, float, str))):
                    raise Unsupported("an f-string of a container is not evaluated")
                text: object = value
                if part.conversion == ord("r"):
                    text = repr(value)
                elif part.conversion in (ord("s"), ord("a")):
                    text = str(value) if part.conversion == ord("s") else ascii(value)
                spec = "" if part.format_spec is None else self.known(node, self.fstring(part.format_spec))  # type: ignore[arg-type]
                out.append(format(text, str(spec)))
        return _checked("".join(out))

    def call(self, node: ast.Call) -> Value:
        func = node.func
        if isinstance(func, ast.Name) and func.id not in self.env:
            if func.id == "dict":
                return self.call_dict(node)
            if func.id in ("list", "tuple"):
                if node.keywords or len(node.args) > 1:
                    raise Unsupported(f"`{func.id}(...)` with these arguments is not evaluated")
                items = self.iterate(node, self.expr(node.args[0])) if node.args else []
                return items if func.id == "list" else tuple(items)
            builtin = _PURE_BUILTINS.get(func.id)
            if builtin is not None and not node.keywords:
                args = [self.known(node, self.expr(a)) for a in node.args]
                if not all(a is None or isinstance(a, (bool, int, float, str, list, tuple)) for a in args):
                    raise Unsupported(f"`{func.id}(...)` of a dict is not evaluated")
                return _checked(builtin(*args))
        if isinstance(func, ast.Attribute):
            return self.method(node, func)
        raise Unsupported(
            f"the call `{ast.unparse(func)}(...)` is not evaluated (only dict/list/tuple and pure built-ins)"
        )

    def call_dict(self, node: ast.Call) -> CfgDict:
        out = CfgDict(self.loc(node))
        if len(node.args) > 1:
            raise Unsupported("`dict(...)` with several positional arguments")
        if node.args:
            arg = self.expr(node.args[0])
            if isinstance(arg, (list, tuple)):
                for pair in arg:
                    if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and is_key(pair[0])):
                        raise Unsupported("`dict(...)` of something that is not key/value pairs")
                    out.set(pair[0], pair[1], self.loc(node))
            else:
                self.merge_mapping(out, arg, node.args[0])
        for kw in node.keywords:
            if kw.arg is None:
                self.merge_mapping(out, self.expr(kw.value), kw.value)
            else:
                out.set(kw.arg, self.expr(kw.value), self.loc(kw))
        return out

    def merge_mapping(self, out: CfgDict, value: Value, node: ast.AST) -> None:
        """``{**value}``: copy keys (and where they were set) into ``out``."""
        if not isinstance(value, CfgDict):
            self.known(node, value)
            raise Unsupported("`**` of something that is not a dict")
        for key, item in value.items():
            out.set(key, item, value.where_of(key))

    def method(self, node: ast.Call, func: ast.Attribute) -> Value:
        obj = self.expr(func.value)
        self.known(node, obj)
        name = func.attr
        allowed = (
            _DICT_METHODS
            if isinstance(obj, CfgDict)
            else _LIST_METHODS
            if isinstance(obj, list)
            else (_STR_METHODS if isinstance(obj, str) else frozenset())
        )
        if name not in allowed:
            raise Unsupported(f"the method `.{name}(...)` of a {type(obj).__name__} is not evaluated")
        args = [self.expr(a) for a in node.args]
        kwargs = {kw.arg: self.expr(kw.value) for kw in node.keywords if kw.arg is not None}
        if len(kwargs) != len(node.keywords):
            raise Unsupported("`**` in a method call")
        if isinstance(obj, CfgDict):
            return self.dict_method(node, obj, name, args, kwargs)
        if isinstance(obj, str) and name == "format":
            for v in [*args, *kwargs.values()]:
                if not (v is None or isinstance(v, (bool, int, float, str))):
                    raise Unsupported("`.format(...)` of a container is not evaluated")
        bound = getattr(obj, name)
        return _checked(bound(*args, **kwargs))

    def dict_method(
        self, node: ast.Call, obj: CfgDict, name: str, args: list[Value], kwargs: dict[str, Value]
    ) -> Value:
        where = self.loc(node)
        if name == "update":
            other = CfgDict(where)
            if args:
                self.merge_mapping(other, args[0], node)
            for kw_name, item in kwargs.items():
                other.set(kw_name, item, where)
            _update(obj, other)
            return None
        if name == "copy":
            return obj.shallow_copy()
        if name in ("keys", "values", "items"):
            if name == "items":
                return [(k, v) for k, v in obj.items()]
            return list(obj.keys()) if name == "keys" else list(obj.values())
        key = args[0] if args else None
        if kwargs or not args or not is_key(key):
            raise Unsupported(f"`.{name}(...)` with these arguments is not evaluated")
        default = args[1] if len(args) > 1 else None
        if name == "get":
            return obj.get(key, default)
        if name == "setdefault":
            if key not in obj:
                obj.set(key, default, where)
            return obj[key]
        if key in obj:  # pop
            value = obj[key]
            obj.remove(key)
            return value
        if len(args) > 1:
            return default
        raise KeyError(key)

    def iterate(self, node: ast.AST, value: Value) -> list[Value]:
        if isinstance(value, (list, tuple)):
            return list(value)
        if isinstance(value, str):
            return list(value)
        if isinstance(value, CfgDict):
            return list(value.keys())
        self.known(node, value)
        raise Unsupported("iterating over something that is not a list, tuple, string or dict")


def _update(target: CfgDict, other: CfgDict) -> None:
    """``target.update(other)`` on a ConfigDict: nested dicts merge key by key (MMEngine's ConfigDict.update)."""
    for key, value in other.items():
        current = target.get(key)
        if isinstance(current, CfgDict) and isinstance(value, CfgDict):
            _update(current, value)
        else:
            target.set(key, value, other.where_of(key))


def _repeat_length(left: Value, right: Value) -> int:
    """Length of ``left * right`` when it repeats a sequence (0 otherwise)."""
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
            return len(seq) * times
    return 0


def is_key(value: object) -> TypeGuard[Key]:
    return value is None or isinstance(value, (str, int, float, bool))


def _checked(value: object) -> Value:
    """A computed value, refused if it is not config data or too large."""
    if isinstance(value, (str, list, tuple)) and len(value) > MAX_ITEMS:
        raise Unsupported("a value too large to build")
    if value is None or isinstance(value, (bool, int, float, str, list, tuple, CfgDict)):
        return value
    raise Unsupported(f"it computes a {type(value).__name__}, which is not config data")


def _is_bare_base_ref(node: ast.Set) -> bool:
    return len(node.elts) == 1 and isinstance(node.elts[0], ast.Set)


def _describe(node: ast.AST) -> str:
    names = {
        ast.Lambda: "a lambda", ast.ListComp: "a list comprehension", ast.DictComp: "a dict comprehension",
        ast.SetComp: "a set comprehension", ast.GeneratorExp: "a generator expression", ast.Set: "a set",
        ast.NamedExpr: "an assignment expression", ast.Starred: "a starred expression",
    }  # fmt: skip
    return names.get(type(node), f"a {type(node).__name__} expression")
