"""A corp's "Test connection": the library, the keys, WeCom's answer and the archive, step by step.

Used by Settings > Corp (off the GUI thread) and ``wecom-auditor corps test``. It lives beside the
sync because its last step is a sync's first: fetch one entry and decrypt it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.core.sdk.connection import CorpConnection


@dataclass(frozen=True)
class ConnectionCheck:
    """One step of :meth:`CorpConnection.run_checks`: what was checked, whether it passed, and a
    sentence in English and Chinese (what was found, or what to fix)."""

    step: str  # library / keys / access / archive
    ok: bool
    message_en: str
    message_zh: str


def run_checks(connection: CorpConnection, private_keys: dict[int, str]) -> list[ConnectionCheck]:
    """"Test connection" of a corp, step by step, stopping at the first step that fails:

    1. library — the SDK library loads (in a throw-away SDK host);
    2. keys — every installed private key is a usable RSA key (and at least one is installed);
    3. access — ``gettoken`` from Python with certificate verification (not for the simulator);
    4. archive — GetChatData of one entry through the SDK, and that entry decrypted with the keys.

    Blocking (seconds): call it off the GUI thread. Nothing is stored."""
    from app.core.sdk.hosted import check_library
    from app.core.sdk.keys import InvalidPrivateKeyError, load_private_key

    checks: list[ConnectionCheck] = []

    def add(step: str, ok: bool, en: str, zh: str) -> bool:
        checks.append(ConnectionCheck(step, ok, en, zh))
        return ok

    lib = check_library(connection.library)
    if not add("library", lib.ok, lib.message, lib.message_zh):
        return checks
    if not private_keys:
        add("keys", False, f"No private key is installed for corp {connection.corpid}: import the private key of each "
                           f"publickey_ver.", f"企业 {connection.corpid} 尚未导入私钥：请按 publickey_ver 导入私钥。")
        return checks
    for version, pem in sorted(private_keys.items()):
        try:
            load_private_key(pem)
        except (InvalidPrivateKeyError, ValueError) as exc:
            add("keys", False, f"The private key of version {version} is not usable: {exc}.",
                f"版本 {version} 的私钥无法使用：{exc}。")
            return checks
    add("keys", True, f"Private keys of version {', '.join(map(str, sorted(private_keys)))} are usable RSA keys.",
        f"版本 {', '.join(map(str, sorted(private_keys)))} 的私钥可以使用。")
    if connection.simulated:
        add("access", True, "The SDK simulator needs no network access.", "SDK 模拟器无需访问网络。")
    else:
        from app.core.wecom.api import WeComAccessError

        try:
            access = connection.check_access()
        except WeComAccessError as exc:
            add("access", False, exc.message_en, exc.message_zh)
            return checks
        assert access is not None  # None only for the simulator
        add("access", True, f"WeCom accepted the corp ID and secret ({access.seconds:.1f} s; certificate verified).",
            f"企业微信接受了企业 ID 与 Secret（{access.seconds:.1f} 秒；证书已验证）。")
    _check_archive(connection, private_keys, add)
    return checks


def _check_archive(connection: CorpConnection, private_keys: dict[int, str],
                   add: Callable[[str, bool, str, str], bool]) -> None:
    from app.core.sdk.decrypt import Decrypted
    from app.core.sdk.errors import SdkError, SdkLoadError

    from .decrypt import DecryptPool  # the decrypt step of a sync, reused as is

    try:
        with connection.open(media_hosts=1, check=False) as sdk:
            items = sdk.get_chat_data(0, 1)
    except (SdkError, SdkLoadError) as exc:
        en = getattr(exc, "message_en", str(exc))
        zh = getattr(exc, "message_zh", str(exc))
        add("archive", False, f"The chat archive does not answer: {en}.", f"会话存档没有应答：{zh}。")
        return
    if not items:
        add("archive", True, "The chat archive answers (it holds no entries yet).", "会话存档有应答（暂无数据）。")
        return
    pool = DecryptPool(connection.library, private_keys, workers=1)
    try:
        outcome = pool.submit(items[:1]).result()[0]
    finally:
        pool.close()
    if isinstance(outcome, Decrypted):
        add("archive", True, f"The chat archive answers, and its first entry (seq {items[0].seq}) decrypts with the "
                             f"private key of version {items[0].publickey_ver}.",
            f"会话存档有应答，第一条数据（seq {items[0].seq}）可用版本 {items[0].publickey_ver} 的私钥解密。")
    else:
        add("archive", False, f"The chat archive answers, but its first entry (seq {items[0].seq}) does not decrypt: "
                              f"{outcome.error}.",
            f"会话存档有应答，但第一条数据（seq {items[0].seq}）无法解密：{outcome.error}。")
