"""How fast does an experiment's ``--help`` come up? Compared with ``python -c "import torch"``.

Runs fresh processes, interleaved (help, torch, help, torch, ...) so machine noise hits both alike, and
prints the median wall time of each, their ratio and whether the help is under the 1 s target. Then, in
one more process, it records which modules pulled in torch and numpy while building the help, as
chains of imports (``typedengine.hooks.choices -> typedengine.hooks.logger -> ... -> torch``), and lists
every typedengine module loaded by ``--help`` that imports torch or numpy at module level: the modules
that should import lazily (inside functions, or under ``TYPE_CHECKING`` for annotations).

Usage::

    python benchmarks/cli_help.py                      # examples/01_digits.py, 7 runs each
    python benchmarks/cli_help.py --runs 11 --script examples/02_seed_resnet_cifar10.py
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Executed inside the measured interpreter: a meta-path finder notes the import stack whenever a watched
# top-level package is imported for the first time, then the script runs with --help.
_TRACER = r"""
import builtins, importlib.util, runpy, sys
WATCH = {"torch", "numpy"}
stack, chains, seen = [], {}, set()
real_import = builtins.__import__

def traced(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0:
        top = name.partition(".")[0]
        if top in WATCH and top not in seen and top not in sys.modules:
            seen.add(top)
            chains[top] = [m for m in stack if not m.startswith(tuple(WATCH))] + [name]
    full = name
    if level:
        full = importlib.util.resolve_name("." * level + name, (globals or {}).get("__package__") or "")
    stack.append(full)
    try:
        return real_import(name, globals, locals, fromlist, level)
    finally:
        stack.pop()

builtins.__import__ = traced
sys.argv = [SCRIPT, "--help"]
sys.path.insert(0, __import__("os").path.dirname(SCRIPT))
try:
    runpy.run_path(SCRIPT, run_name="__main__")
except SystemExit:
    pass
builtins.__import__ = real_import
for top in sorted(WATCH):
    chain = chains.get(top)
    print("IMPORT-CHAIN", top, " -> ".join(chain) if chain else "(not imported)", file=sys.stderr)
for name, module in sorted(sys.modules.items()):
    if name.startswith("typedengine") and getattr(module, "__file__", None):
        print("LOADED", name, module.__file__, file=sys.stderr)
"""


def _time_once(cmd: list[str]) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    start = time.perf_counter()
    done = subprocess.run(cmd, check=False, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed


def _module_level_imports(path: Path, watch: tuple[str, ...] = ("torch", "numpy")) -> list[str]:
    """Watched packages that ``path`` imports at module level (not inside functions or TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.partition(".")[0] in watch]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module
            and node.module.partition(".")[0] in watch
        ):
            found.append(node.module)
    return sorted(set(found))


def import_chains(script: Path) -> list[str]:
    """The import chains that led to torch and numpy while ``script --help`` ran (one line each)."""
    code = f"SCRIPT = {str(script)!r}\n" + _TRACER
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    lines = done.stderr.splitlines()
    chains = [line.removeprefix("IMPORT-CHAIN ") for line in lines if line.startswith("IMPORT-CHAIN")]
    if not chains:
        raise SystemExit(f"tracing the imports of {script} failed:\n{done.stderr[-2000:]}")
    for line in lines:
        if line.startswith("LOADED "):
            _, name, file = line.split(" ", 2)
            heavy = _module_level_imports(Path(file))
            if heavy:
                chains.append(f"module-level import in {name}: {', '.join(heavy)}")
    return chains


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", default="examples/01_digits.py", help="experiment file to time")
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per command")
    parser.add_argument("--target-s", type=float, default=1.0, help="target for the help's median wall time")
    args = parser.parse_args(argv)
    script = (ROOT / args.script).resolve()

    help_cmd = [sys.executable, str(script), "--help"]
    torch_cmd = [sys.executable, "-c", "import torch"]
    _time_once(help_cmd)  # warm the file-system cache once, not measured
    help_s: list[float] = []
    torch_s: list[float] = []
    for _ in range(args.runs):
        help_s.append(_time_once(help_cmd))
        torch_s.append(_time_once(torch_cmd))
    help_med, torch_med = statistics.median(help_s), statistics.median(torch_s)
    print(f"{script.relative_to(ROOT)} --help : median {help_med:.3f} s  (runs: {', '.join(f'{t:.2f}' for t in help_s)})")
    print(f"python -c 'import torch'  : median {torch_med:.3f} s  (runs: {', '.join(f'{t:.2f}' for t in torch_s)})")
    print(f"ratio help / import torch : {help_med / torch_med:.2f}")
    verdict = "OK" if help_med < args.target_s else "OVER"
    print(f"target < {args.target_s:.1f} s           : {verdict}")
    for line in import_chains(script):
        print(f"imported by --help        : {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
