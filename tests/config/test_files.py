"""save_config/load_config: full JSON/YAML files that load back to an equal object; clear file errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from typedengine.config.errors import ConfigError
from typedengine.config.files import load_config, read_config_file, save_config

from .toy_configs import AdamW, EMAHook, IterLoop, Loader, OptimWrapper, Squares, Toy


def a_changed_toy() -> Toy:
    return Toy(
        seed=7,
        train=IterLoop(max_iters=50),
        optim_wrapper=OptimWrapper(optimizer=AdamW(lr=3e-4, weight_decay=0.05), max_norm=2.5),
        custom_hooks=(EMAHook(momentum=0.01),),
        milestones=(),
        activation=math.tanh,
        train_dataloader=Loader[Squares](dataset=Squares(size=9), batch_size=3),
    )


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_round_trip_is_equal_with_unions_refs_and_inf(tmp_path: Path, suffix: str) -> None:
    for cfg in (Toy(), a_changed_toy()):
        path = save_config(cfg, tmp_path / f"cfg{suffix}")
        loaded = load_config(Toy, path)
        assert loaded == cfg
        assert type(loaded.train) is type(cfg.train)
        assert type(loaded.optim_wrapper.optimizer) is type(cfg.optim_wrapper.optimizer)
        assert loaded.activation is cfg.activation
    assert load_config(Toy, tmp_path / f"cfg{suffix}").optim_wrapper.max_norm == 2.5


def test_files_hold_every_field_and_tag(tmp_path: Path) -> None:
    cfg = a_changed_toy()
    data = json.loads(save_config(cfg, tmp_path / "c.json").read_text())
    assert data["train"] == {"type": "iter", "max_iters": 50}
    assert data["optim_wrapper"]["optimizer"]["type"] == "adamw"
    assert data["activation"] == "math.tanh"
    assert data["custom_hooks"] == [{"type": "ema", "momentum": 0.01}]
    # YAML holds the same data as JSON
    assert yaml.safe_load(save_config(cfg, tmp_path / "c.yaml").read_text()) == data
    # inf is written so that it loads back as inf (pydantic's default would write null)
    assert math.isinf(json.loads(save_config(Toy(), tmp_path / "d.json").read_text())["optim_wrapper"]["max_norm"])
    assert list(tmp_path.glob(".*tmp")) == []  # atomic write leaves no temp file


def test_load_lists_every_problem_with_file_name(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("train:\n  type: epoch\n  max_epoch: 3\noptim_wrapper:\n  optimizer:\n    type: sgd\n    lr: -1\n")
    with pytest.raises(ConfigError) as info:
        load_config(Toy, path)
    assert [str(i) for i in info.value.issues] == [
        "train.max_epoch: unknown field; did you mean 'max_epochs'?",
        "optim_wrapper.optimizer.lr: must be > 0.0",
    ]
    assert str(info.value).startswith(f"error: 2 config problems in {path}:")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("x.json", '{"seed": 1,}', "invalid JSON at line 1 column 12"),
        ("x.yaml", "train: [1, 2\n", "invalid YAML at line 2"),
        ("x.yaml", "- 1\n- 2\n", "the top level must be a mapping of fields, not list"),
        ("x.toml", "seed = 1", "unsupported config file type '.toml'"),
    ],
)
def test_malformed_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        read_config_file(path)
    assert info.value.issues[0].message.startswith(message)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        read_config_file(tmp_path / "nope.json")
    assert str(info.value) == f"error: 1 config problem in {tmp_path / 'nope.json'}:\n  file not found"


def test_empty_yaml_is_an_empty_mapping(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert read_config_file(path) == {}
