"""Started by tests as a plain process or under torchrun: joins with launcher=auto and writes what it saw
to ``$PROBE_OUT/rank<r>.json``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from typedengine.distributed.ops import all_reduce, get_local_rank
from typedengine.distributed.process_group import DistConfig, distributed


def main() -> None:
    with distributed("auto", DistConfig(backend="gloo", timeout_s=30), device="cpu") as info:
        total = all_reduce(torch.tensor([float(info.rank + 1)]))
        seen = {
            "launcher": info.launcher,
            "rank": info.rank,
            "world_size": info.world_size,
            "local_rank": info.local_rank,
            "get_local_rank": get_local_rank(),
            "device": str(info.device),
            "backend": info.backend,
            "sum": total.item(),
        }
        (Path(os.environ["PROBE_OUT"]) / f"rank{info.rank}.json").write_text(json.dumps(seen))


if __name__ == "__main__":
    main()
