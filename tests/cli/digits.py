"""The digits example (examples/01_digits.py) imported as a module, for tests that need a real RunnerConfig."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typedengine.config.schema import load_target

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "01_digits.py"

DigitsExperiment = load_target(f"{EXAMPLE}:DigitsExperiment")


def run_example(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300, script: Path = EXAMPLE
) -> subprocess.CompletedProcess[str]:
    """Run ``python examples/01_digits.py ARGS`` (or ``script``) in a fresh process, 1 thread, clean env."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TYPEDENGINE_") and k not in ("RANK", "SLURM_PROCID")}
    base["OMP_NUM_THREADS"] = "1"
    base.update(env or {})
    return subprocess.run(
        [sys.executable, str(script), *args], check=False, cwd=ROOT, env=base, capture_output=True, text=True, timeout=timeout
    )
