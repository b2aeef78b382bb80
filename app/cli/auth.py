"""Commands for accounts and the audit trail: login, logout, whoami, ``accounts …``, ``audit …``.

A login keeps a token (``wat_…``, valid for ``--hours``) in the OS keyring for this data folder
and archive; ``--print-token`` prints it instead, for ``WECOM_AUDITOR_TOKEN`` in scripts. Only the
token's SHA-256 is stored in the archive. Passwords are prompted for without echo, or read from
standard input with ``--password-stdin`` (one line); they are never accepted as arguments.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

import click

from app.core.auth import (
    ACTIONS,
    AUDIT_READ,
    ROLES,
    AccountError,
    AccountInfo,
    Action,
    AuditFilter,
    AuthError,
    ChainHead,
    ScopeSpec,
    canonical_username,
)
from app.core.auth.accounts import DEFAULT_TOKEN_TTL_S, MAX_TOKEN_TTL_S
from app.core.auth.audit import OUTCOMES, ms_iso
from app.core.config.secrets import keyring_available
from app.core.context import AppContext
from app.core.safe_text import display_name, display_text, json_line

from .base import (
    EXIT_FAILED,
    TOKEN_ENV,
    _ms_to_text,
    _parse_date,
    common,
    current_actor,
    describe_os_error,
    main,
    prompt_login,
    prompt_new_password,
    read_secret_line,
    token_profile,
    workstation,
)

# ------------------------------------------------------------------ login, logout, whoami


def _revoke_kept_token(ctx: AppContext) -> bool:
    """Revoke and forget the token kept in the keyring for this archive; False if there was none."""
    if not keyring_available():
        return False
    profile = token_profile(ctx)
    kept = ctx.secrets.cli_token(profile)
    if not kept:
        return False
    try:
        owner = ctx.accounts.actor_from_token(kept, workstation())
        ctx.accounts.revoke_token(owner, token=kept)
        ctx.accounts.logout(owner)
    except AuthError:
        pass  # expired, revoked or its account disabled: nothing left to end
    ctx.secrets.delete_cli_token(profile)
    return True


def _until(ms: int) -> str:
    return _ms_to_text(ms)


@main.command()
@click.option("--username", "-u", metavar="NAME", help="The account (asked for if not given).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
@click.option("--print-token", is_flag=True,
              help="Print the login token (for WECOM_AUDITOR_TOKEN in scripts) instead of keeping it in the keyring.")
@click.option("--hours", type=click.IntRange(1, MAX_TOKEN_TTL_S // 3600), default=DEFAULT_TOKEN_TTL_S // 3600,
              show_default=True, help="How long the login lasts.")
@common
def login(ctx: AppContext, username: str | None, password_stdin: bool, print_token: bool, hours: int) -> None:
    """Log in to this archive: later commands act as this account until the login expires or
    `wecom-auditor logout`. Five wrong passwords in a row lock the user name on this computer for 15
    minutes (`wecom-auditor accounts unlock`, or `accounts recover` with access to the database)."""
    if not print_token and not keyring_available():
        raise click.ClickException("this computer has no OS keyring to keep the login in: run "
                                   "`wecom-auditor login --print-token` and set WECOM_AUDITOR_TOKEN to the token "
                                   "it prints")
    if password_stdin:
        if not username:
            raise click.UsageError("--password-stdin needs --username")
        actor = ctx.accounts.authenticate(username, read_secret_line("password"), workstation())
        if actor.must_change_password:
            raise click.ClickException(f"account '{actor.username}' must choose a new password first: run "
                                       f"`wecom-auditor accounts passwd` on a terminal")
    else:
        actor = prompt_login(ctx, username)
    if not print_token:
        _revoke_kept_token(ctx)
    issued = ctx.accounts.issue_token(actor, hours * 3600, label="cli --print-token" if print_token else "cli")
    roles = ", ".join(sorted(actor.roles)) or "no role"
    if print_token:
        click.echo(issued.token)
        click.echo(f"Logged in as {actor.username} ({roles}) until {_until(issued.expires_at)}: keep the token "
                   f"like a password; `WECOM_AUDITOR_TOKEN=… wecom-auditor logout` ends it.", err=True)
        return
    ctx.secrets.set_cli_token(token_profile(ctx), issued.token)
    click.echo(f"Logged in as {actor.username} ({roles}) until {_until(issued.expires_at)}. "
               f"`wecom-auditor logout` ends it.")


@main.command()
@common
def logout(ctx: AppContext) -> None:
    """End the login kept for this archive (its token is revoked), or the token in WECOM_AUDITOR_TOKEN."""
    given = os.environ.get(TOKEN_ENV, "").strip()
    if given:
        owner = ctx.accounts.actor_from_token(given, workstation())
        ctx.accounts.revoke_token(owner, token=given)
        ctx.accounts.logout(owner)
        click.echo(f"The token in {TOKEN_ENV} ({owner.username}) is revoked; unset the variable.")
        return
    if _revoke_kept_token(ctx):
        click.echo("Logged out.")
        return
    note = (" (this workstation opens without login while the archive has a single account: "
            "`wecom-auditor accounts no-login off` turns that off)") if ctx.settings.no_login else ""
    click.echo(f"Not logged in on this archive{note}.")


def _scope_text(scope) -> str:
    if scope is None:
        return "every session"
    if not scope:
        return "no session (the scope names nobody)"
    ids = sorted(scope)
    shown = ", ".join(ids[:10]) + (f" … ({len(ids)} in all)" if len(ids) > 10 else "")
    return f"the sessions of {shown}"


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@common
def whoami(ctx: AppContext, as_json: bool) -> None:
    """Which account the commands act as, with its roles and scope."""
    actor = current_actor(ctx)
    how = ("login token #" + actor.login_id.split(":", 1)[1]) if actor.login_id.startswith("token:") else (
        "no login: single-account workstation" if ctx.settings.no_login and not os.environ.get(TOKEN_ENV)
        and ctx.accounts.no_login_allowed() else "password")
    if as_json:
        click.echo(json.dumps({"username": actor.username, "roles": sorted(actor.roles),
                               "scope": None if actor.scope is None else sorted(actor.scope),
                               "login": how, "workstation": actor.workstation}, ensure_ascii=False))
        return
    click.echo(f"{actor.username} on {actor.workstation or '?'} ({how})")
    click.echo(f"roles: {', '.join(sorted(actor.roles)) or 'none'}")
    click.echo(f"sees: {_scope_text(actor.scope)}")


# ------------------------------------------------------------------ accounts


@main.group()
def accounts() -> None:
    """Accounts of this archive: the first administrator, roles, scopes, passwords."""


def _new_password(ctx: AppContext, username: str, password_stdin: bool) -> str:
    if password_stdin:
        return read_secret_line("password")
    return prompt_new_password(ctx, canonical_username(username), "Password")


def _state(info: AccountInfo, now: int) -> str:
    if info.disabled:
        return "disabled"
    if info.locked(now):
        return f"locked until {_ms_to_text(info.locked_until)}"
    return "must change password" if info.must_change_password else "enabled"


def _account_json(info: AccountInfo) -> dict:
    return {"username": info.username, "roles": list(info.roles), "scope": json.loads(info.scope.to_json()),
            "disabled": info.disabled, "locked_until": info.locked_until, "failed_attempts": info.failed_attempts,
            "must_change_password": info.must_change_password, "created_at": info.created_at,
            "last_login_at": info.last_login_at, "password_changed_at": info.password_changed_at}


def _show(info: AccountInfo) -> str:
    from app.core.store.db import now_ms

    return (f"{info.username}: {', '.join(info.roles)}; scope {info.scope.describe()}; "
            f"{_state(info, now_ms())}")


@accounts.command("init")
@click.option("--username", "-u", metavar="NAME", help="The administrator's user name (asked for if not given).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
@click.option("--no-login", "no_login", is_flag=True,
              help="Open this workstation without a login while this is the archive's only account.")
@common
def accounts_init(ctx: AppContext, username: str | None, password_stdin: bool, no_login: bool) -> None:
    """Create the first administrator of an archive that has no account yet, and log in as it."""
    if not ctx.accounts.needs_first_admin():
        raise click.ClickException("this archive has accounts already: log in (`wecom-auditor login`) and ask an "
                                   "administrator to create yours (`wecom-auditor accounts create`)")
    username = username or click.prompt("User name of the first administrator", err=True)
    password = _new_password(ctx, username, password_stdin)
    info = ctx.accounts.create_first_admin(username, password, workstation=workstation())
    click.echo(f"Created the administrator '{info.username}'.")
    actor = ctx.accounts.authenticate(info.username, password, workstation())
    if no_login:
        ctx.change_settings(actor, no_login=True)
        click.echo("This workstation opens without a login while the archive has this one account.")
    if keyring_available():
        issued = ctx.accounts.issue_token(actor, label="cli")
        ctx.secrets.set_cli_token(token_profile(ctx), issued.token)
        click.echo(f"Logged in as {info.username} until {_until(issued.expires_at)}.")
    elif not no_login:
        click.echo("Next: `wecom-auditor login --print-token` (this computer has no OS keyring).")


@accounts.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@common
def accounts_list(ctx: AppContext, as_json: bool) -> None:
    """Every account with its roles, scope and state (administrators)."""
    from app.core.store.db import now_ms

    now = now_ms()
    for info in ctx.accounts.list_accounts(current_actor(ctx)):
        if as_json:
            click.echo(json.dumps(_account_json(info), ensure_ascii=False))
        else:
            last = _ms_to_text(info.last_login_at) if info.last_login_at else "never"
            click.echo(f"{info.username:<20} {', '.join(info.roles):<40} scope: {info.scope.describe():<20} "
                       f"{_state(info, now)}; last login {last}")


def _scope_spec(users: tuple[str, ...], departments: tuple[str, ...]) -> ScopeSpec:
    return ScopeSpec(frozenset(users), frozenset(departments))


@accounts.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="A role (repeatable): administrator, reviewer, exporter, auditor.")
@click.option("--scope-user", "scope_users", multiple=True, metavar="USERID",
              help="Limit to the sessions of this staff member (repeatable).")
@click.option("--scope-department", "scope_departments", multiple=True, metavar="NAME",
              help="Limit to the sessions of this department's staff (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the initial password from standard input (one line).")
@click.option("--keep-password", is_flag=True, help="Do not make the owner choose a new password at first login.")
@common
def accounts_create(ctx: AppContext, username: str, roles: tuple[str, ...], scope_users, scope_departments,
                    password_stdin: bool, keep_password: bool) -> None:
    """Create an account (administrators). Without a scope it sees every session."""
    actor = current_actor(ctx)
    password = _new_password(ctx, username, password_stdin)
    info = ctx.accounts.create_account(actor, username, password, roles=roles,
                                       scope=_scope_spec(scope_users, scope_departments),
                                       must_change_password=not keep_password)
    click.echo(f"Created {_show(info)}.")


@accounts.command("roles")
@click.argument("username")
@click.argument("roles", nargs=-1, required=True, type=click.Choice(ROLES))
@common
def accounts_roles(ctx: AppContext, username: str, roles: tuple[str, ...]) -> None:
    """Replace an account's roles, e.g. `accounts roles alice reviewer exporter` (administrators)."""
    info = ctx.accounts.set_roles(current_actor(ctx), username, roles)
    click.echo(f"{_show(info)}.")


@accounts.command("scope")
@click.argument("username")
@click.option("--user", "users", multiple=True, metavar="USERID", help="A staff member's sessions (repeatable).")
@click.option("--department", "departments", multiple=True, metavar="NAME",
              help="A department's staff's sessions (repeatable).")
@click.option("--everything", is_flag=True, help="Lift the limit: every session.")
@common
def accounts_scope(ctx: AppContext, username: str, users, departments, everything: bool) -> None:
    """Limit which sessions an account sees (administrators); applies at its next login."""
    if everything == bool(users or departments):
        raise click.UsageError("give --user/--department, or --everything")
    info = ctx.accounts.set_scope(current_actor(ctx), username, _scope_spec(users, departments))
    click.echo(f"{_show(info)}.")


@accounts.command("disable")
@click.argument("username")
@common
def accounts_disable(ctx: AppContext, username: str) -> None:
    """Disable an account: it cannot log in, and its login tokens are revoked (administrators)."""
    click.echo(f"{_show(ctx.accounts.disable(current_actor(ctx), username))}.")


@accounts.command("enable")
@click.argument("username")
@common
def accounts_enable(ctx: AppContext, username: str) -> None:
    """Enable a disabled account (administrators)."""
    click.echo(f"{_show(ctx.accounts.enable(current_actor(ctx), username))}.")


@accounts.command("unlock")
@click.argument("username")
@common
def accounts_unlock(ctx: AppContext, username: str) -> None:
    """Lift a lockout after too many wrong passwords (administrators)."""
    click.echo(f"{_show(ctx.accounts.unlock(current_actor(ctx), username))}.")


@accounts.command("rename")
@click.argument("username")
@click.argument("new_username")
@common
def accounts_rename(ctx: AppContext, username: str, new_username: str) -> None:
    """Give an account a new user name (administrators); a name that looks like another account's,
    has invisible characters or mixes scripts is refused."""
    click.echo(f"{_show(ctx.accounts.rename(current_actor(ctx), username, new_username))}.")


@accounts.command("recover")
@click.argument("username")
@click.option("--reset-password", is_flag=True, help="Also set a new password (to be changed at the next login).")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input (one line).")
@common
def accounts_recover(ctx: AppContext, username: str, reset_password: bool, password_stdin: bool) -> None:
    """Local recovery without logging in, for whoever can open this archive's database (the OS account
    that owns the data folder, or a holder of the MySQL credentials): lifts the account's lockouts on
    every workstation, enables it and, with --reset-password, sets a new password. Recorded in the
    audit trail as done by this OS user."""
    import getpass

    from .base import workstation

    password = _new_password(ctx, canonical_username(username), password_stdin) if reset_password else None
    try:
        os_user = getpass.getuser()
    except (OSError, KeyError):
        os_user = ""
    info = ctx.accounts.recover(username, new_password=password, workstation=workstation(), os_user=os_user)
    click.echo(f"Recovered {_show(info)}" + (" (a new password, to be changed at the next login)."
                                             if password else "."))


@accounts.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input (one line).")
@click.option("--keep-password", is_flag=True, help="Do not make the owner choose a new password at next login.")
@common
def accounts_reset_password(ctx: AppContext, username: str, password_stdin: bool, keep_password: bool) -> None:
    """Set another account's password; unlocks it and revokes its tokens (administrators)."""
    actor = current_actor(ctx)
    password = _new_password(ctx, username, password_stdin)
    info = ctx.accounts.reset_password(actor, username, password, must_change_password=not keep_password)
    click.echo(f"Password of {info.username} reset" + ("; its owner must choose a new one at the next login."
                                                      if info.must_change_password else "."))


@accounts.command("passwd")
@click.option("--username", "-u", metavar="NAME", help="The account (default: the one logged in).")
@click.option("--password-stdin", is_flag=True,
              help="Read the current and the new password from standard input (two lines).")
@common
def accounts_passwd(ctx: AppContext, username: str | None, password_stdin: bool) -> None:
    """Change your own password (this revokes your login tokens: log in again afterwards)."""
    if username is None:
        username = current_actor(ctx).username
    if password_stdin:
        old, new = read_secret_line("current password"), read_secret_line("new password")
    else:
        old = click.prompt("Current password", hide_input=True, err=True)
        new = None
    actor = ctx.accounts.authenticate(username, old, workstation())
    if new is None:
        new = prompt_new_password(ctx, actor.username)
    ctx.accounts.change_password(actor, old, new)
    kept = _revoke_kept_token(ctx)
    click.echo("Password changed." + (" Log in again: `wecom-auditor login`." if kept else ""))


@accounts.command("no-login")
@click.argument("state", type=click.Choice(["on", "off"]))
@common
def accounts_no_login(ctx: AppContext, state: str) -> None:
    """Open this workstation without a login (on) or always ask (off). "On" applies only while the
    archive has a single enabled account (administrators)."""
    actor = current_actor(ctx)
    ctx.change_settings(actor, no_login=state == "on")
    if state == "on" and not ctx.accounts.no_login_allowed():
        click.echo("Saved, but the archive has more than one account: a login is still required.", err=True)
    click.echo(f"No-login is {state}.")


# ------------------------------------------------------------------ audit


@main.group()
def audit() -> None:
    """The audit trail: who did what, hash-chained (auditors)."""


def _audit_filter(account, actions, date_from, date_to, object_text, outcome) -> AuditFilter:
    if account:
        with contextlib.suppress(AccountError):  # a name typed at a failed login is kept as typed
            account = canonical_username(account)
    return AuditFilter(account=account or None, actions=frozenset(actions), start_ms=_parse_date(date_from),
                       end_ms=_parse_date(date_to, end=True), object_text=object_text or None, outcome=outcome)


@audit.command("list")
@click.option("--account", metavar="NAME", help="Only this account's entries.")
@click.option("--action", "actions", multiple=True, type=click.Choice(sorted(ACTIONS)), metavar="ACTION",
              help="Only this action (repeatable), e.g. login.failed, session.open, search, export.")
@click.option("--from", "date_from", metavar="DATE", help="From this date (local time).")
@click.option("--to", "date_to", metavar="DATE", help="Up to and including this date.")
@click.option("--object", "object_text", metavar="TEXT", help="Only entries whose object contains TEXT.")
@click.option("--outcome", type=click.Choice(OUTCOMES))
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="Newest entries to show.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Write every matching entry to this CSV file.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@common
def audit_list(ctx: AppContext, account, actions, date_from, date_to, object_text, outcome, limit: int,
               csv_path: str | None, as_json: bool) -> None:
    """Audit entries, newest first (or all of them, oldest first, into a CSV file)."""
    actor = current_actor(ctx)
    filters = _audit_filter(account, actions, date_from, date_to, object_text, outcome)
    if csv_path:
        try:
            rows = ctx.trail.export_csv(actor, csv_path, filters)
        except OSError as exc:  # named after --csv, not the temporary file written beside it
            raise click.ClickException(describe_os_error(OSError(exc.errno, exc.strerror, csv_path),
                                                         action="write the CSV file",
                                                         remedy="choose another --csv path")) from None
        click.echo(f"{rows} entr{'y' if rows == 1 else 'ies'} ({filters.describe()}) written to {csv_path}.")
        return
    total = ctx.trail.count(actor, filters)  # before listing: the listing's own audit.view entry comes after
    records = ctx.trail.entries(actor, filters, limit=limit)
    for r in records:
        if as_json:
            click.echo(json_line({"seq": r.seq, "at": r.at, "time_utc": ms_iso(r.at), "account": r.account,
                                   "action": r.action, "object_type": r.object_type, "object": r.object,
                                   "outcome": r.outcome, "workstation": r.workstation, "login_id": r.login_id,
                                   "detail": r.detail, "entry_hash": r.entry_hash}))
        else:
            obj = display_text(r.object, one_line=True)
            click.echo(f"#{r.seq:<6} {_ms_to_text(r.at)}  {display_name(r.account):<16} {r.action:<16} "
                       f"{r.outcome:<6} {obj[:100]}{'…' if len(obj) > 100 else ''}  @{display_name(r.workstation)}")
    if total > len(records) and not as_json:
        click.echo(f"({len(records)} of {total} shown: --limit N or --csv FILE for more)", err=True)


def _parse_head(value: str | None) -> ChainHead | None:
    if value is None:
        return None
    seq, _, digest = value.strip().lstrip("#").partition(":")
    digest = digest.strip().lower()
    if not seq.strip().isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise click.BadParameter("give the head as SEQ:HASH, as `wecom-auditor audit head` prints it",
                                 param_hint="--expect-head")
    return ChainHead(int(seq), digest)


@audit.command("verify")
@click.option("--expect-head", metavar="SEQ:HASH", help="A chain head printed earlier (`audit head`) and kept "
                                                        "outside the app: the trail up to it must be unchanged.")
@common
def audit_verify(ctx: AppContext, expect_head: str | None) -> None:
    """Check the whole hash chain; exit 1 naming the first broken entry."""
    expected = _parse_head(expect_head)
    actor = current_actor(ctx)
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(desc="verifying", unit="entry", file=sys.stderr, dynamic_ncols=True)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.update(done - bar.n)

    try:
        report = ctx.trail.verify(actor, expected_head=expected, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    click.echo(str(report))
    if not report.recorded:
        click.echo("(this check could not be recorded in the trail: it is broken)", err=True)
    if not report.ok:
        sys.exit(EXIT_FAILED)


@audit.command("head")
@common
def audit_head(ctx: AppContext) -> None:
    """Print the chain head (SEQ:HASH) to keep outside the app; `audit verify --expect-head` checks it later."""
    actor = current_actor(ctx)
    ctx.trail.require(actor, AUDIT_READ, action=Action.AUDIT_VIEW, object_type="audit", object="chain head")
    head = ctx.trail.head()
    click.echo(f"{head.seq}:{head.hash}")
    click.echo("Keep this line somewhere safe (printed, or in another system): `wecom-auditor audit verify "
               "--expect-head SEQ:HASH` then proves the trail up to it is unchanged.", err=True)
