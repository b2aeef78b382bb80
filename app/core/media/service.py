"""Reading stored media for the viewer and exports, through the storage interface only."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Row, select

from app.core.actor import Actor
from app.core.auth import roles as R
from app.core.auth.audit import Action, AuditTrail
from app.core.auth.errors import PermissionDenied
from app.core.auth.scope import message_condition
from app.core.store.db import Database
from app.core.store.models import STORED, Media, Message

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
    """Stored media by id, read from the backend each media row names.

    ``storage`` serves every row when no ``resolve`` is given; ``resolve(backend_name)`` gives the
    backend of a row (``AppContext.storage_for``: the one in use, or the one a row was stored in
    before a switch or a migration finished), opened only when a file is read. Reads stream: a
    cloud object is never held whole in memory (``read`` excepted, which is for small images).

    Every read needs ``media.read`` (the reviewer role) and a file of a message in the actor's scope
    (PermissionDenied, recorded, otherwise). ``open``/``read``/``save_copy``/``signed_url`` are not
    recorded (thumbnails, exports); what a person deliberately opens or saves goes through
    :meth:`view` / :meth:`open_copy` (``media.open``) and :meth:`save_to` (``media.save``).
    """

    def __init__(self, db: Database, storage: MediaStorage | None = None, *,
                 resolve: Callable[[str | None], MediaStorage] | None = None, trail: AuditTrail | None = None):
        if storage is None and resolve is None:
            raise ValueError("MediaService needs a storage or a resolve function")
        self.db = db
        self.trail = trail or AuditTrail(db)
        self.storage = storage
        self._resolve = resolve

    def _stored(self, media_id: int) -> Row[*tuple[Any, ...]]:
        with self.db.read() as conn:
            row = conn.execute(select(Media.storage_key, Media.storage_backend, Media.status, Media.filename,
                                      Media.ext, Media.kind)
                               .where(Media.id == media_id)).first()
        if row is None or row.status != STORED or not row.storage_key:
            raise MediaNotFoundError(f"media {media_id} is not stored",
                                     backend=row.storage_backend if row is not None and row.storage_backend else "media")
        return row

    def _backend(self, row: Row[*tuple[Any, ...]]) -> MediaStorage:
        if self._resolve is not None:
            return self._resolve(row.storage_backend)
        assert self.storage is not None  # __init__ wants one of the two
        return self.storage

    def _check(self, actor: Actor, media_id: int, action: str = Action.MEDIA_OPEN) -> Row[*tuple[Any, ...]]:
        """``media.read`` and the scope, refusals recorded as ``action``; the stored row."""
        self.trail.require(actor, R.MEDIA_READ, action=action, object_type="media", object=str(media_id))
        row = self._stored(media_id)
        if actor.scope is not None:
            with self.db.read() as conn:
                found = conn.execute(select(Media.id).join(Message, Message.id == Media.message_id).where(
                    Media.id == media_id, message_condition(self.db, actor.scope)).limit(1)).first()
            if found is None:
                error = PermissionDenied(f"media {media_id} belongs to a session outside the scope of account "
                                         f"'{actor.username}'", f"媒体 {media_id} 所属的会话不在账号“{actor.username}”的范围内",
                                         username=actor.username, permission="scope")
                self.trail.refuse(actor, action, error, object_type="media", object=str(media_id))
        return row

    def open(self, actor: Actor, media_id: int) -> BinaryIO:
        """The stored bytes as a stream (the caller closes it). Not recorded: see :meth:`view`."""
        row = self._check(actor, media_id)
        return self._backend(row).open(row.storage_key)

    def signed_url(self, actor: Actor, media_id: int, expires_in: int = 3600) -> str:
        """A URL that reads the stored object for ``expires_in`` seconds (a ``file://`` URL for the local
        folder), for whatever needs a URL rather than the bytes; it grants access to anyone holding it."""
        row = self._check(actor, media_id)
        return self._backend(row).signed_url(row.storage_key, expires_in)

    def read(self, actor: Actor, media_id: int, limit: int = 64 * 2**20) -> bytes:
        """The whole object, for small media such as images (refuses objects above ``limit``)."""
        with self.open(actor, media_id) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise ValueError(f"media {media_id} is larger than {limit} bytes; stream it instead")
        return data

    def save_copy(self, actor: Actor, media_id: int, folder: Path) -> Path:
        """Copy the object into ``folder`` under a safe version of its original name (streamed; a copy
        that fails half-way is removed). Not recorded: see :meth:`open_copy` and :meth:`save_to`."""
        row = self._check(actor, media_id)
        fallback = f"media_{media_id}" + (f".{row.ext}" if row.ext else "")
        target = Path(folder) / safe_filename(row.filename, fallback)
        if not row.filename and row.ext:
            target = Path(folder) / fallback
        folder.mkdir(parents=True, exist_ok=True)
        try:
            with self._backend(row).open(row.storage_key) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return target

    # ------------------------------------------------------------------ what a person opens or saves
    def _media_detail(self, media_id: int) -> dict[str, object]:
        with self.db.read() as conn:
            r = conn.execute(select(Media.msgid, Media.kind, Media.sha256).where(Media.id == media_id)).first()
        return {"media_id": media_id, "msgid": r.msgid, "kind": r.kind, "sha256": r.sha256} if r else {}

    def view(self, actor: Actor, media_id: int, limit: int = 64 * 2**20) -> bytes:
        """The whole object for the app's own viewer (an image shown full size): :meth:`read`, and
        records ``media.open``."""
        data = self.read(actor, media_id, limit)
        self._record_viewed(actor, media_id)
        return data

    def viewed(self, actor: Actor, media_id: int) -> None:
        """Record ``media.open`` for an object the app's own viewer has shown after reading it with
        :meth:`read` (a picture that cannot be decoded was not seen, so the caller records only
        once it could show it)."""
        self._check(actor, media_id)
        self._record_viewed(actor, media_id)

    def _record_viewed(self, actor: Actor, media_id: int) -> None:
        self.trail.record(actor, Action.MEDIA_OPEN, object_type="media", object=str(media_id),
                          detail={**self._media_detail(media_id), "how": "viewer"})

    def open_copy(self, actor: Actor, media_id: int, folder: Path) -> Path:
        """A copy in ``folder`` (e.g. a fresh temporary folder) for the desktop's application to
        open: :meth:`save_copy`, and records ``media.open``."""
        path = self.save_copy(actor, media_id, Path(folder))
        self._record_open_copy(actor, media_id)
        return path

    def opened_externally(self, actor: Actor, media_id: int) -> None:
        """Record ``media.open`` for a copy (made by :meth:`save_copy`) that the desktop's application
        has taken: a caller that can tell whether a program opened it records only then (a copy no
        program opens was not read)."""
        self._check(actor, media_id)
        self._record_open_copy(actor, media_id)

    def _record_open_copy(self, actor: Actor, media_id: int) -> None:
        self.trail.record(actor, Action.MEDIA_OPEN, object_type="media", object=str(media_id),
                          detail={**self._media_detail(media_id), "how": "external application"})

    def save_to(self, actor: Actor, media_id: int, target: Path) -> Path:
        """Save the object as ``target`` (the file a person chose), streamed; a copy that fails
        half-way is removed. Records ``media.save`` with the path."""
        target = Path(target)
        row = self._check(actor, media_id, Action.MEDIA_SAVE)
        with self._backend(row).open(row.storage_key) as src:
            try:
                with open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
            except BaseException:
                target.unlink(missing_ok=True)
                raise
        self.trail.record(actor, Action.MEDIA_SAVE, object_type="media", object=str(media_id),
                          detail={**self._media_detail(media_id), "path": str(target)})
        return target
