"""ImportRef (dotted path <-> object) and keyword checks against a callable's signature."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from pydantic import Field, ValidationError

from typedengine.config.base import Config
from typedengine.config.errors import ConfigError, format_validation_error
from typedengine.config.files import load_config, save_config
from typedengine.config.refs import ImportCallConfig, ImportRef, check_call_kwargs, import_object, object_path


def scale(x: float, factor: float = 2.0, *, bias: int = 0) -> float:
    """A module-level function with typed keywords."""
    return x * factor + bias


def test_import_object_forms() -> None:
    assert import_object("math.tanh") is math.tanh
    assert import_object("torch.nn.Linear") is torch.nn.Linear
    assert import_object("torch.nn:Linear") is torch.nn.Linear
    assert import_object("collections.abc:Mapping.get") is __import__("collections").abc.Mapping.get
    assert import_object(object_path(torch.nn.Linear)) is torch.nn.Linear
    assert import_object(object_path(scale)) is scale


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("torch.nn.Linaer", "'torch.nn' has no attribute 'Linaer'; did you mean 'Linear'?"),
        ("nosuchpkg.thing", "no module named 'nosuchpkg'"),
        ("", "not a dotted import path"),
        ("torch.nn:Nope", "'torch.nn' has no attribute 'Nope'"),
    ],
)
def test_import_errors_are_clear(path: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        import_object(path)
    assert message in str(info.value)


def test_object_path_rejects_local_objects() -> None:
    def local() -> None: ...

    with pytest.raises(ValueError, match="no importable dotted path"):
        object_path(local)


class Head(Config):
    """Uses a third-party class by path."""

    activation: ImportRef[Callable[..., torch.nn.Module]] = Field(torch.nn.ReLU, description="Activation class.")
    dataset_cls: ImportRef[type[torch.utils.data.Dataset]] = Field(  # type: ignore[type-arg]  # pydantic rejects type[Dataset[X]]
        torch.utils.data.TensorDataset, description="Dataset class."
    )


def test_import_ref_validates_dumps_and_round_trips(tmp_path: Path) -> None:
    head = Head.model_validate({"activation": "torch.nn.SiLU"})
    assert head.activation is torch.nn.SiLU
    assert head.model_dump()["activation"] == "torch.nn.modules.activation.SiLU"
    for name in ("h.json", "h.yaml"):
        assert load_config(Head, save_config(head, tmp_path / name)) == head
    # the annotation is still checked after importing: a module is not a Dataset subclass
    with pytest.raises(ValidationError) as info:
        Head.model_validate({"activation": "torch.nn.Nope", "dataset_cls": "torch.nn.Linear"})
    got = [str(i) for i in format_validation_error(info.value, Head)]
    assert got[0].startswith("activation: cannot import 'torch.nn.Nope'")
    assert got[1].startswith("dataset_cls: expected a class") or got[1].startswith("dataset_cls: Input should be a subclass")


def test_json_schema_of_import_ref_is_a_string_with_a_dotted_default() -> None:
    from typedengine.config.schema import config_json_schema

    props = config_json_schema(Head)["properties"]
    assert props["activation"]["type"] == "string"
    assert props["activation"]["default"] == "torch.nn.modules.activation.ReLU"


def test_check_call_kwargs_finds_every_problem() -> None:
    issues = check_call_kwargs(torch.nn.Linear, {"in_featurs": 3, "out_features": "many", "bias": True})
    assert [str(i) for i in issues] == [
        "in_featurs: unexpected keyword argument; did you mean 'in_features'?",
        "in_features: required argument is missing",
        "out_features: expected an integer, got 'many'",
    ]
    assert check_call_kwargs(torch.nn.Linear, {"in_features": 3, "out_features": 4}) == []
    assert [str(i) for i in check_call_kwargs(scale, {"bias": 1.5})] == [
        "x: required argument is missing",
        "bias: expected an integer, got 1.5",
    ]
    assert check_call_kwargs(scale, {"factor": 3.0}, supplied=("x",)) == []
    # optimizer classes get params at build time
    assert check_call_kwargs(torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}, supplied=("params",)) == []


def test_import_call_config_checks_at_config_time_and_builds() -> None:
    cfg = ImportCallConfig.model_validate({"target": "torch.nn.Linear", "kwargs": '{"in_features": 3, "out_features": 2}'})
    layer = cfg.build()
    assert isinstance(layer, torch.nn.Linear) and layer.in_features == 3 and layer.out_features == 2
    opt_cfg = ImportCallConfig(target=torch.optim.SGD, kwargs={"lr": 0.5}, supplied=("params",))
    opt = opt_cfg.build(params=layer.parameters())
    assert isinstance(opt, torch.optim.SGD) and opt.param_groups[0]["lr"] == 0.5
    with pytest.raises(ValidationError) as info:
        ImportCallConfig.model_validate({"target": "torch.nn.Dropout", "kwargs": {"p": 0.1, "inplce": True}})
    assert [str(i) for i in format_validation_error(info.value, ImportCallConfig)] == [
        "kwargs.inplce: unexpected keyword argument; did you mean 'inplace'?"
    ]


def test_import_call_config_errors_through_load(tmp_path: Path) -> None:
    class Exp(Config):
        head: ImportCallConfig = Field(
            ImportCallConfig(target=torch.nn.Identity), description="Any module, by path."
        )

    path = tmp_path / "e.json"
    path.write_text('{"head": {"target": "torch.nn.Linear", "kwargs": {"in_features": 2}}}')
    with pytest.raises(ConfigError) as info:
        load_config(Exp, path)
    assert [str(i) for i in info.value.issues] == ["head.kwargs.out_features: required argument is missing"]
