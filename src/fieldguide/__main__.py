"""``fieldguide check OUT [OUT ...]`` (or ``python -m fieldguide check``): check your own run
against the page's claims.

OUT is a folder a snippet's ``--out`` wrote. Each claim the site states about that snippet is
printed as a referee would read it: held or missed, finding or sanity check, the band, your
run's values, and the range the site's own spread record has seen for each (which seeds and CPU
code paths), so a miss shows whether your value lies outside anything the site has seen. The
exit status is 0 when every claim held, 1 when one missed, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fieldguide.errors import FieldGuideError


def check_run(out: Path) -> tuple[str, int]:
    """The printable report of one run folder and how many of its claims missed."""
    from fieldguide.claims import CLAIMS, check, recorded_conditions, seen_range, short

    results = json.loads((out / "results.json").read_text())
    snippet = results.get("snippet", "")
    settings = results.get("settings", {})
    lines = [f"{out}: {snippet}.py (scale {settings.get('scale', '?')}, seed {settings.get('seed', '?')})"]
    if settings.get("scale", "ci") != "ci":
        lines.append("  note: the bands were set at ci scale; at another scale a miss may be the scale, not a bug")
    conditions = recorded_conditions(snippet)
    lines.append(f"  the site's spread record: {len(conditions)} runs ({', '.join(conditions) or 'none'})")
    missed = 0
    for claim, held, values in check(snippet, results):
        missed += not held
        lines.append(f"  {'held  ' if held else 'MISSED'} {claim.id} ({claim.kind}): {claim.text}")
        lines.append(f"         band: {claim.band}")
        for name, value in values.items():
            seen = seen_range(snippet, name)
            site = f"the site saw {short(seen[0])} .. {short(seen[1])} over {seen[2]} runs" if seen else "no range recorded"
            outside = seen and isinstance(value, (int, float)) and not seen[0] <= value <= seen[1]
            lines.append(f"         {name} = {short(value) if value is not None else 'missing from your run'}"
                         f"   ({site}{'; yours is outside it' if outside else ''})")
        if not held:
            lines.append(f"         it would break if: {claim.breaks_if}")
    findings = [c for c in CLAIMS[snippet] if c.kind == "finding"]
    held = len(CLAIMS[snippet]) - missed
    lines.append(f"  {held} of {len(CLAIMS[snippet])} claims held ({len(findings)} findings, "
                 f"{len(CLAIMS[snippet]) - len(findings)} sanity checks)")
    return "\n".join(lines), missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fieldguide", description="Check your own snippet runs against "
                                     "the claims the Fine-Tuning Field Guide's pages state.")
    commands = parser.add_subparsers(dest="command", required=True)
    checker = commands.add_parser("check", help="check run folders against the claims their pages state")
    checker.add_argument("out", nargs="+", type=Path, help="a folder a snippet's --out wrote")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        from fieldguide.claims import CLAIMS
    except FieldGuideError as err:  # a claims file that does not load: one line, as for any bad input
        print(f"error: {err}", file=sys.stderr)
        return 2
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
