"""Habits the package keeps (the issue "one source of truth, clean seams"): scripts import
the package as installed on sys.path, never edit sys.path, and no code rebinds module
state at run time (no `global` statements)."""
import ast
import os

import pytest

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def python_files():
    for dirpath, dirnames, filenames in os.walk(TOOLS):
        dirnames[:] = [d for d in dirnames if d not in ("__pycache__", ".pytest_cache")]
        for f in filenames:
            if f.endswith(".py"):
                yield os.path.relpath(os.path.join(dirpath, f), TOOLS)


@pytest.mark.parametrize("path", sorted(python_files()))
def test_no_sys_path_edits_or_globals(path):
    with open(os.path.join(TOOLS, path)) as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        assert not isinstance(node, ast.Global), f"{path}:{node.lineno}: global statement"
        if isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", "") == "sys":
            raise AssertionError(f"{path}:{node.lineno}: sys.path (run scripts from their folder instead)")
