"""Media in the viewer: thumbnails, the full image view, saving and opening copies.

Stored bytes are read only through ``MediaService`` and always off the GUI thread. Images are
decoded into a QImage by the worker (QImage, unlike QPixmap, may be made on any thread) and turned
into a QPixmap on the GUI thread.

Opening a file "externally" hands the desktop a *copy* made by ``MediaService.open_copy`` in a
private temporary folder, under a sanitised name, never the stored object; executables and scripts
are never opened, only saved.

What a person deliberately opens or saves goes through the audited calls of ``MediaService``: the
full image view ``view`` and "open with the system application" ``open_copy`` record
``media.open``, "Save as" ``save_to`` records ``media.save``. Thumbnails use the unrecorded ``read``
(they are page reads, like scrolling).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.archive import MediaRow
from app.core.media.service import safe_filename
from app.core.safe_text import display_name, display_text
from app.ui.language import error_sentence

from .. import temp_copies
from ..desktop import has_program_for
from ..tasks import run_task
from .model import weak_callback
from .render import EXECUTABLE_EXTS

THUMBNAIL_CACHE_SIZE = 400
MAX_IMAGE_BYTES = 48 * 2**20


def _decode(data: bytes, max_side: int | None) -> QImage:
    image = QImage.fromData(data)
    if image.isNull():
        raise ValueError("not an image Qt can read")
    if max_side and (image.width() > max_side or image.height() > max_side):
        image = image.scaled(max_side, max_side, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
    return image


class ThumbnailCache(QObject):
    """Scaled pictures of stored images and stickers by media id, loaded on request in the background.

    ``pixmap(id)`` answers from memory only; ``request(id, side)`` starts a load once and
    ``thumbnail_ready(id)`` follows (also when the load failed: ``failed(id)`` is then True).
    """

    thumbnail_ready = Signal("qint64")  # media id (a 64-bit snowflake)

    def __init__(self, media_service, actor: Actor, parent=None, capacity: int = THUMBNAIL_CACHE_SIZE):
        super().__init__(parent)
        self.media_service = media_service
        self.actor = actor
        self.capacity = capacity
        self._pixmaps: OrderedDict[int, QPixmap] = OrderedDict()
        self._loading: set[int] = set()
        self._failed_ids: set[int] = set()

    def pixmap(self, media_id: int) -> QPixmap | None:
        pm = self._pixmaps.get(media_id)
        if pm is not None:
            self._pixmaps.move_to_end(media_id)
        return pm

    def size_of(self, media_id: int) -> QSize | None:
        pm = self._pixmaps.get(media_id)
        return None if pm is None else pm.size() / pm.devicePixelRatio()

    def failed(self, media_id: int) -> bool:
        return media_id in self._failed_ids

    def is_loading(self, media_id: int) -> bool:
        return media_id in self._loading

    def request(self, media_id: int, max_side: int) -> None:
        if media_id in self._pixmaps or media_id in self._loading or media_id in self._failed_ids:
            return
        self._loading.add(media_id)
        service, actor = self.media_service, self.actor
        ratio = max(1.0, QGuiApplication.instance().devicePixelRatio()) if QGuiApplication.instance() else 1.0
        side = int(max_side * ratio)

        def load() -> QImage:
            return _decode(service.read(actor, media_id, limit=MAX_IMAGE_BYTES), side)

        run_task(self, load, weak_callback(self._loaded, media_id, ratio), weak_callback(self._failed, media_id))

    def _loaded(self, media_id: int, ratio: float, image: QImage) -> None:
        self._loading.discard(media_id)
        pm = QPixmap.fromImage(image)
        pm.setDevicePixelRatio(ratio)
        self._pixmaps[media_id] = pm
        while len(self._pixmaps) > self.capacity:
            self._pixmaps.popitem(last=False)
        self.thumbnail_ready.emit(media_id)

    def _failed(self, media_id: int, _exc: Exception) -> None:
        self._loading.discard(media_id)
        self._failed_ids.add(media_id)
        self.thumbnail_ready.emit(media_id)

    def clear(self) -> None:
        self._pixmaps.clear()
        self._failed_ids.clear()


class ImageViewDialog(QDialog):
    """A stored image at full size (fit to the window, or 100%), with "Save as…"."""

    def __init__(self, ctx, actor: Actor, media: MediaRow, title: str = "", parent=None):
        super().__init__(parent)
        self.ctx, self.actor, self.media = ctx, actor, media
        self.setWindowTitle(display_name(title) or self.tr("Image"))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._pixmap: QPixmap | None = None
        self._fit = True
        self.image_label = QLabel(self)
        self.image_label.setTextFormat(Qt.TextFormat.PlainText)
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setText(self.tr("Loading…"))
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.image_label)
        self.fit_button = QPushButton(self.tr("Actual size"), self)
        self.fit_button.setCheckable(True)
        self.fit_button.toggled.connect(self._toggle_fit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.save_button = buttons.addButton(self.tr("Save as…"), QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.fit_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.save_button.clicked.connect(lambda: MediaActions(ctx, actor, self).save_as(media))
        layout = QVBoxLayout(self)
        layout.addWidget(self.scroll)
        layout.addWidget(buttons)
        self.resize(900, 700)
        service, media_id = ctx.media, media.id

        def load() -> QImage:  # recorded as opened once it could be shown (not a file Qt cannot read)
            image = _decode(service.read(actor, media_id, limit=MAX_IMAGE_BYTES), None)
            service.viewed(actor, media_id)
            return image

        run_task(self, load, weak_callback(self._loaded), weak_callback(self._failed))

    def _loaded(self, image: QImage) -> None:
        self._pixmap = QPixmap.fromImage(image)
        self._show()

    def _failed(self, exc: Exception) -> None:
        self.image_label.setText(self.tr("This image cannot be shown: {error}").format(error=display_text(error_sentence(exc))))

    def _toggle_fit(self, actual: bool) -> None:
        self._fit = not actual
        self._show()

    def _show(self) -> None:
        if self._pixmap is None:
            return
        if self._fit:
            area = self.scroll.viewport().size() - QSize(4, 4)
            pm = self._pixmap
            if pm.width() > area.width() or pm.height() > area.height():
                pm = pm.scaled(area, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            self.image_label.setPixmap(pm)
        else:
            self.image_label.setPixmap(self._pixmap)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit:
            self._show()


def _ext_of(media: MediaRow) -> str:
    ext = (media.ext or "").lower()
    if not ext and media.filename and "." in media.filename:
        ext = media.filename.rsplit(".", 1)[1].lower()
    return ext


def suggested_name(media: MediaRow) -> str:
    """A safe file name for a save dialog: the original name, else kind + id + extension."""
    ext = _ext_of(media)
    fallback = f"{media.kind.lower()}_{media.id}" + (f".{ext}" if ext else "")
    return safe_filename(media.filename, fallback) if media.filename else fallback


class MediaActions(QObject):
    """Save a stored object where the user chooses, or open a temporary copy with the desktop."""

    finished = Signal(str)   # the path written
    failed = Signal(str)

    def __init__(self, ctx, actor: Actor, parent: QWidget):
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.parent_widget = parent

    def save_as(self, media: MediaRow, target: str | None = None) -> None:
        """Ask where (unless ``target`` is given) and copy the stored bytes there, off the GUI thread."""
        if target is None:
            caption = self.tr("Save voice message") if media.kind.lower().endswith("voice") else self.tr("Save as")
            target, _ = QFileDialog.getSaveFileName(self.parent_widget, caption, suggested_name(media))
            if not target:
                return
        service, actor = self.ctx.media, self.actor

        def copy() -> str:  # streamed; a copy that fails half-way is removed
            return str(service.save_to(actor, media.id, Path(target)))

        run_task(self, copy, weak_callback(self._saved), weak_callback(self._report))

    def _saved(self, path: str) -> None:
        self.finished.emit(path)

    def open_externally(self, media: MediaRow) -> None:
        """Open a temporary copy with the desktop's application for its type (not executables)."""
        if _ext_of(media) in EXECUTABLE_EXTS:
            plain_message(self.parent_widget, QMessageBox.Icon.Information, self.tr("Open file"),
                          self.tr("Programs and scripts from messages are never opened. "
                                  "Use \"Save as…\" to keep a copy."))
            return
        service, actor = self.ctx.media, self.actor
        name = suggested_name(media)

        def copy() -> str:  # not recorded yet: only a copy a program takes was opened
            if has_program_for(name) is False:
                return ""
            folder = temp_copies.new_folder()  # removed at quit (app.py), or at the next start
            try:
                return str(service.save_copy(actor, media.id, folder))
            except BaseException:
                temp_copies.discard(folder)
                raise

        run_task(self, copy, weak_callback(self._opened, media), weak_callback(self._report))

    def _opened(self, media: MediaRow, path: str) -> None:
        if not path or not QDesktopServices.openUrl(QUrl.fromLocalFile(path)):
            if path:
                temp_copies.discard(Path(path).parent)
            self._no_program(media)
            return
        service, actor, media_id = self.ctx.media, self.actor, media.id
        run_task(self, lambda: service.opened_externally(actor, media_id), lambda _r: self.finished.emit(path),
                 weak_callback(self._report_record))

    def _no_program(self, media: MediaRow) -> None:
        ext = display_name(_ext_of(media))
        first = self.tr("No program on this computer opens .{ext} files.").format(ext=ext) if ext else \
            self.tr("No program on this computer opens files of this type.")
        self.failed.emit("no program")
        plain_message(self.parent_widget, QMessageBox.Icon.Information, self.tr("Open file"),
                      first + " " + self.tr("Nothing was opened, and nothing is recorded as opened. Use "
                                            "\"Save as…\" to keep a copy, or install a program for this type."))

    def _report_record(self, exc: Exception) -> None:
        self.failed.emit(str(exc))
        plain_message(self.parent_widget, QMessageBox.Icon.Warning, self.tr("Media"),
                      self.tr("The file was opened, but this could not be recorded: {error}")
                      .format(error=display_text(error_sentence(exc))))

    def _report(self, exc: Exception) -> None:
        self.failed.emit(str(exc))
        plain_message(self.parent_widget, QMessageBox.Icon.Warning, self.tr("Media"),
                      self.tr("The file could not be copied: {error}").format(error=display_text(error_sentence(exc))))


def plain_message(parent: QWidget, icon, title: str, text: str) -> None:
    """A message box whose text is never taken for rich text (file names and errors come from data)."""
    box = QMessageBox(icon, title, "", QMessageBox.StandardButton.Ok, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
