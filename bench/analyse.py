#!/usr/bin/env python3
"""Joins a plan (postId -> planned epoch seconds) with the receiver's arrivals; lateness figures.

Lateness is a post's first arrival at the receiver (answered 200) minus its planned instant.
Figures: planned, delivered, missing, duplicates (arrivals after the first), early (arriving more
than 1 ms before the planned instant), lateness p50 / p99 / max (nearest rank), and span (first
to last arrival).

Usage: python bench/analyse.py PLAN.json ARRIVALS.jsonl      (prints one JSON line)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def pct(xs: list[float], p: float) -> float | None:
    """The p-th percentile by nearest rank over the sorted values (None when there are none)."""
    if not xs:
        return None
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100 * (len(xs) - 1)))))
    return xs[k]


def first_arrivals(plan: dict, arrivals: list[dict]) -> tuple[dict[str, float], int]:
    """postId -> time of its first arrival answered 200; and how many arrivals came after a first."""
    first: dict[str, float] = {}
    duplicates = 0
    for rec in arrivals:
        post_id = str(rec.get("postId"))
        if post_id not in plan or rec.get("status") != 200:
            continue
        if post_id in first:
            duplicates += 1
        else:
            first[post_id] = rec["t"]
    return first, duplicates


def lateness(plan: dict, arrivals: list[dict]) -> list[float]:
    """Each delivered post's lateness in seconds (negative: early)."""
    first, _ = first_arrivals(plan, arrivals)
    return sorted(first[p] - plan[p] for p in first)


def analyse(plan: dict, arrivals: list[dict]) -> dict:
    first, duplicates = first_arrivals(plan, arrivals)
    late = [first[p] - plan[p] for p in first]
    return {
        "planned": len(plan), "delivered": len(first), "missing": len(plan) - len(first),
        "duplicates": duplicates, "early": sum(1 for x in late if x < -0.001),
        "p50_s": pct(late, 50), "p99_s": pct(late, 99), "max_s": max(late) if late else None,
        "span_s": (max(first.values()) - min(first.values())) if first else None,
    }


def read_arrivals(path: Path | str) -> list[dict]:
    """The receiver's JSON lines; none if the file was never written."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    plan = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps(analyse(plan, read_arrivals(sys.argv[2]))))


if __name__ == "__main__":
    main()
