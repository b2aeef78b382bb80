"""``SyncCancelled``, in a module of its own: the pipeline raises and catches it, and so does its media
step, which the pipeline imports (so the media step cannot import the pipeline)."""

from __future__ import annotations


class SyncCancelled(Exception):
    """The run stopped at a safe point because it was asked to; what was written is kept."""
