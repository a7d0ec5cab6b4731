"""examples/08_resume.py --demo: SIGTERM -> exit 75 -> resume -> weights compared with an uninterrupted run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_resume_demo(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "examples")}
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "08_resume.py"), "--demo", "--train.max-epochs", "2"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    text = out.stdout + out.stderr
    assert "exit code 75 (75 = stopped after saving; resume it)" in text, text[-3000:]
    assert "final weights bit-identical to the uninterrupted run:" in text, text[-3000:]
    assert "bit-identical to the uninterrupted run: True" in text and out.returncode == 0, text[-3000:]
