"""`typedengine schema`: the JSON Schema validates the config files we write and rejects typos."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any as Validator  # jsonschema's validator class (imported lazily)

import pytest
import yaml
from pydantic import ValidationError

from typedengine.config.files import save_config
from typedengine.config.schema import config_json_schema, load_target, main

from .toy_configs import AdamW, EMAHook, IterLoop, OptimWrapper, Toy

TOY = str(Path(__file__).with_name("toy_configs.py")) + ":Toy"

def draft202012(schema: dict[str, object]) -> Validator:
    """A JSON Schema validator (the ``jsonschema`` package is a dev dependency; skipped without it)."""
    jsonschema = pytest.importorskip("jsonschema")
    validator: Validator = jsonschema.Draft202012Validator(schema)
    return validator



def schema_from_main(capsys: pytest.CaptureFixture[str], target: str = TOY) -> dict[str, object]:
    assert main([target]) == 0
    out: dict[str, object] = json.loads(capsys.readouterr().out)
    return out


def test_main_prints_the_schema_of_a_class_in_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    schema = schema_from_main(capsys)
    assert schema["title"] == "Toy"
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert isinstance(props, dict)
    assert props["seed"]["description"] == "Random seed (None: random)."
    assert props["activation"]["default"] == "toy_configs.relu"  # importable: the file's folder is on sys.path
    # the discriminated union keeps its mapping (editors use it to pick the member)
    defs = schema["$defs"]
    assert isinstance(defs, dict)
    assert defs["OptimWrapper"]["properties"]["optimizer"]["discriminator"]["propertyName"] == "type"


def test_module_form_and_output_file(tmp_path: Path) -> None:
    out = tmp_path / "toy.schema.json"
    assert main(["tests.config.toy_configs:Toy", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["title"] == "Toy"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nofile.py:Toy", "no such file"),
        (TOY.replace(":Toy", ":Nope"), "has no attribute 'Nope'"),
        ("tests.config.toy_configs:relu", "is not a config class"),
        ("Toy", "expected FILE.py:ClassName"),
    ],
)
def test_bad_targets_exit_2(target: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([target]) == 2
    assert message in capsys.readouterr().err


def configs() -> list[Toy]:
    return [
        Toy(),
        Toy(
            train=IterLoop(max_iters=5),
            optim_wrapper=OptimWrapper(optimizer=AdamW(lr=1e-4), max_norm=1.0),
            custom_hooks=(EMAHook(),),
            activation=math.tanh,
            milestones=(),
        ),
    ]


def test_saved_json_and_yaml_files_validate(tmp_path: Path) -> None:
    schema = config_json_schema(Toy)
    validator = draft202012(schema)
    for i, cfg in enumerate(configs()):
        for suffix in (".json", ".yaml"):
            path = save_config(cfg, tmp_path / f"c{i}{suffix}")
            data = json.loads(path.read_text()) if suffix == ".json" else yaml.safe_load(path.read_text())
            assert list(validator.iter_errors(data)) == []


def test_partial_override_file_validates(tmp_path: Path) -> None:
    validator = draft202012(config_json_schema(Toy))
    partial = yaml.safe_load("train:\n  type: epoch\n  max_epochs: 3\nseed: 4\n")
    assert list(validator.iter_errors(partial)) == []


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"sede": 3}, []),  # unknown top-level key
        ({"train": {"type": "epoch", "max_epoch": 3}}, ["train"]),  # typo inside a union member
        ({"optim_wrapper": {"optimizer": {"type": "adamx"}}}, ["optim_wrapper", "optimizer"]),  # bad tag
        ({"custom_hooks": [{"type": "ema", "momentun": 0.1}]}, ["custom_hooks", 0]),  # typo in a list item
        ({"train": {"type": "epoch", "max_epochs": 0}}, ["train"]),  # out of range
    ],
)
def test_schema_rejects_typos_and_bad_values(data: dict[str, object], path: list[object]) -> None:
    validator = draft202012(config_json_schema(Toy))
    errors = list(validator.iter_errors(data))
    assert errors, f"schema accepted {data}"
    assert list(errors[0].absolute_path)[: len(path)] == path
    # and pydantic agrees: the same data is rejected when loaded
    with pytest.raises(ValidationError):
        Toy.model_validate(data)


def test_load_target_does_not_run_main_block(tmp_path: Path) -> None:
    exp = tmp_path / "exp_with_main.py"
    exp.write_text(
        "from pydantic import Field\nfrom typedengine.config.base import Config\n"
        "class E(Config):\n    x: int = Field(1, description='x')\n"
        "if __name__ == '__main__':\n    raise SystemExit('main ran')\n"
    )
    assert load_target(f"{exp}:E").model_json_schema()["properties"]["x"]["default"] == 1


def test_every_config_object_in_the_schema_forbids_unknown_keys() -> None:
    # what makes an editor (and any JSON Schema validator) reject a typo, checked without jsonschema
    schema = config_json_schema(Toy)
    objects = [schema, *[d for d in schema["$defs"].values() if d.get("type") == "object"]]
    assert len(objects) >= 8
    assert all(o.get("additionalProperties") is False for o in objects), [o.get("title") for o in objects]
