"""``typedengine plot``: training curves from ``scalars.jsonl`` as a PNG, several runs overlaid.

::

    typedengine plot work_dirs/digits                         # loss, lr and accuracy -> curves.png
    typedengine plot work_dirs/a work_dirs/b --keys loss accuracy --out compare.png

Each WORK_DIR may be a work dir (every ``<timestamp>/scalars.jsonl`` under it is read in order, so a
resumed run continues its curve) or one run's log dir. One panel per key; x is the training iteration;
train and val values of a key are drawn in the same panel (val dashed). Needs matplotlib
(``pip install typedengine[plot]``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["load_scalars", "main", "plot_curves"]

Series = dict[tuple[str, str], list[tuple[int, float]]]
"""(mode, key) -> [(step, value), ...]."""


def _scalar_files(path: Path) -> list[Path]:
    if (path / "scalars.jsonl").is_file():
        return [path / "scalars.jsonl"]
    return sorted(path.glob("*/scalars.jsonl"))


def load_scalars(path: Path) -> Series:
    """Every scalar logged under ``path`` (a work dir or one log dir), grouped by (mode, key)."""
    series: Series = {}
    for file in _scalar_files(path):
        for line in file.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            mode, step = str(row.get("mode", "train")), row.get("step")
            if not isinstance(step, int):
                continue
            for key, value in row.items():
                if key in ("mode", "step", "epoch", "iter"):
                    continue
                if (
                    isinstance(value, (int, float))
                    and not isinstance(value, bool)
                    or isinstance(value, str)
                    and value in ("nan", "inf", "-inf")
                ):
                    number = float(value)
                else:
                    continue
                series.setdefault((mode, key), []).append((step, number))
    return series


def plot_curves(
    runs: Sequence[tuple[str, Series]],
    keys: Sequence[str],
    out: Path,
    *,
    width_in: float = 8.0,
    panel_height_in: float = 3.0,
    dpi: int = 100,
) -> list[str]:
    """Draw one panel per key present in any run; returns the keys drawn. Writes ``out`` (PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    present = [k for k in keys if any(key == k for _, s in runs for (_, key) in s)]
    if not present:
        return []
    fig = Figure(figsize=(width_in, panel_height_in * len(present)), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(present), 1, squeeze=False)[:, 0]
    for ax, key in zip(axes, present):
        for index, (name, series) in enumerate(runs):
            color = f"C{index % 10}"
            for (mode, k), points in sorted(series.items()):
                if k != key:
                    continue
                xs = [p[0] for p in points]
                ys = [p[1] if math.isfinite(p[1]) else math.nan for p in points]
                style = "-" if mode == "train" else "--"
                marker = "" if mode == "train" else "o"
                ax.plot(xs, ys, style, marker=marker, color=color, label=f"{name} ({mode})", markersize=3)
        ax.set_title(key)
        ax.set_xlabel("iteration")
        if key.endswith("lr"):
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    return present


def _run_name(path: Path, all_paths: Sequence[Path]) -> str:
    names = [p.resolve().name for p in all_paths]
    name = path.resolve().name
    return str(path) if names.count(name) > 1 else name


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``typedengine plot``; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="typedengine plot", description="Plot training curves from scalars.jsonl."
    )
    parser.add_argument(
        "work_dirs", nargs="+", type=Path, metavar="WORK_DIR", help="work dirs or run log dirs"
    )
    parser.add_argument("--keys", nargs="+", default=["loss", "lr", "accuracy"], help="scalar names to plot")
    parser.add_argument(
        "--out", type=Path, default=Path("curves.png"), help="output PNG (default: curves.png)"
    )
    parser.add_argument("--dpi", type=int, default=100, help="resolution (pixels per inch; 8 inches wide)")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    runs: list[tuple[str, Series]] = []
    for path in args.work_dirs:
        if not _scalar_files(path):
            print(f"typedengine plot: no scalars.jsonl in {path} or its run directories", file=sys.stderr)
            return 1
        runs.append((_run_name(path, args.work_dirs), load_scalars(path)))
    try:
        import matplotlib  # noqa: F401  # only to report a missing optional dependency clearly
    except ImportError:
        print("typedengine plot needs matplotlib: pip install typedengine[plot]", file=sys.stderr)
        return 2
    drawn = plot_curves(runs, args.keys, args.out, dpi=args.dpi)
    if not drawn:
        available = sorted({k for _, s in runs for (_, k) in s})
        print(f"typedengine plot: none of {args.keys} was logged; available: {available}", file=sys.stderr)
        return 1
    missing = [k for k in args.keys if k not in drawn]
    note = f" (not logged: {', '.join(missing)})" if missing else ""
    print(f"wrote {args.out} with {', '.join(drawn)}{note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
