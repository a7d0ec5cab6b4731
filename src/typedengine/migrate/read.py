"""Read an MMEngine config tree (``Config.fromfile`` semantics) without running any of it.

For each file, as MMEngine does: substitute the predefined variables (``{{ fileDirname }}`` ...) and
``{{$ENV:default}}`` in the text; find ``_base_`` (a relative path or a list of them; ``.py``, ``.json``,
``.yaml``/``.yml``; ``pkg::path`` for an installed package's configs), read every base recursively and
combine them (a key defined by two bases is an error); evaluate the file with ``_base_`` bound to the
combined bases (:mod:`.evaluate`); merge the file's keys into the bases: nested dicts merge key by key,
anything else (lists included) replaces, and ``_delete_=True`` in a dict replaces instead of merging.

Every failure is a :class:`~.values.MigrateError` naming the file and line: a missing base file, a
syntax error, a cycle of bases, a key defined in two bases, a dict merged into a non-dict without
``_delete_``, a ``{{_base_.x}}`` that does not resolve.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .evaluate import evaluate_file, evaluate_literal
from .expressions import BASE_REF
from .values import CfgDict, Location, MigrateError, Opaque, Value

__all__ = ["BASE_KEY", "DELETE_KEY", "ConfigTree", "Substitution", "read_config"]

DELETE_KEY = "_delete_"
BASE_KEY = "_base_"
_PREDEFINED = ("fileDirname", "fileBasenameNoExtension", "fileBasename", "fileExtname")
_ENV = re.compile(r"\{\{['\"]?\s*\$(\w+)\s*:\s*(.*?)\s*['\"]?\}\}")
_BASE_VAR = re.compile(r"['\"]?\{\{\s*_base_\.([\w.]+)\s*\}\}['\"]?")


@dataclass(frozen=True)
class Substitution:
    """A ``{{ ... }}`` replaced in a file's text before it was read (MMEngine does the same at every run)."""

    where: Location
    text: str
    value: str
    from_environment: bool


@dataclass
class ConfigTree:
    """The merged config of a file and its bases, and what reading it found."""

    main: Path
    cfg: CfgDict
    files: list[Path] = field(default_factory=list)
    opaque: list[Opaque] = field(default_factory=list)
    blocks: list[tuple[Location, str]] = field(default_factory=list)
    consumed: set[Location] = field(default_factory=set)
    substitutions: list[Substitution] = field(default_factory=list)


def read_config(path: Path) -> ConfigTree:
    """Read ``path`` and its ``_base_`` files into one :class:`ConfigTree`."""
    path = Path(path)
    if path.is_dir():
        raise MigrateError(f"{path}: is a directory; give the config file (e.g. {path}/my_config.py)")
    if not path.is_file():
        raise MigrateError(f"{path}: no such config file")
    tree = ConfigTree(main=path, cfg=CfgDict(Location(path, 1)))
    tree.cfg = _Reader(tree).load(path, ())
    _strip_delete(tree.cfg)
    return tree


class _Reader:
    def __init__(self, tree: ConfigTree) -> None:
        self.tree = tree

    def load(self, path: Path, chain: tuple[Path, ...]) -> CfgDict:
        resolved = path.resolve()
        if resolved in chain:
            cycle = " -> ".join(str(p) for p in (*chain, resolved))
            raise MigrateError(f"{path}: the _base_ files form a cycle: {cycle}")
        if path not in self.tree.files:
            self.tree.files.append(path)
        suffix = path.suffix.lower()
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MigrateError(f"{path}: cannot read the config file: {exc}") from None
        text = self.substitute(path, raw)
        if suffix == ".py":
            return self.load_py(path, text, (*chain, resolved))
        if suffix in (".json", ".yaml", ".yml"):
            return self.load_data(path, text, (*chain, resolved))
        raise MigrateError(f"{path}: not a config file MMEngine reads (.py, .json, .yaml or .yml)")

    # --- text substitutions (MMEngine applies them to the file text, before parsing) ---------------------
    def substitute(self, path: Path, text: str) -> str:
        absolute = path.resolve()
        values = {
            "fileDirname": absolute.parent.as_posix(),
            "fileBasename": absolute.name,
            "fileBasenameNoExtension": absolute.stem,
            "fileExtname": absolute.suffix,
        }

        def line_of(pos: int) -> Location:
            return Location(path, text.count("\n", 0, pos) + 1)

        def predefined(match: re.Match[str]) -> str:
            value = values[match.group(1)]
            self.tree.substitutions.append(Substitution(line_of(match.start()), match.group(0), value, False))
            return value

        text = re.sub(r"\{\{\s*(" + "|".join(_PREDEFINED) + r")\s*\}\}", predefined, text)

        def environment(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            value = os.environ.get(name, default)
            if not value:
                raise MigrateError(
                    f"{line_of(match.start()).show()}: `{match.group(0)}`: {name} is not set and there is no default"
                )
            self.tree.substitutions.append(
                Substitution(line_of(match.start()), match.group(0), value, name in os.environ)
            )
            return value

        text = _ENV.sub(environment, text)
        # a bare {{_base_.x}} is not Python; quote it (as MMEngine does) so the evaluator resolves the string
        return _BASE_VAR.sub(lambda m: '"{{_base_.' + m.group(1) + '}}"', text)

    # --- Python files ------------------------------------------------------------------------------
    def load_py(self, path: Path, text: str, chain: tuple[Path, ...]) -> CfgDict:
        try:
            module = ast.parse(text, filename=str(path))
        except SyntaxError as exc:
            raise MigrateError(f"{path}:{exc.lineno or 1}: syntax error: {exc.msg}") from None
        for stmt in module.body:
            if isinstance(stmt, ast.With) and any(_is_read_base(item.context_expr) for item in stmt.items):
                raise MigrateError(
                    f"{path}:{stmt.lineno}: `with read_base():` (a pure-Python, lazy-import MMEngine config) is "
                    "not supported; migrate an old-style config (`_base_ = [...]`)"
                )
        base_node = next((s for s in module.body if isinstance(s, ast.Assign) and _assigns_base(s)), None)
        base: CfgDict | None = None
        if base_node is not None:
            names = evaluate_literal(base_node.value, path, text)
            base = self.load_bases(path, Location(path, base_node.lineno), names, chain)
        result = evaluate_file(module, path, text, base)
        self.tree.opaque.extend(result.opaque)
        self.tree.blocks.extend(result.blocks)
        self.tree.consumed.update(result.consumed)
        own = result.bindings
        return own if base is None else self.merge(own, base)

    # --- JSON / YAML files ---------------------------------------------------------------------------
    def load_data(self, path: Path, text: str, chain: tuple[Path, ...]) -> CfgDict:
        import yaml

        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data: object = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except json.JSONDecodeError as exc:
            raise MigrateError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            raise MigrateError(f"{path}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
        if data is None:
            data, node = {}, None
        if not isinstance(data, dict):
            raise MigrateError(f"{path}:1: a config file must hold a mapping at the top level")
        own = _from_data(data, node, path)
        if not isinstance(own, CfgDict):
            raise MigrateError(f"{path}:1: a config file must hold a mapping at the top level")
        names = own.get(BASE_KEY)
        base: CfgDict | None = None
        if names is not None:
            where = own.where_of(BASE_KEY)
            own.remove(BASE_KEY)
            base = self.load_bases(path, where, names, chain)
        _resolve_refs(own, base, path)
        return own if base is None else self.merge(own, base)

    # --- bases and merging ---------------------------------------------------------------------------
    def load_bases(self, path: Path, where: Location, names: Value, chain: tuple[Path, ...]) -> CfgDict:
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise MigrateError(f"{where.show()}: `_base_` must be a path or a list of paths (strings)")
        combined = CfgDict(where)
        owner: dict[object, Path] = {}
        for name in names:
            assert isinstance(name, str)
            base_path = self.base_path(path, where, name)
            loaded = self.load(base_path, chain)
            for key, value in loaded.items():
                if key in combined:
                    raise MigrateError(
                        f"{where.show()}: `{key}` is defined in two _base_ files ({owner[key]} and {base_path}); "
                        "MMEngine refuses duplicate keys among bases too"
                    )
                owner[key] = base_path
                combined.set(key, value, loaded.where_of(key))
        return combined

    def base_path(self, path: Path, where: Location, name: str) -> Path:
        if "::" in name:
            package, _, rel = name.partition("::")
            spec = (
                importlib.util.find_spec(package) if package.isidentifier() else None
            )  # finds, never imports
            roots = list(spec.submodule_search_locations or []) if spec is not None else []
            for root in roots:
                candidate = Path(root) / ".mim" / "configs" / rel
                if candidate.is_file():
                    return candidate
            raise MigrateError(
                f"{where.show()}: _base_ file '{name}' not found: package '{package}' "
                + ("is not installed" if spec is None else "has no such file under .mim/configs")
            )
        candidate = Path(name) if Path(name).is_absolute() else path.parent / name
        if not candidate.is_file():
            raise MigrateError(f"{where.show()}: _base_ file '{name}' not found (looked for {candidate})")
        return candidate

    def merge(self, child: CfgDict, base: CfgDict) -> CfgDict:
        """MMEngine's ``_merge_a_into_b(child, base)``: a new dict, ``base`` itself unchanged."""
        out = base.shallow_copy()
        for key, value in child.items():
            where = child.where_of(key)
            if isinstance(value, CfgDict) and key in out and not value.pop(DELETE_KEY, False):
                current = out[key]
                if not isinstance(current, CfgDict):
                    raise MigrateError(
                        f"{where.show()}: `{key}` is a dict here but a {type(current).__name__} in the base "
                        f"({out.where_of(key).show()}); add `_delete_=True` to replace it"
                    )
                value.where.pop(DELETE_KEY, None)
                out.set(key, self.merge(value, current), where)
            else:
                out.set(key, value, where)
        return out


def _strip_delete(value: Value) -> None:
    """Drop ``_delete_`` markers left where no base had the key (they only steer merging)."""
    if isinstance(value, CfgDict):
        if DELETE_KEY in value:
            value.remove(DELETE_KEY)
        for item in value.values():
            _strip_delete(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _strip_delete(item)


def _from_data(data: object, node: object, path: Path) -> Value:
    """JSON/YAML data as config values; the composed YAML ``node`` (same shape) gives the lines."""
    import yaml

    line = node.start_mark.line + 1 if isinstance(node, yaml.Node) else 1
    if isinstance(data, dict):
        out = CfgDict(Location(path, line))
        pairs = node.value if isinstance(node, yaml.MappingNode) else []
        key_nodes = [k for k, _ in pairs]
        value_nodes = [v for _, v in pairs]
        for i, (key, item) in enumerate(data.items()):
            key_line = key_nodes[i].start_mark.line + 1 if i < len(key_nodes) else line
            sub = value_nodes[i] if i < len(value_nodes) else None
            if not (key is None or isinstance(key, (str, int, float, bool))):
                raise MigrateError(f"{path}:{key_line}: a key that is not a plain value")
            out.set(key, _from_data(item, sub, path), Location(path, key_line))
        return out
    if isinstance(data, list):
        subs = node.value if isinstance(node, yaml.SequenceNode) else []
        return [_from_data(item, subs[i] if i < len(subs) else None, path) for i, item in enumerate(data)]
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    return Opaque(repr(data), Location(path, line), f"a {type(data).__name__} value is not config data")


def _resolve_refs(value: Value, base: CfgDict | None, path: Path, line: int = 1) -> Value:
    """Replace (in place) every ``"{{_base_.a.b}}"`` string under ``value`` by the base's value."""
    if isinstance(value, str):
        ref = BASE_REF.match(value)
        if ref is None:
            return value
        found: Value = base
        for part in ref.group(1).split("."):
            if base is None or not isinstance(found, CfgDict) or part not in found:
                raise MigrateError(f"{path}:{line}: `{value}`: the base configs have no `{part}` there")
            found = found[part]
        return found
    if isinstance(value, CfgDict):
        for key in list(value):
            where = value.where_of(key)
            value.set(key, _resolve_refs(value[key], base, path, where.line), where)
    elif isinstance(value, list):
        value[:] = [_resolve_refs(item, base, path, line) for item in value]
    elif isinstance(value, tuple):
        return tuple(_resolve_refs(item, base, path, line) for item in value)
    return value


def _assigns_base(stmt: ast.Assign) -> bool:
    return any(isinstance(t, ast.Name) and t.id == BASE_KEY for t in stmt.targets)


def _is_read_base(node: ast.expr) -> bool:
    func = node.func if isinstance(node, ast.Call) else node
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name == "read_base"
