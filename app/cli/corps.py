"""Commands that configure corps without the window: ``corps list | add | set | remove | test``.

Secrets (the chat-archive secret, the proxy password, the private keys) go to the OS keyring, never
to the settings file or the command line: the secret and the proxy password are read from a hidden
prompt or, with ``--secret-stdin`` / ``--proxy-password-stdin``, from standard input; private keys
from PEM files. On a headless server without a keyring, use the ``WECOM_AUDITOR_*`` environment
variables instead (README, Secrets). Every change needs ``settings.change`` and is recorded in the
audit trail (secret values never).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import click

from app.core.config.secrets import keyring_available
from app.core.config.settings import CorpSettings, SettingsError
from app.core.context import AppContext

from .base import EXIT_FAILED, common, current_actor, main

_PROXY_SCHEMES = ("http://", "https://", "socks5://", "socks5h://")


@main.group()
def corps() -> None:
    """Configure the corps whose chat archive is synced (without the window)."""


def _sdk_text(corp: CorpSettings) -> str:
    return f"simulator ({corp.simulator_corpus})" if corp.uses_simulator else corp.sdk_library


@corps.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per corp.")
@common
def list_corps(ctx: AppContext, as_json: bool) -> None:
    """The configured corps, with where each secret is read from (never the secret)."""
    current_actor(ctx)  # the list shows the set-up: a signed-in account only
    if not ctx.settings.corps and not as_json:
        click.echo("No corp is configured: `wecom-auditor corps add CORPID --library PATH` (or `wecom-auditor demo`).")
    for corp in ctx.settings.corps:
        secret = ctx.secrets.corp_secret_source(corp)
        keys = ctx.secrets.private_key_sources(corp)
        proxy_pw = bool(corp.proxy and ctx.secrets.proxy_password(corp))
        if as_json:
            click.echo(json.dumps({
                "corpid": corp.corpid, "name": corp.name, "sdk_library": corp.sdk_library or None,
                "simulator_corpus": corp.simulator_corpus or None, "proxy": corp.proxy or None,
                "proxy_password": proxy_pw, "timeout": corp.timeout, "ca_file": corp.ca_file or None,
                "secret": secret, "private_keys": {str(v): where for v, where in keys.items()}},
                ensure_ascii=False))
            continue
        click.echo(f"{corp.corpid}  {corp.name or '-'}")
        click.echo(f"  SDK:          {_sdk_text(corp)}")
        click.echo(f"  proxy:        {corp.proxy or '(none)'}" + (" (password stored)" if proxy_pw else ""))
        click.echo(f"  timeout:      {corp.timeout} s")
        if corp.ca_file:
            click.echo(f"  trusted CA:   {corp.ca_file}")
        click.echo(f"  secret:       {secret or 'MISSING'}")
        click.echo("  private keys: " + (", ".join(f"v{v} ({w})" for v, w in keys.items()) or "NONE"))


def _corp_options(fn):
    options = [
        click.option("--name", help="A display name for the corp."),
        click.option("--library", type=click.Path(dir_okay=False), help="Tencent's libWeWorkFinanceSdk_C.so."),
        click.option("--simulator", type=click.Path(file_okay=False), metavar="CORPUS",
                     help="Use the SDK simulator serving this corpus folder instead (demos, tests)."),
        click.option("--proxy", metavar="URL", help="http://host:port or socks5://host:port ('' for none)."),
        click.option("--proxy-password-stdin", is_flag=True, help="Read the proxy's user:password from stdin."),
        click.option("--timeout", type=click.IntRange(1, 600), help="Seconds per SDK call (default 30)."),
        click.option("--ca-file", type=click.Path(dir_okay=False), metavar="PEM",
                     help="Trust this CA to verify WeCom (a company proxy that inspects TLS); '' for the usual CAs."),
        click.option("--secret-stdin", is_flag=True, help="Read the chat-archive secret from stdin (else a prompt)."),
        click.option("--key", "keys", multiple=True, metavar="VERSION=FILE",
                     help="Import the private key of this publickey_ver from a PEM file (repeatable)."),
        click.option("--no-check", is_flag=True, help="Do not load the library to check it."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _read_stdin_line(what: str) -> str:
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise click.ClickException(f"no {what} on standard input")
    return line


def _parse_keys(keys: tuple[str, ...]) -> dict[int, str]:
    from app.core.sdk.keys import InvalidPrivateKeyError, load_private_key

    out: dict[int, str] = {}
    for spec in keys:
        version_text, sep, path = spec.partition("=")
        if not sep or not version_text.strip().isdigit() or not path:
            raise click.BadParameter(f"{spec!r}: write VERSION=FILE, e.g. 3=/path/private_v3.pem", param_hint="--key")
        version = int(version_text)
        if not 0 < version < 2**31:
            raise click.BadParameter(f"{version} is not a publickey_ver", param_hint="--key")
        file = Path(path).expanduser()
        try:
            if file.stat().st_size > 64 * 1024:
                raise click.BadParameter(f"{file} is too large to be a private key", param_hint="--key")
            pem = file.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise click.BadParameter(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}",
                                     param_hint="--key") from None
        try:
            load_private_key(pem)
        except (InvalidPrivateKeyError, ValueError) as exc:
            raise click.BadParameter(f"{file} is not a usable private key: {exc}", param_hint="--key") from None
        out[version] = pem
    return out


def _apply(ctx: AppContext, corp: CorpSettings, *, is_new: bool, name, library, simulator, proxy,
           proxy_password_stdin, timeout, ca_file, secret_stdin, keys, no_check) -> None:
    """Change ``corp`` as the options say, store its secrets, record it; one settings change."""
    from app.core.sdk.hosted import LibrarySpec, check_library

    actor = current_actor(ctx)
    if library and simulator:
        raise click.UsageError("give --library or --simulator, not both")
    if is_new and not (library or simulator):
        raise click.UsageError("give --library PATH (Tencent's libWeWorkFinanceSdk_C.so) or --simulator CORPUS")
    if name is not None:
        corp.name = name
    if library:
        corp.sdk_library, corp.simulator_corpus = str(Path(library).expanduser().resolve()), ""
        corp.secrets_in_corpus = False  # a demo corpus's secrets are not the real corp's
        if not no_check:
            result = check_library(LibrarySpec(corp.sdk_library))
            if not result.ok:
                raise click.ClickException(result.message)
    if simulator:
        folder = Path(simulator).expanduser().resolve()
        if not (folder / "corpus.json").is_file():
            raise click.ClickException(f"{folder} is not a simulator corpus (it has no corpus.json)")
        corp.sdk_library, corp.simulator_corpus = "", str(folder)
    if proxy is not None:
        if proxy and not proxy.startswith(_PROXY_SCHEMES):
            raise click.BadParameter("write the proxy as http://host:port or socks5://host:port "
                                     "(the user and password go to --proxy-password-stdin)", param_hint="--proxy")
        corp.proxy = proxy
    if timeout is not None:
        corp.timeout = timeout
    if ca_file is not None:
        if ca_file and not Path(ca_file).expanduser().is_file():
            raise click.BadParameter(f"{ca_file} is not a file", param_hint="--ca-file")
        corp.ca_file = str(Path(ca_file).expanduser().resolve()) if ca_file else ""
    new_keys = _parse_keys(keys)
    secret = None
    if secret_stdin:
        secret = _read_stdin_line("secret")
    elif is_new and not corp.uses_simulator:
        secret = click.prompt("Chat-archive secret (input hidden)", hide_input=True)
    proxy_password = _read_stdin_line("proxy user:password") if proxy_password_stdin else None
    wants_keyring = secret is not None or new_keys or proxy_password is not None
    if wants_keyring and not keyring_available():
        raise click.ClickException(
            "this computer has no OS keyring, so secrets cannot be stored: on a headless server set "
            "WECOM_AUDITOR_CORP_SECRET_<CORPID> and WECOM_AUDITOR_PRIVATE_KEY_<CORPID>_V<N> instead (README, Secrets)")
    corp.key_versions = sorted(set(corp.key_versions) | set(new_keys))
    new = copy.deepcopy(ctx.settings)
    new.upsert_corp(corp)
    try:
        new.validate()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    changed_secrets = []
    if secret is not None:
        ctx.secrets.set_corp_secret(corp.corpid, secret)
        changed_secrets.append(f"corps[{corp.corpid}].corp_secret")
    for version, pem in new_keys.items():
        ctx.secrets.set_private_key(corp.corpid, version, pem)
        changed_secrets.append(f"corps[{corp.corpid}].private_key_v{version}")
    if proxy_password is not None:
        ctx.secrets.set_proxy_password(corp.corpid, proxy_password)
        changed_secrets.append(f"corps[{corp.corpid}].proxy_password")
    names = ctx.change_settings(actor, new, secrets_changed=changed_secrets)
    click.echo(f"Corp {corp.corpid} {'added' if is_new else 'changed'}"
               + (f": {', '.join(names)}." if names else " (nothing to change)."))
    if is_new:
        click.echo(f"Next: wecom-auditor corps test {corp.corpid}")


@corps.command("add")
@click.argument("corpid")
@_corp_options
@common
def add_corp(ctx: AppContext, corpid: str, **options) -> None:
    """Add a corp: its SDK library (or the simulator), proxy, secret and private keys."""
    corpid = corpid.strip()
    if any(c.corpid == corpid for c in ctx.settings.corps):
        raise click.ClickException(f"corp {corpid} is configured already: change it with `wecom-auditor corps set`")
    _apply(ctx, CorpSettings(corpid=corpid), is_new=True, **options)


@corps.command("set")
@click.argument("corpid")
@_corp_options
@common
def set_corp(ctx: AppContext, corpid: str, **options) -> None:
    """Change a configured corp (only the options given)."""
    _apply(ctx, copy.deepcopy(ctx.settings.corp(corpid)), is_new=False, **options)


@corps.command("remove")
@click.argument("corpid")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@common
def remove_corp(ctx: AppContext, corpid: str, yes: bool) -> None:
    """Stop syncing a corp: remove it from the settings and its secrets from the keyring. The archive
    keeps everything already synced."""
    actor = current_actor(ctx)
    corp = ctx.settings.corp(corpid)
    if not yes:
        click.confirm(f"Remove corp {corp.corpid} and its secrets from this computer (the archive keeps its "
                      f"messages)?", abort=True)
    new = copy.deepcopy(ctx.settings)
    new.corps = [c for c in new.corps if c.corpid != corp.corpid]
    secrets = [f"corps[{corp.corpid}].corp_secret", f"corps[{corp.corpid}].proxy_password",
               *(f"corps[{corp.corpid}].private_key_v{v}" for v in corp.key_versions)]
    ctx.change_settings(actor, new, secrets_changed=secrets)
    ctx.secrets.delete_corp_secret(corp.corpid)
    ctx.secrets.delete_proxy_password(corp.corpid)
    for v in corp.key_versions:
        ctx.secrets.delete_private_key(corp.corpid, v)
    click.echo(f"Corp {corp.corpid} removed; its archived messages stay in the archive.")


@corps.command("test")
@click.argument("corpid", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per step.")
@common
def test_corp(ctx: AppContext, corpid: str | None, as_json: bool) -> None:
    """Check a corp step by step: the SDK library, the private keys, WeCom's answer to the secret
    (with certificate verification) and the archive (one entry fetched and decrypted; nothing is
    stored). Exit 0 only if every step passes."""
    from app.core.sync.checks import run_checks

    current_actor(ctx)
    corp = ctx.settings.corp(corpid)
    checks = run_checks(ctx.connection(corp), ctx.secrets.private_keys(corp))
    for check in checks:
        if as_json:
            click.echo(json.dumps({"step": check.step, "ok": check.ok, "message": check.message_en},
                                  ensure_ascii=False))
        else:
            click.echo(f"{'✓' if check.ok else '✗'} {check.step:<8} {check.message_en}")
    if not all(c.ok for c in checks):
        sys.exit(EXIT_FAILED)
