"""The demo's world in the window at 1366×768: every view, a company's page, the mapping dialog, About and the
set-up guide of an empty install render at that size (the pictures docs/screenshots/ holds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from app.ui.views import VIEWS

ROOT = Path(__file__).resolve().parents[2]


def colours(path: str) -> int:
    """How many different colours a sample of the picture has (a blank page has one or two)."""
    image = QImage(path)
    return len({image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)})


@pytest.mark.slow
def test_every_view_of_the_demo_renders_at_1366_by_768(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "tests.ui.demo_screens", str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stderr[-3000:]
    shots = json.loads(done.stdout.strip().splitlines()[-1])
    pages = [key for key, _, _ in VIEWS] + ["company", "first-run", "ignored-accounts"]
    assert set(pages) | {"mapping-dialog", "about"} == set(shots)
    for key in pages:
        assert shots[key]["pixels"] == [1366, 728], key
        assert colours(shots[key]["path"]) > 12, f"{key} looks blank"
    for key in ("mapping-dialog", "about"):
        width, height = shots[key]["pixels"]
        assert width <= 1366 and height <= 728, key
