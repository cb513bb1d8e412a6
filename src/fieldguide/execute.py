"""Run snippets once per content: the build and the tests share one cache.

A run is keyed by the snippet's text, the library's source and data, the arguments and
the versions of the main packages. An unchanged snippet is free on rebuild; any change
re-runs it. Results live under ``.cache/runs/`` in the repository (never committed), so
a clean clone executes everything.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SNIPPETS = REPO / "snippets"
LIBRARY = Path(__file__).resolve().parent
_VERSIONED = ("torch", "transformers", "peft", "trl", "numpy")


class SnippetFailed(RuntimeError):
    pass


@dataclass
class SnippetRun:
    name: str
    out: Path
    stdout: str
    results: dict
    seconds: float
    cached: bool

    def metric(self, key: str):
        return self.results["metrics"][key]["value"]

    def table(self, key: str) -> list[dict]:
        table = self.results["tables"][key]
        return [dict(zip(table["columns"], row)) for row in table["rows"]]


def runs_dir() -> Path:
    return Path(os.environ.get("FIELDGUIDE_RUNS", REPO / ".cache" / "runs"))


def snippet_path(name: str) -> Path:
    path = SNIPPETS / f"{name}.py"
    if not path.is_file():
        raise FileNotFoundError(f"no snippet {path.relative_to(REPO)}")
    return path


def library_digest() -> str:
    """Hash of the library's code and data (not its site/ build hooks)."""
    digest = hashlib.sha256()
    for path in sorted(LIBRARY.rglob("*")):
        rel = path.relative_to(LIBRARY)
        if not path.is_file() or "__pycache__" in rel.parts or rel.parts[0] == "site":
            continue
        digest.update(str(rel).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def snippet_dependencies(name: str, seen: set[str] | None = None) -> list[str]:
    """The snippet and, recursively, every other snippet it names in a string literal.

    A snippet that runs other snippets (say, a comparison table) must re-run when any of
    them changes, so their text is part of its key.
    """
    seen = set() if seen is None else seen
    if name in seen:
        return []
    seen.add(name)
    text = snippet_path(name).read_text(encoding="utf-8")
    found = [name]
    for other in sorted(set(re.findall(r"[\"']([a-z0-9_]+/[a-z0-9_]+)[\"']", text))):
        if other != name and (SNIPPETS / f"{other}.py").is_file():
            found += snippet_dependencies(other, seen)
    return found


def run_key(name: str, args: list[str]) -> str:
    digest = hashlib.sha256()
    for dependency in snippet_dependencies(name):
        digest.update(dependency.encode())
        digest.update(snippet_path(dependency).read_bytes())
    digest.update(library_digest().encode())
    digest.update(json.dumps(args).encode())
    for package in _VERSIONED:
        try:
            digest.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            pass
    return digest.hexdigest()[:20]


def run_snippet(name: str, scale: str | None = None, device: str | None = None,
                extra_args: list[str] | tuple[str, ...] = (), quiet: bool = False) -> SnippetRun:
    """Execute ``snippets/<name>.py`` (or reuse the cached run of the same content)."""
    scale = scale or os.environ.get("FIELDGUIDE_SCALE", "ci")
    device = device or os.environ.get("FIELDGUIDE_DEVICE", "auto")
    args = ["--scale", scale, "--device", device, *extra_args]
    key = run_key(name, args)
    out = runs_dir() / name / key
    if (out / "results.json").is_file():
        return _load(name, out, cached=True)

    shown = f"snippets/{name}.py {' '.join(args)}"
    if not quiet:
        print(f"fieldguide: running {shown}", file=sys.stderr, flush=True)
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    started = time.perf_counter()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(partial / "stdout.txt", "w") as stdout, open(partial / "stderr.txt", "w") as stderr:
        code = subprocess.call(
            [sys.executable, str(snippet_path(name)), *args, "--out", str(partial)],
            cwd=REPO, stdout=stdout, stderr=stderr, env=env,
        )
    seconds = time.perf_counter() - started
    if code != 0 or not (partial / "results.json").is_file():
        tail = (partial / "stderr.txt").read_text().strip().splitlines()[-15:]
        raise SnippetFailed(
            f"{shown} failed (exit {code}) after {seconds:.0f} s; stderr ends:\n" + "\n".join(tail))
    (partial / "run.json").write_text(json.dumps(
        {"command": shown, "seconds": round(seconds, 2), "key": key}, indent=1))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(partial, out)
    if not quiet:
        print(f"fieldguide: done {shown} in {seconds:.1f} s", file=sys.stderr, flush=True)
    return _load(name, out, cached=False)


def _load(name: str, out: Path, cached: bool) -> SnippetRun:
    run = json.loads((out / "run.json").read_text())
    return SnippetRun(
        name=name, out=out, stdout=(out / "stdout.txt").read_text(),
        results=json.loads((out / "results.json").read_text()),
        seconds=run["seconds"], cached=cached,
    )
