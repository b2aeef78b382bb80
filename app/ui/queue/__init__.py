"""The background jobs in the GUI: the queue view (``QueueDialog``) and the consumers that run jobs
while the window is open (``QueueRunner``)."""

from .dialog import QueueDialog
from .model import JOB_ROLE, JobsModel
from .runner import QueueRunner

__all__ = ["JOB_ROLE", "JobsModel", "QueueDialog", "QueueRunner"]
