"""The demo: its world, the check before its window, its clean-up however it ends, and how make and CI run it."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.commands import demo
from app.ui import xcb

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "seatsync-demo-"

#: What Qt's xcb platform needs on Debian 12 beside what it needs offscreen (libgl1 libegl1 libxkbcommon0
#: libfontconfig1 libdbus-1-3).
DEBIAN_12_XCB = ("libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xkb1 "
                 "libxkbcommon-x11-0 libxcb-randr0 libxcb-shape0 libxcb-xinerama0").split()


def wait_until(found: Callable[[], object], what: str, seconds: float = 90) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} within {seconds} s")


def demo_folders(temp: Path) -> list[Path]:
    return sorted(temp.glob(f"{PREFIX}*"))


@pytest.fixture
def temp(tmp_path, monkeypatch):
    """The folder temporary folders go to, for this process (tempfile) and the demo's (TMPDIR)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def start_demo(temp: Path, tmp_path: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "TMPDIR": str(temp), "QT_QPA_PLATFORM": "offscreen"}
    with (tmp_path / "out.txt").open("w") as out, (tmp_path / "err.txt").open("w") as err:
        return subprocess.Popen([sys.executable, str(ROOT / "main.py"), "demo", *args], cwd=ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err)


def window_open(temp: Path) -> bool:
    logs = [log for folder in demo_folders(temp) for log in folder.glob("data/**/seatsync.log")]
    return any("seatsync window open" in log.read_text(errors="replace") for log in logs)


# -- ending it ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_open_window_and_removes_the_demo_folder(temp, tmp_path, number):
    process = start_demo(temp, tmp_path, "--tenants", "3")
    try:
        wait_until(lambda: window_open(temp), "the demo's window opens")
        assert demo_folders(temp)
        process.send_signal(number)
        assert process.wait(timeout=60) == 128 + number
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    assert demo_folders(temp) == []
    assert "Traceback" not in (tmp_path / "err.txt").read_text()


def test_quit_after_sync_syncs_from_the_window_then_quits_and_removes_the_demo_folder(temp, tmp_path):
    # One tenant of the home partner (the world's tenant without consent, whose sync fails, needs two or more),
    # and the indirect reseller's three.
    process = start_demo(temp, tmp_path, "--tenants", "1", "--quit-after-sync")
    try:
        assert process.wait(timeout=110) == 0, (tmp_path / "err.txt").read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    lines = (tmp_path / "out.txt").read_text().splitlines()
    assert [line for line in lines if line.startswith("seatsync window: ")] == [
        "seatsync window: Synced 4 tenant(s): 0 change(s) written"]
    assert demo_folders(temp) == []


def args(**given) -> argparse.Namespace:
    values = {"example": False, "once": True, "quit_after_sync": False, "tenants": 3, "psa": "connectwise"}
    return argparse.Namespace(**{**values, **given})


def test_sigterm_during_the_first_sync_stops_everything_and_removes_the_demo_folder(temp, monkeypatch):
    from app.services.sync.service import SyncService

    seen = {}

    def killed(service, **kwargs):
        seen["keys"] = [key for folder in demo_folders(temp) for key in folder.glob("tls/*.pem")]
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not end the demo")

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(SyncService, "sync", killed)
    with pytest.raises(SystemExit) as ended:
        demo.run(args())
    assert ended.value.code == 128 + signal.SIGTERM
    assert seen["keys"]  # the sandbox's TLS files were there
    assert demo_folders(temp) == []
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_error_during_the_demo_removes_its_folder(temp, monkeypatch):
    from app.services.sync.service import SyncService

    def fails(service, **kwargs):
        assert demo_folders(temp)
        raise RuntimeError("the sync broke")

    monkeypatch.setattr(SyncService, "sync", fails)
    with pytest.raises(RuntimeError, match="the sync broke"):
        demo.run(args())
    assert demo_folders(temp) == []


def test_the_demo_refuses_to_start_when_the_window_cannot_open(temp, monkeypatch, capsys):
    monkeypatch.setattr(xcb, "check", lambda: "seatsync's window needs libraries this system lacks: x")
    assert demo.run(args(once=False)) == 1
    assert capsys.readouterr().err == "seatsync demo: seatsync's window needs libraries this system lacks: x\n"
    assert demo_folders(temp) == []  # nothing was started


def test_the_window_is_checked_only_when_there_is_one(temp, monkeypatch):
    from app.services.sync.service import SyncService

    def synced(service, **kwargs):
        raise RuntimeError("the demo went on to its sync")

    monkeypatch.setattr(xcb, "check", lambda: pytest.fail("--once opens no window"))
    monkeypatch.setattr(SyncService, "sync", synced)
    with pytest.raises(RuntimeError, match="went on to its sync"):
        demo.run(args(once=True))


# -- the check before the window ------------------------------------------------------------------------------


@pytest.mark.parametrize(("environ", "platform"), [
    ({"DISPLAY": ":0"}, "xcb"),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "xcb"),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": ""}, "xcb"),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "offscreen"),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland;xcb"}, "wayland"),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "wayland"),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "x11"}, "xcb"),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "wayland"),
    ({}, "xcb"),
])
def test_the_platform_qt_will_use(environ, platform):
    assert xcb.platform_of(environ) == platform


class System:
    """A computer as ``xcb.check`` sees it: which libraries load, who runs it, what apt-get does."""

    def __init__(self, lacking: set[str], *, root: bool = False, apt: bool = True, apt_code: int = 0) -> None:
        self.lacking, self.root, self.apt, self.apt_code = set(lacking), root, apt, apt_code
        self.installed: list[list[str]] = []

    def load(self, library: str) -> str:
        return f"{library}: cannot open shared object file" if library in self.lacking else ""

    def apt_get(self, names) -> int:
        self.installed.append(list(names))
        if not self.apt_code:
            self.lacking -= {library for package, library in xcb.LIBRARIES if package in names}
        return self.apt_code

    def check(self, environ: dict[str, str] | None = None, *, display: str = "") -> str:
        return xcb.check({"DISPLAY": ":0"} if environ is None else environ, load=self.load,
                         is_root=lambda: self.root, apt_get=self.apt_get, has_apt_get=lambda: self.apt,
                         plugin=lambda: None, display=lambda screen: display)


def test_missing_libraries_are_named_with_the_exact_command_to_install_them():
    system = System({"libxcb-cursor.so.0", "libxcb-xinerama.so.0"})
    said = system.check()
    assert "libxcb-cursor.so.0, libxcb-xinerama.so.0" in said
    assert "\n    sudo apt-get install libxcb-cursor0 libxcb-xinerama0\n" in said
    assert system.installed == []


def test_without_apt_get_the_debian_names_are_given():
    said = System({"libxcb-cursor.so.0"}, apt=False).check()
    assert "package manager (on Debian and Ubuntu: sudo apt-get install libxcb-cursor0)" in said


def test_as_root_the_missing_libraries_are_installed(capsys):
    system = System({"libxcb-cursor.so.0", "libxkbcommon-x11.so.0"}, root=True)
    assert system.check() == ""
    assert system.installed == [["libxcb-cursor0", "libxkbcommon-x11-0"]]
    assert "libxcb-cursor0 libxkbcommon-x11-0" in capsys.readouterr().err


def test_a_failed_install_says_so():
    said = System({"libxcb-cursor.so.0"}, root=True, apt_code=100).check()
    assert said == "apt-get could not install libxcb-cursor0 (exit code 100); its messages are above."


def test_nothing_is_checked_for_another_platform():
    system = System({library for _, library in xcb.LIBRARIES}, root=True)
    assert system.check({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}) == ""
    assert system.installed == []


def test_no_display_is_said_before_qt_would_abort():
    said = System(set()).check({})
    assert "DISPLAY is not set" in said and "--once" in said


def test_a_display_that_does_not_answer_is_said():
    said = System(set()).check(display="no X server answers there, or it refused this user")
    assert said == ("seatsync's window cannot reach the X display ':0' (DISPLAY): no X server answers there, "
                    "or it refused this user.")


def test_a_plugin_that_cannot_load_is_said(tmp_path):
    plugin = tmp_path / "libqxcb.so"
    plugin.write_text("not a library")
    said = xcb.check({"DISPLAY": ":0"}, load=lambda library: xcb.loads(library) if library == str(plugin) else "",
                     plugin=lambda: plugin, display=lambda screen: "")
    assert said.startswith("Qt's X11 platform plugin cannot load: ") and str(plugin) in said


def test_the_real_loader_and_display_connection_are_used():
    assert xcb.loads("libseatsync-no-such-library.so.9") != ""
    assert xcb.xcb_plugin() is not None and xcb.xcb_plugin().name == "libqxcb.so"
    assert xcb.display_error(":4094") == "no X server answers there, or it refused this user"
    assert xcb.display_error("not a display") == "that is not a display's name"


# -- one list of libraries, make and CI ---------------------------------------------------------------------


def test_ci_installs_the_libraries_the_demo_checks():
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r"\$\((python3 -m app\.ui\.xcb packages)\)", ci)
    assert command, ".ci/run must take the Qt libraries from app/ui/xcb.py"
    listed = subprocess.run(command.group(1).replace("python3", sys.executable, 1).split(), cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=True).stdout.split()
    assert listed == xcb.packages() == [package for package, _ in xcb.LIBRARIES]
    assert set(DEBIAN_12_XCB) <= set(listed)
    assert set("libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3".split()) <= set(listed)


def test_make_demo_passes_its_options_through():
    result = subprocess.run(["make", "-n", "demo", "PSA=halopsa",
                             "DEMO_ARGS=--quit-after-sync --tenants 4"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert ".venv/bin/python main.py demo --psa halopsa --quit-after-sync --tenants 4" in result.stdout


# -- the demo's world ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("psa", ["connectwise", "autotask", "halopsa"])
def test_the_demo_world_maps_most_licenses_and_leaves_a_few_for_a_person(tmp_path, psa):
    from app.bootstrap import open_context
    from app.sandbox.world import SandboxWorld
    from app.services.customers.company_rows import LicenseState
    from app.services.secrets import MemoryKeyring, SecretStore

    with SandboxWorld.start(tmp_path, psa=psa, demo=True) as world:
        context = open_context(tmp_path / "data", secrets=SecretStore(MemoryKeyring()), ca_file=world.tls.ca)
        try:
            connection_id = world.configure(context)
            summary = context.sync.sync(actor="demo", trigger="demo")
            [failed] = summary.failed  # the tenant without consent
            assert failed.tenant_id in world.scenario.unconsented
            # Moving from another tool: CloudConsole's Business Premium line holds that row until decided.
            [held] = [f for r in summary.results for f in r.findings if f.kind.value == "foreign_line"]
            assert "reference 'Cloudconsole'" in held.message
            assert [f.reference for f in context.migration.find()] == ["Cloudconsole"]
            service = context.companies
            rows = [row for company in service.company_rows() for row in service.company(company.id).licenses]
            states = [row.state for row in rows if row.state is not LicenseState.EXCLUDED]
            mapped = states.count(LicenseState.MAPPED)
            assert mapped >= 0.8 * len(states) and mapped < len(states), (mapped, len(states))
            unmapped = {(row.target.tenant_id, row.license.part_number) for row in rows
                        if row.state is LicenseState.MISSING}
            assert world.unmapped and world.unmapped <= unmapped  # the add-ons bought today, left for a person
            products = {p.identifier for p in context.uow.catalog.products(connection_id, active_only=True)}
            assert {"M365-BB", "M365-BP", "M365-E3", "M365-E5", "EXO-P1", "EXO-P2", "TEAMS-ESS", "VISIO-P2",
                    "PROJECT-P3", "PBI-PRO", "MDB", "INTUNE-P1"} <= products
        finally:
            context.close()


def test_other_worlds_keep_their_four_products(tmp_path):
    from app.sandbox.world import SandboxWorld

    with SandboxWorld.start(tmp_path, tenants=2, seed=11) as world:
        assert sorted(p["identifier"] for p in world.psa.catalog.values()) == ["EXO-P1", "M365-BP", "M365-BS",
                                                                               "M365-E3"]
        assert not world.demo and world.unmapped == set()
