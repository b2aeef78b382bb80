"""What the desktop can open: whether a program is set for a file's type, asked before a copy of
message content is made (and recorded as opened) for it.

On Linux and the BSDs ``QDesktopServices.openUrl`` hands the file to xdg-open and says True as soon
as that started, whether or not any program takes the type (an .amr voice message, a .silk file):
"Open" then did nothing, silently, and the audit trail said the file was opened. ``xdg-mime query
default`` names the program the desktop would use. Elsewhere (Windows, macOS) ``openUrl`` itself says
False when no program is associated, so the answer there is "unknown" and openUrl decides.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

from PySide6.QtCore import QMimeDatabase


def mime_type_of(filename: str) -> str:
    """The MIME type of a file name by its extension ("application/octet-stream" when unknown)."""
    return QMimeDatabase().mimeTypeForFile(filename, QMimeDatabase.MatchMode.MatchExtension).name()


def has_program_for(filename: str) -> bool | None:
    """True if the desktop has a program for ``filename``'s type, False if it has none, None if this
    cannot be told here (not an XDG desktop, or xdg-mime missing). Runs a process: not on the GUI thread."""
    if sys.platform in ("win32", "darwin"):
        return None
    xdg_mime = shutil.which("xdg-mime")
    if xdg_mime is None:
        return None
    mime = mime_type_of(filename)
    try:
        out = subprocess.run([xdg_mime, "query", "default", mime], capture_output=True, text=True, timeout=10,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.stdout.strip())
