"""The review workflow in the window (issue 15; the core is app/core/review): the Review panel
(panel.py, registered in app/ui/panel_list.py), and what :func:`attach_review` adds to the main
window — chips, keys and menus in the viewer (viewer_review.py), the notes side panel (notes.py),
badges and a tag filter in the session tree (badges.py), tagging a conversation or a search's
results, and the open-alert count in the status bar (window.py); and the administrator's Review
settings dialog — tag set, policies, sampling rules (settings.py, its editors in settings_editors.py),
File → Review settings… (``review_settings_action``)."""

from .settings import review_settings_action
from .window import WindowReview, attach_review

__all__ = ["WindowReview", "attach_review", "review_settings_action"]
