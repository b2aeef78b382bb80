"""Roles and permissions. An account holds one or more roles; a role grants a fixed set of permissions.

==============  ===================================================================================
role            permissions
==============  ===================================================================================
administrator   settings.change, sync.run, accounts.manage, archive.status — and *no* message
                content: an administrator reads messages only if also given ``reviewer``
reviewer        messages.read, media.read, search.run, archive.status
exporter        export.create, archive.status
auditor         audit.read, export.verify, archive.status (read-only)
(review)        review.manage (administrator: tag set, policies, sampling rules), review.write
                (reviewer: tag, note, mark reviewed, triage alerts, save searches, draw samples),
                review.read (reviewer and auditor: who reviewed what and when — an auditor sees no
                message content, nor the text of notes, unless also a reviewer)
==============  ===================================================================================

``archive.status`` is what every role needs to use the main window: counts, corps and the sync
history — never message content. Services call :func:`require` (or ``AuditTrail.require``, which
also records the refusal) before they read or change anything; :func:`can` is for greying out UI.
An actor with ``must_change_password`` is granted nothing until it has changed its password.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.core.actor import Actor

from .errors import AccountError, PermissionDenied

ADMINISTRATOR, REVIEWER, EXPORTER, AUDITOR = "administrator", "reviewer", "exporter", "auditor"
ROLES = (ADMINISTRATOR, REVIEWER, EXPORTER, AUDITOR)

SETTINGS_CHANGE = "settings.change"
SYNC_RUN = "sync.run"
ACCOUNTS_MANAGE = "accounts.manage"
ARCHIVE_STATUS = "archive.status"
MESSAGES_READ = "messages.read"
MEDIA_READ = "media.read"
SEARCH_RUN = "search.run"
EXPORT_CREATE = "export.create"
EXPORT_VERIFY = "export.verify"
AUDIT_READ = "audit.read"
BACKUP_RUN = "backup.run"
RETENTION_MANAGE = "retention.manage"
HOLD_MANAGE = "hold.manage"
REVIEW_READ = "review.read"
REVIEW_WRITE = "review.write"
REVIEW_MANAGE = "review.manage"

# What each permission lets one do, for messages ("may not <description>").
PERMISSIONS: dict[str, str] = {
    SETTINGS_CHANGE: "change settings",
    SYNC_RUN: "run a sync",
    ACCOUNTS_MANAGE: "manage accounts",
    ARCHIVE_STATUS: "see the archive's status and sync history",
    MESSAGES_READ: "browse sessions and read messages",
    MEDIA_READ: "open or save media files",
    SEARCH_RUN: "search the archive",
    EXPORT_CREATE: "create evidence packages",
    EXPORT_VERIFY: "verify evidence packages",
    AUDIT_READ: "read the audit trail",
    BACKUP_RUN: "back up and restore the archive",
    RETENTION_MANAGE: "set retention policies and approve deletions under them",
    HOLD_MANAGE: "place and release legal holds",
    REVIEW_READ: "see the review: tags, review status, who reviewed what and when, alerts, samples",
    REVIEW_WRITE: "tag, note and mark messages reviewed, triage alerts, save searches and draw samples",
    REVIEW_MANAGE: "manage the tag set, review policies and sampling rules",
}

PERMISSIONS_ZH: dict[str, str] = {  # the same, as a Chinese window says them
    SETTINGS_CHANGE: "修改设置",
    SYNC_RUN: "运行同步",
    ACCOUNTS_MANAGE: "管理账号",
    ARCHIVE_STATUS: "查看存档状态和同步历史",
    MESSAGES_READ: "浏览会话和阅读消息",
    MEDIA_READ: "打开或保存媒体文件",
    SEARCH_RUN: "搜索存档",
    EXPORT_CREATE: "创建证据包",
    EXPORT_VERIFY: "校验证据包",
    AUDIT_READ: "查看审计记录",
    BACKUP_RUN: "备份和恢复存档",
    RETENTION_MANAGE: "设置保留策略并批准按策略删除",
    HOLD_MANAGE: "设置和解除法律保全",
    REVIEW_READ: "查看审阅：标签、审阅状态、谁在何时审阅了什么、告警、抽样",
    REVIEW_WRITE: "标记标签、写备注、标记已审阅、处理告警、保存搜索和抽样",
    REVIEW_MANAGE: "管理标签集、审阅策略和抽样规则",
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    ADMINISTRATOR: frozenset({SETTINGS_CHANGE, SYNC_RUN, ACCOUNTS_MANAGE, ARCHIVE_STATUS, BACKUP_RUN, RETENTION_MANAGE,
                              HOLD_MANAGE, REVIEW_MANAGE}),
    REVIEWER: frozenset({MESSAGES_READ, MEDIA_READ, SEARCH_RUN, ARCHIVE_STATUS, REVIEW_READ, REVIEW_WRITE}),
    EXPORTER: frozenset({EXPORT_CREATE, ARCHIVE_STATUS}),
    AUDITOR: frozenset({AUDIT_READ, EXPORT_VERIFY, ARCHIVE_STATUS, REVIEW_READ}),
}

ROLE_DESCRIPTIONS: dict[str, str] = {
    ADMINISTRATOR: "settings, sync and accounts; reads no message content unless also a reviewer",
    REVIEWER: "browse sessions, read messages, search, open media (within the account's scope)",
    EXPORTER: "create evidence packages (within the account's scope)",
    AUDITOR: "read the audit trail and verify evidence packages; read-only",
}


def validate_roles(roles: Iterable[str]) -> frozenset[str]:
    """``roles`` as a frozenset; :class:`AccountError` naming any unknown role."""
    given = frozenset(roles)
    unknown = sorted(given - set(ROLES))
    if unknown:
        raise AccountError(f"unknown role {', '.join(map(repr, unknown))}: the roles are {', '.join(ROLES)}",
                           f"未知角色 {', '.join(map(repr, unknown))}：可用角色为 {', '.join(ROLES)}")
    return given


def permissions_of(roles: Iterable[str]) -> frozenset[str]:
    """Every permission the roles grant together (unknown role names grant nothing)."""
    out: set[str] = set()
    for role in roles:
        out |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(out)


def roles_granting(permission: str) -> tuple[str, ...]:
    """The roles that grant ``permission``, in the order of ``ROLES``."""
    _known(permission)
    return tuple(r for r in ROLES if permission in ROLE_PERMISSIONS[r])


def _known(permission: str) -> None:
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")  # a programming error, not a user's


def can(actor: Actor, permission: str) -> bool:
    """True if ``actor`` holds ``permission`` (False while it must change its password).
    ValueError for a permission name that does not exist."""
    _known(permission)
    return not actor.must_change_password and permission in permissions_of(actor.roles)


def require(actor: Actor, permission: str) -> None:
    """Return if ``actor`` holds ``permission``; else raise :class:`PermissionDenied`, whose message
    names the account, the permission and the roles that grant it. Services that must also record
    the refusal in the audit trail call ``AuditTrail.require`` instead."""
    if can(actor, permission):
        return
    what, what_zh = PERMISSIONS[permission], PERMISSIONS_ZH[permission]
    if actor.must_change_password and permission in permissions_of(actor.roles):
        raise PermissionDenied(f"account '{actor.username}' must change its password before it may {what} "
                               f"({permission})", f"账号“{actor.username}”须先修改密码才能{what_zh}（{permission}）",
                               username=actor.username, permission=permission)
    granting = " or ".join(roles_granting(permission))
    has = ", ".join(sorted(actor.roles))
    raise PermissionDenied(f"account '{actor.username}' may not {what} ({permission}): that needs the role "
                           f"{granting}, and it has {has or 'no role'}",
                           f"账号“{actor.username}”无权{what_zh}（{permission}）：需要 {' 或 '.join(roles_granting(permission))} "
                           f"角色，而它{'拥有 ' + has if has else '没有任何角色'}",
                           username=actor.username, permission=permission)
