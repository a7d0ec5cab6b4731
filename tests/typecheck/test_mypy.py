"""mypy (strict, pydantic plugin) catches config mistakes in experiment files at the line they are made.

Each file in ``cases/`` marks what mypy must report with a trailing ``# E: <message>`` (an error) or
``# N: <message>`` (a note) on the offending line; every other line of the file must be clean.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).with_name("cases")
LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): (?P<kind>error|note): (?P<message>.*)$")
MARK = re.compile(r"#\s*(?P<kind>[EN]): (?P<message>.*)$")

Reported = dict[str, list[tuple[int, str, str]]]


@pytest.fixture(scope="module")
def reported() -> Reported:
    """Run mypy once over every case file (with the repository's mypy configuration)."""
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--no-error-summary",
         "--show-error-codes", "--no-pretty", str(CASES.relative_to(ROOT))],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    out: Reported = defaultdict(list)
    for line in done.stdout.splitlines():
        m = LINE.match(line)
        if m is None:
            continue
        out[Path(m["path"]).name].append((int(m["line"]), "E" if m["kind"] == "error" else "N", m["message"]))
    return out


def expected(path: Path) -> list[tuple[int, str, str]]:
    marks = []
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        m = MARK.search(text)
        if m is not None:
            marks.append((number, m["kind"], m["message"].strip()))
    return marks


CASE_FILES = sorted(CASES.glob("case_*.py"))


def test_the_cases_cover_each_kind_of_mistake() -> None:
    names = {p.stem for p in CASE_FILES}
    assert {
        "case_misspelled_field",
        "case_wrong_type",
        "case_wrong_union_member",
        "case_frozen_assignment",
        "case_build_not_a_model",
        "case_tuple_item",
        "case_replace",
    } <= names


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_mypy_reports_exactly_the_marked_problems(path: Path, reported: Reported) -> None:
    want = expected(path)
    assert want, f"{path.name} marks no expected message"
    # notes that only point at definitions ('"X" defined in "module"') are context, not findings
    got = [r for r in reported.get(path.name, []) if not (r[1] == "N" and " defined in " in r[2])]
    for line, kind, message in want:
        assert any(g_line == line and g_kind == kind and message in g_msg for g_line, g_kind, g_msg in got), (
            f"{path.name}:{line}: expected {kind} {message!r}; mypy said {got}"
        )
    assert len(got) == len(want), f"{path.name}: unexpected extra findings {got}"


def test_the_shared_experiment_is_clean(reported: Reported) -> None:
    assert reported.get("common.py", []) == []
