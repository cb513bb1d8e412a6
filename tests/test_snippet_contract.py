"""Every snippet is shown on a page, run by a test, and keeps the snippet contract."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fieldguide_site.execute import cached_check

REPO = Path(__file__).resolve().parents[1]
SNIPPETS = sorted(p.relative_to(REPO / "snippets").with_suffix("").as_posix()
                  for p in (REPO / "snippets").rglob("*.py") if "__pycache__" not in p.parts)
INCLUDE = re.compile(r'^\s*--8<--\s+"([^"]+)"', re.MULTILINE)
FLAGSHIP = "snippets/activating_pretrained_knowledge/smollm2_capitals.py"


def _pages() -> list[Path]:
    return [p for p in (REPO / "docs").rglob("*.md")]


def _included_files() -> set[str]:
    """Files included by a page, directly or through an included .md fragment."""
    seen: set[str] = set()
    todo = [p.read_text(encoding="utf-8") for p in _pages()]
    while todo:
        for target in INCLUDE.findall(todo.pop()):
            if target not in seen:
                seen.add(target)
                if target.endswith(".md") and (REPO / target).is_file():
                    todo.append((REPO / target).read_text(encoding="utf-8"))
    return seen


def test_there_are_snippets():
    assert FLAGSHIP.removeprefix("snippets/").removesuffix(".py") in SNIPPETS


def test_every_snippet_is_included_verbatim_by_a_page():
    included = _included_files()
    missing = [s for s in SNIPPETS if f"snippets/{s}.py" not in included]
    assert not missing, f"snippets no page includes: {missing}"


def test_every_snippet_is_executed_by_a_test():
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "tests").glob("test_*.py")
                      if p.name != Path(__file__).name)
    assert "run_snippet(" in tests
    missing = [s for s in SNIPPETS if f'"{s}"' not in tests and f"'{s}'" not in tests]
    assert not missing, f"snippets no test runs through run_snippet: {missing}"


@pytest.mark.parametrize("notebook", sorted((REPO / "examples").glob("*.py")), ids=lambda p: p.name)
def test_example_notebook_runs_as_a_script(notebook):
    def as_script():
        result = subprocess.run([sys.executable, str(notebook)], cwd=REPO, capture_output=True,
                                text=True, timeout=600)
        return {"exit": result.returncode, "stdout": result.stdout, "stderr": result.stderr[-1500:]}

    result = cached_check(notebook.relative_to(REPO).as_posix(), as_script)
    assert result["exit"] == 0, result["stderr"]
    print(result["stdout"])


def test_snippets_readme_lists_every_snippet():
    listing = (REPO / "snippets" / "README.md").read_text(encoding="utf-8")
    missing = [s for s in SNIPPETS if f"`{s}.py`" not in listing]
    assert not missing, f"snippets/README.md does not list: {missing}"


MAIN_LINES = 60  # issue 23 §3: the experiment reads top to bottom; summaries and plumbing live apart


def test_every_main_is_short_enough_to_read_top_to_bottom():
    """A snippet's main() runs the experiment; printing, metrics, tables and figures sit in their own
    functions. No main() is longer than MAIN_LINES lines."""
    import ast

    long = {}
    for name in SNIPPETS:
        tree = ast.parse((REPO / "snippets" / f"{name}.py").read_text(encoding="utf-8"))
        mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
        assert mains, f"{name} has no main()"
        length = mains[0].end_lineno - mains[0].lineno + 1
        if length > MAIN_LINES:
            long[name] = length
    assert not long, f"main() over {MAIN_LINES} lines: {long}"
