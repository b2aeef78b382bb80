"""Reading stored media for the viewer and exports, through the storage interface only."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select

from app.core.actor import Actor
from app.core.store.db import Database
from app.core.store.models import STORED, Media

from .storage import MediaNotFoundError, MediaStorage

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*\u202a-\u202e\u2066-\u2069]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_filename(name: str | None, fallback: str) -> str:
    """A file name safe to create on any OS, from a name in a message (which is never trusted)."""
    cleaned = _UNSAFE.sub("_", name or "").strip(" .")
    stem = cleaned.split(".")[0].upper()
    if not cleaned or stem in _RESERVED:
        cleaned = f"{fallback}_{cleaned}" if cleaned else fallback
    return cleaned[:180]


class MediaService:
    def __init__(self, db: Database, storage: MediaStorage):
        self.db = db
        self.storage = storage

    def _stored(self, media_id: int):
        with self.db.read() as conn:
            row = conn.execute(select(Media.storage_key, Media.status, Media.filename, Media.ext, Media.kind)
                               .where(Media.id == media_id)).first()
        if row is None or row.status != STORED or not row.storage_key:
            raise MediaNotFoundError(f"media {media_id} is not stored", backend=self.storage.name)
        return row

    def open(self, actor: Actor, media_id: int) -> BinaryIO:
        """The stored bytes as a stream (the caller closes it)."""
        return self.storage.open(self._stored(media_id).storage_key)

    def read(self, actor: Actor, media_id: int, limit: int = 64 * 2**20) -> bytes:
        """The whole object, for small media such as images (refuses objects above ``limit``)."""
        with self.open(actor, media_id) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise ValueError(f"media {media_id} is larger than {limit} bytes; stream it instead")
        return data

    def save_copy(self, actor: Actor, media_id: int, folder: Path) -> Path:
        """Copy the object into ``folder`` under a safe version of its original name."""
        row = self._stored(media_id)
        fallback = f"media_{media_id}" + (f".{row.ext}" if row.ext else "")
        target = Path(folder) / safe_filename(row.filename, fallback)
        if not row.filename and row.ext:
            target = Path(folder) / fallback
        folder.mkdir(parents=True, exist_ok=True)
        with self.storage.open(row.storage_key) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
        return target
