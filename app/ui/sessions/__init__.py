"""The session tree: sessions by corp and type, newest activity first, filtered by participant."""

from .model import SessionRole, SessionTreeModel, format_activity_time
from .panel import SessionPanel

__all__ = ["SessionPanel", "SessionRole", "SessionTreeModel", "format_activity_time"]
