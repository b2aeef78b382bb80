"""A small hand-made archive for search tests: tricky texts (CJK, emoji, 𠮷, full-width, ligatures,
combining marks, LIKE wildcards, quotes, whitespace) in private chats and groups, files and images,
recalls, and messages that share a msgtime (to test paging across ties)."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime

from app.core.messages import parse_message
from app.core.sdk import ChatDataItem
from app.core.sdk.decrypt import Decrypted
from app.core.sync.writer import write_batch

TEXTS = [
    "请把合同发给我", "合同已盖章，明天寄出", "发票已开，金额5000元", "付款5000元整", "我的电话13812345678",
    "ABC123 full", "ＡＢＣ１２３", "abc123", "Hello World", "hello", "好的👌", "👍👍", "𠮷野家今天开门吗",
    "100% 完成", "a_b 命名", "C:\\path\\file.txt", "50%折扣", '他说"明天见"', "(括号)里的字", "退款 申请",
    "退款申请", "退\n款", "tab\there", "Straße 大街", "ﬁle 连字", "café 咖啡", "cafe\u0301 组合", "テスト",
    "ﾃｽﾄ 半角", "①号方案", "㈱公司", "™商标", "ｶﾞｽ", "👨\u200d👩\u200d👧 家庭", "👍🏻 好", "的", "的的的",
    "一", "一二三四五", "二三四", "合同合同", "的确是的", "嗯", "", "   ", "%", "_", "\\", "''", "a%b_c\\d",
    "价格：￥5000", "5000元", "元旦快乐", "ß", "SS", "İstanbul", "ǅ letter", "ΣΊΣΥΦΟΣ", "σίσυφος",
    "한국어 메시지", "emoji 😀 face", "😀", "🇨🇳 flag", "北京市朝阳区建国路88号", "订单号ZT855535222451",
    "RO反渗透膜 RO-400G", "滤芯指示灯一直闪红灯", "指示灯", "一直", "fine", "FINE", "ﬁne",
]

SENDERS = ["zhangwei", "LiNa", "wangfang01", "wmExternalUser0000000000000001", "yuan.hui"]
ROOMS = ["", "", "wrRoomOne", "", "wrRoomTwo"]
UTC_DAY = 86_400_000
T0 = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1000)


def _raw(msgid: str, body: dict) -> bytes:
    return json.dumps({"msgid": msgid, "action": "send", **body}, ensure_ascii=False).encode("utf-8")


def build_messages() -> list[bytes]:
    """The corpus as raw message JSON (deterministic)."""
    raws: list[bytes] = []
    for i, text in enumerate(TEXTS):
        sender = SENDERS[i % len(SENDERS)]
        room = ROOMS[i % len(ROOMS)]
        to = [SENDERS[(i + 1) % len(SENDERS)]] + ([SENDERS[(i + 2) % len(SENDERS)]] if room else [])
        # Every 7th message shares the msgtime of the one before (ties for paging).
        t = T0 + (i // 7 * 7 if i % 7 == 6 else i) * UTC_DAY // 3
        body = {"from": sender, "tolist": to, "roomid": room, "msgtime": t}
        if i % 11 == 5:
            body.update(msgtype="file", file={"filename": f"{text}.pdf", "sdkfileid": f"F{i}", "md5sum": "0" * 32,
                                              "filesize": 10, "fileext": "pdf"})
        else:
            body.update(msgtype="text", text={"content": text})
        raws.append(_raw(f"m{i:03d}", body))
    n = len(TEXTS)
    raws.append(_raw("img1", {"from": "zhangwei", "tolist": ["LiNa"], "roomid": "", "msgtime": T0 + n * UTC_DAY,
                              "msgtype": "image", "image": {"sdkfileid": "I1", "md5sum": "1" * 32, "filesize": 5}}))
    # Recall m001 ("合同已盖章…") and m012 (𠮷), from later messages.
    for k, target in enumerate(("m001", "m012")):
        raws.append(_raw(f"rv{k}", {"action": "recall", "from": "LiNa", "tolist": ["zhangwei"], "roomid": "",
                                    "msgtime": T0 + (n + 1 + k) * UTC_DAY, "msgtype": "revoke",
                                    "revoke": {"pre_msgid": target}}))
    return raws


def decrypted(seq: int, raw: bytes) -> Decrypted:
    p = parse_message(raw)
    return Decrypted(ChatDataItem(seq, p.msgid, 1, "k", "m"), raw, p)


def write(db, corp_id: int, raws: list[bytes], start_seq: int = 0, batch: int = 25) -> int:
    """Write ``raws`` in batches the way the sync does; returns the last seq."""
    seq = start_seq
    for i in range(0, len(raws), batch):
        part = raws[i:i + batch]
        items = [decrypted(seq + 1 + j, r) for j, r in enumerate(part)]
        write_batch(db, corp_id, seq, seq + len(part), items, None)
        seq += len(part)
    return seq


def norm(text: str) -> str:
    """The truth's own normalisation (NFKC, case fold, NFKC)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
