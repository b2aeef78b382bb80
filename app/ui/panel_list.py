"""The app's dockable panels, in View-menu order (see app/ui/panels.py). Add a panel here."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP

from app.core.auth import ARCHIVE_STATUS, REVIEW_READ
from app.core.auth.roles import EXPORT_CREATE, MESSAGES_READ

from .panels import PanelSpec, register_panel


def _quarantine(ctx, actor, navigator, parent):
    from .quarantine_panel import QuarantinePanel

    return QuarantinePanel(ctx, actor, navigator, parent)


register_panel(PanelSpec("quarantine", QT_TRANSLATE_NOOP("Panels", "Quarantine"), _quarantine, ARCHIVE_STATUS,
                         "Ctrl+Shift+Q"))


def _directory(ctx, actor, navigator, parent):
    from .directory_panel import DirectoryPanel

    return DirectoryPanel(ctx, actor, navigator, parent)


def _archived_staff(ctx, actor, navigator, parent):
    from .compliance_panels import ArchivedStaffPanel

    return ArchivedStaffPanel(ctx, actor, navigator, parent)


def _consent(ctx, actor, navigator, parent):
    from .compliance_panels import ConsentPanel

    return ConsentPanel(ctx, actor, navigator, parent)


register_panel(PanelSpec("directory", QT_TRANSLATE_NOOP("Panels", "Directory"), _directory, ARCHIVE_STATUS,
                         "Ctrl+Shift+D"))
register_panel(PanelSpec("archived-staff", QT_TRANSLATE_NOOP("Panels", "Archived staff"), _archived_staff,
                         ARCHIVE_STATUS, "Ctrl+Shift+A"))
register_panel(PanelSpec("consent", QT_TRANSLATE_NOOP("Panels", "Consent"), _consent, ARCHIVE_STATUS,
                         "Ctrl+Shift+N"))


def _server(ctx, actor, navigator, parent):
    from .server_panel import ServerPanel

    return ServerPanel(ctx, actor, navigator, parent)


register_panel(PanelSpec("server", QT_TRANSLATE_NOOP("Panels", "Server"), _server, ARCHIVE_STATUS, "Ctrl+Shift+S"))


def _review(ctx, actor, navigator, parent):
    from .review.panel import ReviewPanel

    return ReviewPanel(ctx, actor, navigator, parent)


register_panel(PanelSpec("review", QT_TRANSLATE_NOOP("Panels", "Review"), _review, REVIEW_READ, "Ctrl+Shift+R"))


def _statistics(ctx, actor, navigator, parent):
    from .statistics_panel import StatisticsPanel

    return StatisticsPanel(ctx, actor, navigator, parent)


def _timeline(ctx, actor, navigator, parent):
    from .timeline_panel import TimelinePanel

    return TimelinePanel(ctx, actor, navigator, parent)


def _members(ctx, actor, navigator, parent):
    from .members_panel import GroupMembersPanel

    return GroupMembersPanel(ctx, actor, navigator, parent)


def _print(ctx, actor, navigator, parent):
    from .print_panel import PrintPanel

    return PrintPanel(ctx, actor, navigator, parent)


register_panel(PanelSpec("statistics", QT_TRANSLATE_NOOP("Panels", "Statistics"), _statistics, MESSAGES_READ,
                         "Ctrl+Shift+C"))
register_panel(PanelSpec("timeline", QT_TRANSLATE_NOOP("Panels", "Person timeline"), _timeline, MESSAGES_READ,
                         "Ctrl+Shift+T"))
register_panel(PanelSpec("group-members", QT_TRANSLATE_NOOP("Panels", "Group members"), _members, MESSAGES_READ,
                         "Ctrl+Shift+G"))
register_panel(PanelSpec("print", QT_TRANSLATE_NOOP("Panels", "Print conversation"), _print, EXPORT_CREATE,
                         "Ctrl+Shift+P"))
