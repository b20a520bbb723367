"""seatsync: the desktop app by default, a headless command when given one."""

from __future__ import annotations

import gc
import sys

from app.cli import main

if __name__ == "__main__":
    code = main(sys.argv[1:])
    # What is left lives until the process ends: frozen, it is not searched for garbage while the interpreter
    # shuts down (a headless sync exits some 0.1 s sooner).
    gc.freeze()
    sys.exit(code)
