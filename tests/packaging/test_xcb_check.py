"""Qt's "could not load the Qt platform plugin xcb" abort is replaced by a sentence naming the
missing libraries and the Debian packages to install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.ui import platform_check as pc

ROOT = Path(__file__).resolve().parents[2]


def test_xcb_is_checked_only_where_qt_will_use_it():
    linux = sys.platform.startswith("linux")
    assert pc.uses_xcb({"DISPLAY": ":0"}) is linux
    assert not pc.uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"})
    assert pc.uses_xcb({"QT_QPA_PLATFORM": "xcb:foo"}) is linux
    assert not pc.uses_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"})
    assert not pc.uses_xcb({})


def test_the_missing_libraries_are_named_with_their_packages(tmp_path):
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")
    absent = {"libxcb-cursor.so.0", "libxcb-icccm.so.4", "libfoo.so.9"}

    def load(name: str):
        if name == str(plugin):
            return "libxcb-cursor.so.0: cannot open shared object file: No such file or directory"
        return "not found" if name in absent else None

    missing = pc.missing_xcb_libraries(plugin, load)
    assert missing == ["libxcb-cursor.so.0", "libxcb-icccm.so.4"]
    text = pc.xcb_message(missing)
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4" in text and "README" in text


def test_a_library_not_in_the_table_is_still_named(tmp_path):
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")

    def load(name: str):
        return "libweird.so.3: cannot open shared object file: No such file or directory" if name == str(plugin) \
            else None

    missing = pc.missing_xcb_libraries(plugin, load)
    assert missing == ["libweird.so.3"] and "libweird.so.3" in pc.xcb_message(missing)


def test_nothing_is_reported_when_the_plugin_loads(tmp_path):
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")
    assert pc.missing_xcb_libraries(plugin, lambda name: None) == []


def test_the_window_says_what_to_install_instead_of_aborting(tmp_path):
    """libxcb-cursor.so.0 hidden in a mount namespace (an empty file bound over it): the app exits 2
    with the package list rather than Qt's abort (SIGABRT) and its "could not load" text."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) to hide a library in a mount namespace")
    import ctypes.util

    found = ctypes.util.find_library("xcb-cursor")
    candidates = [Path(d) / "libxcb-cursor.so.0" for d in ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
                                                           "/usr/lib64", "/usr/lib")]
    real = next((p.resolve() for p in candidates if p.exists()), None)
    if found is None or real is None:
        pytest.skip("libxcb-cursor0 is not installed here: nothing to hide")
    empty = tmp_path / "empty.so"
    empty.write_bytes(b"")
    shell = f'mount --bind {empty} {real} && exec "$@"'
    env = {**os.environ, "DISPLAY": ":99", "WECOM_AUDITOR_DATA_DIR": str(tmp_path / "data")}
    env.pop("QT_QPA_PLATFORM", None)
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", shell, "sh",
                           sys.executable, "-m", "app"], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=120)
    if "mount" in proc.stderr and proc.returncode != 2:
        pytest.skip(f"could not bind-mount here: {proc.stderr.strip()}")
    assert proc.returncode == 2, proc.stderr
    assert "libxcb-cursor.so.0" in proc.stderr and "libxcb-cursor0" in proc.stderr
    assert "Could not load the Qt platform plugin" not in proc.stderr
