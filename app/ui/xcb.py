"""What Qt's xcb platform (the window on X11) needs from the system, checked before the window opens.

Qt aborts the whole process when its platform plugin cannot load (a library
missing, no display), and its message names only some of the libraries
missing. ``check`` runs first: when the window will use xcb, it loads every
library of ``LIBRARIES`` (the one list: the demo's check and CI's install
read it), installs the missing ones with apt-get when run as root, or says
the exact command to run; then it loads Qt's xcb plugin itself (which names
any other library missing) and asks the display (DISPLAY) for a connection.
This module imports no Qt.

    python3 -m app.ui.xcb packages    # the Debian packages, for an install step
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

#: (Debian package, the library it provides) Qt's xcb platform needs. The first five Qt needs on every
#: platform (offscreen too); the others Qt's xcb plugin needs (from Qt 6.5, libxcb-cursor0 among them).
LIBRARIES: tuple[tuple[str, str], ...] = (
    ("libgl1", "libGL.so.1"),
    ("libegl1", "libEGL.so.1"),
    ("libxkbcommon0", "libxkbcommon.so.0"),
    ("libfontconfig1", "libfontconfig.so.1"),
    ("libdbus-1-3", "libdbus-1.so.3"),
    ("libxcb-cursor0", "libxcb-cursor.so.0"),
    ("libxcb-icccm4", "libxcb-icccm.so.4"),
    ("libxcb-keysyms1", "libxcb-keysyms.so.1"),
    ("libxcb-image0", "libxcb-image.so.0"),
    ("libxcb-render-util0", "libxcb-render-util.so.0"),
    ("libxcb-xkb1", "libxcb-xkb.so.1"),
    ("libxkbcommon-x11-0", "libxkbcommon-x11.so.0"),
    ("libxcb-randr0", "libxcb-randr.so.0"),
    ("libxcb-shape0", "libxcb-shape.so.0"),
    ("libxcb-xinerama0", "libxcb-xinerama.so.0"),
)


def packages() -> list[str]:
    return [package for package, _ in LIBRARIES]


def platform_of(environ: Mapping[str, str]) -> str:
    """The Qt platform the window will use here: QT_QPA_PLATFORM's first choice, or Qt's default."""
    chosen = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return chosen
    if environ.get("WAYLAND_DISPLAY") and (environ.get("XDG_SESSION_TYPE") == "wayland"
                                           or not environ.get("DISPLAY")):
        return "wayland"  # Qt prefers Wayland in a Wayland session
    return "xcb"


def loads(library: str) -> str:
    """'' when the dynamic loader can load ``library`` (a soname or a path), else its error."""
    try:
        ctypes.CDLL(library)
    except OSError as error:
        return str(error)
    return ""


def missing(load: Callable[[str], str] = loads) -> list[tuple[str, str]]:
    """The (package, library) pairs of ``LIBRARIES`` that cannot be loaded."""
    return [(package, library) for package, library in LIBRARIES if load(library)]


def install_command(names: Sequence[str]) -> str:
    return f"sudo apt-get install {' '.join(names)}"


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _apt_get(names: Sequence[str]) -> int:
    """Install ``names`` non-interactively (package lists refreshed first); apt-get's exit code."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    update = subprocess.run(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL, check=False)
    if update.returncode:
        return update.returncode
    return subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *names], env=env,
                          stdout=subprocess.DEVNULL, check=False).returncode


def xcb_plugin() -> Path | None:
    """Qt's xcb platform plugin as PySide6 ships it (None when it is not found)."""
    spec = importlib.util.find_spec("PySide6")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        plugin = Path(folder) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def display_error(display: str) -> str:
    """'' when the X server of ``display`` accepts a connection, else why not."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError as error:
        return str(error)
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = (ctypes.c_char_p, ctypes.c_void_p)
    xcb.xcb_connection_has_error.argtypes = (ctypes.c_void_p,)
    xcb.xcb_disconnect.argtypes = (ctypes.c_void_p,)
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        code = xcb.xcb_connection_has_error(connection)
    finally:
        xcb.xcb_disconnect(connection)
    if not code:
        return ""
    return _XCB_ERRORS.get(code, f"the connection failed (xcb error {code})")


#: libxcb's connection errors (xcb.h) a person can act on.
_XCB_ERRORS = {1: "no X server answers there, or it refused this user", 5: "that is not a display's name",
               6: "that display has no such screen"}


def check(environ: Mapping[str, str] = os.environ, *, load: Callable[[str], str] = loads,
          is_root: Callable[[], bool] = _is_root, apt_get: Callable[[Sequence[str]], int] = _apt_get,
          has_apt_get: Callable[[], bool] = lambda: shutil.which("apt-get") is not None,
          plugin: Callable[[], Path | None] = xcb_plugin,
          display: Callable[[str], str] = display_error) -> str:
    """'' when the window can open here (installing what is missing when root), else what to do about it."""
    if platform_of(environ) != "xcb":
        return ""
    screen = environ.get("DISPLAY", "")
    if not screen:
        return ("seatsync's window needs a display, and DISPLAY is not set: start it in a desktop session "
                "(or run the demo without a window: --once).")
    lacking = missing(load)
    if lacking and is_root() and has_apt_get():
        names = [package for package, _ in lacking]
        print(f"Installing the libraries seatsync's window needs: {' '.join(names)}", file=sys.stderr, flush=True)
        code = apt_get(names)
        if code:
            return f"apt-get could not install {' '.join(names)} (exit code {code}); its messages are above."
        lacking = missing(load)
    if lacking:
        names = [package for package, _ in lacking]
        how = (f"Install them with:\n\n    {install_command(names)}\n" if has_apt_get() else
               f"Install them with the system's package manager (on Debian and Ubuntu: {install_command(names)}).\n")
        return (f"seatsync's window needs libraries this system lacks: "
                f"{', '.join(library for _, library in lacking)}.\n{how}"
                "Then start it again.")
    found = plugin()
    problem = load(str(found)) if found is not None else ""
    if problem:
        return f"Qt's X11 platform plugin cannot load: {problem}. Install the system package that provides it."
    problem = display(screen)
    if problem:
        return f"seatsync's window cannot reach the X display {screen!r} (DISPLAY): {problem}."
    return ""


if __name__ == "__main__":
    if sys.argv[1:] == ["packages"]:
        print(" ".join(packages()))
        sys.exit(0)
    print("usage: python3 -m app.ui.xcb packages", file=sys.stderr)
    sys.exit(2)
