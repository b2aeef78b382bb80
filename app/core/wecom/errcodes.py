"""WeCom's ``errcode`` values and what the app does with each: try later, get a new token, or stop
with a sentence saying what to fix.

One table for every place an errcode reaches the app: the Finance SDK's ``GetChatData`` answer
(passed through verbatim), the SDK's own ``WeWorkFinanceSdk:access:{...}`` line on stdout (the
``gettoken`` answer it got), and the app's own ``gettoken`` preflight (:mod:`app.core.wecom.api`).
Callers decide by :attr:`WeComErrcode.kind`, never by the server's ``errmsg`` (WeCom says errmsg
may change).
"""

from __future__ import annotations

from dataclasses import dataclass

TRY_LATER = "try_later"  # back off and call again
NEW_TOKEN = "new_token"  # the access token is invalid or expired: a new SDK handle gets a new one
STOP = "stop"  # a set-up problem: stop and tell the administrator what to fix


@dataclass(frozen=True, slots=True)
class WeComErrcode:
    code: int
    kind: str
    en: str
    zh: str


_TRUSTED_IP_EN = ("this computer's public IP is not a trusted IP of the chat-archive app: add it in the WeCom "
                  "admin console under Management tools > Chat archive > trusted IPs (or route through the "
                  "corp's proxy whose IP is trusted)")
_TRUSTED_IP_ZH = "本机公网 IP 不是会话存档的可信 IP：请在企业微信管理后台「管理工具 > 会话内容存档」中添加可信 IP（或通过已授信 IP 的代理访问）"

_TABLE: dict[int, tuple[str, str, str]] = {
    -1: (TRY_LATER, "WeCom is busy (errcode -1); the app tries again later",
         "企业微信系统繁忙（errcode -1），稍后自动重试"),
    40001: (STOP, "the chat-archive Secret is wrong (WeCom errcode 40001): copy the Secret again from the admin "
                  "console (Management tools > Chat archive) into Settings > Corp",
            "会话存档 Secret 不正确（企业微信错误码 40001）：请从管理后台「管理工具 > 会话内容存档」重新复制 Secret 到「设置 > 企业」"),
    40013: (STOP, "the corp ID is wrong (WeCom errcode 40013): copy it from the admin console (My company > "
                  "Corp ID) into Settings > Corp",
            "企业 ID 不正确（企业微信错误码 40013）：请从管理后台「我的企业 > 企业 ID」复制到「设置 > 企业」"),
    40014: (NEW_TOKEN, "WeCom says the access token is invalid (errcode 40014)",
            "企业微信提示 access_token 无效（errcode 40014）"),
    41001: (NEW_TOKEN, "WeCom says the access token is missing (errcode 41001)",
            "企业微信提示缺少 access_token（errcode 41001）"),
    41004: (STOP, "the chat-archive Secret is empty (WeCom errcode 41004): enter it in Settings > Corp",
            "会话存档 Secret 为空（企业微信错误码 41004）：请在「设置 > 企业」中填写"),
    42001: (NEW_TOKEN, "WeCom says the access token has expired (errcode 42001)",
            "企业微信提示 access_token 已过期（errcode 42001）"),
    45009: (TRY_LATER, "WeCom's call limit is reached (errcode 45009); the app waits and tries again",
            "已达企业微信接口调用频率上限（errcode 45009），稍后自动重试"),
    45011: (TRY_LATER, "WeCom says the calls are too frequent (errcode 45011); the app waits and tries again",
            "企业微信接口调用过于频繁（errcode 45011），稍后自动重试"),
    45033: (TRY_LATER, "WeCom's limit of concurrent calls is reached (errcode 45033); the app waits and tries again",
            "已达企业微信接口并发上限（errcode 45033），稍后自动重试"),
    48002: (STOP, "WeCom does not allow this app to call the chat-archive API (errcode 48002): check that chat "
                  "archive is enabled for the corp and the Secret is the chat-archive Secret",
            "企业微信不允许调用会话存档接口（错误码 48002）：请确认企业已开通会话内容存档，且使用的是会话存档 Secret"),
    60020: (STOP, f"{_TRUSTED_IP_EN} (WeCom errcode 60020)", f"{_TRUSTED_IP_ZH}（企业微信错误码 60020）"),
    301052: (STOP, "WeCom refuses the chat archive of this corp (errcode 301052): the chat-archive service is not "
                   "active — check its licence and period in the admin console (Management tools > Chat archive)",
             "企业微信拒绝提供本企业的会话存档（错误码 301052）：会话存档服务未生效，请在管理后台「管理工具 > 会话内容存档」检查服务状态与有效期"),
}


def errcode_info(code: int, errmsg: str = "") -> WeComErrcode:
    """What ``code`` means for the app. An unknown non-zero code stops with a sentence naming it
    (and WeCom's errmsg, cut short); codes ≥ 45000 and < 46000 are frequency limits: try later."""
    known = _TABLE.get(code)
    if known is not None:
        return WeComErrcode(code, *known)
    said = f": {errmsg.strip()[:120]}" if errmsg and errmsg.strip() else ""
    if 45000 <= code < 46000:
        return WeComErrcode(code, TRY_LATER, f"WeCom asks to slow down (errcode {code}{said}); the app tries again later",
                            f"企业微信要求降低调用频率（errcode {code}{said}），稍后自动重试")
    return WeComErrcode(code, STOP, f"WeCom refused the call with errcode {code}{said}",
                        f"企业微信拒绝了调用，错误码 {code}{said}")


# ---------------------------------------------------------------------------------------------- server API
# The directory sync (app/core/directory) calls WeCom's server API with up to three secrets. An
# errcode there is said per API and per secret: "the contacts secret may not call user/list_id"
# tells the administrator what to change, where "errcode 48002" does not.

ARCHIVE, CONTACTS, CUSTOMER = "archive", "contacts", "customer"
CREDENTIAL_NAMES: dict[str, tuple[str, str]] = {
    ARCHIVE: ("the chat-archive secret", "会话存档 Secret"),
    CONTACTS: ("the contacts secret", "通讯录 Secret"),
    CUSTOMER: ("the customer-contact secret", "客户联系 Secret"),
}
# Where each secret is entered, for the sentences that ask for one.
_WHERE_EN = {ARCHIVE: "Settings > Corp", CONTACTS: "the Directory panel's Secrets (or `wecom-auditor directory secret contacts`)",
             CUSTOMER: "the Directory panel's Secrets (or `wecom-auditor directory secret customer`)"}
_WHERE_ZH = {ARCHIVE: "「设置 > 企业」", CONTACTS: "「通讯录」面板的「Secret」（或 `wecom-auditor directory secret contacts`）",
             CUSTOMER: "「通讯录」面板的「Secret」（或 `wecom-auditor directory secret customer`）"}

# Codes that concern one object of a call (a userid, an external contact, a room), not the call as a
# whole: the sync notes them and goes on with the next object.
ITEM_CODES = frozenset({40003, 40058, 40096, 60011, 60111, 84061})


def api_errcode_info(code: int, api: str, credential: str = ARCHIVE, errmsg: str = "") -> WeComErrcode:
    """What ``code`` from WeCom's server API ``api`` (e.g. ``"user/list_id"``) called with the
    ``credential`` secret (archive / contacts / customer) means, as one sentence in each language
    naming the API and the secret. Token and frequency codes keep their kinds (new_token / try_later)."""
    cred_en, cred_zh = CREDENTIAL_NAMES.get(credential, CREDENTIAL_NAMES[ARCHIVE])
    where_en, where_zh = _WHERE_EN.get(credential, _WHERE_EN[ARCHIVE]), _WHERE_ZH.get(credential, _WHERE_ZH[ARCHIVE])
    if api == "gettoken" and code in (40001, 41004):
        return WeComErrcode(code, STOP, f"{cred_en} is {'empty' if code == 41004 else 'wrong'} (WeCom errcode {code}): "
                                        f"copy it again from the admin console into {where_en}",
                            f"{cred_zh}{'为空' if code == 41004 else '不正确'}（企业微信错误码 {code}）：请从管理后台重新复制到{where_zh}")
    if code == 48002:
        return WeComErrcode(code, STOP, f"WeCom does not let {cred_en} call {api} (errcode 48002): give that app the "
                                        f"permission in the admin console, or enter a secret that has it in {where_en}",
                            f"企业微信不允许使用{cred_zh}调用 {api}（错误码 48002）：请在管理后台为该应用开通相应权限，"
                            f"或在{where_zh}填写具备权限的 Secret")
    if code == 60011:
        return WeComErrcode(code, STOP, f"{api}: the app of {cred_en} may not see this member, department or contact "
                                        f"(WeCom errcode 60011): widen the app's visible range in the admin console",
                            f"{api}：{cred_zh}所属应用无权查看该成员、部门或联系人（错误码 60011）：请在管理后台扩大应用的可见范围")
    if code in (60111, 40003):
        return WeComErrcode(code, STOP, f"{api}: WeCom knows no staff member by this userid (errcode {code}; left the "
                                        f"corp?)", f"{api}：企业微信中没有此 userid 的成员（错误码 {code}；可能已离职）")
    if code in (84061, 40096):
        return WeComErrcode(code, STOP, f"{api}: WeCom knows no customer relationship for this external contact "
                                        f"(errcode {code}; deleted by every staff member, or not a customer)",
                            f"{api}：企业微信中不存在与此外部联系人的客户关系（错误码 {code}；可能已被所有成员删除）")
    if code == 60020 and credential != ARCHIVE:
        return WeComErrcode(code, STOP, f"{api}: this computer's public IP is not a trusted IP of the app of {cred_en} "
                                        f"(WeCom errcode 60020): add it under that app's trusted IPs in the admin console "
                                        f"(or route through the corp's proxy whose IP is trusted)",
                            f"{api}：本机公网 IP 不是{cred_zh}所属应用的企业可信 IP（错误码 60020）：请在管理后台该应用的"
                            f"「企业可信IP」中添加（或通过已授信 IP 的代理访问）")
    if code == 301052:
        return WeComErrcode(code, STOP, f"{api}: the corp's chat-archive service has expired (WeCom errcode 301052): "
                                        f"check its licence and period in the admin console",
                            f"{api}：企业的会话存档服务已过期（错误码 301052）：请在管理后台检查服务状态与有效期")
    base = errcode_info(code, errmsg)
    if base.kind == STOP and code not in (40013, 60020):
        return WeComErrcode(code, STOP, f"{api}: {base.en}", f"{api}：{base.zh}")
    return base
