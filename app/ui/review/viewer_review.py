"""The review in the message viewer: tag chips under the bubbles, keys 1–9 to toggle the tag set's
tags on the selected messages, J / K to the next / previous message not yet reviewed, "Mark
reviewed up to here" and the tag menu in a message's context menu.

Attached to a :class:`~app.ui.viewer.MessageViewer` from outside (it sets the delegate's
``annotations`` and adds to ``menu_extensions``), so the viewer knows nothing of the review. Every
read and write runs off the GUI thread (run_task); the core checks permission and scope and records
each change in the audit trail; a refusal comes back as a sentence on :attr:`notice`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractItemView, QMenu

from app.core.actor import Actor
from app.core.auth import REVIEW_WRITE, can
from app.core.review import MessageReview, NoteRow, TagRow

from ..counts import count_text
from ..tasks import run_task
from .common import menu_text, refusal_text, review_of, tag_label

LOAD_DELAY_MS = 60  # pages arrive in bursts while scrolling: one read after them


class ViewerReview(QObject):
    """Review marks of the viewer's messages, and the actions on them (GUI thread only)."""

    changed = Signal()  # this reviewer changed the review (tags, marks, notes): others reload
    notice = Signal(str)  # a sentence for the status bar: what was done, or why not
    loaded = Signal()  # the marks of the messages shown were read
    current_changed = Signal()  # the message the notes follow changed

    def __init__(self, ctx, actor: Actor, viewer, parent: QObject | None = None):
        super().__init__(parent)
        self.ctx, self.actor, self.viewer = ctx, actor, viewer
        self.review = review_of(ctx)
        self.can_write = can(actor, REVIEW_WRITE)
        self.tag_set: list[TagRow] = []  # every tag, disabled ones too (links to them still show)
        self._by_id: dict[int, TagRow] = {}
        self._key: tuple[int, str] | None = None  # the session the marks below are of
        self._tags: dict[int, list[int]] = {}
        self._session_tags: list[int] = []
        self._states: dict[int, MessageReview] = {}
        self._mine: tuple[int, int] | None = None  # my "reviewed up to here" mark in this session
        self._notes: list[NoteRow] = []
        self._generation = 0

        viewer.delegate.annotations = self
        viewer.menu_extensions.append(self._extend_menu)
        self._timer = QTimer(self, singleShot=True, interval=LOAD_DELAY_MS)
        self._timer.timeout.connect(self.reload)
        model = viewer.model
        for signal in (model.window_opened, model.window_changed, model.rowsInserted, model.modelReset):
            signal.connect(lambda *_: self._timer.start())
        viewer.view.selectionModel().currentChanged.connect(lambda *_: self.current_changed.emit())

        view = viewer.view
        self.shortcuts = []
        for n in range(1, 10):
            self.shortcuts.append(QShortcut(QKeySequence(str(n)), view, lambda n=n: self.toggle_tag(n - 1),
                                            context=Qt.ShortcutContext.WidgetShortcut))
        self.shortcuts.append(QShortcut(QKeySequence("J"), view, lambda: self.next_unreviewed(),
                                        context=Qt.ShortcutContext.WidgetShortcut))
        self.shortcuts.append(QShortcut(QKeySequence("K"), view, lambda: self.next_unreviewed(backwards=True),
                                        context=Qt.ShortcutContext.WidgetShortcut))
        self.load_tag_set()

    # ------------------------------------------------------------------ reading
    def load_tag_set(self) -> None:
        tags, actor = self.review.tags, self.actor
        run_task(self, lambda: tags.tags(actor, include_disabled=True), self.set_tag_set,
                 lambda exc: self.notice.emit(refusal_text(exc)))

    def set_tag_set(self, tags: list[TagRow]) -> None:
        self.tag_set = list(tags)
        self._by_id = {t.id: t for t in tags}
        self._redraw(set(self._tags))

    def enabled_tags(self) -> list[TagRow]:
        """The tags keys 1–9 toggle, in the tag set's order."""
        return [t for t in self.tag_set if not t.disabled]

    def session(self) -> tuple[int, str] | None:
        v = self.viewer
        if v.corp_id is None or v.session_id is None or v._denied:
            return None
        return v.corp_id, v.session_id

    def reload(self) -> None:
        """Read the review marks of the messages the viewer holds (off the GUI thread)."""
        key = self.session()
        if key is None:
            self._key = None
            return
        model = self.viewer.model
        messages = [(m.id, m.msgtime) for m in (model.message_at(r) for r in range(model.rowCount()))]
        self._generation += 1
        generation, review, actor = self._generation, self.review, self.actor

        def read():
            corp, sid = key
            ids = [i for i, _t in messages]
            tags = review.tags.of_messages(actor, corp, sid, ids) if ids else {}
            session_tags = review.tags.of_session(actor, corp, sid)
            states = review.status.of_messages(actor, corp, sid, messages) if messages else {}
            mine = review.status.session_review(actor, corp, sid).mine
            notes = review.notes.of_session(actor, corp, sid)
            return tags, session_tags, states, (mine.upto_msgtime, mine.upto_id) if mine else None, notes

        def done(result) -> None:
            if generation != self._generation or key != self.session():
                return
            before = {i: self.chips(i) for i in self._tags} if self._key == key else {}
            self._key = key
            self._tags, self._session_tags, self._states, self._mine, self._notes = result
            self._redraw({i for i in self._tags if self.chips(i) != before.get(i, ())})
            self.loaded.emit()
            self.current_changed.emit()

        run_task(self, read, done, lambda exc: self.notice.emit(refusal_text(exc)))

    def _redraw(self, message_ids) -> None:
        model, delegate = self.viewer.model, self.viewer.delegate
        for mid in message_ids:
            row = model.row_of(mid)
            if row >= 0:
                delegate.sizeHintChanged.emit(model.index(row))

    # ------------------------------------------------------------------ what the delegate asks
    def chips(self, message_id: int) -> tuple:
        """(text, colour) of the chips under a bubble: its tags, its notes, and "New" when it came
        after my last "reviewed up to here" mark and is not reviewed."""
        if self._key is None or self._key != self.session():
            return ()
        out = [(tag_label(t), t.colour) for t in (self._by_id.get(i) for i in self._tags.get(message_id, ())) if t]
        notes = sum(1 for n in self._notes if n.message_id == message_id)
        if notes:
            out.append(("✎ " + count_text(notes, self.tr("1 note"), self.tr("%1 notes")), ""))
        if self.is_new(message_id):
            out.append((self.tr("New"), ""))
        return tuple(out)

    def tags_of(self, message_id: int) -> list[TagRow]:
        return [t for t in (self._by_id.get(i) for i in self._tags.get(message_id, ())) if t]

    def state_of(self, message_id: int) -> MessageReview | None:
        return self._states.get(message_id)

    def is_new(self, message_id: int) -> bool:
        if self._mine is None:
            return False
        state = self._states.get(message_id)
        if state is not None and state.status == "reviewed":
            return False
        row = self.viewer.model.row_of(message_id)
        if row < 0:
            return False
        m = self.viewer.model.message_at(row)
        return (m.msgtime, m.id) > self._mine

    def notes(self) -> list[NoteRow]:
        return list(self._notes)

    # ------------------------------------------------------------------ the selection
    def selected_ids(self) -> list[int]:
        view, model = self.viewer.view, self.viewer.model
        rows = sorted({ix.row() for ix in view.selectionModel().selectedIndexes()})
        if not rows and view.currentIndex().isValid():
            rows = [view.currentIndex().row()]
        return [model.message_at(r).id for r in rows]

    def current_id(self) -> int | None:
        return self.viewer.current_message_id()

    # ------------------------------------------------------------------ actions
    def toggle_tag(self, position: int, message_ids: list[int] | None = None) -> bool:
        """Put the ``position``-th enabled tag (0 = key 1) on the selected messages, or take it off
        if they all carry it; False if there is no such tag or nothing is selected."""
        tags = self.enabled_tags()
        key = self.session()
        ids = message_ids if message_ids is not None else self.selected_ids()
        if key is None or not ids or not (0 <= position < len(tags)):
            return False
        tag = tags[position]
        if not self.can_write:
            self.notice.emit(self.tr("Your account may read the review but not tag."))
            return False
        have = all(tag.id in self._tags.get(i, ()) for i in ids)
        if have and tag.id in self._session_tags:
            self.notice.emit(self.tr("“%1” is on the whole conversation: take it off there (the conversation's "
                                     "menu in the tree).").replace("%1", tag_label(tag)))
            return False
        tags_service, actor = self.review.tags, self.actor

        def done(changed: int) -> None:
            text = (count_text(changed, self.tr("Tagged 1 message “%2”."), self.tr("Tagged %1 messages “%2”."))
                    if not have else count_text(changed, self.tr("Took “%2” off 1 message."),
                                                self.tr("Took “%2” off %1 messages.")))
            self.notice.emit(text.replace("%2", tag_label(tag)))
            self.after_change()

        run_task(self, lambda: tags_service.tag(actor, tag.key, message_ids=ids, remove=have), done,
                 lambda exc: self.notice.emit(refusal_text(exc)))
        return True

    def mark_reviewed_here(self, message_id: int | None = None) -> bool:
        """"Mark reviewed up to here": my mark moves to this message (the current one by default)."""
        key = self.session()
        mid = message_id if message_id is not None else self.current_id()
        if key is None or mid is None:
            return False
        status, actor = self.review.status, self.actor

        def done(state) -> None:
            after = state.unreviewed_after_marks
            self.notice.emit(self.tr("Reviewed up to this message.") + (
                " " + count_text(after, self.tr("1 message after it is not reviewed yet."),
                                 self.tr("%1 messages after it are not reviewed yet.")) if after else ""))
            self.after_change()

        run_task(self, lambda: status.mark_reviewed(actor, key[0], key[1], upto_message_id=mid), done,
                 lambda exc: self.notice.emit(refusal_text(exc)))
        return True

    def next_unreviewed(self, backwards: bool = False) -> bool:
        """Go to the next (previous) message not yet reviewed, like a mail client's J / K."""
        key = self.session()
        if key is None:
            return False
        model = self.viewer.model
        current = self.current_id()
        position = None
        if current is not None and model.row_of(current) >= 0:
            m = model.message_at(model.row_of(current))
            position = (m.msgtime, m.id)
        status, actor = self.review.status, self.actor

        def done(mid) -> None:
            if key != self.session():
                return
            if mid is None:
                self.notice.emit(self.tr("No earlier message is unreviewed.") if backwards
                                 else self.tr("No later message is unreviewed."))
                return
            self.go_to(mid)

        run_task(self, lambda: status.next_unreviewed(actor, key[0], key[1], position, backwards=backwards), done,
                 lambda exc: self.notice.emit(refusal_text(exc)))
        return True

    def go_to(self, message_id: int) -> None:
        """Make ``message_id`` the current message, loading its page if it is not in the window (a
        page read of the open conversation: not recorded)."""
        v = self.viewer
        row = v.model.row_of(message_id)
        if row >= 0:
            index = v.model.index(row)
            v.view.setCurrentIndex(index)
            v.view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
            return
        key = self.session()
        if key is not None:
            v.model.open_at_message(key[0], key[1], message_id)

    def after_change(self) -> None:
        self.reload()
        self.changed.emit()

    # ------------------------------------------------------------------ the context menu
    def _extend_menu(self, menu: QMenu, message_id: int) -> None:
        if self.session() is None:
            return
        menu.addSeparator()
        tag_menu = menu.addMenu(self.tr("Tag"))
        on = {t.id for t in self.tags_of(message_id)}
        for n, tag in enumerate(self.enabled_tags()):
            action = tag_menu.addAction(menu_text(tag_label(tag)) + (f"\t{n + 1}" if n < 9 else ""))
            action.setCheckable(True)
            action.setChecked(tag.id in on)
            action.setEnabled(self.can_write)
            action.triggered.connect(lambda _c=False, n=n: self.toggle_tag(n, self._menu_targets(message_id)))
        mark = menu.addAction(self.tr("Mark reviewed up to here"), lambda: self.mark_reviewed_here(message_id))
        mark.setEnabled(self.can_write)
        menu.addAction(self.tr("Next unreviewed") + "\tJ", lambda: self.next_unreviewed())
        menu.addAction(self.tr("Previous unreviewed") + "\tK", lambda: self.next_unreviewed(backwards=True))

    def _menu_targets(self, message_id: int) -> list[int]:
        ids = self.selected_ids()
        return ids if message_id in ids else [message_id]
