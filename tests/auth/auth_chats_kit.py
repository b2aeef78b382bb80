"""A small archive for the enforcement and CLI tests: who talks to whom (scopes), texts to search, and
two images (media)."""

from __future__ import annotations

import json

from app.core.messages import parse_message
from app.core.sdk import ChatDataItem
from app.core.sdk.decrypt import Decrypted
from app.core.sync.writer import write_batch

ZW, LN, WF, CJ = "zhangwei", "lina", "wangfang", "chenjie"
EXT = "wmEXTERNAL0123456789abcdefghij"
# msgid: (sender, tolist, roomid, text or None for an image)
CHATS = {
    "m1": (ZW, [LN], "", "合同 第一份"),
    "i1": (ZW, [LN], "", None),  # the same session as m1
    "m2": (LN, [WF], "", "合同 第二份"),
    "i2": (LN, [WF], "", None),
    "m3": (CJ, [EXT], "", "合同 第三份"),
    "m4": (ZW, [CJ, LN], "room-1", "合同 第四份"),
}
LATER = {"m5": (ZW, [LN], "", "合同 第五份"), "m6": (LN, [WF], "", "合同 第六份")}  # written after indexing
T = 1_700_000_000_000
SCOPED_PW = "scoped-pass-0005"


def _raw(msgid: str, i: int) -> bytes:
    sender, to, room, text = {**CHATS, **LATER}[msgid]
    body = {"msgid": msgid, "action": "send", "from": sender, "tolist": to, "roomid": room, "msgtime": T + i * 1000}
    if text is None:
        body.update(msgtype="image", image={"sdkfileid": f"sdk-{msgid}", "md5sum": "0" * 32, "filesize": 5})
    else:
        body.update(msgtype="text", text={"content": text})
    return json.dumps(body, ensure_ascii=False).encode()


def write_chats(db, corp: int, msgids, start: int = 0) -> None:
    outcomes = []
    for k, msgid in enumerate(msgids):
        raw = _raw(msgid, start + k)
        outcomes.append(Decrypted(ChatDataItem(start + k + 1, msgid, 1, "k", "m"), raw, parse_message(raw)))
    write_batch(db, corp, start, start + len(outcomes), outcomes, None)
