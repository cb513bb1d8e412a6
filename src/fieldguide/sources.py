"""Reading other snippets' runs: a comparison table reads each approach's results.

A snippet that builds on other snippets' runs takes ``--sources DIR`` (their ``--out``
folders as ``DIR/<page>/<name>/``), or runs them itself from the snippets folder beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from fieldguide.results import load_results


def metric_value(results: dict, key: str) -> Any:
    return results["metrics"][key]["value"]


def table_rows(results: dict, key: str) -> list[dict]:
    """A recorded table as one dict per row, keyed by column name."""
    table = results["tables"][key]
    return [dict(zip(table["columns"], row)) for row in table["rows"]]


class SourceRun:
    """Another snippet's finished run that this one reads: its ``--out`` folder and results."""

    def __init__(self, name: str, out: Path):
        self.name, self.out = name, Path(out)
        self.results = load_results(self.out)
        self.seconds = self.results.get("seconds", 0.0)

    def metric(self, key: str) -> Any:
        return metric_value(self.results, key)

    def table(self, key: str) -> list[dict]:
        return table_rows(self.results, key)


def source_runs(names: Sequence[str], args: Any, snippet_file: str | Path) -> dict[str, SourceRun]:
    """The runs of other snippets (``<page>/<name>``) that a snippet reads.

    With ``--sources DIR`` each is read from ``DIR/<page>/<name>/`` (the folder its ``--out``
    wrote); without it, each is run here, from the snippets folder beside this snippet's
    own, with the same ``--scale``, ``--device`` (and ``--seed``, when one is given), into
    ``<out>/sources/<page>/<name>/``. Missing sources are an error before any work.
    """
    import subprocess
    import sys

    from fieldguide.errors import FieldGuideError

    if getattr(args, "sources", None) is not None:
        missing = [n for n in names if not (Path(args.sources) / n / "results.json").is_file()]
        if missing:
            raise FieldGuideError(f"--sources {args.sources} lacks the run of {', '.join(missing)} "
                                  f"(expected {Path(args.sources) / missing[0] / 'results.json'})")
        return {n: SourceRun(n, Path(args.sources) / n) for n in names}
    snippets = Path(snippet_file).resolve().parents[1]
    scripts = {n: snippets / f"{n}.py" for n in names}
    missing = [str(path) for path in scripts.values() if not path.is_file()]
    if missing:
        raise FieldGuideError(f"no --sources given and {missing[0]} is not there to run; pass --sources DIR "
                              "holding each source's --out folder as DIR/<page>/<name>/")
    runs = {}
    for name, script in scripts.items():
        out = Path(args.out) / "sources" / name
        command = [sys.executable, str(script), "--scale", args.scale, "--device", args.device, "--out", str(out)]
        if getattr(args, "seed", None):
            command += ["--seed", str(args.seed)]
        print(f"running {name}.py for its results ...", flush=True)
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise FieldGuideError(f"{name}.py failed (exit {done.returncode}): {last}")
        runs[name] = SourceRun(name, out)
    return runs
