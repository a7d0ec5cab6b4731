"""One rank of a 2-rank gloo group (torchrun-style variables in the environment) for the heartbeat tests:
``python -m tests.distributed.heartbeat_probe MODE OUT_DIR``.

Rank 0 all-reduces in a loop (it ends only through the heartbeat or an error). Rank 1, after one healthy
all-reduce: ``frozen`` writes ``OUT_DIR/frozen_at`` and stops itself with SIGSTOP (a helper kills it 20 s
later); ``failed`` says in the store that it failed, writes ``failed_at`` and sleeps with its connections
open (a process stuck in its cleanup).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from typedengine.distributed.heartbeat import active_heartbeat
from typedengine.distributed.ops import all_reduce
from typedengine.distributed.process_group import DistConfig, init_distributed


def main(mode: str, out: Path) -> None:
    cfg = DistConfig(backend="gloo", timeout_s=120, heartbeat_timeout_s=3, heartbeat_interval_s=0.5)
    info = init_distributed("pytorch", cfg, device="cpu")
    all_reduce(torch.ones(1))
    if info.rank == 1:
        if mode == "frozen":
            subprocess.Popen(["sh", "-c", f"sleep 20; kill -KILL {os.getpid()}"])
            (out / "frozen_at").write_text(repr(time.time()))
            os.kill(os.getpid(), signal.SIGSTOP)
        beat = active_heartbeat()
        assert beat is not None
        beat.stop(error=ValueError("boom in rank 1"))
        (out / "failed_at").write_text(repr(time.time()))
        time.sleep(20)
        os._exit(0)
    while True:
        all_reduce(torch.ones(1))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
