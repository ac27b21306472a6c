"""The README's quick start is two commands, and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [ln for ln in block.splitlines() if ln.strip()]


def test_quick_start_is_two_commands_install_and_run_then_test():
    first, second = quick_start()
    assert "pip install ." in first and first.rstrip().endswith("simgpu")
    assert 'pip install ".[test]"' in second and second.rstrip().endswith("pytest")


def test_ci_runs_the_readme_test_command_and_fails_on_no_tests():
    readme_test = quick_start()[1].split("&& ", 2)[2]  # 'pip install ".[test]" && pytest'
    ci = (ROOT / ".ci" / "run").read_text()
    assert readme_test.replace("pip install", "pip install --quiet") in ci
    assert '"$1" -eq 5' in ci  # no test collected fails
    assert 'check "$code" "default selection"' in ci
    assert "\npytest -m slow\n" in ci and 'check "$code" "slow selection"' in ci
