"""Evaluate one MMEngine Python config file without running it: its statements, over :mod:`.expressions`.

Followed: assignments to names, tuples of names, dict keys, list items and ConfigDict attributes
(``a = _base_.model; a.type = 'X'`` changes the base, as in MMEngine); ``x += [...]`` (in place, as Python
does); expression statements such as ``pipeline.append(...)``; ``del``; imports, which bind a
:class:`~.values.Symbol` and import nothing. ``_base_ = [...]`` is skipped (the reader loaded the bases).

Not run: ``def``, ``class``, ``if``/``for``/``while``/``with``/``try`` blocks. Every name such a block could
bind or change becomes an :class:`~.values.Opaque` that remembers its value before the block; the mapper
decides whether that matters (it does in a Runner-level key; in a model or dataset dict it is carried into
a TODO comment).
"""

from __future__ import annotations

import ast
from copy import deepcopy
from pathlib import Path

from .expressions import Expressions, FileResult, is_key
from .values import CfgDict, Opaque, Symbol, Value

__all__ = ["FileResult", "evaluate_file", "evaluate_literal"]

_BLOCKS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.FunctionDef,
           ast.AsyncFunctionDef, ast.ClassDef, ast.Match, ast.Raise)  # fmt: skip


def evaluate_literal(node: ast.expr, path: Path, text: str) -> Value:
    """Evaluate ``node`` with no names bound (``_base_ = [...]``)."""
    return Expressions(path, text, None).expr(node)


def evaluate_file(tree: ast.Module, path: Path, text: str, base: CfgDict | None) -> FileResult:
    """Evaluate every top-level statement of ``tree`` (``_base_`` assignments skipped: the reader loaded them)."""
    ev = _Statements(path, text, base)
    for stmt in tree.body:
        ev.stmt(stmt)
    return ev.result


class _Statements(Expressions):
    def stmt(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == "_base_" for t in node.targets):
                return
            value = self.expr(node.value)
            for target in node.targets:
                self.assign(target, value, node)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.assign(node.target, self.expr(node.value), node)
        elif isinstance(node, ast.AugAssign):
            self.aug_assign(node)
        elif isinstance(node, ast.Expr):
            if not isinstance(node.value, ast.Constant):
                self.expr(node.value)  # method calls such as `pipeline.append(...)`
        elif isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.partition(".")[0]
                self.env.set(bound, Symbol(alias.name if alias.asname else bound), self.loc(node))
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                if alias.name == "*":
                    self.unknown_names_possible = True
                    self.result.blocks.append((self.loc(node), f"`from {module} import *`"))
                else:
                    self.env.set(alias.asname or alias.name, Symbol(f"{module}.{alias.name}"), self.loc(node))
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                self.delete(target)
        elif isinstance(node, _BLOCKS):
            self.block(node)
        # pass, global, nonlocal, assert: no effect on the config

    def block(self, node: ast.stmt) -> None:
        """A statement that is not run: every name it could bind or change becomes Opaque."""
        kind = type(node).__name__.lower().replace("functiondef", "def").replace("classdef", "class")
        self.result.blocks.append((self.loc(node), f"`{kind}` statement"))
        self.unknown_names_possible = True
        names: set[str] = set()
        for sub in ast.walk(node):
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(sub.name)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                names.add(sub.id)
            elif isinstance(sub, (ast.Attribute, ast.Subscript)) and isinstance(
                sub.ctx, (ast.Store, ast.Del)
            ):
                names.update(_root_names(sub.value))  # `cfg.k = ...` / `cfg['k'] = ...` inside the block
            elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
                names.update(_root_names(sub.func.value))  # `cfg.update(...)` inside the block
        article = "an" if kind[0] in "aeiou" else "a"
        reason = f"set or changed inside {article} `{kind}` block (line {node.lineno}), which is not run"
        for name in sorted(names):
            before = self.env.get(name)
            if isinstance(before, Symbol):
                continue  # an imported module used inside the block: still the same symbol
            self.env.set(name, Opaque(name, self.loc(node), reason, before), self.loc(node))

    def assign(self, target: ast.expr, value: Value, stmt: ast.stmt) -> None:
        where = self.loc(stmt)
        if isinstance(target, ast.Name):
            self.env.set(target.id, value, where)
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = value if isinstance(value, (list, tuple)) else None
            if (
                items is None
                or len(items) != len(target.elts)
                or any(isinstance(e, ast.Starred) for e in target.elts)
            ):
                for elt in target.elts:
                    self.assign(elt, self.opaque(stmt, "unpacking that is not understood"), stmt)
            else:
                for elt, item in zip(target.elts, items):
                    self.assign(elt, item, stmt)
        elif isinstance(target, (ast.Subscript, ast.Attribute)):
            container = self.expr(target.value)
            key: Value = target.attr if isinstance(target, ast.Attribute) else self.expr(target.slice)
            if isinstance(container, CfgDict) and is_key(key):
                container.set(key, value, where)
            elif isinstance(container, list) and isinstance(target, ast.Subscript) and isinstance(key, int):
                if not -len(container) <= key < len(container):
                    raise self.error(target, f"list index {key} out of range")
                container[key] = value
            else:
                self.poison(target.value, "changed by an assignment that is not understood", stmt)
        else:
            raise self.error(target, f"cannot assign to {ast.unparse(target)}")

    def poison(self, node: ast.expr, reason: str, stmt: ast.stmt) -> None:
        """Make the name under ``node`` (``a`` in ``a.b[0]``) Opaque: it was changed in a way not followed."""
        root = node
        while isinstance(root, (ast.Attribute, ast.Subscript)):
            root = root.value
        if isinstance(root, ast.Name) and root.id != "_base_":
            source = ast.get_source_segment(self.text, stmt) or ast.unparse(stmt)
            made = Opaque(" ".join(source.split()), self.loc(stmt), reason, self.env.get(root.id))
            self.result.opaque.append(made)
            self.env.set(root.id, made, self.loc(stmt))
        else:
            self.opaque(stmt, reason)

    def aug_assign(self, node: ast.AugAssign) -> None:
        current = self.expr(_as_load(node.target))
        value = self.expr(node.value)
        if isinstance(current, list) and isinstance(node.op, ast.Add) and isinstance(value, (list, tuple)):
            current.extend(value)  # in place, as Python does: other names bound to the list see it
            return
        self.assign(node.target, self.binop(node, node.op, current, value), node)

    def delete(self, target: ast.expr) -> None:
        if isinstance(target, ast.Name):
            if target.id in self.env:
                self.env.remove(target.id)
            return
        container = self.expr(target.value) if isinstance(target, (ast.Subscript, ast.Attribute)) else None
        key: Value = None
        if isinstance(target, ast.Attribute):
            key = target.attr
        elif isinstance(target, ast.Subscript):
            key = self.expr(target.slice)
        if isinstance(container, CfgDict) and is_key(key) and key in container:
            container.remove(key)
        elif isinstance(container, list) and isinstance(key, int) and -len(container) <= key < len(container):
            del container[key]
        elif isinstance(target, (ast.Subscript, ast.Attribute)):
            self.poison(target.value, "changed by a `del` that is not understood", target)  # type: ignore[arg-type]

    # --- expressions ---------------------------------------------------------------------------------


def _as_load(node: ast.expr) -> ast.expr:
    """The same target read instead of written (for ``x += ...``), positions kept."""
    copy = deepcopy(node)
    for sub in ast.walk(copy):
        if hasattr(sub, "ctx"):
            sub.ctx = ast.Load()
    return copy


def _root_names(node: ast.expr) -> set[str]:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return {node.id} if isinstance(node, ast.Name) and node.id != "_base_" else set()
