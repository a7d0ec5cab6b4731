"""The launcher: ``auto`` (the default) joins torchrun's group; ``none`` under torchrun or ``slurm`` outside
srun stop before anything is built, naming the fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.distributed.dist_harness import free_port
from typedengine.distributed.env import LaunchError
from typedengine.distributed.ops import is_distributed
from typedengine.distributed.process_group import DistConfig, init_distributed

ROOT = Path(__file__).resolve().parents[2]
TORCHRUN_RANK_1 = {
    "RANK": "1",
    "WORLD_SIZE": "2",
    "LOCAL_RANK": "1",
    "MASTER_ADDR": "127.0.0.1",
    "MASTER_PORT": "1",
}
BATCH_SCRIPT = {"SLURM_PROCID": "0", "SLURM_NTASKS": "4", "SLURM_LOCALID": "0", "SLURM_NODELIST": "n[1-2]"}


def test_wrong_launchers_fail_before_joining() -> None:
    with pytest.raises(
        LaunchError, match="launcher: 'none', but torchrun started this process as rank 1 of 2"
    ):
        init_distributed("none", DistConfig(), env=TORCHRUN_RANK_1, device="cpu")
    with pytest.raises(LaunchError, match="launcher: 'slurm', but this process was not started by srun"):
        init_distributed(
            "slurm", DistConfig(timeout_s=600), env=BATCH_SCRIPT, device="cpu"
        )  # no 10-minute wait
    info = init_distributed("auto", DistConfig(), env=BATCH_SCRIPT, device="cpu")
    assert info.world_size == 1 and info.note is not None and "SLURM_NTASKS=4" in info.note
    assert not is_distributed()


def test_the_config_refuses_launcher_none_under_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.checkpoint.harness import ToyExperiment

    assert ToyExperiment().launcher == "auto"
    for key, value in TORCHRUN_RANK_1.items():
        monkeypatch.setenv(key, value)
    ToyExperiment()  # auto: fine
    with pytest.raises(
        ValidationError, match="launcher: 'none', but torchrun started this process as rank 1 of 2"
    ):
        ToyExperiment(launcher="none")


def _torchrun(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    launcher_vars = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}
    keep = {k: v for k, v in os.environ.items() if k not in launcher_vars and not k.startswith("SLURM_")}
    env = {**keep, "OMP_NUM_THREADS": "1", "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT / 'examples'}"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
           "--master-port", str(free_port()), str(ROOT / "examples" / "01_digits.py"), *args]  # fmt: skip
    return subprocess.run(
        cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.slow
def test_torchrun_without_a_launcher_flag_trains_one_run_in_two_processes(tmp_path: Path) -> None:
    work = tmp_path / "w"
    out = _torchrun(["--train.max-epochs", "1", "--env.device", "cpu", "--work-dir", str(work)], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    logs = list(work.glob("*/*.log"))
    assert len(logs) == 1  # one run, one log dir
    text = logs[0].read_text()
    assert "world size: 2" in text
    assert "Epoch(train) [1][10/12]" in text  # 1438 samples / 2 ranks / batch 64 = 12 iterations, not 23
    assert (work / "epoch_1.pth").is_file()

    refused = _torchrun(["--launcher", "none", "--work-dir", str(tmp_path / "none")], tmp_path)
    assert refused.returncode != 0  # torchrun's own code; each worker exited 2 (a config mistake)
    assert "launcher: 'none', but torchrun started this process as rank 0 of 2" in refused.stderr
    assert "exitcode  : 2" in refused.stderr
    assert "typedengine/" not in refused.stderr  # no traceback through our code, only torchrun's report
    assert not (tmp_path / "none").exists()
