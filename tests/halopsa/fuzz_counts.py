"""Count what the HaloPSA client makes of generated answers: ``python -m tests.halopsa.fuzz_counts [N]``.

One line per entity (tests/halopsa/fuzz.py): payloads generated, decoded to
data, typed errors, other exceptions (a bug: must be 0). N payloads per
entity, 1000 by default; exits 1 when any other exception was seen.
"""

from __future__ import annotations

import sys

from tests.halopsa.fuzz import cases
from tests.schema_fuzz import report


def main(argv: list[str]) -> int:
    examples = int(argv[0]) if argv else 1000
    return report(cases(), examples)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
