"""``directory.json``: what WeCom's server API knows of the simulated company, in WeCom's own shapes.

The archive carries ids only; a directory sync asks WeCom's API for the rest. This file is WeCom's
side of that for a corpus — departments, staff (``user/get``), external contacts with the staff who
follow them (``externalcontact/get``), group rooms with members and join times
(``msgaudit/groupchat/get``), the chat-archive permit list and customers' consent
(``msgaudit/check_single_agree`` / ``check_room_agree``) — consistent with the messages: consent
states and times are those of the corpus' agree/disagree entries. :mod:`native.corpus.wecom_api`
serves it (the demo corp in process, the tests' HTTPS stand-in over the network).

It also holds the changes a long-lived corp has, so that a sync has something to notice: a staff
member who left (``user/get`` answers 60111), one who is not on the permit list although others'
chats with them are archived, a WeChat customer who changed nickname and a renamed group since the
names ``truth.json`` offers. Built from its own random stream: the messages do not change.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, time, timedelta

from .names import OUR_CORP, Directory
from .timeline import CST, SPAN_DAYS, anchor_for

AVATAR_HOSTS = ("wework.qpic.cn", "wx.qlogo.cn")
LEFT_STAFF = "wangfang02"  # left the corp: not in user/list_id, user/get answers 60111
NOT_PERMITTED = "tianye"  # never on the permit list; colleagues' chats with them are archived all the same
RENAMED_GROUP = ("星河全员群", "星河智能全员群")
POSITIONS = {"总经理办公室": "总经理", "销售一部": "销售代表", "销售二部": "销售代表", "华南销售部": "区域销售",
             "客服部": "客服专员", "售后技术部": "售后工程师", "商务部": "商务专员", "财务部": "会计",
             "物流部": "物流专员", "市场部": "市场专员", "人事行政部": "人事专员", "信息技术部": "IT 工程师",
             "采购部": "采购专员"}


def _seconds(d, hour: int = 9) -> int:
    return int(datetime.combine(d, time(hour), CST).timestamp())


def avatar_url(kind: str, key: str) -> str:
    """The avatar URL WeCom would give for ``key``: staff on wework.qpic.cn (https), customers on
    wx.qlogo.cn (http, as WeCom's API gives WeChat avatars)."""
    digest = hashlib.sha256(f"avatar/{key}".encode()).hexdigest()[:24]
    if kind == "staff":
        return f"https://wework.qpic.cn/wwpic/{digest}/0"
    return f"http://wx.qlogo.cn/mmhead/{digest}/0"


def build_wecom_directory(d: Directory, seed: int, corpid: str) -> dict:
    """The ``directory.json`` document of a corpus whose people are ``d`` (after generation: each
    external session's ``consent`` and ``consent_at`` are final)."""
    rng = random.Random(f"wecom-corpus/wecom-directory/{seed}")
    anchor = anchor_for(seed)
    start = anchor - timedelta(days=SPAN_DAYS)
    joined_corp = _seconds(start - timedelta(days=400))
    rooms_created = _seconds(start - timedelta(days=60))
    names_known_until = _seconds(anchor + timedelta(days=1))

    departments = [{"id": 1, "name": OUR_CORP, "name_en": "Xinghe", "parentid": 0, "order": 100000000}]
    dept_ids: dict[str, int] = {}
    for p in d.staff:
        if p.dept not in dept_ids:
            dept_ids[p.dept] = len(departments) + 1
            departments.append({"id": dept_ids[p.dept], "name": p.dept, "name_en": "", "parentid": 1,
                                "order": 100000000 - len(departments) * 1000})

    users = []
    for i, p in enumerate(d.staff):
        if p.userid == LEFT_STAFF:
            continue
        manager = p.title.endswith(("总", "经理"))
        position = "总经理" if p.userid == "lichao" else "部门经理" if manager else POSITIONS.get(p.dept, "")
        users.append({
            "userid": p.userid, "name": p.name, "department": [dept_ids[p.dept]], "order": [i],
            "position": position,
            "gender": "1" if rng.random() < 0.5 else "2", "status": 1, "main_department": dept_ids[p.dept],
            "is_leader_in_dept": [1 if manager else 0], "alias": "", "enable": 1,
            "avatar": avatar_url("staff", p.userid) if rng.random() < 0.7 else "",
            "joined": joined_corp + i * 86_400,
        })

    follows: dict[str, dict[str, int]] = {}
    for s in d.sessions:
        if s.kind == "external":
            staff, ext = s.members
            follows.setdefault(ext.userid, {})[staff.userid] = joined_corp + rng.randint(0, 300) * 86_400
    renamed_customer = next((p for p in d.externals if p.userid.startswith("wm") and not any(
        "\u4e00" <= c <= "\u9fff" for c in p.name)), None)
    externals = []
    for p in d.externals:
        wechat = p.dept == "微信"
        name = p.name + "🌸" if p is renamed_customer else p.name
        externals.append({
            "external_userid": p.userid, "name": name, "type": 1 if wechat else 2,
            "corp_name": "" if wechat else _short(p.dept), "corp_full_name": "" if wechat else p.dept,
            "position": "" if wechat else rng.choice(("采购经理", "项目经理", "行政主管", "总经理", "")),
            "gender": 1 if rng.random() < 0.5 else 2,
            "avatar": avatar_url("external", p.userid) if rng.random() < 0.6 else "",
            "follow_user": [{"userid": u, "remark": p.title, "description": "", "createtime": t, "add_way": 1}
                            for u, t in sorted(follows.get(p.userid, {}).items())],
        })

    single_agree = []
    latest: dict[str, tuple[str, int]] = {}  # external -> its newest decision, for the rooms
    for s in d.sessions:
        if s.kind != "external" or s.consent is None:
            continue
        staff, ext = s.members
        at = s.consent_at // 1000 if s.consent_at else _seconds(start - timedelta(days=rng.randint(5, 300)))
        status = "Agree" if s.consent == "agree" else "Disagree"
        single_agree.append({"userid": staff.userid, "external_userid": ext.userid, "agree_status": status,
                             "status_change_time": at})
        if ext.userid not in latest or latest[ext.userid][1] < at:
            latest[ext.userid] = (status, at)

    groups, room_agree = [], {}
    for g in d.groups:
        created = rooms_created + rng.randint(0, 20) * 86_400
        members = []
        for j, m in enumerate(g.members):
            member = {"userid": m.userid, "type": 1 if m.kind == "staff" else 2,
                      "join_time": created + j * 60 + rng.randint(0, 30), "join_scene": 1 if j else 0,
                      "invitor": "" if not j else g.owner}
            members.append(member)
        name = RENAMED_GROUP[1] if g.name == RENAMED_GROUP[0] else g.name
        external = [m for m in g.members if m.kind == "external"]
        groups.append({"roomid": g.roomid, "name": name, "owner": g.owner, "create_time": created,
                       "notice": f"{name}：请遵守公司沟通规范，勿发送与工作无关的内容。" if rng.random() < 0.5 else "",
                       "kind": "customer" if external else "internal", "members": members})
        if external:
            room_agree[g.roomid] = [
                {"external_userid": m.userid, "agree_status": latest.get(m.userid, ("Agree", 0))[0],
                 "status_change_time": latest.get(m.userid, ("Agree", created + 120))[1] or created + 120}
                for m in external]

    permit = [p.userid for p in d.staff if p.userid not in (LEFT_STAFF, NOT_PERMITTED)]
    return {
        "format": "wecom-directory/1",
        "corpid": corpid,
        "corp_name": OUR_CORP,
        "as_of": names_known_until,
        "departments": departments,
        "users": users,
        "left_users": [LEFT_STAFF],
        "external_contacts": externals,
        "groups": groups,
        "permit_users": permit,
        "single_agree": single_agree,
        "room_agree": room_agree,
        "robots": [{"id": r.userid, "name": r.name} for r in d.robots],
    }


def _short(company: str) -> str:
    """A corp's short name as WeCom shows it in a tag (@蓝鲸科技): the legal form left out."""
    for suffix in ("有限责任公司", "股份有限公司", "有限公司", "集团"):
        if company.endswith(suffix) and len(company) > len(suffix) + 1:
            return company[: -len(suffix)]
    return company


__all__ = ["AVATAR_HOSTS", "LEFT_STAFF", "NOT_PERMITTED", "RENAMED_GROUP", "avatar_url", "build_wecom_directory"]
