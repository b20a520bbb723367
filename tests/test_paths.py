"""The data directory follows each platform's convention and SEATSYNC_DATA_DIR."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import paths

HOME = Path("/home/ada")


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        ("linux", {}, HOME / ".local/share/seatsync"),
        ("linux", {"XDG_DATA_HOME": "/data/xdg"}, Path("/data/xdg/seatsync")),
        ("linux", {"XDG_DATA_HOME": "relative/ignored"}, HOME / ".local/share/seatsync"),
        ("freebsd13", {"XDG_DATA_HOME": " "}, HOME / ".local/share/seatsync"),
        ("darwin", {"XDG_DATA_HOME": "/ignored"}, HOME / "Library/Application Support/seatsync"),
        ("win32", {"APPDATA": r"C:\Users\ada\AppData\Roaming"}, Path(r"C:\Users\ada\AppData\Roaming") / "seatsync"),
        ("win32", {}, HOME / "AppData/Roaming/seatsync"),
    ],
)
def test_platform_conventions(platform, environ, expected):
    assert paths.default_data_dir(platform=platform, environ=environ, home=HOME) == expected


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
