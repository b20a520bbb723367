"""Count what the Microsoft answers of fuzz.py decode to: ``python -m tests.microsoft.fuzz_counts [N]``.

Runs every shape's generator N times (default 1000) through seatsync's
decoding and prints one line per shape: payloads generated, decoded to data,
typed errors, and other exceptions (which must be 0; the first of each kind
is printed after the table). Exits 1 when any shape had another exception.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter

from hypothesis import HealthCheck, Phase, given, settings

from app.services.microsoft.skus import SkuCatalogue
from tests.microsoft.fuzz import SHAPES, Reading, Shape, outcome


def count(shape: Shape, examples: int, reading: Reading, first: dict[str, str]) -> Counter[str]:
    tally: Counter[str] = Counter()

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(shape.strategy)
    def run(args: tuple) -> None:
        tally["generated"] += 1
        try:
            tally[outcome(reading, shape, args)] += 1
        except Exception as error:  # noqa: BLE001 - counted and shown: this is what the runner looks for
            tally["other"] += 1
            first.setdefault(f"{shape.name}: {type(error).__name__}", f"{error!r:.300} from {args!r:.300}")

    run()
    return tally


def main(argv: list[str]) -> int:
    examples = int(argv[0]) if argv else 1000
    logging.disable(logging.CRITICAL)  # msal logs every unreadable answer it meets, with a traceback
    reading = Reading(SkuCatalogue.load())
    first: dict[str, str] = {}
    width = max(len(name) for name in SHAPES)
    print(f"{'shape':<{width}}  {'generated':>9}  {'data':>6}  {'typed':>6}  {'other':>5}  seconds")
    others = 0
    for name, shape in SHAPES.items():
        started = time.monotonic()
        tally = count(shape, examples, reading, first)
        others += tally["other"]
        print(f"{name:<{width}}  {tally['generated']:>9}  {tally['data']:>6}  {tally['typed error']:>6}  "
              f"{tally['other']:>5}  {time.monotonic() - started:7.1f}", flush=True)
    for kind, example in first.items():
        print(f"\n{kind}\n  {example}")
    return 1 if others else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
