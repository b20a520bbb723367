"""The data directory follows each platform's convention (platformdirs) and SEATSYNC_DATA_DIR; an earlier
version's folder in Windows' roaming profile moves to the local profile once, and no file is ever lost."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
from pathlib import Path

import platformdirs.windows
import pytest

from app import paths

HOME = Path("/home/ada")
LOCAL = r"C:\Users\ada\AppData\Local"
ROAMING = r"C:\Users\ada\AppData\Roaming"


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    """This machine's home and XDG variables out of the way; no move decided or noted yet."""
    monkeypatch.setenv("HOME", str(HOME))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setattr(paths, "_settled", {})
    monkeypatch.setattr(paths, "_notes", [])


def known_folders(monkeypatch, local: str = LOCAL, roaming: str = ROAMING) -> list[str]:
    """Windows' known folders, as the shell would answer platformdirs; the names it asked for."""
    asked: list[str] = []

    def get_win_folder(csidl_name: str) -> str:
        asked.append(csidl_name)
        return {"CSIDL_LOCAL_APPDATA": local, "CSIDL_APPDATA": roaming}[csidl_name]

    monkeypatch.setattr(platformdirs.windows, "get_win_folder", get_win_folder)
    return asked


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        ("linux", {}, HOME / ".local/share/seatsync"),
        ("linux", {"XDG_DATA_HOME": "/data/xdg"}, Path("/data/xdg/seatsync")),
        ("linux", {"XDG_DATA_HOME": "relative/ignored"}, HOME / ".local/share/seatsync"),
        ("freebsd13", {"XDG_DATA_HOME": " "}, HOME / ".local/share/seatsync"),
        # The window, opened from the Finder, never sees a shell's variables: one folder for it and the command line.
        ("darwin", {"XDG_DATA_HOME": "/ignored"}, HOME / "Library/Application Support/seatsync"),
    ],
)
def test_platform_conventions(monkeypatch, platform, environ, expected):
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert paths.default_data_dir(platform=platform) == expected
    assert paths.legacy_data_dir(platform=platform) is None  # nothing moves there


def test_windows_keeps_the_data_in_the_local_profile_not_the_roaming_one(monkeypatch):
    asked = known_folders(monkeypatch)
    assert paths.default_data_dir(platform="win32") == Path(LOCAL) / "seatsync"
    assert asked == ["CSIDL_LOCAL_APPDATA"]
    assert paths.legacy_data_dir(platform="win32") == Path(ROAMING) / "seatsync"


def test_the_override_wins_and_everything_is_created_on_demand(tmp_path):
    root = tmp_path / "custom" / "place"
    environ = {paths.ENV_DATA_DIR: str(root), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    assert paths.data_dir(environ=environ, create=False) == root and not root.exists()
    assert paths.database_path(environ=environ) == root / "seatsync.db" and root.is_dir()
    assert paths.log_dir(environ=environ) == root / "logs" and (root / "logs").is_dir()
    assert paths.settings_path(environ=environ) == root / "settings.json"
    assert not (tmp_path / "xdg").exists()


def test_the_data_dir_fixture_points_the_app_at_it(data_dir):
    assert paths.data_dir() == data_dir
    assert paths.database_path().parent == data_dir


def test_the_override_expands_the_home_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert paths.data_dir(environ={paths.ENV_DATA_DIR: "~/seat"}) == tmp_path / "seat"


def test_an_unusable_directory_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(paths.DataDirError) as raised:
        paths.data_dir(environ={paths.ENV_DATA_DIR: str(blocker / "inside")})
    message = str(raised.value)
    assert "SEATSYNC_DATA_DIR" in message and str(blocker / "inside") in message


# -- the one-time move from the roaming profile ----------------------------------------------------------------


def earlier_version(folder: Path) -> dict[str, bytes]:
    """What an earlier seatsync left in ``folder``, private as it keeps it; returns each file's content."""
    paths.private_dir(paths.private_dir(folder) / "logs")
    files = {"seatsync.db": b"SQLite format 3\x00 the companies", "seatsync.db-wal": b"the last writes",
             "window.ini": b"[window]", "logs/seatsync.log": b"a line"}
    for name, content in files.items():
        paths.private_file(folder / name).write_bytes(content)
    return files


def contents(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def noted(caplog) -> str:
    with caplog.at_level(logging.INFO, logger="app.paths"):
        paths.log_moves()
    return caplog.text


@pytest.fixture
def profile(tmp_path):
    """Windows' local and roaming data folders for seatsync, under a temporary profile."""
    local, roaming = tmp_path / "AppData" / "Local", tmp_path / "AppData" / "Roaming"
    local.mkdir(parents=True)
    roaming.mkdir(parents=True)
    return local / "seatsync", roaming / "seatsync"


def test_a_roaming_folder_moves_to_the_local_profile_once_whole_and_private(monkeypatch, profile, caplog):
    new, old = profile
    known_folders(monkeypatch, local=str(new.parent), roaming=str(old.parent))
    files = earlier_version(old)
    assert paths.settled_data_dir(platform="win32") == new
    assert contents(new) == files and not old.exists()
    assert "moved seatsync's data folder from" in noted(caplog) and str(new) in caplog.text
    if os.name == "posix":
        assert mode(new / "logs") == 0o700 and {mode(new / name) for name in files} == {0o600}
    assert paths.settled_data_dir(platform="win32") == new  # once: nothing left to move
    assert noted(caplog).count("moved") == 1


def test_an_empty_local_folder_does_not_stop_the_move(profile):
    new, old = profile
    new.mkdir()
    files = earlier_version(old)
    assert paths.settle(new, old) == new and contents(new) == files and not old.exists()


def test_when_both_folders_hold_files_neither_is_touched(profile, caplog):
    new, old = profile
    files = earlier_version(old)
    paths.private_file(paths.private_dir(new) / "seatsync.db").write_bytes(b"the newer database")
    assert paths.settle(new, old) == new
    assert contents(old) == files and contents(new) == {"seatsync.db": b"the newer database"}
    assert "is left as it was" in noted(caplog)


def test_without_an_earlier_folder_nothing_happens(profile, caplog):
    new, old = profile
    assert paths.settle(new, old) == new and not new.exists() and not old.exists()
    assert noted(caplog) == ""


def test_a_move_that_fails_keeps_the_roaming_folder_in_use_and_says_so(monkeypatch, profile, caplog):
    new, old = profile
    files = earlier_version(old)

    def in_use(self, target):  # Windows, while an earlier seatsync still has its database open
        raise PermissionError(errno.EACCES, "The process cannot access the file", str(self))

    with monkeypatch.context() as patched:
        patched.setattr(Path, "rename", in_use)
        assert paths.settle(new, old) == old
    assert contents(old) == files and not new.exists()
    assert "could not move seatsync's data folder" in noted(caplog) and "moved at the next start" in caplog.text
    assert caplog.records[-1].levelno == logging.WARNING
    assert paths.settle(new, old) == old  # this process stays with the folder it started with
    paths._settled.clear()
    assert paths.settle(new, old) == new and contents(new) == files  # the next start moves it


def cross_device(monkeypatch) -> None:
    """The roaming profile on another drive (redirected to a server): renaming into the local one fails."""
    rename = Path.rename

    def rename_on_one_drive(self, target):
        if Path(target).parent != self.parent:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", rename_on_one_drive)


def test_from_another_drive_the_folder_is_copied_then_removed(monkeypatch, profile, caplog):
    new, old = profile
    files = earlier_version(old)
    cross_device(monkeypatch)
    assert paths.settle(new, old) == new
    assert contents(new) == files and not old.exists()
    assert sorted(p.name for p in old.parent.iterdir()) == [] and sorted(p.name for p in new.parent.iterdir()) == [
        "seatsync"]
    if os.name == "posix":
        assert mode(new) == 0o700 and {mode(new / name) for name in files} == {0o600}
    assert "moved seatsync's data folder" in noted(caplog)


def test_a_copy_that_fails_leaves_the_roaming_folder_whole(monkeypatch, profile, caplog):
    new, old = profile
    files = earlier_version(old)
    cross_device(monkeypatch)

    def disk_full(source, target):
        Path(target).mkdir()
        (Path(target) / "seatsync.db").write_bytes(b"SQLite format 3\x00 the comp")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copytree", disk_full)
    assert paths.settle(new, old) == old
    assert contents(old) == files and not new.exists()
    assert [p.name for p in new.parent.iterdir()] == [] and [p.name for p in old.parent.iterdir()] == ["seatsync"]
    assert "No space left on device" in noted(caplog)


def test_a_copy_cut_short_by_a_crash_is_finished_at_the_next_start(monkeypatch, profile):
    new, old = profile
    aside, staged = old.with_name("seatsync.moving"), new.with_name("seatsync.moving")
    files = earlier_version(aside)  # set aside, then the computer went off while it was being copied
    staged.mkdir()
    (staged / "seatsync.db").write_bytes(b"SQLite format 3\x00 the comp")
    cross_device(monkeypatch)
    assert paths.settle(new, old) == new
    assert contents(new) == files and not aside.exists() and not staged.exists() and not old.exists()


def test_opening_the_data_logs_the_move_once_logging_has_started(profile, caplog):
    from app.bootstrap import open_context

    new, old = profile
    paths.private_file(paths.private_dir(old) / "window.ini").write_bytes(b"[window]")
    with caplog.at_level(logging.INFO, logger="app.paths"):
        directory = paths.settle(new, old)  # the window's first question, before its log exists
        assert directory == new and caplog.text == ""
        open_context(directory).close()
    assert caplog.text.count("moved seatsync's data folder") == 1 and (new / "seatsync.db").is_file()
