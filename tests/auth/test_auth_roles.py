"""Roles and permissions: each role may do exactly what it may, and a refusal says why."""

from __future__ import annotations

import dataclasses

import pytest

from app.core.actor import ALL_ROLES, Actor
from app.core.auth import PERMISSIONS, PermissionDenied, can, permissions_of, require, roles_granting
from app.core.auth.errors import AccountError
from app.core.auth.roles import validate_roles

# Written out by hand from the issue (not derived from roles.py), so that a change there shows here.
EXPECTED = {
    "administrator": {"settings.change", "sync.run", "accounts.manage", "archive.status", "backup.run",
                      "retention.manage", "hold.manage", "review.manage"},
    "reviewer": {"messages.read", "media.read", "search.run", "archive.status", "review.read", "review.write"},
    "exporter": {"export.create", "archive.status"},
    "auditor": {"audit.read", "export.verify", "archive.status", "review.read"},
}


def test_the_permission_list_is_the_documented_one():
    assert set(PERMISSIONS) == set().union(*EXPECTED.values())


@pytest.mark.parametrize("role", sorted(EXPECTED))
@pytest.mark.parametrize("permission", sorted(PERMISSIONS))
def test_each_role_can_do_exactly_what_it_may(role, permission):
    actor = Actor("someone", roles={role})
    allowed = permission in EXPECTED[role]
    assert can(actor, permission) is allowed
    if allowed:
        require(actor, permission)
    else:
        with pytest.raises(PermissionDenied) as info:
            require(actor, permission)
        message = str(info.value)
        assert "'someone'" in message and permission in message and role in message
        for granting in roles_granting(permission):
            assert granting in message
        assert info.value.permission == permission and info.value.username == "someone"


def test_an_administrator_reads_no_message_content_unless_also_a_reviewer():
    admin = Actor("root", roles={"administrator"})
    assert not can(admin, "messages.read") and not can(admin, "media.read") and not can(admin, "search.run")
    with pytest.raises(PermissionDenied, match="needs the role reviewer, and it has administrator"):
        require(admin, "messages.read")
    both = Actor("root", roles={"administrator", "reviewer"})
    assert can(both, "messages.read") and can(both, "settings.change")
    assert permissions_of({"administrator", "reviewer"}) == EXPECTED["administrator"] | EXPECTED["reviewer"]


def test_a_hand_made_actor_may_do_nothing_and_the_local_one_everything():
    nobody = Actor("x")
    assert nobody.roles == frozenset() and not any(can(nobody, p) for p in PERMISSIONS)
    with pytest.raises(PermissionDenied, match="it has no role"):
        require(nobody, "audit.read")
    local = Actor.local()
    assert local.roles == ALL_ROLES and local.scope is None and local.username.startswith("os:")
    assert all(can(local, p) for p in PERMISSIONS)


def test_must_change_password_grants_nothing_until_changed():
    actor = Actor("carol", roles=ALL_ROLES, account_id=1, must_change_password=True)
    assert not any(can(actor, p) for p in PERMISSIONS)
    with pytest.raises(PermissionDenied, match="must change its password"):
        require(actor, "search.run")
    assert can(dataclasses.replace(actor, must_change_password=False), "search.run")


def test_system_actor_runs_sync_but_reads_nothing():
    worker = Actor.system("sync-worker", workstation="srv1")
    assert worker.username == "system:sync-worker" and worker.is_system and worker.account_id is None
    assert can(worker, "sync.run") and not can(worker, "messages.read")


def test_actor_is_frozen_and_hashable_with_any_iterable_of_roles():
    actor = Actor("a", roles=["reviewer"], scope=["u1", "u2"])
    assert actor.roles == frozenset({"reviewer"}) and actor.scope == frozenset({"u1", "u2"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        actor.roles = frozenset()  # type: ignore[misc]
    assert hash(actor) == hash(Actor("a", roles={"reviewer"}, scope={"u2", "u1"}))


def test_unknown_names_are_errors():
    with pytest.raises(ValueError, match="unknown permission"):
        can(Actor("a"), "messages.delete")
    with pytest.raises(AccountError, match="unknown role 'superuser'"):
        validate_roles(["reviewer", "superuser"])
