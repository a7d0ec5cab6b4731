"""``typedengine migrate`` as a user runs it: output, exit codes, and one clear message per mistake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from typedengine.__main__ import main

DATA = Path(__file__).with_name("data")
ROOT = Path(__file__).resolve().parents[2]


def test_writes_to_stdout_or_a_file_and_summarises_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = DATA / "chain" / "experiment.py"
    assert main(["migrate", str(config)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith('"""An experiment migrated from an MMEngine config by `typedengine migrate`.')
    assert "Source: experiment.py." in out
    assert "placeholders to fill in: MyNetConfig, TrainData, ValData, MyTop1Config, MyLossMetricConfig" in err
    target = tmp_path / "exp.py"
    assert main(["migrate", str(config), "-o", str(target)]) == 0
    assert target.read_text() == out
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"exp.py": "model = dict(type='M')\n_base_ = ['../nowhere/base.py']\n"}, "exp.py:2: _base_ file '../nowhere/base.py' not found"),
        ({"exp.py": "model = dict(type='M',\n  width=)\n"}, "exp.py:2: syntax error"),
        ({"exp.py": "model = dict(type='M')\nwork_dir = make_dir()\n"},
         "exp.py:2: work_dir: `make_dir()` is not evaluated (the call `make_dir(...)` is not evaluated"),
        ({"exp.py": "model = dict(type='M')\nrandomness = dict(seed=lambda: 3)\n"}, "exp.py:2: randomness.seed: `lambda: 3` is not evaluated (a lambda"),
    ],
)  # fmt: skip
def test_failures_exit_2_with_the_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict[str, str], expected: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert main(["migrate", str(tmp_path / "exp.py")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: ") and expected in err, err
    assert "Traceback" not in err


def test_a_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", str(tmp_path / "nope.py")]) == 2
    assert "nope.py: no such config file" in capsys.readouterr().err


@pytest.mark.slow
def test_as_a_user_migrate_then_plan(tmp_path: Path) -> None:
    """The two commands the issue names, in subprocesses: ``typedengine migrate cfg.py > exp.py``, then
    ``python exp.py --plan``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    config = DATA / "classification" / "resnet18_8xb16_cifar10_warmup_cos.py"
    with (tmp_path / "exp.py").open("w") as out:
        done = subprocess.run([sys.executable, "-m", "typedengine", "migrate", str(config)], stdout=out,
                              stderr=subprocess.PIPE, text=True, env=env, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    plan = subprocess.run([sys.executable, "exp.py", "--plan"], cwd=tmp_path, capture_output=True, text=True,
                          env=env, timeout=300, check=False)  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    assert "epoch-based: 30 epochs x 391 iterations per epoch = 11730 iterations" in plan.stdout
    assert "validation: every 2 epochs: 2, 4, ..., 30 (15 times)" in plan.stdout
    assert "checkpoints: after epochs 5, 10, 15, 20, 25, 30" in plan.stdout
    assert "Learning rate per iteration: 0.002 -> 0.00088814 (max 0.2)" in plan.stdout
    # the placeholders say what to do when someone tries to train before filling them in
    train = subprocess.run([sys.executable, "exp.py", "--work-dir", str(tmp_path / "run")], cwd=tmp_path,
                           capture_output=True, text=True, env=env, timeout=300, check=False)  # fmt: skip
    assert train.returncode != 0
    assert "TODO(migrate): build MMEngine's" in train.stdout + train.stderr


def test_migrating_imports_no_torch() -> None:
    """The command is pure Python: reading, mapping and writing import neither torch nor numpy."""
    code = (
        "import sys\nfrom pathlib import Path\nfrom typedengine.migrate.command import migrate\n"
        f"for p in {[str(p) for p in sorted(DATA.glob('*/*.py'))]!r}:\n    migrate(Path(p))\n"
        "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
