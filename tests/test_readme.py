"""The README cannot drift from the code: its settings table and quick start are checked."""

import re
from pathlib import Path

from assistant.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_settings_table_matches_the_settings_class():
    rows = dict(re.findall(r"^\| `CART_([A-Z_]+)` \| ([^|]+) \|", README, re.M))
    assert set(rows) == {name.upper() for name in Settings.model_fields}
    for name, field in Settings.model_fields.items():
        shown = rows[name.upper()].strip()
        if field.default in ("",):
            assert shown.startswith("("), name
        else:
            assert shown == f"`{field.default}`", name


def test_quick_start_is_exactly_two_commands():
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make run", "make test"]


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
