"""Why a sync stopped, as one sentence in English and one in Chinese, each saying what to do.

Used wherever a failed sync is reported: the run's record (sync history), the log, ``sync --json``,
the CLI's error line and the window. The sentences hold ids, paths and reasons, never message
content: a database error is described by its kind and code, never by its SQL or parameters
(which hold decrypted chat text), and an unexpected error by its type only (its traceback goes to
the log without the exception's text).
"""

from __future__ import annotations

import logging
import traceback

from app.core.auth import AuditTrailError, PermissionDenied
from app.core.config.secrets import SecretMissingError
from app.core.config.settings import SettingsError
from app.core.sdk import SdkError, SdkLoadError
from app.core.store.db import DatabaseError
from app.core.wecom.api import WeComAccessError

log = logging.getLogger(__name__)


class SyncFailed(RuntimeError):
    """The run stopped on an error that retrying will not fix; the message says what to do."""


def database_error_text(exc: BaseException) -> str | None:
    """'database error 1406 (DataError)' for a SQLAlchemy/DB-API error, without its message (the
    server's message can quote the values, e.g. MySQL's "Duplicate entry '…'"); None otherwise."""
    try:
        from sqlalchemy.exc import DBAPIError, SQLAlchemyError
    except ImportError:  # pragma: no cover - SQLAlchemy is a dependency
        return None
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        code = orig.args[0] if orig is not None and orig.args and isinstance(orig.args[0], int) else None
        kind = type(orig).__name__ if orig is not None else type(exc).__name__
        return f"database error {code} ({kind})" if code is not None else f"database error ({kind})"
    if isinstance(exc, SQLAlchemyError):
        return f"database error ({type(exc).__name__})"
    return None


def _sentence(text: str, stop: str) -> str:
    text = text.strip()
    if text and text[0].isascii():
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "。", "!", "?")) else text + stop


def describe_failure(exc: BaseException) -> tuple[str, str]:
    """(message_en, message_zh) for an exception that stopped a sync.

    Known errors keep the core's sentence (it names the file, corp or setting) and add what to do;
    anything else gets its type and a pointer to the log (where its traceback is, without its text).
    """
    from .process import SyncProcessDied, SyncRunFailed  # noqa: PLC0415 - process.py imports this module

    detail = str(exc).strip().rstrip(".")
    if isinstance(exc, SyncRunFailed):
        return exc.message_en, exc.message_zh
    if isinstance(exc, WeComAccessError):
        return exc.message_en, exc.message_zh
    if isinstance(exc, SyncProcessDied):
        return (f"The sync process ended unexpectedly ({exc.how}); nothing is lost — the next sync continues "
                f"from the last stored batch.",
                f"同步进程意外结束（{exc.how}）；数据不会丢失，下次同步将从最后保存的批次继续。")
    if isinstance(exc, SdkLoadError):
        return (f"The WeCom SDK library cannot be loaded: {detail}. "
                f"Open Settings > Corp and choose the SDK library file (or the built-in simulator).",
                f"无法加载企业微信会话存档 SDK 库：{exc.message_zh.strip().rstrip('。.')}。"
                f"请在「设置 > 企业」中选择正确的 SDK 库文件（或使用内置模拟器）。")
    if isinstance(exc, SdkError):
        if not 10000 <= exc.code <= 10011:  # WeCom's own errcode (or a crash): its sentence says what to do
            return _sentence(exc.message_en, "."), _sentence(exc.message_zh, "。")
        where = f" ({exc.call})" if exc.call else ""
        return (f"WeCom refused the sync{where}: {exc.message_en} [{exc.code}]. "
                f"Fix this in the WeCom admin console or in Settings > Corp, then sync again.",
                f"企业微信拒绝了本次同步{where}：{exc.message_zh} [{exc.code}]。"
                f"请在企业微信管理后台或「设置 > 企业」中修正后重新同步。")
    if isinstance(exc, SecretMissingError):
        return (f"A secret is missing: {detail}.",
                f"缺少密钥信息：{detail}。请在「设置 > 企业」中填写会话存档 Secret 并导入私钥。")
    if isinstance(exc, DatabaseError):
        return (f"The archive database cannot be used: {detail}. "
                f"Check the database in Settings > Archive (Test connection), then sync again.",
                f"无法使用存档数据库：{detail}。请在「设置 > 存档」中检查数据库（测试连接）后重新同步。")
    db_text = database_error_text(exc)
    if db_text is not None:
        log.error("sync stopped by a %s\n%s", db_text, "".join(traceback.format_tb(exc.__traceback__)))
        return (f"The archive database refused a write ({db_text}); nothing of the batch was stored and the next "
                f"sync tries it again. If it keeps failing, check the database (disk space, permissions).",
                f"存档数据库拒绝写入（{db_text}）；该批次未保存，下次同步会重试。若持续失败，请检查数据库（磁盘空间、权限）。")
    if isinstance(exc, PermissionDenied):
        return (f"Not allowed: {detail}.", f"无权同步：{detail}。")
    if isinstance(exc, AuditTrailError):
        return (f"The audit trail cannot be written, so the sync cannot be recorded: {detail}. "
                f"Check the archive with \"wecom-auditor audit verify\".",
                f"审计日志无法写入，本次同步无法记录：{detail}。请用“wecom-auditor audit verify”检查存档。")
    from .writer import ConcurrentSyncError  # noqa: PLC0415

    if isinstance(exc, (SyncFailed, ConcurrentSyncError)):
        return (f"The sync stopped: {detail}.",
                f"同步已停止：{detail}。请按提示修正设置后重新同步。")
    if isinstance(exc, SettingsError):
        return (f"The settings are not usable: {detail}.",
                f"设置无法使用：{detail}。请在「设置」中修正。")
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return (f"The sync stopped: {exc.strerror}{where}. Check the disk and the folder's permissions.",
                f"同步已停止：{exc.strerror}{where}。请检查磁盘空间与文件夹权限。")
    kind = type(exc).__name__
    log.error("sync stopped by an unexpected %s\n%s", kind, "".join(traceback.format_tb(exc.__traceback__)))
    return (f"The sync stopped because of an unexpected error ({kind}); see the log for details.",
            f"同步因意外错误而停止（{kind}）；详情请查看日志。")
