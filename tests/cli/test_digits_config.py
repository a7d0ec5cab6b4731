"""The real digits experiment: JSON/YAML round trip, JSON Schema, --config files and presets (example 05)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any as Validator  # jsonschema's validator class (imported lazily)

import pytest
import yaml

from typedengine.cli import cli
from typedengine.config.files import load_config, save_config
from typedengine.config.schema import config_json_schema
from typedengine.config.schema import main as schema_main
from typedengine.loops.iter_based import IterBasedTrainLoopConfig
from typedengine.optim.optimizers import AdamWConfig
from typedengine.optim.wrapper import OptimWrapperConfig

from .digits import EXAMPLE, ROOT, DigitsExperiment, run_example

DATA = Path(__file__).with_name("data")

def draft202012(schema: dict[str, object]) -> Validator:
    """A JSON Schema validator (the ``jsonschema`` package is a dev dependency; skipped without it)."""
    jsonschema = pytest.importorskip("jsonschema")
    validator: Validator = jsonschema.Draft202012Validator(schema)
    return validator



def changed() -> object:
    return cli(
        DigitsExperiment,
        args=["train:iter-based", "--train.max-iters", "40", "--param-scheduler.1.no-by-epoch",
              "optim-wrapper.optimizer:adamw", "--optim-wrapper.optimizer.lr", "3e-4", "--model.width", "12",
              "--default-hooks.checkpoint.no-by-epoch", "default-hooks.ema:ema"],
        environ={},
    )  # fmt: skip


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_round_trip_of_the_real_tree(tmp_path: Path, suffix: str) -> None:
    for cfg in (DigitsExperiment(), changed()):
        assert isinstance(cfg, DigitsExperiment)
        loaded = load_config(DigitsExperiment, save_config(cfg, tmp_path / f"c{suffix}"))
        assert loaded == cfg
        assert type(loaded.train) is type(cfg.train)
    assert isinstance(loaded.train, IterBasedTrainLoopConfig)
    assert isinstance(loaded.optim_wrapper, OptimWrapperConfig)
    assert isinstance(loaded.optim_wrapper.optimizer, AdamWConfig)


@pytest.fixture(scope="module")
def schema() -> dict[str, object]:
    return config_json_schema(DigitsExperiment)


def test_schema_cli_on_the_example_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert schema_main([f"{EXAMPLE.relative_to(ROOT)}:DigitsExperiment"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["title"] == "DigitsExperiment"
    assert printed["properties"]["model"]["$ref"].endswith("DigitsNetConfig")


def test_schema_validates_written_and_shipped_config_files(tmp_path: Path, schema: dict[str, object]) -> None:
    validator = draft202012(schema)
    files = [
        save_config(DigitsExperiment(), tmp_path / "default.json"),
        save_config(changed(), tmp_path / "changed.yaml"),  # type: ignore[arg-type]  # a DigitsExperiment
        DATA / "digits_adamw.yaml",
        *sorted((ROOT / "examples").glob("configs/*.y*ml")),
        *sorted((ROOT / "examples").glob("configs/*.json")),
    ]
    for path in files:
        data = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
        assert errors == [], f"{path}: {errors}"
        # and the same file is accepted by --config
        cli(DigitsExperiment, args=["--config", str(path)], environ={})


def test_schema_and_config_loading_reject_a_typo(tmp_path: Path, schema: dict[str, object]) -> None:
    typo = yaml.safe_load((DATA / "digits_adamw.yaml").read_text().replace("max_epochs", "max_epoch"))
    errors = list(draft202012(schema).iter_errors(typo))
    assert errors and list(errors[0].absolute_path)[:1] == ["train"]
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(typo))
    with pytest.raises(SystemExit) as info:
        cli(DigitsExperiment, args=["--config", str(path)], environ={})
    assert info.value.code == 2


def test_partial_file_layers_under_flags() -> None:
    cfg = cli(DigitsExperiment, args=["--config", str(DATA / "digits_adamw.yaml"), "--model.width", "20"], environ={})
    assert cfg.train is not None and cfg.train.run_length() == 4
    assert isinstance(cfg.optim_wrapper, OptimWrapperConfig)
    assert cfg.optim_wrapper.optimizer == AdamWConfig(lr=0.002)
    assert cfg.model.width == 20


def test_presets_example_picks_and_edits_a_preset(tmp_path: Path) -> None:
    presets = ROOT / "examples" / "05_presets.py"
    done = run_example(
        "smoke", "--model.width", "10", "--print-config", env={"TYPEDENGINE_TRAIN__VAL_INTERVAL": "1"}, script=presets
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["train"]["max_epochs"] == 1 and data["model"]["width"] == 10 and data["param_scheduler"] == []
    wrong = run_example("smok", script=presets)
    assert wrong.returncode == 2
    assert "unknown preset 'smok'; did you mean 'smoke'?" in wrong.stderr


def test_typedengine_schema_command(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "digits.schema.json"
    done = subprocess.run(
        [sys.executable, "-m", "typedengine", "schema", "examples/01_digits.py:DigitsExperiment", "-o", str(out)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    schema = json.loads(out.read_text())
    validator = draft202012(schema)
    assert list(validator.iter_errors(yaml.safe_load((DATA / "digits_adamw.yaml").read_text()))) == []
    bad = subprocess.run(
        [sys.executable, "-m", "typedengine", "schema", "examples/01_digits.py:Nope"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert bad.returncode == 2 and "has no attribute 'Nope'" in bad.stderr and "Traceback" not in bad.stderr
