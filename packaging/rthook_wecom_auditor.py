# PyInstaller runtime hook: runs in the frozen app before app/__main__.py.
#
# The bootloader may point the dynamic loader at the bundle (LD_LIBRARY_PATH on Linux, keeping the
# user's own value in LD_LIBRARY_PATH_ORIG). That is right for this process, which has started
# already, but wrong for the system programs the app runs (xdg-open for media, fc-match, git): they
# would load the bundle's copies of libraries. The bundle's own children (`--child-process`) go
# through the bootloader again and get the bundle's path back by themselves.
import os
import sys

if sys.platform.startswith("linux"):
    _orig = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if _orig is not None:
        os.environ["LD_LIBRARY_PATH"] = _orig
    elif os.environ.get("LD_LIBRARY_PATH") == getattr(sys, "_MEIPASS", None):
        del os.environ["LD_LIBRARY_PATH"]
