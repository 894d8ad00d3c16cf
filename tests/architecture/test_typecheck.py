"""CI type-checks the code: .ci/run runs mypy over app/, story_store/ and prompts/ before the tests, and an
error stops it (the script runs under `set -e`)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_runs_mypy_before_the_readme_test_command_and_stops_on_errors():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line.strip() for line in script.splitlines()]
    assert "set -euo pipefail" in lines
    assert "python -m mypy" in lines  # a bare command: its failure ends the script
    assert lines.index("python -m mypy") < lines.index('bash -c "$test_command"')


def test_mypy_covers_the_packages():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = pyproject.split("[tool.mypy]", 1)[1].split("\n[", 1)[0]
    files = re.search(r"^files = \[(.*)\]$", section, re.MULTILINE)
    assert files and set(re.findall(r'"([^"]+)"', files.group(1))) == {"app", "story_store", "prompts", "messages"}
    assert "mypy" in (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
