"""How each Autotask answer shape decodes, counted: ``python -m tests.autotask.fuzz_counts [N]``.

Runs the generators of tests/autotask/test_fuzz.py N times per shape (default 1000) and prints
one line per shape: payloads generated, decoded to data, typed errors (PsaError), other
exceptions (must be 0; the first few are printed below the table). Exits 1 when any shape had
another exception.
"""

from __future__ import annotations

import sys
from collections import Counter

from hypothesis import HealthCheck, Phase, given, settings

from tests.autotask import fuzzing


def counts(name: str, runs: int) -> tuple[Counter[str], list[str]]:
    found: Counter[str] = Counter()
    others: list[str] = []

    @settings(max_examples=runs, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(fuzzing.answers(name))
    def run(answer: tuple) -> None:
        found["generated"] += 1
        try:
            found[fuzzing.outcome(name, answer)] += 1
        except Exception as error:  # noqa: BLE001 - counted, that is the point
            found["other"] += 1
            others.append(f"{name}: {type(error).__name__}: {str(error)[:200]}")

    run()
    return found, others


def main(argv: list[str]) -> int:
    runs = int(argv[0]) if argv else 1000
    width = max(len(name) for name in fuzzing.SHAPES)
    print(f"{'answer shape':{width}} {'generated':>9} {'data':>7} {'typed':>7} {'other':>7}")
    problems: list[str] = []
    for name in fuzzing.SHAPES:
        found, others = counts(name, runs)
        print(f"{name:{width}} {found['generated']:9d} {found['data']:7d} {found['typed']:7d} {found['other']:7d}",
              flush=True)
        problems.extend(others[:5])
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
