"""JSON Schema of an experiment's whole config tree, for editor completion and validation of config files.

::

    typedengine schema examples/01_digits.py:DigitsExperiment > digits.schema.json
    typedengine schema my_pkg.experiments:Big -o big.schema.json

Point an editor at the schema (VS Code: ``json.schemas`` / the YAML extension's ``yaml.schemas``, or a
``# yaml-language-server: $schema=digits.schema.json`` first line) and config files get completion,
hover help from the field descriptions, and red squiggles on typos (every model forbids unknown keys:
``additionalProperties: false``). Discriminated unions keep their ``discriminator`` mapping.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ValidationError
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import core_schema

from typedengine.config.errors import ConfigError, format_validation_error, render_issues
from typedengine.config.refs import object_path

__all__ = ["ConfigJsonSchema", "config_json_schema", "load_target", "main"]


class ConfigJsonSchema(GenerateJsonSchema):
    """pydantic's generator, writing class/function defaults (``ImportRef`` fields) as their dotted path.

    Field descriptions are taken from ``model_fields`` as they are after class creation, so a root field
    redefined in an experiment (``work_dir: Path = Path("runs")``) keeps the description it inherits
    (see :class:`~typedengine.runner.config.RunnerConfig`).
    """

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        cls = schema.get("cls")
        properties = json_schema.get("properties")
        if isinstance(cls, type) and issubclass(cls, BaseModel) and isinstance(properties, dict):
            for name, info in cls.model_fields.items():
                key = info.alias if isinstance(info.alias, str) and self.by_alias else name
                prop = properties.get(key)
                if isinstance(prop, dict) and "description" not in prop and info.description:
                    prop["description"] = info.description
        return json_schema

    def encode_default(self, dft: object) -> object:
        if callable(dft) and not isinstance(dft, BaseModel):
            try:
                return object_path(dft)
            except ValueError:
                pass
        return super().encode_default(dft)


def config_json_schema(cls: type[BaseModel], mode: JsonSchemaMode = "validation") -> JsonSchemaValue:
    """The JSON Schema of ``cls`` (``validation``: what a config file may contain)."""
    schema = cls.model_json_schema(mode=mode, schema_generator=ConfigJsonSchema)
    schema.setdefault("$schema", ConfigJsonSchema.schema_dialect)
    return schema


def load_target(spec: str) -> type[BaseModel]:
    """Import ``path/to/exp.py:ClassName`` or ``package.module:ClassName`` and return the config class.

    A file is imported under its file name (not ``__main__``), so its ``if __name__ == "__main__"``
    block does not run; its directory is put on ``sys.path`` for its sibling imports.
    """
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name:
        raise ValueError(f"expected FILE.py:ClassName or module:ClassName, got {spec!r}")
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where).resolve()
        if not path.is_file():
            raise ValueError(f"no such file: {where}")
        # imported under its file name (as `python -c "import exp"` would) so dotted paths of objects it
        # defines stay importable; a clash with an already imported, different module gets a private name
        module_name = path.stem
        loaded = sys.modules.get(module_name)
        if loaded is not None and getattr(loaded, "__file__", None) == str(path):
            module = loaded  # imported before: the same classes, not a second copy
        else:
            if loaded is not None:
                module_name = f"_typedengine_schema_{path.stem}"
            loader_spec = importlib.util.spec_from_file_location(module_name, path)
            if loader_spec is None or loader_spec.loader is None:
                raise ValueError(f"cannot import {where}")
            module = importlib.util.module_from_spec(loader_spec)
            if str(path.parent) not in sys.path:
                sys.path.insert(0, str(path.parent))
            sys.modules[module_name] = module
            try:
                loader_spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[module_name]
                raise
    else:
        module = importlib.import_module(where)
    target = getattr(module, name, None)
    if target is None:
        raise ValueError(f"{where} has no attribute {name!r}")
    if not (isinstance(target, type) and issubclass(target, BaseModel)):
        raise TypeError(f"{spec} is not a config class (a pydantic model)")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """``typedengine schema TARGET [-o FILE]``: print (or write) the JSON Schema; 0 on success, 2 on error."""
    parser = argparse.ArgumentParser(
        prog="typedengine schema", description="Print the JSON Schema of an experiment's config class."
    )
    parser.add_argument("target", help="FILE.py:ClassName or package.module:ClassName")
    parser.add_argument("-o", "--output", help="write the schema to this file instead of stdout")
    parser.add_argument(
        "--mode",
        choices=("validation", "serialization"),
        default="validation",
        help="validation: what config files may contain (default); serialization: what save_config writes",
    )
    args = parser.parse_args(argv)
    try:
        cls = load_target(args.target)
    except ConfigError as exc:  # a mistake in the experiment file's classes (a misspelled root field)
        print(str(exc), file=sys.stderr)
        return 2
    except ValidationError as exc:  # a config default in the file that does not validate
        print(render_issues(format_validation_error(exc), f"{exc.title}(...) in {args.target}"), file=sys.stderr)
        return 2
    except (ValueError, TypeError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    mode: JsonSchemaMode = "serialization" if args.mode == "serialization" else "validation"
    text = json.dumps(config_json_schema(cls, mode), indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
