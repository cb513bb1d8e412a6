"""``bash dev.sh record``: commit each snippet's last verified run to ``results/<page>/<snippet>/``.

Run it after a passing ``bash dev.sh test``: it copies this machine's run of the current code of
every snippet (results.json, printed output, figures, provenance; never a checkpoint) into the
repository, so a fresh clone's build shows every result without executing anything. A test fails
when a record is stale (measured on other code) or a claim does not hold on it.
"""

from __future__ import annotations

import sys

from fieldguide_site.execute import RECORDS, REFRESH, REPO, SnippetFailed, write_record


def all_snippets() -> list[str]:
    return sorted(p.relative_to(REPO / "snippets").with_suffix("").as_posix()
                  for p in (REPO / "snippets").glob("*/*.py"))


def main() -> int:
    names, missing = all_snippets(), []
    for name in names:
        try:
            folder = write_record(name)
            print(f"recorded {folder.relative_to(REPO)}")
        except SnippetFailed:
            missing.append(name)
    stale = sorted(p.parent.relative_to(RECORDS).as_posix() for p in RECORDS.glob("*/*/run.json")
                   if p.parent.relative_to(RECORDS).as_posix() not in names)
    size = sum(f.stat().st_size for f in RECORDS.rglob("*") if f.is_file())
    print(f"{len(names) - len(missing)} records, {size / 1024:.0f} KiB in {RECORDS.relative_to(REPO)}/")
    if stale:
        print(f"records of snippets that no longer exist (remove them): {', '.join(stale)}", file=sys.stderr)
    if missing:
        print(f"error: no run of the current code for {', '.join(missing)}: {REFRESH}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
