"""The message viewer: one session's messages as chat bubbles, with details and media.

``MessageViewer`` (widget.py) is what the main window embeds; ``MessageListModel`` (model.py) is the
lazy window of rows; ``MessageDelegate`` (delegate.py) lays out and paints them from the blocks
``render.py`` makes of each message; ``MessageDetailsDialog`` (details.py) shows the raw JSON and
its SHA-256; media_view.py has thumbnails, the image view and saving/opening copies.
"""

from .delegate import MessageDelegate
from .details import MessageDetailsDialog
from .model import MessageListModel, Roles
from .widget import MessageViewer

__all__ = ["MessageViewer", "MessageListModel", "MessageDelegate", "MessageDetailsDialog", "Roles"]
