"""The README keeps exactly two set-up commands, and CI runs the test one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _block(marker: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^<!-- {marker} -->\n```bash\n(.*?)\n```\n<!-- /{marker} -->$", text, re.M | re.S)
    assert match, f"README.md lacks the <!-- {marker} --> block"
    return match.group(1).splitlines()


def test_readme_has_one_launch_command_and_one_test_command():
    (launch,) = _block("launch")
    (tests,) = _block("tests")
    assert "requirements.txt" in launch and launch.endswith("python launch.py")
    assert "requirements-dev.txt" in tests and "pytest" in tests
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count("```bash") == 2, "the README keeps exactly two set-up commands"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "<!-- tests -->" in ci and 'bash -c "$test_command"' in ci
    assert "playwright install" not in ci
