"""Errors of the WeCom Finance SDK layer.

The SDK reports failures as return codes 10000-10011 (see the reference table in
``shared/reference/wecom-finance-sdk.md``). :func:`error_for_code` turns a code into an
exception of this hierarchy, which tells the caller what to do with it:

* :class:`SdkRetryableError` (10001-10003): back off and call again.
* :class:`SdkItemError` (10005, 10006, 10008): this one archive entry cannot be decrypted;
  quarantine it and go on.
* :class:`MediaExpiredError` (10010): Tencent no longer keeps the file; mark it expired.
* :class:`SdkConfigError` (10000, 10004, 10007, 10009, 10011): the set-up is wrong; stop and tell
  the administrator what to change.
* :class:`SdkResponseError`: the call returned 0 but WeCom's answer is an ``errcode`` or not JSON;
  ``retryable`` (per instance) says whether to back off and call again ("try later" answers, see
  :mod:`app.core.wecom.errcodes`), ``new_token`` whether a new handle should be opened first.
* :class:`SdkCrashError`: Tencent's library killed the process that ran it (an SDK host, see
  :mod:`app.core.sdk.hosted`) while working on one entry or file; that entry or file is set aside.

Every error carries the code, an English and a Chinese message, and ``retryable``.
This module knows nothing of C types; :mod:`app.core.sdk.binding` raises these.
"""

from __future__ import annotations

from typing import Any

from app.core.errors import SaidInTwoLanguages


class SdkError(Exception):
    """A failure reported by the Finance SDK (a return code or an ``errcode`` in its JSON)."""

    retryable = False
    output: list[bytes]  # set by an SDK host: what the library printed during the failed call

    def __init__(self, code: int, message_en: str, message_zh: str, *, call: str = "", detail: str = ""):
        self.code = code
        self.message_en = message_en
        self.message_zh = message_zh
        self.call = call
        self.detail = detail
        where = f"{call}: " if call else ""
        extra = f" ({detail})" if detail else ""
        super().__init__(f"{where}error {code}: {message_en}{extra}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross the pipe from an SDK host process: rebuild them with every field.
        return (_rebuild, (type(self), self.code, self.message_en, self.message_zh, self.call, self.detail,
                           dict(self.__dict__)))

    def message(self, lang: str = "en") -> str:
        """The message in ``lang`` ("zh" or "en"), with the code."""
        text = self.message_zh if lang.startswith("zh") else self.message_en
        return f"{text} [{self.code}]"


class SdkRetryableError(SdkError):
    """A transient failure (network, parse, system): the same call may succeed later."""

    retryable = True


class SdkItemError(SdkError):
    """One archive entry (or media file) cannot be decrypted: quarantine it, do not stop."""


class MediaExpiredError(SdkError):
    """The media file is older than Tencent keeps media (about 5 days): never retry it."""


class SdkConfigError(SdkError):
    """A configuration problem (parameters, keys, trusted IPs, certificates): stop and report."""


class SdkResponseError(SdkError):
    """The SDK returned 0 but its JSON says ``errcode != 0`` or cannot be read. ``retryable`` and
    ``new_token`` are set per answer (WeCom's "system busy" and frequency limits are retryable)."""

    def __init__(self, code: int, message_en: str, message_zh: str, *, call: str = "", detail: str = "",
                 retryable: bool = False, new_token: bool = False):
        super().__init__(code, message_en, message_zh, call=call, detail=detail)
        self.retryable = retryable
        self.new_token = new_token


class SdkCrashError(SdkItemError):
    """Tencent's library ended the process running it (e.g. ``std::terminate``) while working on
    one entry or media file. ``code`` is 0; the message names how the process ended."""

    def message(self, lang: str = "en") -> str:
        return self.message_zh if lang.startswith("zh") else self.message_en


class SdkClosedError(RuntimeError):
    """The SDK handle was used after it was destroyed (or before it was created)."""


class SdkLoadError(SaidInTwoLanguages, RuntimeError):
    """The SDK library file cannot be used; the message says which file and what to do (in English
    and Chinese)."""


# code -> (exception class, English message, Chinese message)
_CODES: dict[int, tuple[type[SdkError], str, str]] = {
    10000: (SdkConfigError, "parameter error: check the corp id, secret and call arguments",
            "参数错误：请检查企业 ID、会话存档 Secret 与调用参数"),
    10001: (SdkRetryableError, "network error", "网络错误"),
    10002: (SdkRetryableError, "data parse failure", "数据解析失败"),
    10003: (SdkRetryableError, "system failure", "系统失败"),
    10004: (SdkConfigError, "key error while encrypting: check the public key set in the WeCom admin console",
            "加密时密钥错误：请检查企业微信管理后台配置的公钥"),
    10005: (SdkItemError, "invalid fileid or bad key information", "fileid 错误或密钥信息错误"),
    10006: (SdkItemError, "decryption failed", "解密失败"),
    10007: (SdkConfigError, "no private key for the message's encryption version",
            "找不到消息加密版本对应的私钥"),
    10008: (SdkItemError, "could not parse encrypt_key (usually the wrong private key)",
            "解析 encrypt_key 出错（通常是私钥不匹配）"),
    10009: (SdkConfigError,
            "this computer's IP is not in WeCom's trusted IP list: add it under "
            "Admin console > Management tools > Chat archive > trusted IPs",
            "本机 IP 不在企业微信可信 IP 列表中：请在管理后台「管理工具 > 会话内容存档」中添加可信 IP"),
    10010: (MediaExpiredError, "data expired: Tencent no longer keeps this file",
            "数据已过期：腾讯已不再保存该文件"),
    10011: (SdkConfigError, "certificate error", "证书错误"),
}


def _rebuild(cls: type[SdkError], code: int, message_en: str, message_zh: str, call: str, detail: str,
             state: dict[str, Any]) -> SdkError:
    exc = cls.__new__(cls)
    SdkError.__init__(exc, code, message_en, message_zh, call=call, detail=detail)
    exc.__dict__.update(state)
    return exc


def error_for_code(code: int, *, call: str = "", detail: str = "") -> SdkError:
    """The exception for a non-zero return code of ``call``; unknown codes give a plain SdkError."""
    cls, en, zh = _CODES.get(code, (SdkError, "unknown SDK error", "未知的 SDK 错误"))
    return cls(code, en, zh, call=call, detail=detail)


def is_retryable(code: int) -> bool:
    return error_for_code(code).retryable
