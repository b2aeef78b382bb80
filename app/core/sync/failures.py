"""Why a sync stopped, as one sentence in English and one in Chinese, each saying what to do.

The sync worker emits both (like the core's SdkError carries message_en/message_zh) so that the
receiver shows the one of the UI language. Qt-free: the messages are built on the worker thread.
"""

from __future__ import annotations

import logging

from app.core.auth import AuditTrailError, PermissionDenied
from app.core.config.secrets import SecretMissingError
from app.core.config.settings import SettingsError
from app.core.sdk import SdkError, SdkLoadError
from app.core.store.db import DatabaseError
from app.core.sync.pipeline import SyncFailed

log = logging.getLogger(__name__)


def describe_failure(exc: BaseException) -> tuple[str, str]:
    """(message_en, message_zh) for an exception that stopped a sync.

    Known errors keep the core's sentence (it names the file, corp or setting) and add what to do;
    anything else gets its type and text and a pointer to the log (where it is logged in full).
    """
    detail = str(exc).strip().rstrip(".")
    if isinstance(exc, SdkLoadError):
        return (f"The WeCom SDK library cannot be loaded: {detail}. "
                f"Open Settings > Corp and choose the SDK library file (or the built-in simulator).",
                f"无法加载企业微信会话存档 SDK 库：{detail}。"
                f"请在「设置 > 企业」中选择正确的 SDK 库文件（或使用内置模拟器）。")
    if isinstance(exc, SdkError):
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
    if isinstance(exc, PermissionDenied):
        return (f"Not allowed: {detail}.", f"无权同步：{detail}。")
    if isinstance(exc, AuditTrailError):
        return (f"The audit trail cannot be written, so the sync cannot be recorded: {detail}. "
                f"Check the archive with \"wecom-auditor audit verify\".",
                f"审计日志无法写入，本次同步无法记录：{detail}。请用“wecom-auditor audit verify”检查存档。")
    if isinstance(exc, SyncFailed):
        return (f"The sync stopped: {detail}.",
                f"同步已停止：{detail}。请按提示修正设置后重新同步。")
    if isinstance(exc, SettingsError):
        return (f"The settings are not usable: {detail}.",
                f"设置无法使用：{detail}。请在「设置」中修正。")
    log.error("sync stopped by an unexpected error", exc_info=exc)
    kind = type(exc).__name__
    return (f"The sync stopped because of an unexpected error ({kind}: {detail}); see the log for details.",
            f"同步因意外错误而停止（{kind}: {detail}）；详情请查看日志。")
