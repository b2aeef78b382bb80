"""Write a corpus directory for the SDK simulator (see native/corpus/README.md for the format).

The message stream is generated day by day: each day gets a number of entries, conversations
("threads") are started on sessions at plausible times, their messages are merged in time order
and written as they come. Only small per-session state is kept (the last few msgids, for recalls),
so memory does not grow with the corpus.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import string
import time
from bisect import bisect
from collections import Counter
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path

from . import media as mediamod
from .directory import build_wecom_directory
from .ids import IdMaker
from .names import OUR_CORP, OUR_SHORT, Directory, Person, Session, build_directory
from .phrases import (
    ACKS,
    CITY_COORDS,
    EXTERNAL_SCRIPTS,
    GROUP_SCRIPTS,
    INTERNAL_SCRIPTS,
    LONG_TEXT_PARTS,
    MARKUP_TEXTS,
    ODD_TEXTS,
    TOPICS_EXTERNAL_SALES,
    TOPICS_EXTERNAL_SERVICE,
    TOPICS_GROUP_CUSTOMER,
    TOPICS_GROUP_INTERNAL,
    TOPICS_INTERNAL,
    Slots,
    address,
)
from .timeline import anchor_for, day_plan, day_start_ms, reply_gap_ms, thread_start_ms

GENERATOR_VERSION = "1.1.0"  # 1.1: directory.json

# Every msgtype of the reference catalogue (docs: wecom-finance-sdk.md section 6).
CATALOGUE_MSGTYPES = (
    "text", "image", "revoke", "agree", "disagree", "voice", "video", "card", "location", "emotion", "file",
    "link", "weapp", "chatrecord", "todo", "vote", "collect", "redpacket", "external_redpacket", "meeting",
    "docmsg", "markdown", "news", "calendar", "mixed", "meeting_voice_call", "voip_doc_share", "sphfeed",
    "voiptext", "qydiskfile",
)
UNKNOWN_MSGTYPES = ("future_widget", "smart_sheet_card")

# Relative weights of the non-text messages a conversation throws in.
EXTRA_WEIGHTS = {
    "image": 9.0, "voice": 6.0, "emotion": 3.0, "file": 3.0, "link": 3.0, "revoke": 1.6, "video": 1.5,
    "mixed": 0.8, "location": 0.6, "docmsg": 0.6, "card": 0.5, "chatrecord": 0.5, "weapp": 0.4,
    "voiptext": 0.4, "calendar": 0.35, "todo": 0.3, "meeting": 0.3, "markdown": 0.3, "news": 0.3,
    "qydiskfile": 0.25, "redpacket": 0.2, "sphfeed": 0.2, "external_redpacket": 0.15,
    "meeting_voice_call": 0.15, "vote": 0.15, "collect": 0.12, "voip_doc_share": 0.12,
}
NOT_EXTERNAL = {"redpacket", "vote", "collect", "markdown", "news", "todo"}
NOT_INTERNAL = {"external_redpacket", "vote", "collect", "markdown", "news"}
# WeCom's samples of these carry no roomid: we keep them to one-to-one sessions
ONE_TO_ONE_ONLY = {"meeting_voice_call", "voip_doc_share"}

P_EXTRA = 0.2  # share of thread messages (after a thread's first) that are not the script's text
P_SWITCH = 0.002
P_UNKNOWN = 0.001
P_GAP = 0.005  # an entry is followed by a seq gap of 1-5
P_BAD_MD5 = 0.005
P_EMPTY_MD5 = 0.003
MAX_BAD_MD5 = 200  # keeps truth.json small on huge corpora
MAX_EMPTY_MD5 = 100
P_HOSTILE_NAME = 0.002
P_LONG_TEXT = 0.002
P_MARKUP_TEXT = 0.0005
P_ODD_TEXT = 0.0008
P_DISAGREE = 0.03
SHARE_KEY_V1 = 0.4
SHARE_UNINSTALLED = 0.002

# File names that must never be trusted as paths or shown naively. (name, media kind)
HOSTILE_FILENAMES = (
    ("../../etc/passwd.txt", "txt"),
    ("CON.docx", "docx"),
    ("合同 (最终版).pdf", "pdf"),
    ("报价单\n第二版.xlsx", "xlsx"),
    ("a/b/交付清单.pdf", "pdf"),
    ("..\\..\\Windows\\win.ini.txt", "txt"),
    ("发票\u202efdp.exe", "dat"),
    ("NUL", "dat"),
    ('file<>:"|?*.txt', "txt"),
    (".hidden.pdf", "pdf"),
    ("验收报告.PDF", "pdf"),
    ("超长文件名" * 30 + ".docx", "docx"),
)

# The pool: share of distinct files per kind. Specials (one file each) come on top.
POOL_SHARES = {
    "jpg": 0.28, "png": 0.10, "gif": 0.05, "sticker_png": 0.04, "amr": 0.12, "amr_long": 0.02, "mp4": 0.08,
    "pdf": 0.10, "docx": 0.07, "xlsx": 0.06, "txt": 0.03, "dat": 0.02,
}
SPECIAL_KINDS = ("nul_bin", "pdf_big", "mp4_big")
MIN_POOL = len(POOL_SHARES) + len(SPECIAL_KINDS)


def default_media_pool(messages: int) -> int:
    return min(200, max(MIN_POOL * 2, messages // 15))


class MediaFile:
    __slots__ = ("relpath", "md5", "size", "meta")

    def __init__(self, relpath: str, md5: str, size: int, meta: dict) -> None:
        self.relpath, self.md5, self.size, self.meta = relpath, md5, size, meta


class MediaPool:
    """At most ``max(size, MIN_POOL)`` distinct files (one per kind at least), each made the first
    time its slot is asked for and then reused by further sdkfileids. With ``real=False`` every
    kind is one tiny file."""

    def __init__(self, root: Path, seed: int, size: int, real: bool) -> None:
        self.root = root
        self.seed = seed
        self.real = real
        self.rng = random.Random(f"wecom-corpus/pool/{seed}")
        budget = max(size, MIN_POOL) - len(SPECIAL_KINDS)
        if real:
            self.caps = {k: max(1, int(budget * share)) for k, share in POOL_SHARES.items()}
            while sum(self.caps.values()) > budget:  # the minimum of one per kind overshot
                biggest = max(self.caps, key=self.caps.__getitem__)
                self.caps[biggest] -= 1
        else:
            self.caps = dict.fromkeys(POOL_SHARES, 1)
        self.caps.update(dict.fromkeys(SPECIAL_KINDS, 1))
        self.files: dict[str, list[MediaFile]] = {k: [] for k in self.caps}
        self.count = 0
        self.bytes = 0

    def pick(self, kind: str) -> MediaFile:
        have = self.files[kind]
        if len(have) < self.caps[kind]:
            idx = len(have)
            made = mediamod.make(kind, random.Random(f"wecom-corpus/media/{self.seed}/{kind}/{idx}"), tiny=not self.real)
            rel = f"media/{kind}_{idx:04d}.{made.ext}"
            (self.root / rel).write_bytes(made.data)
            f = MediaFile(rel, hashlib.md5(made.data).hexdigest(), len(made.data), made.meta)
            have.append(f)
            self.count += 1
            self.bytes += f.size
            return f
        return have[self.rng.randrange(len(have))]

    def large(self, threshold: int) -> list[dict]:
        return [{"file": f.relpath, "bytes": f.size} for fs in self.files.values() for f in fs if f.size > threshold]


class Thread:
    """One conversation on a session: a topic script walked step by step, with fillers."""

    __slots__ = ("session", "script", "step", "slots", "length", "emitted", "roles", "last_role", "prefix",
                 "topic")

    def __init__(self, session: Session, topic: str, script: list, slots: Slots, length: int,
                 roles: dict[str, Person]) -> None:
        self.session = session
        self.topic = topic
        self.script = script
        self.step = 0
        self.slots = slots
        self.length = length
        self.emitted = 0
        self.roles = roles
        self.last_role = "s"
        self.prefix: list[str] = []  # "agree" / "disagree" to emit first


def _cum(weights: dict[str, float]) -> tuple[list[str], list[float]]:
    keys = list(weights)
    return keys, list(accumulate(weights[k] for k in keys))


def _choose(rng: random.Random, table: tuple[list, list[float]]):
    keys, cum = table
    return keys[bisect(cum, rng.random() * cum[-1])]


class Generator:
    def __init__(self, out: Path, messages: int, seed: int, key_versions: int, uninstalled_key: bool,
                 media: bool, media_pool: int, progress: Callable[[int, int], None] | None) -> None:
        self.out = out
        self.n = messages
        self.seed = seed
        self.key_versions = key_versions
        self.uninstalled_key = uninstalled_key
        self.media_enabled = media
        self.progress = progress
        self.rng = random.Random(f"wecom-corpus/messages/{seed}")
        self.dir: Directory = build_directory(seed)
        self.ids = IdMaker(seed)
        self.pool = MediaPool(out, seed, media_pool, media)
        self.media_pool = media_pool
        self.media_refs = 0
        self.media_json = None
        self.counts_type: Counter = Counter()
        self.counts_action: Counter = Counter()
        self.counts_ver: Counter = Counter()
        self.counts_session: Counter = Counter()
        self.bad_md5: list[str] = []
        self.empty_md5: list[str] = []
        self.uninstalled_seqs: list[int] = []
        self.hostile_used: set[str] = set()
        self.seq_gaps = 0
        self.entry = 0  # index of the entry being generated
        self.last_t = 0
        self.force_bad = 0
        self.force_empty = 0
        self.pending: list[str] = []
        self.forced = self._forced_schedule()

        # key versions by entry index
        self.n_uninstalled = max(2, round(messages * SHARE_UNINSTALLED)) if uninstalled_key else 0
        self.n_uninstalled = min(self.n_uninstalled, messages)
        kv = key_versions
        self.ver_bounds = [int(messages * (SHARE_KEY_V1 + (1 - SHARE_KEY_V1) * (k - 2) / (kv - 1))) for k in range(2, kv + 1)] if kv > 1 else []

        # session choice: by kind share, then by the session's own activity
        sessions = self.dir.sessions
        share = {"external": 0.45, "internal": 0.20, "group": 0.35}
        totals = Counter()
        for s in sessions:
            totals[s.kind] += s.weight
        self.session_table = (sessions, list(accumulate(share[s.kind] * s.weight / totals[s.kind] for s in sessions)))
        self.extra_tables = {s.index: self._extra_table(s) for s in sessions}
        self.topic_tables = {
            "external_sales": _cum(dict(TOPICS_EXTERNAL_SALES)),
            "external_service": _cum(dict(TOPICS_EXTERNAL_SERVICE)),
            "internal": _cum(dict(TOPICS_INTERNAL)),
            "group_internal": _cum(dict(TOPICS_GROUP_INTERNAL)),
            "group_customer": _cum(dict(TOPICS_GROUP_CUSTOMER)),
        }
        self.enc = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        self._tolists: dict[tuple[int, str], list[str]] = {}
        self._company_list = sorted({e.dept for e in self.dir.externals if e.dept != "微信"})

    # ---- schedule of things every corpus must contain -------------------------------------

    def _forced_schedule(self) -> list[tuple[int, str]]:
        """(entry index, item) pairs, popped from the end as generation passes them."""
        rng = random.Random(f"wecom-corpus/forced/{self.seed}")
        items: list[str] = []
        reps = 3 if self.n >= 1500 else 1  # small corpora would be nothing but these
        for t in CATALOGUE_MSGTYPES:
            if t not in ("text", "agree"):
                items += [t] * reps
        items += ["switch"] * 2 + ["unknown"] * 2 + ["md5:bad"] * 2 + ["md5:empty"] * 2
        items += ["chatrecord:full"] * 2 + ["text:markup"] * 2 + ["text:long"] * 2
        items += [f"text:odd:{i}" for i in range(len(ODD_TEXTS))]
        items += [f"file:hostile:{i}" for i in range(len(HOSTILE_FILENAMES))]
        items += ["file:nul_bin"]
        if self.n >= 1000:  # two files over 5 MB: pointless weight for a tiny corpus
            items += ["file:pdf_big", "video:mp4_big"]
        rng.shuffle(items)
        # spread over the first 95% of the corpus, leaving the tail (uninstalled key) alone
        span = max(1, int(self.n * 0.95))
        pos = sorted(rng.randrange(span) for _ in items)
        return sorted(zip(pos, items, strict=True), reverse=True)

    def _extra_table(self, s: Session) -> tuple[list[str], list[float]]:
        w = dict(EXTRA_WEIGHTS)
        if s.kind == "external":
            for k in NOT_EXTERNAL:
                w.pop(k)
        elif s.kind == "internal":
            for k in NOT_INTERNAL:
                w.pop(k)
        else:
            for k in ONE_TO_ONE_ONLY:
                w.pop(k)
            if not s.has_external:
                w.pop("external_redpacket")
            if s.robot is None:
                w.pop("markdown")
                w.pop("news")
        return _cum(w)

    def _allowed(self, s: Session, msgtype: str) -> bool:
        if msgtype in ("agree", "disagree"):
            return False  # these come with a thread's start, see _new_thread
        if msgtype in ("text", "revoke") or msgtype not in EXTRA_WEIGHTS:
            return True
        return msgtype in self.extra_tables[s.index][0]

    # ---- threads ----------------------------------------------------------------------------

    def _new_thread(self, day_ctx: dict, used_today: set[int]) -> Thread:
        rng = self.rng
        sessions, cum = self.session_table
        for _ in range(8):
            s = sessions[bisect(cum, rng.random() * cum[-1])]
            if s.kind == "external" and s.consent == "disagree" and s.consent_until > day_ctx["start_ms"]:
                continue
            break
        roles: dict[str, Person]
        if s.kind == "external":
            staff, ext = s.members
            roles = {"s": staff, "c": ext}
            table = "external_service" if staff.dept in ("客服部", "售后技术部") else "external_sales"
            topic = _choose(rng, self.topic_tables[table])
            script = EXTERNAL_SCRIPTS[topic]
            ctx_people = {"cname": ext.title, "sname": staff.title, "me": staff.name,
                          "company": ext.dept if ext.dept != "微信" else rng.choice(self._companies())}
        elif s.kind == "internal":
            a, b = s.members if rng.random() < 0.5 else s.members[::-1]
            roles = {"c": a, "s": b}
            topic = _choose(rng, self.topic_tables["internal"])
            script = INTERNAL_SCRIPTS[topic]
            ctx_people = {"cname": self._any_customer_title(), "sname": b.title, "me": a.name,
                          "company": rng.choice(self._companies())}
        else:
            staff_m = [m for m in s.members if m.kind == "staff"]
            ext_m = [m for m in s.members if m.kind == "external"]
            main = staff_m[0] if rng.random() < 0.5 else rng.choice(staff_m)
            cust = rng.choice(ext_m) if ext_m else rng.choice(staff_m)
            roles = {"s": main, "c": cust}
            topic = _choose(rng, self.topic_tables["group_customer" if ext_m else "group_internal"])
            script = GROUP_SCRIPTS[topic]
            ctx_people = {"cname": cust.title, "sname": main.title, "me": main.name,
                          "company": s.company or (cust.dept if cust.kind == "external" and cust.dept != "微信"
                                                   else rng.choice(self._companies()))}
        slots = Slots(rng, {**day_ctx, **ctx_people})
        length = len(script) + rng.choice((0, 0, 0, 1, 1, 2, 3))
        if rng.random() < 0.25:
            length = rng.randint(1, max(1, length - 1))  # a conversation that peters out
        th = Thread(s, topic, script, slots, length, roles)
        if s.kind == "external" and s.consent != "agree":
            if s.index not in used_today and ("disagree" in self.pending or rng.random() < P_DISAGREE):
                if "disagree" in self.pending:
                    self.pending.remove("disagree")
                th.prefix = ["disagree"]
                th.length = 1
                s.consent = "disagree"
                s.consent_until = day_ctx["start_ms"] + rng.randint(3, 40) * 86_400_000
            else:
                th.prefix = ["agree"]
                th.length += 1
                s.consent = "agree"
        elif s.kind == "external" and "disagree" in self.pending and s.index not in used_today:
            # a contact who agreed earlier withdraws consent
            self.pending.remove("disagree")
            th.prefix = ["disagree"]
            th.length = 1
            s.consent = "disagree"
            s.consent_until = day_ctx["start_ms"] + rng.randint(3, 40) * 86_400_000
        used_today.add(s.index)
        return th

    def _companies(self) -> list[str]:
        return self._company_list

    def _any_customer_title(self) -> str:
        return self.rng.choice(self.dir.externals).title

    def _plan_day(self, day, k: int, workday: bool) -> list[tuple[int, int, Thread]]:
        rng = self.rng
        start_ms = day_start_ms(day)
        day_ctx = {"day": day, "yyyymmdd": day.strftime("%Y%m%d"), "month": str(day.month), "start_ms": start_ms}
        end_ms = start_ms + 86_400_000 - 1
        events: list[tuple[int, int, Thread]] = []
        used_today: set[int] = set()
        agreed_at: dict[int, int] = {}
        order = 0
        while len(events) < k:
            th = self._new_thread(day_ctx, used_today)
            t = thread_start_ms(rng, day, workday)
            s = th.session
            if th.prefix == ["agree"]:
                agreed_at[s.index] = t
            elif s.index in agreed_at and t <= agreed_at[s.index]:
                t = agreed_at[s.index] + rng.randint(1000, 600_000)
            for _ in range(th.length):
                if len(events) >= k:
                    break
                events.append((min(t, end_ms), order, th))
                order += 1
                t += reply_gap_ms(rng)
        events.sort()
        return events

    # ---- message building -------------------------------------------------------------------

    def _head(self, th: Thread, t: int, sender: Person, msgtype: str, action: str = "send") -> dict:
        s = th.session
        if s.kind == "group":
            tolist = self._tolist_group(s, sender)
            roomid = s.roomid
            external = s.has_external
        else:
            other = s.members[0] if sender is s.members[1] else s.members[1]
            tolist = [other.userid]
            roomid = ""
            external = s.kind == "external"
        t_s = t // 1000
        if external:
            msgid = self.ids.msgid_num(self.entry, t_s, True)
        elif self.rng.random() < 0.7:
            msgid = self.ids.msgid_pb(self.entry, t_s)
        else:
            msgid = self.ids.msgid_num(self.entry, t_s, False)
        return {"msgid": msgid, "action": action, "from": sender.userid, "tolist": tolist, "roomid": roomid,
                "msgtime": t, "msgtype": msgtype}

    def _tolist_group(self, s: Session, sender: Person) -> list[str]:
        key = (s.index, sender.userid)
        tl = self._tolists.get(key)
        if tl is None:
            tl = [m.userid for m in s.members if m is not sender]
            self._tolists[key] = tl
        return tl

    def _speaker(self, th: Thread, role: str) -> Person:
        if role == "*":
            s = th.session
            if self.rng.random() < 0.5:
                return th.roles["s"]
            return self.rng.choice(s.members)
        return th.roles[role]

    def _media(self, kind: str, t: int, top_level: bool) -> tuple[str, str, int, dict]:
        f = self.pool.pick(kind)
        self.media_refs += 1
        sid = IdMaker.sdkfileid(self.media_refs, self.rng, t // 1000)
        self.media_json.write(("{\n" if self.media_refs == 1 else ",\n") + json.dumps(sid) + ": " + json.dumps(f.relpath))
        md5 = f.md5
        if top_level:
            if (self.force_bad or self.rng.random() < P_BAD_MD5) and len(self.bad_md5) < MAX_BAD_MD5:
                self.force_bad = max(0, self.force_bad - 1)
                md5 = hashlib.md5(sid.encode()).hexdigest()
                self.bad_md5.append(sid)
            elif (self.force_empty or self.rng.random() < P_EMPTY_MD5) and len(self.empty_md5) < MAX_EMPTY_MD5:
                self.force_empty = max(0, self.force_empty - 1)
                md5 = ""
                self.empty_md5.append(sid)
        return sid, md5, f.size, f.meta

    def _text(self, th: Thread, t: int, sender: Person, content: str) -> dict:
        m = self._head(th, t, sender, "text")
        m["text"] = {"content": content}
        return m

    def _fill(self, th: Thread, templates: tuple[str, ...]) -> str:
        rng = self.rng
        text = rng.choice(templates).format_map(th.slots)
        r = rng.random()
        if r < 0.02:
            text += th.slots["emoji"]
        elif r < 0.025:
            text += " " + th.slots["en"]
        return text

    def _file_name(self, spec: str, th: Thread, kind_hint: str | None = None) -> tuple[str, str]:
        """(filename, media kind) for a file message of a script attachment spec."""
        rng = self.rng
        sl = th.slots
        if spec == "quote":
            kind = "xlsx" if rng.random() < 0.6 else "pdf"
            name = rng.choice((f"报价单-{sl['company']}-{sl['yyyymmdd']}", f"{sl['product']}报价单V{rng.randint(1, 4)}",
                               f"{OUR_SHORT}报价_{sl['company']}"))
        elif spec == "contract":
            kind = "docx" if rng.random() < 0.7 else "pdf"
            name = rng.choice((f"采购合同-{sl['company']}", f"{sl['company']}_销售合同_{sl['yyyymmdd']}",
                               "服务协议（修订）", f"合同{sl['contract']}"))
        elif spec == "invoice":
            kind = "pdf"
            name = rng.choice((f"电子发票_{sl['invoice']}", f"dzfp_{sl['invoice']}_{sl['company']}"))
        elif spec == "manual":
            kind = "pdf"
            name = rng.choice((f"{sl['product']}{sl['model']}产品手册V3.2", "安装说明书", f"{sl['model']}参数对比"))
        elif spec == "report":
            kind = "xlsx"
            name = rng.choice((f"{sl['month']}销售报表", f"周报-{sl['me']}", "回款明细", "库存盘点表"))
        elif spec == "txt":
            kind = "txt"
            name = rng.choice(("开票信息", "备注", "收货信息"))
        else:  # anything
            kind = kind_hint or rng.choice(("pdf", "pdf", "docx", "xlsx", "xlsx", "txt", "dat", "jpg", "mp4"))
            name = {
                "pdf": rng.choice(("产品目录2025", "资质证书", "公司介绍", "检测报告")),
                "docx": rng.choice(("会议纪要", "需求说明", "培训通知", "授权委托书")),
                "xlsx": rng.choice(("客户清单", "价格表", "发货明细", "考勤表")),
                "txt": rng.choice(("readme", "日志", "备忘")),
                "dat": rng.choice(("数据备份", "export", "设备日志")),
                "jpg": f"IMG_{rng.randint(1000, 9999)}",
                "mp4": f"VID_{sl['yyyymmdd']}_{rng.randint(100000, 235959)}",
                "nul_bin": rng.choice(("固件升级包_v2.1", "XH-W500_firmware")),
                "pdf_big": f"{sl['company']}合同扫描件",
            }[kind]
        ext = mediamod_ext(kind)
        if kind == "jpg" and rng.random() < 0.5:
            ext = "JPG"
        return f"{name}.{ext}", kind

    def _file_msg(self, th: Thread, t: int, sender: Person, filename: str, kind: str) -> dict:
        sid, md5, size, _ = self._media(kind, t, True)
        m = self._head(th, t, sender, "file")
        dot = filename.rfind(".")
        ext = filename[dot + 1:] if 0 <= dot < len(filename) - 1 else ""
        m["file"] = {"md5sum": md5, "filename": filename, "fileext": ext, "filesize": size, "sdkfileid": sid}
        return m

    def _image(self, th: Thread, t: int, sender: Person, kind: str | None = None) -> dict:
        kind = kind or ("jpg" if self.rng.random() < 0.72 else "png")
        sid, md5, size, _ = self._media(kind, t, True)
        m = self._head(th, t, sender, "image")
        m["image"] = {"md5sum": md5, "filesize": size, "sdkfileid": sid}
        return m

    def _video(self, th: Thread, t: int, sender: Person, kind: str = "mp4") -> dict:
        sid, md5, size, meta = self._media(kind, t, True)
        m = self._head(th, t, sender, "video")
        m["video"] = {"md5sum": md5, "filesize": size, "play_length": meta.get("play_length", 1), "sdkfileid": sid}
        return m

    def _item_content(self, typ: str, th: Thread, t: int) -> str:
        """The JSON-string content of a chatrecord / mixed item."""
        rng = self.rng
        if typ in ("ChatRecordText", "text"):
            p = {"content": self._fill(th, ("好的", "收到", "{product}报价{price}元", "地址：{addr}", "电话{phone}",
                                            "订单{order}已发货", "明天{time}到", "合同已盖章"))}
        elif typ in ("ChatRecordImage", "image"):
            sid, md5, size, _ = self._media("jpg" if rng.random() < 0.7 else "png", t, False)
            p = {"md5sum": md5, "filesize": size, "sdkfileid": sid}
        elif typ == "ChatRecordFile":
            name, kind = self._file_name(rng.choice(("quote", "contract", "manual", "other")), th)
            sid, md5, size, _ = self._media(kind, t, False)
            p = {"filename": name, "fileext": name.rsplit(".", 1)[-1], "filesize": size, "md5sum": md5, "sdkfileid": sid}
        elif typ == "ChatRecordVoice":
            sid, md5, size, meta = self._media("amr", t, False)
            p = {"md5sum": md5, "voice_size": size, "play_length": meta["play_length"], "sdkfileid": sid}
        elif typ == "ChatRecordVideo":
            sid, md5, size, meta = self._media("mp4", t, False)
            p = {"md5sum": md5, "filesize": size, "play_length": meta["play_length"], "sdkfileid": sid}
        elif typ == "ChatRecordEmotion":
            gif = rng.random() < 0.6
            sid, md5, size, meta = self._media("gif" if gif else "sticker_png", t, False)
            p = {"type": 1 if gif else 2, "width": meta["width"], "height": meta["height"], "imagesize": size,
                 "md5sum": md5, "sdkfileid": sid}
        elif typ == "ChatRecordLink":
            p = self._link_payload()
        elif typ == "ChatRecordLocation":
            p = self._location_payload()
        elif typ == "ChatRecordCard":
            p = self._card_payload(th)
        elif typ == "ChatRecordWeapp":
            p = self._weapp_payload()
        elif typ == "ChatRecordMixed":
            p = {"item": [{"type": "text", "content": self._item_content("text", th, t)},
                          {"type": "image", "content": self._item_content("image", th, t)}]}
        else:
            raise ValueError(typ)
        return self.enc(p)

    def _link_payload(self) -> dict:
        rng = self.rng
        title, desc = rng.choice((
            ("2025年商用净水设备行业报告", "市场规模、竞争格局与采购建议"),
            ("邀请你加入群聊", "技术支持群，进入可查看详情"),
            ("星河智能 | 新品发布会回顾", "XH-W500 Pro 正式上市"),
            ("办公室空气质量国家标准解读", "GB/T 18883-2022 室内空气质量标准"),
            ("顺丰速运-运单详情", "您的快件已签收"),
            ("How to choose a water purifier", "A short guide for facility managers"),
        ))
        path = "".join(rng.choice(string.ascii_letters + string.digits + "_-") for _ in range(22))
        url = rng.choice((f"https://mp.weixin.qq.com/s/{path}", f"https://work.weixin.qq.com/wework_admin/external_room/join?vcode={path}",
                          f"https://www.xinghe-tech.example/news/{rng.randint(100, 999)}.html?from=wecom&utm_source={path[:6]}"))
        return {"title": title, "description": desc, "link_url": url,
                "image_url": f"https://wework.qpic.cn/wwpic/{rng.randint(100000, 999999)}_{path[:12]}/0"}

    def _location_payload(self) -> dict:
        rng = self.rng
        addr, city = address(rng)
        lng, lat = CITY_COORDS[city]
        return {"longitude": round(lng + rng.uniform(-0.2, 0.2), 9), "latitude": round(lat + rng.uniform(-0.15, 0.15), 9),
                "address": addr, "title": rng.choice(("公司", "仓库", "项目现场", "客户办公室", addr[:8] + "附近")),
                "zoom": rng.choice((15, 16, 17))}

    def _card_payload(self, th: Thread) -> dict:
        rng = self.rng
        if rng.random() < 0.6:
            p = rng.choice(self.dir.staff)
            return {"corpname": OUR_CORP, "userid": p.userid}
        e = rng.choice(self.dir.externals)
        return {"corpname": "微信联系人" if e.dept == "微信" else e.dept, "userid": e.userid}

    def _weapp_payload(self) -> dict:
        rng = self.rng
        title, desc, user, disp = rng.choice((
            ("查看物流详情", "您的快件正在派送中", "gh_5e1d3ccbf7a2@app", "顺丰速运"),
            ("开始聊天前请仔细阅读服务须知事项", "客户需同意存档聊天记录", "gh_8d9f0a1b2c3d@app", "服务须知"),
            ("星河智能商城", "滤芯、配件一站购齐", "gh_a1b2c3d4e5f6@app", "星河智能商城"),
            ("电子发票查验", "国家税务总局全国增值税发票查验平台", "gh_0f9e8d7c6b5a@app", "发票查验"),
        ))
        return {"title": title, "description": desc, "username": user, "displayname": disp}

    def _build(self, typ: str, th: Thread, t: int, sender: Person) -> dict | None:
        """A message of a non-text type, or None when it does not fit here."""
        rng = self.rng
        s = th.session
        if typ == "image":
            return self._image(th, t, sender)
        if typ == "voice":
            sid, md5, size, meta = self._media("amr", t, True)
            m = self._head(th, t, sender, "voice")
            m["voice"] = {"md5sum": md5, "voice_size": size, "play_length": meta["play_length"], "sdkfileid": sid}
            return m
        if typ == "video":
            return self._video(th, t, sender)
        if typ == "emotion":
            gif = rng.random() < 0.6
            sid, md5, size, meta = self._media("gif" if gif else "sticker_png", t, True)
            m = self._head(th, t, sender, "emotion")
            m["emotion"] = {"type": 1 if gif else 2, "width": meta["width"], "height": meta["height"],
                            "imagesize": size, "md5sum": md5, "sdkfileid": sid}
            return m
        if typ == "file":
            if rng.random() < P_HOSTILE_NAME:
                name, kind = HOSTILE_FILENAMES[rng.randrange(len(HOSTILE_FILENAMES))]
                self.hostile_used.add(name)
            elif rng.random() < 0.004:
                name, kind = self._file_name("other", th, "nul_bin")
            else:
                name, kind = self._file_name("other", th)
            return self._file_msg(th, t, sender, name, kind)
        if typ == "revoke":
            me = sender.userid
            for i in range(len(s.recent) - 1, -1, -1):
                msgid, who, when = s.recent[i]
                if who == me and t - when < 86_400_000:
                    del s.recent[i]
                    m = self._head(th, t, sender, "revoke", action="recall")
                    m["revoke"] = {"pre_msgid": msgid}
                    return m
            return None
        if typ == "link":
            m = self._head(th, t, sender, "link")
            m["link"] = self._link_payload()
            return m
        if typ == "location":
            m = self._head(th, t, sender, "location")
            m["location"] = self._location_payload()
            return m
        if typ == "card":
            m = self._head(th, t, sender, "card")
            m["card"] = self._card_payload(th)
            return m
        if typ == "weapp":
            m = self._head(th, t, sender, "weapp")
            m["weapp"] = self._weapp_payload()
            return m
        if typ in ("chatrecord", "chatrecord:full"):
            if typ == "chatrecord:full":
                kinds = ["ChatRecordText", "ChatRecordImage", "ChatRecordFile", "ChatRecordVoice", "ChatRecordVideo",
                         "ChatRecordLink", "ChatRecordLocation", "ChatRecordEmotion", "ChatRecordCard",
                         "ChatRecordWeapp", "ChatRecordMixed", "ChatRecordText"]
            else:
                kinds = [rng.choice(("ChatRecordText", "ChatRecordText", "ChatRecordText", "ChatRecordImage",
                                     "ChatRecordImage", "ChatRecordFile", "ChatRecordVoice", "ChatRecordLink",
                                     "ChatRecordEmotion", "ChatRecordVideo", "ChatRecordLocation", "ChatRecordCard",
                                     "ChatRecordWeapp", "ChatRecordMixed"))
                         for _ in range(rng.randint(2, 8))]
            t0 = t // 1000 - rng.randint(600, 30 * 86400)
            items = []
            for k in kinds:
                t0 += rng.randint(5, 600)
                items.append({"type": k, "msgtime": t0, "content": self._item_content(k, th, t),
                              "from_chatroom": rng.random() < 0.4})
            m = self._head(th, t, sender, "chatrecord")
            a, b = rng.sample(self.dir.staff, 2)
            m["chatrecord"] = {"title": rng.choice(("群聊", f"{a.name}和{b.name}的聊天记录", "聊天记录")), "item": items}
            return m
        if typ == "mixed":
            items = [{"type": "text", "content": self._item_content("text", th, t)}]
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                items.append({"type": "image", "content": self._item_content("image", th, t)})
            if rng.random() < 0.3:
                items.append({"type": "text", "content": self._item_content("text", th, t)})
            m = self._head(th, t, sender, "mixed")
            m["mixed"] = {"item": items}
            return m
        if typ == "todo":
            m = self._head(th, t, sender, "todo")
            m["todo"] = {"title": self._fill(th, ("跟进{company}合同", "{date}前提交报价", "回访{company}", "整理{month}报表")),
                         "content": self._fill(th, ("记得带上样机", "金额{amount}", "联系人{cname} {phone}", ""))}
            return m
        if typ == "vote":
            if s.kind != "group":
                return None
            m = self._head(th, t, sender, "vote")
            title, options = rng.choice((("团建去哪里？", ["千岛湖", "莫干山", "安吉", "崇明岛"]),
                                         ("周五聚餐吃什么", ["火锅", "烤肉", "日料"]),
                                         ("月度会时间", ["周四下午", "周五上午", "周五下午"])))
            m["votetitle"] = title
            m["voteitem"] = options
            m["votetype"] = rng.choice((101, 102))
            m["voteid"] = str(rng.getrandbits(62))
            return m
        if typ == "collect":
            if s.kind != "group":
                return None
            m = self._head(th, t, sender, "collect")
            created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t // 1000 + 8 * 3600))
            m["collect"] = {"room_name": s.name, "creator": sender.name, "create_time": created,
                            "title": rng.choice((f"{th.slots['month']}团建报名", "培训签到", "年会节目报名")),
                            "details": [{"id": 1, "ques": "姓名", "type": "Text"}, {"id": 2, "ques": "人数", "type": "Number"},
                                        {"id": 3, "ques": "出发日期", "type": "Date"}, {"id": 4, "ques": "集合时间", "type": "Time"}]}
            return m
        if typ in ("redpacket", "external_redpacket"):
            if typ == "external_redpacket" and not (s.kind == "external" or s.has_external):
                return None
            if typ == "redpacket" and s.kind == "external":
                return None
            m = self._head(th, t, sender, typ)
            cnt = 1 if s.kind != "group" else rng.randint(2, 20)
            m["redpacket"] = {"type": rng.choice((1, 2, 3)) if s.kind == "group" else 1,
                              "wish": rng.choice(("恭喜发财，大吉大利", "新年快乐", "辛苦了", "感谢支持")),
                              "totalcnt": cnt, "totalamount": rng.choice((88, 100, 666, 888, 2000, 5200, 20000))}
            return m
        if typ == "meeting":
            m = self._head(th, t, sender, "meeting")
            start = t // 1000 + rng.randint(1, 72) * 1800
            m["meeting"] = {"topic": self._fill(th, ("{company}项目周会", "{month}销售复盘", "夕会", "产品培训")),
                            "starttime": start, "endtime": start + rng.choice((1800, 3600, 5400)),
                            "address": rng.choice(("", "3号会议室", "腾讯会议")), "remarks": rng.choice(("", "请准时参加")),
                            "meetingtype": rng.choice((101, 102)), "meetingid": rng.getrandbits(62),
                            "status": rng.choice((1, 2, 3))}
            return m
        if typ == "docmsg":
            m = self._head(th, t, sender, "docmsg")
            kind = rng.choice(("doc", "sheet"))
            m["doc"] = {"title": self._fill(th, ("{company}客户跟进表", "{month}排班表", "报价汇总", "测试&演示客户")),
                        "link_url": f"https://doc.weixin.qq.com/{kind}/e3_A{rng.getrandbits(40):x}?scode=A{rng.getrandbits(64):x}",
                        "doc_creator": sender.userid if sender.kind == "staff" else rng.choice(self.dir.staff).userid}
            return m
        if typ in ("markdown", "news"):
            robot = s.robot
            if robot is None:
                return None
            m = self._head(th, t, robot, typ)
            if typ == "markdown":
                m["info"] = {"content": self._fill(th, (
                    "**今日待办提醒**\n> 待跟进客户：<font color=\"warning\">{n}</font>个\n> 逾期回款：{amount}\n[查看详情](https://crm.xinghe-tech.example/todo)",
                    "### 工单 #{order}\n- 客户：{company}\n- 问题：{issue}\n- 处理人：{sname}",
                    "**{month}销售日报**\n新签：{n}单\n回款：{amount}"))}
            else:
                m["info"] = {"item": [{"title": self._fill(th, ("{month}销售排行榜", "新品{product}上市", "客户满意度调查结果")),
                                       "description": self._fill(th, ("点击查看详情", "本周共处理工单{n}个")),
                                       "url": f"https://crm.xinghe-tech.example/news/{rng.randint(1000, 9999)}",
                                       "picurl": f"https://crm.xinghe-tech.example/img/{rng.randint(1000, 9999)}.png"}]}
            return m
        if typ == "calendar":
            m = self._head(th, t, sender, "calendar")
            start = t // 1000 + rng.randint(1, 240) * 1800
            others = rng.sample(self.dir.staff, rng.randint(1, 5))
            m["calendar"] = {"title": self._fill(th, ("拜访{company}", "{month}月度会", "产品培训", "合同评审")),
                             "creatorname": sender.name, "attendeename": [p.name for p in others],
                             "starttime": start, "endtime": start + rng.choice((1800, 3600, 7200)),
                             "place": rng.choice(("", "3号会议室", address(rng)[0])), "remarks": rng.choice(("", "带上合同"))}
            return m
        if typ == "meeting_voice_call":
            sid, _, _, meta = self._media("amr_long", t, False)
            m = self._head(th, t, sender, "meeting_voice_call")
            del m["roomid"]  # as WeCom's documented sample: no roomid on this type
            m["voiceid"] = IdMaker.call_id(rng)
            end = t // 1000 + meta["play_length"]
            demos = []
            if rng.random() < 0.6:
                demos.append({"filename": f"{rng.randbytes(16).hex()}.{rng.choice(('docx', 'pptx', 'pdf'))}",
                              "demooperator": sender.userid, "starttime": t // 1000 + 30, "endtime": t // 1000 + 90})
            shares = [{"share": sender.userid, "starttime": t // 1000 + 100, "endtime": t // 1000 + 160}] if rng.random() < 0.5 else []
            m["meeting_voice_call"] = {"endtime": end, "sdkfileid": sid, "demofiledata": demos, "sharescreendata": shares}
            return m
        if typ == "voip_doc_share":
            kind = rng.choice(("pdf", "docx"))
            sid, md5, size, _ = self._media(kind, t, True)
            m = self._head(th, t, sender, "voip_doc_share")
            del m["roomid"]
            m["voipid"] = IdMaker.call_id(rng)
            name = rng.choice(("欢迎使用微盘.pdf", "方案介绍", "报价说明", "培训材料"))
            if not name.endswith(".pdf"):
                name += "." + kind
            m["voip_doc_share"] = {"filename": name, "md5sum": md5, "filesize": size, "sdkfileid": sid}
            return m
        if typ == "sphfeed":
            m = self._head(th, t, sender, "sphfeed")
            m["sphfeed"] = {"feed_type": rng.choice((2, 4, 9)), "sph_name": rng.choice((OUR_SHORT, "净水知识课堂", "上海新闻")),
                            "feed_desc": rng.choice(("XH-W500 安装全过程", "办公室饮水健康小知识", "直播：新品发布会"))}
            return m
        if typ == "voiptext":
            m = self._head(th, t, sender, "voiptext")
            m["info"] = {"callduration": rng.randint(0, 1800), "invitetype": rng.choice((1, 2, 3, 4)) if s.kind == "group" else rng.choice((1, 2))}
            return m
        if typ == "qydiskfile":
            m = self._head(th, t, sender, "qydiskfile")
            m["info"] = {"filename": rng.choice(("2025销售政策.pptx", "产品白皮书.pdf", "合同模板.docx", "价格表.xlsx"))}
            return m
        raise ValueError(typ)

    def _unknown(self, th: Thread, t: int) -> dict:
        rng = self.rng
        sender = self._speaker(th, "s")
        typ = rng.choice(UNKNOWN_MSGTYPES)
        m = self._head(th, t, sender, typ)
        m[typ] = {"widget_id": f"w{rng.getrandbits(48):x}", "title": "新版消息类型",
                  "payload": {"version": 2, "cells": [[1, 2.5, None, True], ["甲", "乙"]], "nested": {"k": {"deep": []}}}}
        return m

    def _switch(self, t: int) -> dict:
        user = self.rng.choice(self.dir.staff).userid
        return {"msgid": self.ids.msgid_switch(self.entry), "action": "switch", "time": t, "user": user}

    def _forced(self, item: str, th: Thread, t: int) -> dict | None:
        """Try to produce a forced item in this thread; None if it does not fit here."""
        s = th.session
        sender = th.roles["s"] if self.rng.random() < 0.6 else th.roles["c"]
        if item.startswith("text:"):
            if item == "text:markup":
                content = self.rng.choice(MARKUP_TEXTS)
            elif item == "text:long":
                content = self._long_text()
            else:
                content = ODD_TEXTS[int(item.rsplit(":", 1)[1])]
            return self._text(th, t, sender, content)
        if item.startswith("file:hostile:"):
            name, kind = HOSTILE_FILENAMES[int(item.rsplit(":", 1)[1])]
            self.hostile_used.add(name)
            return self._file_msg(th, t, sender, name, kind)
        if item == "file:nul_bin":
            name, kind = self._file_name("other", th, "nul_bin")
            return self._file_msg(th, t, sender, name, kind)
        if item == "file:pdf_big":
            name, kind = self._file_name("other", th, "pdf_big")
            return self._file_msg(th, t, sender, name, kind)
        if item == "video:mp4_big":
            return self._video(th, t, sender, "mp4_big")
        if item in ("markdown", "news"):
            return self._build(item, th, t, sender) if s.robot else None
        if not self._allowed(s, item.split(":")[0]):
            return None
        return self._build(item, th, t, sender)

    def _long_text(self) -> str:
        rng = self.rng
        parts = [rng.choice(LONG_TEXT_PARTS) for _ in range(rng.randint(8, 30))]
        return "\n".join(parts)

    def _thread_message(self, th: Thread, t: int) -> dict:
        rng = self.rng
        s = th.session
        if th.prefix:
            kind = th.prefix.pop(0)
            ext = th.roles["c"]
            m = self._head(th, t, ext, kind)
            m["tolist"] = [ext.userid]  # WeCom's sample: the contact is both from and to
            m[kind] = {"userid": ext.userid, f"{kind}_time": t}
            s.consent_at = t  # what directory.json's consent says, with WeCom's time
            return m
        if self.pending:
            for j, item in enumerate(self.pending):
                if item == "disagree":
                    continue
                m = self._forced(item, th, t)
                if m is not None:
                    del self.pending[j]
                    return m
        if th.emitted and rng.random() < P_EXTRA:
            typ = _choose(rng, self.extra_tables[s.index])
            role = "c" if th.last_role == "s" else "s"
            if s.kind == "group" and rng.random() < 0.5:
                role = "*"
            m = self._build(typ, th, t, self._speaker(th, role))
            if m is not None:
                return m
        # the script's next step, or a filler once the script is done
        if th.step < len(th.script):
            role, templates, attach = th.script[th.step]
            th.step += 1
        else:
            role = "c" if th.last_role == "s" else "s"
            templates, attach = ACKS, None
        th.last_role = role if role != "*" else th.last_role
        sender = self._speaker(th, role)
        if attach is None:
            r = rng.random()
            if r < P_LONG_TEXT:
                content = self._long_text()
            elif r < P_LONG_TEXT + P_MARKUP_TEXT:
                content = rng.choice(MARKUP_TEXTS)
            elif r < P_LONG_TEXT + P_MARKUP_TEXT + P_ODD_TEXT:
                content = rng.choice(ODD_TEXTS)
            else:
                content = self._fill(th, templates)
            return self._text(th, t, sender, content)
        if attach.startswith("file:"):
            name, kind = self._file_name(attach[5:], th)
            return self._file_msg(th, t, sender, name, kind)
        if attach == "image:photo":
            return self._image(th, t, sender, "jpg")
        if attach == "image:screenshot":
            return self._image(th, t, sender, "png")
        if attach == "video":
            return self._video(th, t, sender)
        if attach == "location":
            return self._build("location", th, t, sender)  # type: ignore[return-value]
        raise ValueError(attach)

    # ---- the run ------------------------------------------------------------------------------

    def version_for(self, i: int) -> int:
        if i >= self.n - self.n_uninstalled:
            return self.key_versions + 1
        return 1 + bisect(self.ver_bounds, i)

    def run(self) -> dict:
        out = self.out
        (out / "media").mkdir(parents=True, exist_ok=True)
        corpus_json = self._make_keys()
        rng = self.rng
        enc = self.enc
        seq = 0
        first_t = last_t = None
        progress = self.progress
        report_every = 2000
        with open(out / "messages.jsonl", "w", encoding="utf-8", newline="\n", buffering=1 << 20) as fh, \
                open(out / "media.json", "w", encoding="utf-8", newline="\n", buffering=1 << 20) as mj:
            self.media_json = mj
            buf: list[str] = []
            for day, k, workday in day_plan(self.n, self.seed):
                if k == 0:
                    continue
                for t, _, th in self._plan_day(day, k, workday):
                    i = self.entry
                    while self.forced and self.forced[-1][0] <= i:
                        item = self.forced.pop()[1]
                        if item == "md5:bad":
                            self.force_bad += 1
                        elif item == "md5:empty":
                            self.force_empty += 1
                        else:
                            self.pending.append(item)
                    if t < self.last_t:
                        t = self.last_t
                    self.last_t = t
                    if "switch" in self.pending:
                        self.pending.remove("switch")
                        msg = self._switch(t)
                    elif rng.random() < P_SWITCH:
                        msg = self._switch(t)
                    elif not th.prefix and ("unknown" in self.pending or rng.random() < P_UNKNOWN):
                        if "unknown" in self.pending:
                            self.pending.remove("unknown")
                        msg = self._unknown(th, t)
                    else:
                        msg = self._thread_message(th, t)
                        th.emitted += 1
                        if msg["action"] == "send" and msg["msgtype"] not in ("agree", "disagree"):
                            rec = th.session.recent
                            rec.append((msg["msgid"], msg["from"], t))
                            if len(rec) > 8:
                                del rec[0]
                    seq += 1
                    if rng.random() < P_GAP and i:
                        seq += rng.randint(1, 5)
                        self.seq_gaps += 1
                    ver = self.version_for(i)
                    if ver > self.key_versions:
                        self.uninstalled_seqs.append(seq)
                    buf.append(f'{{"seq":{seq},"publickey_ver":{ver},"msg":{enc(msg)}}}\n')
                    self.counts_ver[ver] += 1
                    self.counts_action[msg["action"]] += 1
                    mt = msg.get("msgtype")
                    if mt is not None:
                        self.counts_type[mt] += 1
                    if first_t is None:
                        first_t = t
                    last_t = t
                    self.entry = i + 1
                    if len(buf) >= 4096:
                        fh.write("".join(buf))
                        buf.clear()
                    if progress is not None and self.entry % report_every == 0:
                        progress(self.entry, self.n)
            fh.write("".join(buf))
            mj.write("{}\n" if self.media_refs == 0 else "\n}\n")
        if progress is not None and self.entry % report_every:
            progress(self.entry, self.n)
        # corpus.json only now, so that its presence never vouches for a half-written corpus
        with open(out / "corpus.json", "w", encoding="utf-8") as f:
            json.dump(corpus_json, f, ensure_ascii=False, indent=2)
            f.write("\n")
        # WeCom's server API's view of the company (native/corpus/directory.py), for directory syncs
        with open(out / "directory.json", "w", encoding="utf-8") as f:
            json.dump(build_wecom_directory(self.dir, self.seed, corpus_json["corpid"]), f, ensure_ascii=False,
                      indent=1)
            f.write("\n")
        return self._truth(corpus_json, first_t, last_t, seq)

    def _make_keys(self) -> dict:
        """Write keys/v*.pem and return corpus.json's content."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        rng = random.Random(f"wecom-corpus/credentials/{self.seed}")
        corpid = "ww" + "".join(rng.choice("0123456789abcdef") for _ in range(16))
        secret = "".join(rng.choice(string.ascii_letters + string.digits + "-_") for _ in range(43))
        keys_dir = self.out / "keys"
        keys_dir.mkdir(exist_ok=True)
        keys = {}
        n_keys = self.key_versions + (1 if self.uninstalled_key else 0)
        for v in range(1, n_keys + 1):
            # RSA keys are fresh randomness on every run: only messages and media are deterministic
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            priv = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption())
            pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            (keys_dir / f"v{v}.pem").write_bytes(priv)
            (keys_dir / f"v{v}.pub.pem").write_bytes(pub)
            entry: dict = {"public": f"keys/v{v}.pub.pem", "private": f"keys/v{v}.pem"}
            if v > self.key_versions:
                entry["install"] = False
            keys[str(v)] = entry
        return {"corpid": corpid, "secret": secret, "keys": keys, "faults": []}

    def _truth(self, corpus: dict, first_t: int | None, last_t: int | None, last_seq: int) -> dict:
        d = self.dir
        missing = [t for t in CATALOGUE_MSGTYPES if self.counts_type[t] == 0]
        return {
            "generator": "native.corpus",
            "generator_version": GENERATOR_VERSION,
            "complete": True,
            "seed": self.seed,
            "parameters": {"messages": self.n, "key_versions": self.key_versions,
                           "uninstalled_key": self.uninstalled_key, "media": self.media_enabled,
                           "media_pool": self.media_pool},
            "deterministic": "messages.jsonl, media.json and media/ depend only on seed and parameters; "
                             "the RSA keys are fresh on every run",
            "corpid": corpus["corpid"],
            "anchor_date": anchor_for(self.seed).isoformat(),
            "time_range_ms": [first_t, last_t],
            "last_seq": last_seq,
            "counts": {
                "entries": self.entry,
                "msgtype": dict(sorted(self.counts_type.items(), key=lambda kv: -kv[1])),
                "action": dict(self.counts_action),
                "publickey_ver": {str(k): v for k, v in sorted(self.counts_ver.items())},
                "seq_gaps": self.seq_gaps,
                "media_files": self.pool.count,
                "media_bytes": self.pool.bytes,
                "media_refs": self.media_refs,
            },
            "catalogue_msgtypes_missing": missing,
            "unknown_msgtypes": list(UNKNOWN_MSGTYPES),
            "uninstalled_key_version": self.key_versions + 1 if self.uninstalled_key else None,
            "uninstalled_seqs": self.uninstalled_seqs,
            "md5_mismatch_sdkfileids": self.bad_md5,
            "md5_empty_sdkfileids": self.empty_md5,
            "large_media": self.pool.large(5 * 1024 * 1024),
            "hostile_filenames": sorted(self.hostile_used),
            "directory": d.names(),
            "departments": {p.userid: p.dept for p in d.staff},
            "external_corps": {p.userid: p.dept for p in d.externals},
            "robots": [p.userid for p in d.robots],
            "groups": {s.roomid: {"name": s.name, "owner": s.owner, "members": [m.userid for m in s.members]}
                       for s in d.groups},
        }


def mediamod_ext(kind: str) -> str:
    return {"jpg": "jpg", "png": "png", "gif": "gif", "sticker_png": "png", "amr": "amr", "amr_long": "amr",
            "mp4": "mp4", "mp4_big": "mp4", "pdf": "pdf", "pdf_big": "pdf", "docx": "docx", "xlsx": "xlsx",
            "txt": "txt", "dat": "dat", "nul_bin": "bin"}[kind]


CORPUS_ENTRIES = ("corpus.json", "messages.jsonl", "media.json", "directory.json", "truth.json", "keys", "media")


def generate_corpus(out_dir: str | os.PathLike, messages: int, seed: int = 1, *, key_versions: int = 2,
                    uninstalled_key: bool = True, media: bool = True, media_pool: int | None = None,
                    progress: Callable[[int, int], None] | None = None, overwrite: bool = False) -> dict:
    """Write a corpus of ``messages`` archive entries into ``out_dir`` and return its truth dict.

    ``out_dir`` must be missing or empty unless ``overwrite`` is true, in which case an existing
    corpus there (and only a corpus: a directory holding nothing but corpus files) is replaced.
    ``media=False`` still writes every media message, but all sdkfileids of a kind point at one
    tiny valid file, which makes benchmarks of the message path fast. ``media_pool`` caps the
    distinct media files (default ``min(200, messages // 15)``, at least one per kind).
    ``progress(done, total)`` is called every 2,000 entries and at the end, on this thread.
    corpus.json comes after messages and media, truth.json last: its presence marks a complete corpus.
    """
    if messages < 1:
        raise ValueError("messages must be at least 1")
    if key_versions < 1:
        raise ValueError("key_versions must be at least 1")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} is not empty")
        clear_corpus_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    pool = default_media_pool(messages) if media_pool is None else max(1, media_pool)
    gen = Generator(out, messages, seed, key_versions, uninstalled_key, media, pool, progress)
    truth = gen.run()
    tmp = out / "truth.json.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(truth, f, ensure_ascii=False, indent=1)
        f.write("\n")
    os.replace(tmp, out / "truth.json")
    return truth


def looks_like_corpus(path: Path) -> bool:
    names = {p.name for p in path.iterdir()}
    return bool(names) and names <= set(CORPUS_ENTRIES) | {"truth.json.tmp"}


def clear_corpus_dir(path: Path) -> None:
    """Empty a directory that holds a corpus; refuse anything else (never rm -rf a user's folder)."""
    if not looks_like_corpus(path):
        raise FileExistsError(f"{path} holds files that are not part of a corpus; refusing to delete them")
    for p in path.iterdir():
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()

