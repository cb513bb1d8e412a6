"""Data sets written into the repository, with fixed, seeded splits."""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Capital:
    country: str
    capital: str
    accepted: tuple[str, ...]  # the capital first, then other accepted spellings


def country_capitals() -> list[Capital]:
    """173 countries with an undisputed capital (city-states and split capitals left out)."""
    with open(DATA / "country_capitals.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Capital(r["country"], r["capital"],
                (r["capital"], *[a for a in r["also_accepted"].split("|") if a]))
        for r in rows
    ]


def split(items: list, n_first: int, seed: int = 0) -> tuple[list, list]:
    """Shuffle with ``seed`` and cut: (first n_first items, the rest)."""
    if not 0 <= n_first <= len(items):
        raise ValueError(f"cannot take {n_first} of {len(items)} items")
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    return shuffled[:n_first], shuffled[n_first:]


def read_jsonl(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
