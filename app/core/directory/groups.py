"""The member list of a group conversation: who WeCom lists in the room (with join time, how they
joined and who invited them, as a directory sync read it; and who has left the list since), beside
who the archive has seen in it (entries sent, first and last).

Reading it needs ``messages.read`` and the conversation in the actor's scope: the member list of a
room a scoped account cannot open is not shown either (None, as for a room without a conversation).
Reads are not recorded (opening the conversation is).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, select

from app.core.actor import Actor
from app.core.auth import roles as R
from app.core.auth.audit import Action, AuditTrail
from app.core.auth.scope import session_condition
from app.core.store.db import Database
from app.core.store.models import DirectoryGroup, DirectoryGroupMember, Message, Session

from .names import Directory

#: WeCom's join_scene (externalcontact/groupchat/get): how a member joined
JOIN_SCENES = {1: "invited", 2: "link", 3: "qrcode"}


@dataclass(frozen=True)
class GroupMember:
    """One member. ``listed``: in WeCom's member list at the last directory sync (False: seen only
    in the archive's entries, or ``left_seen_at`` says when the list stopped naming them)."""

    userid: str
    name: str  # the directory's name now ("" where it has none)
    kind: str  # staff / external / room / robot / "" (unknown to the directory)
    organisation: str  # staff: department; external: their corp
    corp_tag: str  # external: "@微信" / "@<corp>"
    listed: bool
    member_type: int | None  # WeCom's: 1 staff, 2 external
    join_time: int | None  # ms, as WeCom reports it
    join_scene: str  # invited / link / qrcode / ""
    invitor: str  # userid of who invited them ("" when WeCom does not say)
    invitor_name: str
    first_seen_at: int | None  # when a directory sync first listed them
    left_seen_at: int | None  # when a directory sync first found them no longer listed
    sent: int  # entries they sent in this conversation (the archive's)
    first_sent: int | None
    last_sent: int | None


@dataclass(frozen=True)
class GroupMembers:
    """A group conversation's members. ``described``: WeCom described the room at a directory sync
    (else ``errcode`` may say why not, and the list holds the archive's participants only)."""

    corp_id: int
    session_id: str
    roomid: str
    name: str
    owner: str
    owner_name: str
    kind: str  # internal / customer / unknown / "" (not described)
    created_time: int | None
    member_count: int | None  # as WeCom reported it
    fetched_at: int | None
    errcode: int | None
    described: bool
    members: tuple[GroupMember, ...]  # owner first, then by join time (then name)


class GroupMembersService:
    def __init__(self, db: Database, directory: Directory | None = None, trail: AuditTrail | None = None):
        self.db = db
        self.directory = directory or Directory(db)
        self.trail = trail or AuditTrail(db)

    def group_members(self, actor: Actor, corp_id: int, session_id: str) -> GroupMembers | None:
        """The members of the group conversation ``session_id``; None if there is no such group
        conversation in the actor's scope. Needs ``messages.read`` (PermissionDenied, recorded)."""
        self.trail.require(actor, R.MESSAGES_READ, action=Action.ARCHIVE_READ, object_type="session",
                           object=session_id, detail={"corp_id": corp_id, "what": "group members"})
        q = select(Session.roomid, Session.participants).where(Session.corp_id == corp_id,
                                                              Session.session_id == session_id)
        if actor.scope is not None:
            q = q.where(session_condition(self.db, actor.scope))
        with self.db.read() as conn:
            session = conn.execute(q.limit(1)).first()
            if session is None or not session.roomid:
                return None
            roomid = session.roomid
            group = conn.execute(select(DirectoryGroup.name, DirectoryGroup.owner, DirectoryGroup.kind,
                                        DirectoryGroup.created_time, DirectoryGroup.member_count,
                                        DirectoryGroup.fetched_at, DirectoryGroup.errcode)
                                 .where(DirectoryGroup.corp_id == corp_id, DirectoryGroup.roomid == roomid)).first()
            listed = conn.execute(select(DirectoryGroupMember.userid, DirectoryGroupMember.member_type,
                                         DirectoryGroupMember.join_time, DirectoryGroupMember.join_scene,
                                         DirectoryGroupMember.invitor, DirectoryGroupMember.first_seen_at,
                                         DirectoryGroupMember.left_seen_at)
                                  .where(DirectoryGroupMember.corp_id == corp_id,
                                         DirectoryGroupMember.roomid == roomid)).all()
            sent = {r.sender: (int(r.n), r.first, r.last) for r in conn.execute(
                select(Message.sender, func.count().label("n"), func.min(Message.msgtime).label("first"),
                       func.max(Message.msgtime).label("last"))
                .where(Message.corp_id == corp_id, Message.session_id == session_id).group_by(Message.sender))}
        members: dict[str, GroupMember] = {}
        for m in listed:
            members[m.userid] = self._member(actor, corp_id, m.userid, True, m.member_type, m.join_time,
                                             JOIN_SCENES.get(m.join_scene or 0, ""), m.invitor or "",
                                             m.first_seen_at, m.left_seen_at, sent.get(m.userid))
        for userid in [*json.loads(session.participants or "[]"), *sent]:
            if userid and userid not in members and userid != roomid:
                members[userid] = self._member(actor, corp_id, userid, False, None, None, "", "", None, None,
                                               sent.get(userid))
        owner = group.owner if group else ""
        ordered = sorted(members.values(), key=lambda m: (m.userid != owner, m.left_seen_at is not None,
                                                          not m.listed, m.join_time or 0, m.name, m.userid))
        name = (group.name if group and group.name else "") or (self.directory.name(actor, corp_id, roomid) or "")
        described = group is not None and group.fetched_at is not None
        return GroupMembers(corp_id, session_id, roomid, name, owner,
                            (self.directory.name(actor, corp_id, owner) or "") if owner else "",
                            group.kind if group else "", group.created_time if group else None,
                            group.member_count if group else None, group.fetched_at if group else None,
                            group.errcode if group else None, described, tuple(ordered))

    def _member(self, actor: Actor, corp_id: int, userid: str, listed: bool, member_type: int | None,
                join_time: int | None, scene: str, invitor: str, first_seen: int | None, left: int | None,
                sent: tuple[int, int | None, int | None] | None) -> GroupMember:
        person = self.directory.person(actor, corp_id, userid)
        n, first, last = sent or (0, None, None)
        return GroupMember(userid, person.name if person else "", person.kind if person else "",
                           person.organisation if person else "", person.corp_tag if person else "",
                           listed and left is None, member_type, join_time, scene, invitor,
                           (self.directory.name(actor, corp_id, invitor) or "") if invitor else "",
                           first_seen, left, n, first, last)


__all__ = ["JOIN_SCENES", "GroupMember", "GroupMembers", "GroupMembersService"]
