"""Write an :class:`~.experiment.Experiment` as a typed experiment file (deterministic, 110 columns).

Layout: a docstring saying what to fill in; a comment block listing what was not migrated, what was
translated with a change of form and what is typedengine's default anyway (each with ``file:line``);
imports; the placeholder classes (model, datasets, metrics) with the original MMEngine dict in a TODO;
``class Experiment(te.RunnerConfig)`` with one field per migrated key; the ``te.cli`` footer.

Names: a class or alias the ``typedengine`` package exports is written ``te.Name``; anything else is
imported from the shortest public module that has it. :data:`ANNOTATIONS` (the types of the root fields)
is the one table of names the writer keeps; every value is written from the real config instance the
mapper built, so field names and defaults come from typedengine itself.
"""

from __future__ import annotations

import importlib
import math
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from .experiment import ConfigNode, Experiment, Finding, Node, Stub, StubRef
from .mmsource import mm_source
from .values import display_path

__all__ = ["ANNOTATIONS", "write_experiment"]

WIDTH = 110

ANNOTATIONS: dict[str, str] = {
    "model": "{0}",
    "work_dir": "<pathlib:Path>",
    "experiment_name": "str | None",
    "train_dataloader": "<typedengine.data.dataloader:DataLoaderConfig>[{0}] | None",
    "val_dataloader": "<typedengine.data.dataloader:DataLoaderConfig>[{0}] | None",
    "test_dataloader": "<typedengine.data.dataloader:DataLoaderConfig>[{0}] | None",
    "train": "<typedengine.loops.choices:TrainLoopConfig> | None",
    "val": "<typedengine.loops.evaluation:ValLoopConfig>",
    "test": "<typedengine.loops.evaluation:TestLoopConfig>",
    "optim_wrapper": "<typedengine.optim.choices:OptimWrapperUnion> | None",
    "param_scheduler": "tuple[<typedengine.optim.schedulers.choices:ParamSchedulerConfig>, ...]",
    "auto_scale_lr": "<typedengine.optim.auto_scale_lr:AutoScaleLRConfig> | None",
    "val_evaluator": "<typedengine.evaluation.evaluator:EvaluatorConfig>[{0}] | None",
    "test_evaluator": "<typedengine.evaluation.evaluator:EvaluatorConfig>[{0}] | None",
    "default_hooks": "<typedengine.hooks.choices:DefaultHooksConfig>",
    "custom_hooks": "<typedengine.hooks.choices:HookList>",
    "data_preprocessor": "<typedengine.model.preprocessor:DataPreprocessorConfig> | None",
    "model_wrapper": "<typedengine.model.wrapping:ModelWrapperConfig>",
    "load_from": "<pathlib:Path> | None",
    "resume": "bool | <pathlib:Path>",
    "launcher": "<typedengine.distributed.env:Launcher>",
    "env": "<typedengine.runner.env:EnvConfig>",
    "log_processor": "<typedengine.logs.processor:LogProcessorConfig>",
    "log_level": '<typing:Literal>["DEBUG", "INFO", "WARNING", "ERROR"]',
    "visualizer": "<typedengine.logs.visualizer:VisualizerConfig>",
    "randomness": "<typedengine.runner.randomness:RandomnessConfig>",
    "compile": "<typedengine.runner.compile:CompileConfig> | None",
}
"""The type of each root field the writer may set, as ``RunnerConfig`` declares it (``{0}``: type arguments)."""

_REF = re.compile(r"<([\w.]+):(\w+)>")


class _Names:
    """Decides how each name is written and collects the imports that needs."""

    def __init__(self) -> None:
        self.imports: dict[str, set[str]] = {}
        self.type_checking: dict[str, set[str]] = {}

    def ref(self, module: str, name: str) -> str:
        if module.startswith("typedengine"):
            import typedengine

            obj = getattr(importlib.import_module(module), name)
            if name in typedengine.__all__ and getattr(typedengine, name) is obj:
                return f"te.{name}"
            module = _public_module(module, name, obj)
        self.imports.setdefault(module, set()).add(name)
        return name

    def of(self, obj: type) -> str:
        return self.ref(obj.__module__, obj.__name__)

    def template(self, text: str) -> str:
        return _REF.sub(lambda m: self.ref(m.group(1), m.group(2)), text)


def _public_module(module: str, name: str, obj: object) -> str:
    """The shortest package above ``module`` that re-exports ``name`` (``typedengine.optim`` before
    ``typedengine.optim.schedulers.linear``)."""
    parts = module.split(".")
    for i in range(2, len(parts)):
        candidate = ".".join(parts[:i])
        found = importlib.import_module(candidate)
        if getattr(found, name, None) is obj and name in getattr(found, "__all__", ()):
            return candidate
    return module


# --- values as code ------------------------------------------------------------------------------------


@dataclass
class _Call:
    """``head(arg, ...)`` (or a tuple/dict display) that may be broken over lines."""

    head: str
    args: list[tuple[str, object, str]]
    """(label, value doc, trailing comment); label '' for positional."""
    open: str = "("
    close: str = ")"
    one_tuple: bool = False


Doc = str | _Call


def _flat(doc: Doc) -> str | None:
    if isinstance(doc, str):
        return doc
    parts: list[str] = []
    for label, value, comment in doc.args:
        if comment:
            return None
        inner = _flat(value)  # type: ignore[arg-type]  # docs nest
        if inner is None:
            return None
        parts.append(f"{label}{inner}")
    trailing = "," if doc.one_tuple else ""
    return f"{doc.head}{doc.open}{', '.join(parts)}{trailing}{doc.close}"


def _render(doc: Doc, indent: int, prefix_len: int = 0) -> str:
    """``doc`` as text; continuation lines indented ``indent``; the first line already has ``prefix_len``."""
    flat = _flat(doc)
    if flat is not None and indent + prefix_len + len(flat) <= WIDTH:
        return flat
    if isinstance(doc, str):
        return doc
    pad = " " * (indent + 4)
    lines = [f"{doc.head}{doc.open}"]
    for label, value, comment in doc.args:
        body = _render(value, indent + 4, len(label))  # type: ignore[arg-type]  # docs nest
        line = f"{pad}{label}{body},"
        if comment:
            line += f"  # {comment}"
        lines.append(line)
    lines.append(" " * indent + doc.close)
    return "\n".join(lines)


class _Writer:
    def __init__(self, exp: Experiment) -> None:
        self.exp = exp
        self.names = _Names()
        self.root = exp.source.parent

    def doc(self, value: object) -> Doc:
        if isinstance(value, ConfigNode):
            return self.config(value.config, value.type_args, value.overrides, value.comments)
        if isinstance(value, StubRef):
            return f"{value.stub.class_name}()"
        if isinstance(value, BaseModel):
            return self.config(value, (), {}, {})
        if isinstance(value, tuple):
            return _Call("", [("", self.doc(v), "") for v in value], one_tuple=len(value) == 1)
        if isinstance(value, list):
            return _Call("", [("", self.doc(v), "") for v in value], "[", "]")
        if isinstance(value, dict):
            return _Call("", [(f"{_string(str(k))}: ", self.doc(v), "") for k, v in value.items()], "{", "}")
        if isinstance(value, Path):
            return f"{self.names.ref('pathlib', 'Path')}({_string(value.as_posix())})"
        if isinstance(value, str):
            return _string(value)
        if isinstance(value, float) and not math.isfinite(value):
            return f'float("{value}")'
        return repr(value)

    def config(
        self, cfg: BaseModel, type_args: tuple[str, ...], overrides: dict[str, Node], comments: dict[str, str]
    ) -> _Call:
        cls = type(cfg)
        origin = getattr(cls, "__pydantic_generic_metadata__", {}).get("origin") or cls
        head = self.names.of(origin)
        if type_args:
            head += f"[{', '.join(self.names.template(a) for a in type_args)}]"
        args: list[tuple[str, object, str]] = []
        for name in _field_order(cls):
            if name in overrides:
                args.append((f"{name}=", self.doc(overrides[name]), comments.get(name, "")))
            elif name in cfg.model_fields_set and name != "type":
                args.append((f"{name}=", self.doc(getattr(cfg, name)), comments.get(name, "")))
        return _Call(head, args)

    # --- the file ------------------------------------------------------------------------------------
    def write(self) -> str:
        body = [self.stub(s) for s in self.exp.stubs]
        experiment = self.experiment()
        header = self.header()
        imports = self.imports()
        parts = [header, imports, *body, experiment]
        parts.append(
            'if __name__ == "__main__":\n    te.Runner.from_config(te.cli(Experiment, description=__doc__)).train()\n'
        )
        head = f"{header}\n\n{imports}"
        return "\n\n\n".join(p.rstrip("\n") for p in [head, *parts[2:]] if p) + "\n"

    def header(self) -> str:
        name = self.exp.source.name
        about = (
            f"Source: {name}. The model, datasets and metrics are placeholders: fill in each TODO(migrate) in "
            "this file and read the notes at its top. --plan shows the schedule without building anything."
        )
        lines = [
            '"""An experiment migrated from an MMEngine config by `typedengine migrate`.',
            "",
            *textwrap.wrap(about, WIDTH, break_on_hyphens=False),
            '"""',
            "",
        ]
        read = "Config files read: " + ", ".join(display_path(p, self.root) for p in self.exp.files)
        lines += [
            f"# {w}" for w in textwrap.wrap(read, WIDTH - 2, subsequent_indent="    ", break_on_hyphens=False)
        ]
        if self.exp.refusals:
            lines += ["#", "# typedengine refuses this as written -- change it before running:"]
            for text in self.exp.refusals:
                wrapped = textwrap.wrap(text, WIDTH - 4, subsequent_indent="    ", break_on_hyphens=False)
                lines += [f"#   {w}" for w in wrapped]
        for title, findings in (
            (
                "Not migrated (no typedengine equivalent, or not the same meaning) -- review each",
                self.exp.not_migrated,
            ),
            ("Translated (same meaning, different form)", self.exp.translated),
            ("Same as typedengine's default (nothing written)", _drop_parents(self.exp.defaults)),
        ):
            if not findings:
                continue
            lines += ["#", f"# {title}:"]
            for f in sorted(findings, key=self.order):
                text = f"{f.where.show(self.root)}  {f.key}" + (
                    f" {f.message}" if f.message.startswith("=") else f": {f.message}"
                )
                if title.startswith("Same"):
                    text = f"{f.where.show(self.root)}  {f.key} = {f.message}"
                wrapped = textwrap.wrap(text, WIDTH - 4, subsequent_indent="    ", break_on_hyphens=False)
                lines += [f"#   {w}" for w in wrapped]
        return "\n".join(lines)

    def order(self, f: Finding) -> tuple[int, int, str]:
        index = self.exp.files.index(f.where.path) if f.where.path in self.exp.files else len(self.exp.files)
        return index, f.where.line, f.key

    def imports(self) -> str:
        modules = self.names.imports
        std = sorted(m for m in modules if not m.startswith(("typedengine", "pydantic")))
        lines = ["from __future__ import annotations", ""]
        lines += [_import_line(m, modules[m]) for m in std]
        if std:
            lines.append("")
        if "pydantic" in modules:
            lines += [_import_line("pydantic", modules["pydantic"]), ""]
        lines.append("import typedengine as te")
        lines += [_import_line(m, modules[m]) for m in sorted(modules) if m.startswith("typedengine")]
        if any(s.kind == "dataset" for s in self.exp.stubs):
            lines += ["", "if TYPE_CHECKING:", "    from torch.utils.data import Dataset"]
        return "\n".join(lines)

    def stub(self, stub: Stub) -> str:
        base = {"model": "ModelConfig", "dataset": "DatasetConfig", "metric": "MetricConfig"}[stub.kind]
        returns = {"model": "te.BaseModel", "dataset": "Dataset[object]", "metric": "te.BaseMetric"}[
            stub.kind
        ]
        what = {"model": "the model", "dataset": "a dataset", "metric": "a metric"}[stub.kind]
        builds = {"model": "a te.BaseModel", "dataset": "a torch Dataset", "metric": "a te.BaseMetric"}[
            stub.kind
        ]
        if stub.kind == "dataset":
            self.names.ref("typing", "TYPE_CHECKING")
        where = stub.where.show(self.root)
        lines = [
            f"class {stub.class_name}(te.{base}):",
            f'    """Placeholder for {what}: MMEngine\'s `{stub.mm_type}` ({where})."""',
            "",
        ]
        if stub.tag is not None:
            lines += [
                f'    type: te.Tag[{self.names.ref("typing", "Literal")}["{stub.tag}"]] = "{stub.tag}"',
                "",
            ]
        lines.append(f"    # TODO(migrate): build {builds} that does what this MMEngine dict describes:")
        source = mm_source(stub.original, WIDTH - 8)
        lines += [f"    #   {line}".rstrip() for line in source.splitlines()]
        lines += [
            "",
            f"    def build(self) -> {returns}:",
            f'        raise NotImplementedError("TODO(migrate): build MMEngine\'s {stub.mm_type} here")',
        ]
        if stub.kind == "dataset":
            lines += ["", "    def declared_length(self) -> int | None:"]
            if stub.length is not None:
                lines.append(f"        return {stub.length}  # {stub.length_note}")
            else:
                lines.append(
                    "        return None  # TODO(migrate): the number of samples, so --plan counts iterations"
                )
        return "\n".join(lines)

    def experiment(self) -> str:
        """Module-level aliases of long or evaluator types, then the Experiment class."""
        lines = [
            "class Experiment(te.RunnerConfig):",
            '    """The migrated run: one field per MMEngine key (`python <this file> --help` lists them)."""',
            "",
        ]
        aliases: list[str] = []
        for f in self.exp.fields:
            doc = self.doc(f.value)
            annotation = self.names.template(ANNOTATIONS[f.name]).replace(
                "{0}", self.type_args(f.annotation_args)
            )
            alias_it = f.name.endswith("_evaluator")
            prefix = f"    {f.name}: {annotation} = "
            text = _render(doc, 4, len(prefix) - 4)
            too_long = len(prefix) + len(text.split("\n")[0]) > WIDTH
            if (alias_it or too_long) and isinstance(doc, _Call) and f.annotation_args:
                alias = "".join(part.capitalize() for part in f.name.split("_"))
                aliases.append(f"{alias} = {doc.head}")
                doc.head = alias
                prefix = f"    {f.name}: {alias} | None = "
                text = _render(doc, 4, len(prefix) - 4)
            lines += [f"    {c}" for c in f.comments]
            first, _, rest = text.partition("\n")
            lines.append(prefix + first + ("\n" + rest if rest else ""))
        body = "\n".join(lines)
        return "\n".join(aliases) + "\n\n\n" + body if aliases else body

    def type_args(self, args: tuple[str, ...]) -> str:
        """``A`` or, for several metric classes, their discriminated union."""
        if len(args) <= 1:
            return ", ".join(args)
        annotated = self.names.ref("typing", "Annotated")
        field = self.names.ref("pydantic", "Field")
        return f'{annotated}[{" | ".join(args)}, {field}(discriminator="type")]'


_LEADING = ("dataset", "optimizer", "param")
"""Written first wherever they appear: what a dataloader loads, what an optim wrapper drives."""


def _field_order(cls: type[BaseModel]) -> list[str]:
    """Fields in reading order: a class's own fields before the ones it inherits (``max_epochs`` before
    ``val_interval``, ``start_factor`` before ``begin``), ``dataset``, ``optimizer`` and ``param`` first."""
    order: list[str] = [n for n in _LEADING if n in cls.model_fields]
    for klass in cls.__mro__:
        for name in getattr(klass, "__annotations__", {}):
            if name in cls.model_fields and name not in order:
                order.append(name)
    order += [n for n in cls.model_fields if n not in order]
    return order


def _import_line(module: str, names: set[str]) -> str:
    # isort's order by type (ruff's default): CONSTANTS, Classes, functions
    ordered = sorted(names, key=lambda n: (0 if n.isupper() else 1 if n[:1].isupper() else 2, n))
    line = f"from {module} import {', '.join(ordered)}"
    if len(line) <= WIDTH:
        return line
    return f"from {module} import (\n" + "".join(f"    {n},\n" for n in ordered) + ")"


def _string(text: str) -> str:
    if '"' not in text and "\\" not in text and text.isprintable():
        return f'"{text}"'
    return repr(text)


def _drop_parents(findings: list[Finding]) -> list[Finding]:
    """A default listed for a whole dict and for its keys: keep the keys."""
    keys = {f.key for f in findings}
    return [f for f in findings if not any(k.startswith(f.key + ".") for k in keys)]


def write_experiment(exp: Experiment) -> str:
    """The experiment file's text."""
    return _Writer(exp).write()
