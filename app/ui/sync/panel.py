"""A compact strip showing a running sync: phase, progress, counts, rate, ETA, Cancel.

It fits the main window's status bar or a dock. It appears only once a sync has run for 600 ms
(STYLE #5: short syncs flash nothing) and ends with a one-line summary.
"""

from __future__ import annotations

from PySide6.QtCore import QLocale, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from app.core.sync.pipeline import SyncProgress, SyncReport
from app.ui.language import error_sentence, pick

REVEAL_DELAY_MS = 600


def fill(text: str, *args) -> str:
    """Qt-style placeholders: %1, %2… replaced by ``args`` (from the highest, so %1 never eats %10);
    an exception is said in the window's language where the core wrote it in two (error_sentence)."""
    for i in range(len(args), 0, -1):
        arg = args[i - 1]
        text = text.replace(f"%{i}", error_sentence(arg) if isinstance(arg, BaseException) else str(arg))
    return text


class ElidedLabel(QLabel):
    """One line of plain text cut with "…" where it does not fit (a QLabel cuts it mid-glyph), the
    whole text in its tooltip. It asks for at most ``max_width`` pixels: the status bar's messages
    keep their room beside it."""

    def __init__(self, parent: QWidget | None = None, max_width: int = 380):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.max_width = max_width
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self.setToolTip(text)
        self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: N802
        hint = super().sizeHint()
        window = self.window()
        cap = min(self.max_width, max(160, window.width() * 3 // 10)) if window is not self else self.max_width
        return QSize(min(hint.width(), cap), hint.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(min(80, super().minimumSizeHint().width()), super().minimumSizeHint().height())

    def shown_text(self) -> str:
        """What is on screen: the text, or its beginning and "…"."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width())

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        painter.drawText(self.contentsRect(), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                         self.shown_text())


class SyncProgressPanel(QWidget):
    """Use :meth:`attach` with a SyncController (or feed the ``on_*`` slots yourself).

    Emits ``cancel_requested`` when the user clicks Cancel; the button then stays disabled.
    """

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._running = False
        self._cancelling = False
        self._last: SyncProgress | None = None
        self._failure_box: QMessageBox | None = None
        self.phase_label = QLabel(self)
        self.phase_label.setTextFormat(Qt.TextFormat.PlainText)
        font = self.phase_label.font()
        font.setBold(True)
        self.phase_label.setFont(font)
        self.bar = QProgressBar(self)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(90)
        self.bar.setMaximumHeight(14)
        self.details_label = ElidedLabel(self)
        self.note_label = QLabel(self)
        self.note_label.setTextFormat(Qt.TextFormat.PlainText)
        self.note_label.setStyleSheet("color: #9a6700;")
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.cancel_button.setToolTip(self.tr("Stop after the current batch; nothing stored is lost"))
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.close_button = QToolButton(self)
        self.close_button.setText("×")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip(self.tr("Hide"))
        self.close_button.clicked.connect(self._conceal)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.phase_label)
        layout.addWidget(self.bar)
        layout.addWidget(self.details_label, 1)
        layout.addWidget(self.note_label)
        layout.addWidget(self.cancel_button)
        layout.addWidget(self.close_button)
        self._reveal_timer = QTimer(self, singleShot=True, interval=REVEAL_DELAY_MS)
        self._reveal_timer.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse timer may fire 5 % early
        self._reveal_timer.timeout.connect(self._reveal)
        self._reset()
        self._host().setVisible(False)

    # ------------------------------------------------------------------ wiring
    def attach(self, controller) -> None:
        """Follow a SyncController: its start, progress, cancel, end and failure (shown in a message box)."""
        controller.sync_started.connect(self.on_started)
        controller.sync_progressed.connect(self.on_progress)
        controller.cancel_requested.connect(self.on_cancelling)
        controller.sync_finished.connect(self.on_finished)
        controller.sync_failed.connect(self.on_failed)
        self.cancel_requested.connect(controller.cancel)

    def is_running(self) -> bool:
        return self._running

    # ------------------------------------------------------------------ slots
    @Slot()
    @Slot(str)
    def on_started(self, corpid: str = "") -> None:
        self._reset()
        self._running = True
        self.phase_label.setText(self.tr("Starting…"))
        self._reveal_timer.start()

    @Slot(object)
    def on_progress(self, progress: SyncProgress) -> None:
        if not self._running and progress.phase != "done":  # fed without on_started: start the clock
            self.on_started()
        self._last = progress
        self.phase_label.setText(self._phase_text(progress.phase))
        self.details_label.setText(self._details(progress))
        self.setToolTip(self._tooltip(progress))
        if progress.retries:
            self.note_label.setText(fill(self.tr("%1 retries after temporary errors"), _n(progress.retries)))
            self.note_label.setToolTip(progress.note)
            self.note_label.show()
        if progress.phase == "media" and progress.media_total:
            self.bar.setRange(0, progress.media_total)
            self.bar.setValue(min(progress.media_done, progress.media_total))
        elif progress.phase == "done":  # the run is over (on_finished/on_failed then add the outcome)
            self._end()
        else:
            self.bar.setRange(0, 0)  # WeCom does not say how many entries remain: busy indicator

    @Slot()
    def on_cancelling(self) -> None:
        self._cancelling = True
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText(self.tr("Cancelling after the current batch…"))

    @Slot(object)
    def on_finished(self, report: SyncReport) -> None:
        self._end()
        self.phase_label.setText(self.tr("Done") if report.outcome == "succeeded" else self.tr("Cancelled"))
        self.details_label.setText(self._summary(report))

    @Slot(str, str)
    def on_failed(self, message_en: str, message_zh: str) -> None:
        self._end()
        self.phase_label.setText(self.tr("Sync failed"))
        self.details_label.setText(self.tr("The sync stopped; everything stored before the error is kept."))
        message = pick(message_en, message_zh)
        self.setToolTip(message)
        box = QMessageBox(QMessageBox.Icon.Critical, self.tr("Sync failed"), message,
                          QMessageBox.StandardButton.Ok, self.window())
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._failure_box = box
        box.open()  # window-modal, does not block the event loop

    # ------------------------------------------------------------------ text
    def phase_text(self) -> str:
        return self.phase_label.text()

    def details_text(self) -> str:
        return self.details_label.text()

    def _phase_text(self, phase: str) -> str:
        return {"starting": self.tr("Starting…"), "messages": self.tr("Fetching messages"),
                "media": self.tr("Downloading media"), "done": self.tr("Done")}.get(phase, phase)

    def _details(self, p: SyncProgress) -> str:
        eta = self._duration(p.eta_seconds) if p.eta_seconds is not None else self.tr("unknown")
        if p.phase == "media":
            # Rate and ETA first: in a narrow window the strip cuts the end of the line, not them.
            return fill(self.tr("%1 of %2 files · %6 files/s · ETA %7 · stored %3 · failed %4 · expired %5"),
                        _n(p.media_done), _n(p.media_total), _n(p.media_stored), _n(p.media_failed),
                        _n(p.media_expired), _n(round(p.rate)), eta)
        return fill(self.tr("%6/s · ETA %7 · seq %1 · fetched %2 · stored %3 · quarantined %4 · duplicates %5"),
                    _n(p.seq), _n(p.fetched), _n(p.stored), _n(p.quarantined), _n(p.duplicates),
                    _n(round(p.rate)), eta)

    def _tooltip(self, p: SyncProgress) -> str:
        lines = [fill(self.tr("Messages: seq %1, fetched %2, stored %3, quarantined %4, duplicates %5"),
                      _n(p.seq), _n(p.fetched), _n(p.stored), _n(p.quarantined), _n(p.duplicates)),
                 fill(self.tr("Media: %1 of %2 done, stored %3, failed %4, expired %5"),
                      _n(p.media_done), _n(p.media_total), _n(p.media_stored), _n(p.media_failed),
                      _n(p.media_expired))]
        if p.note:
            lines.append(p.note)
        return "\n".join(lines)

    def _summary(self, r: SyncReport) -> str:
        if r.outcome == "cancelled":
            return fill(self.tr("Cancelled after %1: %2 new messages stored; the next sync continues from seq %3."),
                        self._duration(r.seconds), _n(r.stored), _n(r.last_seq))
        return fill(self.tr("Finished in %1: %2 fetched, %3 new, %4 quarantined, %5 duplicates; "
                            "media %6 stored, %7 failed, %8 expired, %9 pending."),
                    self._duration(r.seconds), _n(r.fetched), _n(r.stored), _n(r.quarantined),
                    _n(r.duplicates), _n(r.media_stored), _n(r.media_failed), _n(r.media_expired),
                    _n(r.media_pending))

    def _duration(self, seconds: float) -> str:
        s = max(0, round(seconds))
        if s < 60:
            return fill(self.tr("%1 s"), s)
        if s < 3600:
            return fill(self.tr("%1 min %2 s"), s // 60, s % 60)
        return fill(self.tr("%1 h %2 min"), s // 3600, s % 3600 // 60)

    # ------------------------------------------------------------------ state
    def _reset(self) -> None:
        self._running = self._cancelling = False
        self._last = None
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText(self.tr("Cancel"))
        self.cancel_button.show()
        self.close_button.hide()
        self.note_label.clear()
        self.note_label.hide()
        self.details_label.clear()
        self.bar.setRange(0, 0)
        self.bar.show()

    def _end(self) -> None:
        self._running = False
        self._reveal_timer.stop()
        self.cancel_button.hide()
        self.bar.hide()
        self.note_label.hide()
        self.close_button.show()

    def _on_cancel_clicked(self) -> None:
        self.on_cancelling()
        self.cancel_requested.emit()

    def _host(self) -> QWidget:
        parent = self.parentWidget()
        return parent if isinstance(parent, QDockWidget) else self

    def _reveal(self) -> None:
        if self._running:
            self._host().setVisible(True)

    def _conceal(self) -> None:
        self._host().setVisible(False)


def _n(value: int) -> str:
    return QLocale().toString(int(value))
