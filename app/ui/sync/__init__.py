"""The sync in the GUI: a worker on its own QThread, its controller, the progress strip, the history."""

from app.core.sync.failures import describe_failure

from .history import SyncHistoryDialog, SyncRunsModel
from .panel import SyncProgressPanel
from .worker import SyncController

__all__ = ["SyncController", "SyncHistoryDialog", "SyncProgressPanel", "SyncRunsModel", "describe_failure"]
