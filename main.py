"""seatsync: the desktop app by default, a headless command when given one."""

from __future__ import annotations

import gc
import os
import sys

from app.cli import EXIT_ERROR, main

if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
        sys.stdout.flush()
    except BrokenPipeError:
        # What reads the output stopped first (``settings list | head -3``): the rest goes nowhere, and the
        # interpreter's last flush must not fail again on the closed pipe with a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_ERROR
    # What is left lives until the process ends: frozen, it is not searched for garbage while the interpreter
    # shuts down (a headless sync exits some 0.1 s sooner).
    gc.freeze()
    sys.exit(code)
