"""A channel is one declaration: its name is written as a literal in at most 4 files under ``hub/``.

Its declaration, its renderer, its sandbox fake (and config defaults if they
cannot be avoided); every other part derives what it needs from the registry
(issue 12). The count is of string constants exactly equal to the name, read
with ``ast`` (docstrings and longer strings that merely contain it do not count).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hub.channels.registry import CHANNELS

HUB = Path(__file__).resolve().parents[2] / "hub"
LIMIT = 4


def files_naming(name: str) -> list[str]:
    """The files under hub/ holding the string constant ``name``."""
    found = []
    for path in sorted(HUB.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if any(isinstance(node, ast.Constant) and node.value == name for node in ast.walk(tree)):
            found.append(str(path.relative_to(HUB.parent)))
    return found


@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_a_channel_name_is_a_literal_in_at_most_four_files(name: str) -> None:
    files = files_naming(name)
    assert files, f"{name!r} is declared somewhere: the counter must find it"
    assert len(files) <= LIMIT, f"{name!r} is written in {len(files)} files under hub/: {files}"


def test_the_counter_sees_a_literal_and_ignores_longer_strings(tmp_path: Path) -> None:
    tree = ast.parse('X = "weibo"\n"""the weibo docstring"""\nY = f"{X}/weibo"\n')
    constants = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    assert constants.count("weibo") == 1
