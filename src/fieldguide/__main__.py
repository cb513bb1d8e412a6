"""``python -m fieldguide check OUT [OUT ...]``: check your own run against the page's claims.

OUT is a folder a snippet's ``--out`` wrote. Each claim the site states about that snippet
is printed with its band and your run's values; the exit status is 0 when every claim
held, 1 when one missed, 2 on bad input. Bands are set from the spread measured at the
``ci`` scale on several seeds and CPU code paths: a miss at ``ci`` scale means a real
difference (a bug, another library version, other data), not noise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fieldguide.claims import CLAIMS, check


def _short(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else repr(value)


def check_run(out: Path) -> tuple[str, int]:
    """The printable report of one run folder and how many of its claims missed."""
    results = json.loads((out / "results.json").read_text())
    snippet = results.get("snippet", "")
    settings = results.get("settings", {})
    lines = [f"{out}: {snippet}.py (scale {settings.get('scale', '?')}, seed {settings.get('seed', '?')})"]
    if settings.get("scale", "ci") != "ci":
        lines.append("  note: the bands were set at ci scale; at another scale a miss may be the scale, not a bug")
    missed = 0
    for claim, held, values in check(snippet, results):
        missed += not held
        shown = ", ".join(f"{k} = {_short(v)}" for k, v in values.items())
        lines.append(f"  {'held  ' if held else 'MISSED'} {claim.id}: {claim.text}\n"
                     f"         band {claim.band}; yours: {shown}")
    held = len(CLAIMS[snippet]) - missed
    lines.append(f"  {held} of {len(CLAIMS[snippet])} claims held")
    return "\n".join(lines), missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fieldguide", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    checker = commands.add_parser("check", help="check run folders against the claims their pages state")
    checker.add_argument("out", nargs="+", type=Path, help="a folder a snippet's --out wrote")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    for out in args.out:  # every input checked before any report
        path = out / "results.json"
        if not path.is_file():
            print(f"error: {out} has no results.json: pass a folder a snippet's --out wrote", file=sys.stderr)
            return 2
        try:
            data = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError) as err:
            print(f"error: {path} is not JSON ({err})", file=sys.stderr)
            return 2
        if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
            print(f"error: {path} has no metrics: pass a folder a snippet's --out wrote", file=sys.stderr)
            return 2
        snippet = data.get("snippet")
        if snippet not in CLAIMS:
            print(f"error: {path} is from {snippet!r}, a snippet with no declared claims "
                  f"(those with claims: {len(CLAIMS)} snippets, e.g. {next(iter(CLAIMS))})", file=sys.stderr)
            return 2
    missed = 0
    for out in args.out:
        text, n = check_run(out)
        print(text)
        missed += n
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
