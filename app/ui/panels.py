"""The window's extra panels: each registers itself once, the main window docks it.

A panel is a QWidget made by ``create(ctx, actor, navigator, parent)``. The main window makes one of
each registered panel the actor may use (``permission``), puts it in a dock (hidden until chosen in
the View menu, or by its shortcut), remembers where the user left it, and wires nothing else: a
panel that wants to show a conversation or a message asks the :class:`Navigator`, and hears of new
content from it. So adding a panel is its module, one :func:`register_panel` call in
:mod:`app.ui.panel_list`, and its translations — nothing in main_window.py.

The three panes of the archive (sessions | messages | search) are the window's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget


class Navigator(QObject):
    """What panels ask of the window, and what the window tells them (GUI thread only)."""

    open_session = Signal("qlonglong", str)  # corp id, session id: show that conversation
    open_message = Signal("qlonglong", str, "qlonglong")  # corp id, session id, message id
    archive_changed = Signal()  # a sync stored new entries (or ended): reload what is shown
    run_query = Signal(str)  # show this query's hits in the search panel (a saved search run)
    review_changed = Signal()  # tags, review status, notes or alerts changed: reload review marks
    session_shown = Signal("qlonglong", str)  # (window → panels) the viewer now shows this conversation
    person_requested = Signal("qlonglong", str)  # corp id, userid: show this staff member's timeline


@dataclass(frozen=True)
class PanelSpec:
    """One dockable panel. ``title`` is English source text, translated in the context "Panels"
    (list it in resources/i18n/zh_CN/*.json under "Panels")."""

    key: str  # stable: names the dock in the saved window state
    title: str
    create: Callable[..., QWidget]  # (ctx, actor, navigator, parent) -> the panel
    permission: str  # shown only to an actor who has it (app.core.auth permissions)
    shortcut: str = ""  # toggles the panel, e.g. "Ctrl+Shift+Q"


_PANELS: dict[str, PanelSpec] = {}


def register_panel(spec: PanelSpec) -> PanelSpec:
    """Add ``spec`` (a second registration of the same key replaces the first)."""
    _PANELS[spec.key] = spec
    return spec


def registered_panels() -> list[PanelSpec]:
    """The registered panels, in the order they were registered (their View menu order)."""
    from . import panel_list  # noqa: F401 - registers the app's panels

    return list(_PANELS.values())
