"""Before the window opens on Linux/X11: are the system libraries Qt's xcb platform plugin needs
there? Qt itself would print "Could not load the Qt platform plugin "xcb"" and abort; this names
the missing libraries and the Debian/Ubuntu packages that hold them instead. No Qt import here."""

from __future__ import annotations

import ctypes
import os
import re
import sys
from pathlib import Path

# The libraries Qt 6's xcb platform plugin (and the Qt GUI libraries under it) loads, with the
# Debian/Ubuntu package of each: the list in the README's "Installing" section (ldd on the plugin
# in a minimal Debian 12 chroot found them).
XCB_LIBRARIES = {
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}
_NOT_FOUND = re.compile(r"([\w.+-]+\.so[\w.]*): cannot open shared object file")


def uses_xcb(environ=os.environ) -> bool:
    """Whether Qt will pick its xcb (X11) platform here: Linux, an X display, and no other platform
    chosen (QT_QPA_PLATFORM) or preferred (a Wayland session)."""
    if not sys.platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(":", 1)[0] == "xcb"
    if environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland":
        return False
    return bool(environ.get("DISPLAY"))


def _load_problem(name: str) -> str | None:
    try:
        ctypes.CDLL(name)
        return None
    except OSError as exc:
        return str(exc)


def missing_xcb_libraries(plugin: Path | None = None, load=_load_problem) -> list[str]:
    """The libraries the xcb plugin needs and this computer lacks ([] when the plugin loads).
    ``plugin``: Qt's libqxcb.so (default: the one of the PySide6 in use)."""
    if plugin is None:
        import PySide6

        plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.is_file():  # a Qt without the plugin file here (a distribution's own): let Qt say
        return []
    problem = load(str(plugin))
    if problem is None:
        return []
    missing = [name for name in XCB_LIBRARIES if load(name) is not None]
    named = _NOT_FOUND.search(problem)
    if named and named.group(1) not in missing:
        missing.append(named.group(1))
    return missing or [problem]


def xcb_message(missing: list[str]) -> str:
    packages = sorted({XCB_LIBRARIES[m] for m in missing if m in XCB_LIBRARIES})
    others = [m for m in missing if m not in XCB_LIBRARIES]
    text = ("wecom-auditor: the window cannot open: Qt's X11 platform (xcb) needs system libraries this "
            f"computer lacks: {', '.join(missing)}.")
    if packages:
        text += f"\nOn Debian/Ubuntu: sudo apt-get install {' '.join(packages)}"
    if others:
        text += "\n(Find the package of any other library with your distribution's package search.)"
    return text + ("\nThe README's \"Installing\" section lists every package the window needs. The commands "
                   "work without them: wecom-auditor --help.")


def check_xcb() -> str | None:
    """None when the window can open as far as the xcb libraries go, else the message to print."""
    if not uses_xcb():
        return None
    missing = missing_xcb_libraries()
    return xcb_message(missing) if missing else None
