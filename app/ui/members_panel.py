"""A group conversation's member list: names and ids, when and how each joined and who invited them
(as WeCom reported at the last directory sync), who has left the list, and who the archive has seen
in the group without WeCom listing them — with the messages each sent there.

It follows the conversation open in the window (``Navigator.session_shown``) when that is a group,
and any group of the archive can be chosen. Reads run on a pool thread through
app.core.directory.groups, within the account's scope. Double-clicking a staff member shows their
timeline; "Open conversation" shows the group.
"""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.context import AppContext
from app.core.directory.groups import GroupMember, GroupMembers, GroupMembersService
from app.core.safe_text import display_name, display_text
from app.ui.language import error_sentence

from .avatars import avatar_icon
from .counts import count_text
from .insight_common import CorpBox, ReadsWhenShown, local_time
from .panels import Navigator
from .sync.panel import fill
from .table_model import RowTableModel
from .tasks import run_task

SORT_ROLE = Qt.ItemDataRole.UserRole + 2


class MemberModel(RowTableModel[GroupMember]):
    COLUMNS = ("name", "userid", "kind", "joined", "how", "invitor", "sent", "last", "state")
    OBJECT_ROLE = Qt.ItemDataRole.UserRole + 1

    def __init__(self, ctx: AppContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.corp_id = 0
        self.owner = ""
        self._scenes = {"invited": self.tr("Invited by a member"), "link": self.tr("Through a link"),
                        "qrcode": self.tr("Scanned a QR code")}

    def _header_texts(self):
        return (self.tr("Name"), self.tr("Id"), self.tr("Staff or corp"), self.tr("Joined"), self.tr("How"),
                self.tr("Invited by"), self.tr("Messages here"), self.tr("Last message here"), self.tr("Membership"))

    def _display(self, m: GroupMember, column: str) -> str:
        if column == "name":
            name = display_name(m.name) if m.name else ""
            return fill(self.tr("%1 (owner)"), name or display_name(m.userid)) if m.userid == self.owner else name
        if column == "userid":
            return display_name(m.userid)
        if column == "kind":
            if m.kind == "external" or m.member_type == 2:
                return fill(self.tr("External %1"), display_name(m.corp_tag)) if m.corp_tag else self.tr("External")
            if m.kind == "staff" or m.member_type == 1:
                return fill(self.tr("Staff, %1"), display_name(m.organisation)) if m.organisation else self.tr("Staff")
            return ""
        if column == "joined":
            return local_time(m.join_time)
        if column == "how":
            return self._scenes.get(m.join_scene, "")
        if column == "invitor":
            return (f"{display_name(m.invitor_name)} ({display_name(m.invitor)})" if m.invitor_name
                    else display_name(m.invitor))
        if column == "sent":
            return str(m.sent)
        if column == "last":
            return local_time(m.last_sent)
        if m.left_seen_at is not None:
            return fill(self.tr("Left (not listed since %1)"), local_time(m.left_seen_at))
        return self.tr("Member") if m.listed else self.tr("Seen in the archive only")

    def _role_data(self, m: GroupMember, column: str, role: int):
        if role == SORT_ROLE:
            return {"joined": m.join_time or 0, "sent": m.sent, "last": m.last_sent or 0}.get(
                column, self._display(m, column))
        if role == Qt.ItemDataRole.DecorationRole and column == "name":
            return avatar_icon(self.ctx.directory.peek_avatar(self.corp_id, m.userid), m.name, m.userid, 18)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == "sent":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class GroupMembersPanel(ReadsWhenShown, QWidget):
    """The member list of a group conversation (see the module docstring)."""

    def __init__(self, ctx: AppContext, actor: Actor, navigator: Navigator, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.actor, self.navigator = ctx, actor, navigator
        self.service = GroupMembersService(ctx.db, ctx.directory, ctx.trail)
        self.group: GroupMembers | None = None
        self._generation = 0
        self._wanted: str | None = None  # the session shown in the window, to choose once the list is read
        self.corp_box = CorpBox(ctx, actor, self)
        self.group_box = QComboBox(self)
        self.group_box.setMinimumContentsLength(24)
        self.group_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.open_button = QPushButton(self.tr("Open conversation"), self)
        self.summary = QLabel(self)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.model = MemberModel(ctx, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(False)  # the owner first, then by join time, until a header is clicked
        self.table.horizontalHeader().sectionClicked.connect(lambda _s: self.table.setSortingEnabled(True))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(MemberModel.COLUMNS.index("kind"), QHeaderView.ResizeMode.Stretch)
        top = QHBoxLayout()
        top.addWidget(self.corp_box)
        top.addWidget(QLabel(self.tr("Group:"), self))
        top.addWidget(self.group_box, 1)
        top.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

        self.corp_box.loaded.connect(self._load_groups)
        self.corp_box.currentIndexChanged.connect(self._load_groups)
        self.group_box.currentIndexChanged.connect(lambda _i: self.load())
        self.open_button.clicked.connect(self.open_conversation)
        self.table.doubleClicked.connect(self._activated)
        navigator.session_shown.connect(self.follow)
        navigator.archive_changed.connect(self.archive_changed)

    def refresh(self) -> None:
        self.corp_box.reload()

    def _load_groups(self) -> None:
        corp_id = self.corp_box.corp_id()
        if corp_id is None:
            self.summary.setText(self.tr("The archive holds no corp yet."))
            return
        archive, directory, actor = self.ctx.archive, self.ctx.directory, self.actor

        def read():
            groups = archive.sessions(actor, corp_id, "group", limit=5000)
            return [(s.session_id, directory.name(actor, corp_id, s.roomid) or "", s.roomid) for s in groups]

        run_task(self, read, self._groups_read, self._failed)

    def _groups_read(self, groups) -> None:
        current = self._wanted or self.group_box.currentData()
        self.group_box.blockSignals(True)
        self.group_box.clear()
        for session_id, name, roomid in sorted(groups, key=lambda g: (not g[1], g[1], g[2])):
            self.group_box.addItem(display_name(name) if name else fill(self.tr("Group %1"), display_name(roomid)),
                                   session_id)
        i = self.group_box.findData(current) if current else -1
        self.group_box.setCurrentIndex(max(0, i) if self.group_box.count() else -1)
        self.group_box.blockSignals(False)
        self._wanted = None
        if not self.group_box.count():
            self.model.set_rows([])
            self.summary.setText(self.tr("No group conversations (or none in your scope)."))
            return
        self.load()

    def follow(self, corp_id: int, session_id: str) -> None:
        """The window shows ``session_id``: show its members if it is a group of the list."""
        if self.corp_box.count() == 0:  # not read yet (hidden until now): chosen once it is
            self._wanted = session_id
            return
        if corp_id != self.corp_box.corp_id():
            i = self.corp_box.findData(corp_id)
            if i < 0:
                return
            self._wanted = session_id
            self.corp_box.setCurrentIndex(i)
            return
        i = self.group_box.findData(session_id)
        if i >= 0:
            self.group_box.setCurrentIndex(i)
        elif self.group_box.count() == 0:
            self._wanted = session_id

    def select_group(self, session_id: str) -> bool:
        i = self.group_box.findData(session_id)
        if i >= 0:
            self.group_box.setCurrentIndex(i)
        return i >= 0

    def load(self) -> None:
        corp_id, session_id = self.corp_box.corp_id(), self.group_box.currentData()
        if corp_id is None or not session_id:
            return
        self._generation += 1
        generation = self._generation

        def read():
            group = self.service.group_members(self.actor, corp_id, session_id)
            for m in group.members if group else ():
                self.ctx.directory.avatar(self.actor, corp_id, m.userid)  # read here so that painting finds them
            return group

        run_task(self, read, lambda group: self._show(generation, corp_id, group), self._failed)

    def _failed(self, exc: Exception) -> None:
        self.summary.setText(fill(self.tr("The member list cannot be read: %1"), display_text(error_sentence(exc))))

    def _show(self, generation: int, corp_id: int, group: GroupMembers | None) -> None:
        if generation != self._generation:
            return
        self.group = group
        self.model.corp_id = corp_id
        self.model.owner = group.owner if group else ""
        self.table.setSortingEnabled(False)
        self.proxy.sort(-1)
        self.model.set_rows(group.members if group else [])
        for column in ("how", "invitor"):  # WeCom says these of customer groups only
            self.table.setColumnHidden(MemberModel.COLUMNS.index(column),
                                       not any(self.model._display(m, column) for m in self.model._rows))
        if group is None:
            self.summary.setText(self.tr("This group is not in the archive (or not in your scope)."))
            return
        listed = sum(1 for m in group.members if m.listed)
        left = sum(1 for m in group.members if m.left_seen_at is not None)
        only_archive = sum(1 for m in group.members if not m.listed and m.left_seen_at is None)
        kinds = {"internal": self.tr("internal group"), "customer": self.tr("customer group")}
        parts = [display_name(group.name) if group.name else display_name(group.roomid)]
        if group.kind in kinds:
            parts.append(kinds[group.kind])
        if group.owner:
            parts.append(fill(self.tr("owner %1"), display_name(group.owner_name or group.owner)))
        if group.created_time:
            parts.append(fill(self.tr("created %1"), local_time(group.created_time)))
        if group.described:
            parts.append(fill(self.tr("%1 as WeCom listed them on %2"),
                              count_text(listed, self.tr("1 member"), self.tr("%1 members")),
                              local_time(group.fetched_at)))
        else:
            parts.append(self.tr("WeCom has not described this group (Directory → Sync from WeCom): the people seen "
                                 "in its messages are listed"))
        if left:
            parts.append(count_text(left, self.tr("1 has left"), self.tr("%1 have left")))
        if only_archive and group.described:
            parts.append(count_text(only_archive, self.tr("1 more seen in the archive only"),
                                    self.tr("%1 more seen in the archive only")))
        self.summary.setText(" · ".join(parts))

    def _activated(self, index) -> None:
        m = self.model.row_object(self.proxy.mapToSource(index).row())
        if m.kind == "staff" or m.member_type == 1:
            self.navigator.person_requested.emit(self.model.corp_id, m.userid)

    def open_conversation(self) -> None:
        corp_id, session_id = self.corp_box.corp_id(), self.group_box.currentData()
        if corp_id is not None and session_id:
            self.navigator.open_session.emit(corp_id, session_id)


__all__ = ["GroupMembersPanel", "MemberModel"]
