"""The app's dockable panels, in View-menu order (see app/ui/panels.py). Add a panel here."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP

from app.core.auth import ARCHIVE_STATUS

from .panels import PanelSpec, register_panel


def _quarantine(ctx, actor, navigator, parent):
    from .quarantine_panel import QuarantinePanel

    return QuarantinePanel(ctx, actor, navigator, parent)


register_panel(PanelSpec("quarantine", QT_TRANSLATE_NOOP("Panels", "Quarantine"), _quarantine, ARCHIVE_STATUS,
                         "Ctrl+Shift+Q"))
