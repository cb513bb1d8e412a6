"""Machine-readable results that the pages render: metrics, tables and figures.

A snippet writes ``<out>/results.json`` (plus figure files) through ``ResultsWriter``;
the site's build hook renders them, so every number on a page is a measured one.
"""

from __future__ import annotations

import json
import math
import platform
import time
from pathlib import Path
from typing import Any, Iterable, Sequence


def _plain(value: Any) -> Any:
    """Make numpy/torch scalars JSON-friendly."""
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (ValueError, TypeError):
            pass
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


class ResultsWriter:
    """Collects metrics, tables and figures; ``save()`` writes ``results.json``."""

    def __init__(self, out: Path | str, snippet: str, args: Any = None):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self._started = time.perf_counter()
        self.data: dict[str, Any] = {
            "snippet": snippet,
            "settings": {k: str(v) for k, v in vars(args).items()} if args is not None else {},
            "environment": {"python": platform.python_version()},
            "metrics": {},
            "tables": {},
            "figures": {},
        }
        try:
            import torch

            self.data["environment"]["torch"] = torch.__version__
        except ImportError:  # pragma: no cover
            pass

    def metric(self, key: str, value: Any, fmt: str = "{}", label: str | None = None) -> Any:
        """Record one number (or short string); ``fmt`` is how pages print it."""
        value = _plain(value)
        self.data["metrics"][key] = {
            "value": value,
            "text": fmt.format(value) if value is not None else "n/a",
            "label": label or key.replace("_", " "),
        }
        return value

    def table(self, key: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
              caption: str = "", formats: Sequence[str] | None = None) -> None:
        """Record a table; ``formats`` (one per column) says how to print each cell."""
        rows = [[_plain(cell) for cell in row] for row in rows]
        formats = list(formats) if formats else ["{}"] * len(columns)
        if len(formats) != len(columns):
            raise ValueError(f"table {key}: {len(columns)} columns but {len(formats)} formats")
        text = [[(fmt.format(c) if c is not None else "") for fmt, c in zip(formats, row)] for row in rows]
        self.data["tables"][key] = {"columns": list(columns), "rows": rows, "text": text,
                                    "caption": caption}

    def figure(self, key: str, fig, caption: str = "") -> Path:
        """Save a matplotlib figure as SVG beside results.json."""
        path = self.out / f"{key}.svg"
        fig.savefig(path, format="svg", bbox_inches="tight", metadata={"Date": None})
        self.data["figures"][key] = {"file": path.name, "caption": caption}
        return path

    def save(self) -> Path:
        self.data["seconds"] = round(time.perf_counter() - self._started, 2)
        path = self.out / "results.json"
        path.write_text(json.dumps(self.data, indent=1, sort_keys=False))
        return path


def load_results(out: Path | str) -> dict[str, Any]:
    return json.loads((Path(out) / "results.json").read_text())
