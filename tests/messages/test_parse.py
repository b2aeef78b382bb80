"""parse_message on the message catalogue as WeCom documents it, on odd shapes, and the session rules."""

from __future__ import annotations

import json
import re

import pytest

from app.core.messages import (
    CATALOGUE,
    MAX_DEPTH,
    MediaRef,
    MessageParseError,
    Unsupported,
    parse_message,
    session_of,
)
from app.core.messages.catalogue import (
    Agree,
    Calendar,
    Card,
    ChatRecord,
    Collect,
    CollectDetail,
    DemoFile,
    Disagree,
    DocMsg,
    Emotion,
    File,
    Image,
    Link,
    Location,
    Markdown,
    Meeting,
    MeetingVoiceCall,
    Mixed,
    News,
    NewsItem,
    QyDiskFile,
    RedPacket,
    Revoke,
    ShareScreen,
    SphFeed,
    Switch,
    Text,
    Todo,
    Video,
    Voice,
    VoipDocShare,
    VoipText,
    Vote,
    Weapp,
)

HEX32 = re.compile(r"[0-9a-f]{32}")

EXT = "wmErxtDgAA9AW32YyyuYRimKr7D1KWlw"          # an external contact (external_userid shape)
ROOM = "wrErxtDgAA0jgXE5rXiqO5jt5NfW4ysg"
FID = "CtYBMzA2OTAyMDEwMjA0NjIzMDYwMDIwMTAwMDIwNDJiMjE1NjFkMDIwMzBmNGRmOTAyMDQ1ZjE"


def env(msgtype: str, payload: dict | None = None, *, key: str | None = None, msgid: str | None = None,
        sender: str = "XuJinSheng", tolist=("icefog",), roomid: str = "", action: str = "send",
        **top) -> dict:
    """A message envelope as WeCom sends it; ``payload`` goes under ``key`` (default: the msgtype)."""
    d = {"msgid": msgid or f"CAQQluDa4QUY0On2rYSAgAMg-{msgtype}", "action": action, "from": sender,
         "tolist": list(tolist), "roomid": roomid, "msgtime": 1547087894783, "msgtype": msgtype}
    if payload is not None:
        d[key or msgtype] = payload
    d.update(top)
    return d


def parse(d) -> object:
    return parse_message(json.dumps(d, ensure_ascii=False).encode("utf-8"))


def j(obj) -> str:
    """An inner chatrecord/mixed item content: WeCom sends it as a JSON *string*."""
    return json.dumps(obj, ensure_ascii=False)


SAMPLES: dict[str, dict] = {
    "text": env("text", {"content": "你好，合同今天发给你"}),
    "image": env("image", {"md5sum": "50de8e5ae8ffe4f1df7a93841f71993a", "filesize": 70961, "sdkfileid": FID}),
    "revoke": env("revoke", {"pre_msgid": "14822339130656386894_1603875615"}, action="recall",
                  msgid="15775510700152506326_1603875615"),
    "agree": env("agree", {"userid": EXT, "agree_time": 1603875826656}, sender=EXT, tolist=["kenshin"],
                 msgid="8891446340739254950_1603875826_external"),
    "disagree": env("disagree", {"userid": EXT, "disagree_time": 1603875826656}, sender=EXT,
                    tolist=["kenshin"], msgid="4983965633683262913_1603875826_external"),
    "voice": env("voice", {"md5sum": "9db09c7fa627c9e53f17736c786a74d5", "voice_size": 6810,
                           "play_length": 12, "sdkfileid": FID + "voice"}),
    "video": env("video", {"md5sum": "d06fc80c01d6fbffcca3b229ba41eac6", "filesize": 15169724,
                           "play_length": 108, "sdkfileid": FID + "video"}),
    "card": env("card", {"corpname": "北京网络技术有限公司", "userid": "BaiDaShi"}),
    "location": env("location", {"longitude": 116.586285899, "latitude": 39.911652,
                                 "address": "北京市朝阳区望京东路8号锐创国际中心A座", "title": "北京管理中心",
                                 "zoom": 15}),
    "emotion": env("emotion", {"type": 1, "width": 290, "height": 290, "imagesize": 962,
                               "md5sum": "28e42ee5763c5f9c6b1cbf4e4e8cb0e8", "sdkfileid": FID + "emo"}),
    "file": env("file", {"md5sum": "18e93fc2ea884df23b3d2d3b8667b9f0", "filename": "合同.pdf",
                         "fileext": "pdf", "filesize": 18181, "sdkfileid": FID + "file"}),
    "link": env("link", {"title": "邀请你加入群聊", "description": "技术支持群，进入可查看详情",
                         "link_url": "https://work.weixin.qq.com/wework_admin/external_room/join?vcode=x",
                         "image_url": "https://wework.qpic.cn/wwpic/x/0"}),
    "weapp": env("weapp", {"title": "开始聊天前请仔细阅读服务须知事项", "description": "客户需同意存档聊天记录",
                           "username": "xxx@app", "displayname": "服务须知"}),
    "chatrecord": env("chatrecord", {"title": "群聊的聊天记录", "item": [
        {"type": "ChatRecordText", "msgtime": 1603875610, "content": j({"content": "明天上午十点开会"}),
         "from_chatroom": True},
        {"type": "ChatRecordImage", "msgtime": 1603875611,
         "content": j({"md5sum": "aa" * 16, "filesize": 1024, "sdkfileid": "fid-cr-image"}),
         "from_chatroom": True},
        {"type": "ChatRecordFile", "msgtime": 1603875612,
         "content": j({"md5sum": "bb" * 16, "filename": "报价单.xlsx", "fileext": "xlsx", "filesize": 2048,
                       "sdkfileid": "fid-cr-file"}), "from_chatroom": False},
        {"type": "ChatRecordMixed", "msgtime": 1603875613, "content": j({"item": [
            {"type": "text", "content": j({"content": "见附件截图"})},
            {"type": "image", "content": j({"md5sum": "cc" * 16, "filesize": 4096, "sdkfileid": "fid-cr-mixed"})},
        ]}), "from_chatroom": False},
    ]}),
    "todo": env("todo", {"title": "提交季度报告", "content": "周五前提交给财务部"}, roomid=ROOM),
    "vote": env("vote", None, roomid=ROOM, votetitle="团建地点投票", voteitem=["香山", "长城", "颐和园"],
                votetype=101, voteid="2015-vote-1"),
    "collect": env("collect", {"room_name": "销售一组", "creator": "jack", "create_time": "2019-12-10 16:56:12",
                               "title": "客户回访登记", "details": [
                                   {"id": 1, "ques": "客户名称", "type": "Text"},
                                   {"id": 2, "ques": "回访次数", "type": "Number"},
                                   {"id": 3, "ques": "回访日期", "type": "Date"}]}, roomid=ROOM),
    "redpacket": env("redpacket", {"type": 1, "wish": "恭喜发财，大吉大利", "totalcnt": 1, "totalamount": 3000}),
    "external_redpacket": env("external_redpacket", {"type": 2, "wish": "新年快乐", "totalcnt": 5,
                                                     "totalamount": 10000}, key="redpacket", sender=EXT,
                              msgid="8891446340739254951_1603875826_external"),
    "meeting": env("meeting", {"topic": "季度复盘会", "starttime": 1593767700, "endtime": 1593774900,
                               "address": "3楼大会议室", "remarks": "请带上报表", "meetingtype": 102,
                               "meetingid": 1306387771734421304, "status": 1}),
    "docmsg": env("docmsg", {"title": "客户名单（机密）", "doc_creator": "test",
                             "link_url": "https://doc.weixin.qq.com/txdoc/excel?scode=x"}, key="doc"),
    "markdown": env("markdown", {"content": "**请前往系统查看**，谢谢。"}, key="info",
                    sender="wbErxtDgAAXbotAAAAAAAAAAAAAAAAAA"),
    "news": env("news", {"item": [{"title": "企业微信发布新版本", "description": "支持会话存档",
                                   "url": "https://x.example/news", "picurl": "https://x.example/p.png"},
                                  {"title": "第二条", "description": "更多内容", "url": "", "picurl": ""}]},
                key="info"),
    "calendar": env("calendar", {"title": "产品评审", "creatorname": "张三", "attendeename": ["李四", "王五"],
                                 "starttime": 1601454000, "endtime": 1601456400, "place": "5楼会议室",
                                 "remarks": "提前准备原型"}),
    "mixed": env("mixed", {"item": [
        {"type": "text", "content": j({"content": "你好[微笑]\n"})},
        {"type": "image", "content": j({"md5sum": "368b6c18c82e6441bfd89b343e9d2429", "filesize": 13177,
                                        "sdkfileid": "fid-mixed-image"})},
    ]}),
    "meeting_voice_call": env("meeting_voice_call", {
        "endtime": 1594197635, "sdkfileid": "fid-mvc",
        "demofiledata": [{"filename": "项目方案.docx", "demooperator": "zhangsan", "starttime": 1594197599,
                          "endtime": 1594197609}],
        "sharescreendata": [{"share": "zhangsan", "starttime": 1594197624, "endtime": 1594197625}]},
        voiceid="grb8a4c48a3c094a70982c518d55e40557"),
    "voip_doc_share": env("voip_doc_share", {"filename": "欢迎使用微盘.pdf", "md5sum": "ff893900f24e55e216e617a40e5c4648",
                                             "filesize": 4400654, "sdkfileid": "fid-voip-doc"},
                          voipid="gr2751c98b19300571f8afb3b74514bd32"),
    "sphfeed": env("sphfeed", {"feed_type": 4, "sph_name": "腾讯", "feed_desc": "视频号新功能介绍"}),
    "voiptext": env("voiptext", {"callduration": 125, "invitetype": 1}, key="info"),
    "qydiskfile": env("qydiskfile", {"filename": "年度预算.xlsx"}, key="info"),
}


# --- the catalogue, type by type -----------------------------------------------------------------

def test_every_catalogue_type_has_a_sample():
    assert set(SAMPLES) == set(CATALOGUE)


@pytest.mark.parametrize("msgtype", sorted(SAMPLES))
def test_documented_sample_parses_cleanly(msgtype):
    m = parse(SAMPLES[msgtype])
    assert m.supported
    assert m.problems == ()
    assert m.msgtype == msgtype
    assert type(m.content) is CATALOGUE[msgtype].record
    assert m.msgtime == 1547087894783
    assert HEX32.fullmatch(m.session_id)
    assert m.summary_zh and m.summary_en
    # search text never carries ids, urls or md5s
    for forbidden in ("http", FID, "sdkfileid", "md5", "50de8e5ae8ffe4f1df7a93841f71993a", "fid-"):
        assert forbidden not in m.search_text


def test_text():
    m = parse(SAMPLES["text"])
    assert m.content == Text("你好，合同今天发给你")
    assert (m.sender, m.tolist, m.roomid, m.action) == ("XuJinSheng", ("icefog",), "", "send")
    assert m.summary_zh == m.summary_en == "你好，合同今天发给你"
    assert m.search_text == "你好，合同今天发给你"
    assert m.media == () and m.recalled_msgid is None


def test_text_summary_is_one_clipped_line():
    m = parse(env("text", {"content": "第一行\n第二行\r\n" + "长" * 100}))
    assert "\n" not in m.summary_zh and "\r" not in m.summary_zh
    assert m.summary_zh.startswith("第一行 第二行")
    assert m.summary_zh.endswith("…") and len(m.summary_zh) <= 61
    assert m.search_text.startswith("第一行\n第二行")  # search text keeps the text as sent


def test_image_media_ref():
    m = parse(SAMPLES["image"])
    assert m.content == Image(FID, "50de8e5ae8ffe4f1df7a93841f71993a", 70961)
    assert m.media == (MediaRef(FID, "50de8e5ae8ffe4f1df7a93841f71993a", 70961, "image", None, "jpg", "image"),)
    assert (m.summary_zh, m.summary_en) == ("[图片]", "[Image]")
    assert m.search_text == ""


def test_recall():
    m = parse(SAMPLES["revoke"])
    assert m.action == "recall"
    assert m.content == Revoke("14822339130656386894_1603875615")
    assert m.recalled_msgid == "14822339130656386894_1603875615"
    assert (m.summary_zh, m.summary_en) == ("[撤回]", "[Recalled]")
    # the recall sits in the conversation it recalls from
    assert m.session_id == parse(SAMPLES["text"]).session_id


def test_agree_and_disagree():
    a = parse(SAMPLES["agree"])
    assert a.content == Agree(EXT, 1603875826656)
    assert (a.summary_zh, a.summary_en) == ("[同意存档]", "[Consented to archiving]")
    assert a.session_type == "external"
    d = parse(SAMPLES["disagree"])
    assert d.content == Disagree(EXT, 1603875826656)
    assert d.summary_en == "[Declined archiving]"


def test_agree_fields_at_top_level_are_accepted_with_a_note():
    d = env("agree", None, sender=EXT, msgid="x_external", userid=EXT, agree_time=1603875826656)
    m = parse(d)
    assert m.supported and m.content == Agree(EXT, 1603875826656)
    assert any("top level" in p for p in m.problems)


def test_voice_and_video():
    v = parse(SAMPLES["voice"])
    assert v.content == Voice(FID + "voice", "9db09c7fa627c9e53f17736c786a74d5", 6810, 12)
    assert (v.summary_zh, v.summary_en) == ("[语音] 12秒", "[Voice] 12s")
    assert v.media[0].kind == "voice" and v.media[0].ext == "amr" and v.media[0].size == 6810
    vi = parse(SAMPLES["video"])
    assert vi.content == Video(FID + "video", "d06fc80c01d6fbffcca3b229ba41eac6", 15169724, 108)
    assert (vi.summary_zh, vi.summary_en) == ("[视频] 1分48秒", "[Video] 1m48s")
    assert vi.media[0] == MediaRef(FID + "video", "d06fc80c01d6fbffcca3b229ba41eac6", 15169724, "video",
                                   None, "mp4", "video")


def test_card_and_location():
    c = parse(SAMPLES["card"])
    assert c.content == Card("北京网络技术有限公司", "BaiDaShi")
    assert c.summary_zh == "[名片] 北京网络技术有限公司"
    assert c.search_text == "北京网络技术有限公司"  # not the userid
    loc = parse(SAMPLES["location"])
    assert loc.content == Location(116.586285899, 39.911652, "北京市朝阳区望京东路8号锐创国际中心A座",
                                   "北京管理中心", 15)
    assert loc.summary_en == "[Location] 北京管理中心"
    assert loc.search_text == "北京市朝阳区望京东路8号锐创国际中心A座\n北京管理中心"


@pytest.mark.parametrize(("etype", "ext"), [(1, "gif"), (2, "png"), (7, None)])
def test_emotion_extension_by_type(etype, ext):
    d = json.loads(json.dumps(SAMPLES["emotion"]))
    d["emotion"]["type"] = etype
    m = parse(d)
    assert type(m.content) is Emotion and m.content.type == etype
    assert m.media[0].ext == ext and m.media[0].size == 962 and m.media[0].kind == "emotion"
    assert (m.summary_zh, m.summary_en) == ("[表情]", "[Sticker]")


def test_file():
    m = parse(SAMPLES["file"])
    assert m.content == File("合同.pdf", "pdf", 18181, FID + "file", "18e93fc2ea884df23b3d2d3b8667b9f0")
    assert (m.summary_zh, m.summary_en) == ("[文件] 合同.pdf", "[File] 合同.pdf")
    assert m.search_text == "合同.pdf"
    assert m.media == (MediaRef(FID + "file", "18e93fc2ea884df23b3d2d3b8667b9f0", 18181, "file", "合同.pdf",
                                "pdf", "file"),)


@pytest.mark.parametrize(("filename", "fileext", "ext"), [
    ("../../x", "", None),
    ("CON", "", None),
    ("..\\..\\Windows\\evil.exe", "", "exe"),
    ("/etc/passwd", "", None),
    ("报告.PDF", "", "pdf"),
    ("a.tar.gz", "gz", "gz"),
    ("x", "../../etc", None),
    (".bashrc", "", None),
])
def test_hostile_file_names_stay_data(filename, fileext, ext):
    m = parse(env("file", {"filename": filename, "fileext": fileext, "filesize": 1, "sdkfileid": "fid",
                           "md5sum": ""}))
    assert m.content.filename == filename          # kept exactly as sent
    assert m.media[0].filename == filename
    assert m.media[0].ext == ext                   # ext is only ever [a-z0-9]{1,10} or None
    assert m.summary_zh == f"[文件] {filename}"


def test_link_and_weapp():
    m = parse(SAMPLES["link"])
    assert type(m.content) is Link and m.content.link_url.startswith("https://")
    assert m.summary_zh == "[链接] 邀请你加入群聊" and m.summary_en == "[Link] 邀请你加入群聊"
    assert m.search_text == "邀请你加入群聊\n技术支持群，进入可查看详情"
    w = parse(SAMPLES["weapp"])
    assert w.content == Weapp("开始聊天前请仔细阅读服务须知事项", "客户需同意存档聊天记录", "xxx@app", "服务须知")
    assert w.summary_en == "[Mini program] 开始聊天前请仔细阅读服务须知事项"
    assert w.search_text.split("\n") == ["开始聊天前请仔细阅读服务须知事项", "客户需同意存档聊天记录", "服务须知"]


def test_chatrecord_items_are_parsed_recursively_with_media_paths():
    m = parse(SAMPLES["chatrecord"])
    cr = m.content
    assert type(cr) is ChatRecord and cr.title == "群聊的聊天记录"
    assert [i.type for i in cr.item] == ["ChatRecordText", "ChatRecordImage", "ChatRecordFile", "ChatRecordMixed"]
    assert [i.msgtype for i in cr.item] == ["text", "image", "file", "mixed"]
    assert cr.item[0].content == Text("明天上午十点开会")
    assert cr.item[0].msgtime == 1603875610 and cr.item[0].from_chatroom is True
    inner_mixed = cr.item[3].content
    assert type(inner_mixed) is Mixed and inner_mixed.item[0].content == Text("见附件截图")
    assert [(r.path, r.kind, r.sdkfileid, r.ext, r.filename) for r in m.media] == [
        ("chatrecord.item[1]", "ChatRecordImage", "fid-cr-image", "jpg", None),
        ("chatrecord.item[2]", "ChatRecordFile", "fid-cr-file", "xlsx", "报价单.xlsx"),
        ("chatrecord.item[3].mixed.item[1]", "image", "fid-cr-mixed", "jpg", None),
    ]
    assert m.search_text.split("\n") == ["群聊的聊天记录", "明天上午十点开会", "报价单.xlsx", "见附件截图"]
    assert (m.summary_zh, m.summary_en) == ("[聊天记录] 群聊的聊天记录", "[Chat history] 群聊的聊天记录")


def test_todo_vote_collect():
    t = parse(SAMPLES["todo"])
    assert t.content == Todo("提交季度报告", "周五前提交给财务部")
    assert t.search_text == "提交季度报告\n周五前提交给财务部" and t.summary_zh == "[待办] 提交季度报告"
    v = parse(SAMPLES["vote"])
    assert v.content == Vote("团建地点投票", ("香山", "长城", "颐和园"), 101, "2015-vote-1")
    assert v.search_text.split("\n") == ["团建地点投票", "香山", "长城", "颐和园"]
    assert v.summary_en == "[Vote] 团建地点投票"
    c = parse(SAMPLES["collect"])
    assert c.content == Collect("销售一组", "jack", "2019-12-10 16:56:12", "客户回访登记", (
        CollectDetail(1, "客户名称", "Text"), CollectDetail(2, "回访次数", "Number"),
        CollectDetail(3, "回访日期", "Date")))
    assert c.search_text.split("\n") == ["客户回访登记", "销售一组", "客户名称", "回访次数", "回访日期"]
    assert c.summary_zh == "[填表] 客户回访登记"


def test_redpackets():
    r = parse(SAMPLES["redpacket"])
    assert r.content == RedPacket(1, "恭喜发财，大吉大利", 1, 3000)
    assert (r.summary_zh, r.summary_en) == ("[红包] 恭喜发财，大吉大利", "[Red packet] 恭喜发财，大吉大利")
    assert r.search_text == "恭喜发财，大吉大利"
    e = parse(SAMPLES["external_redpacket"])
    assert e.content == RedPacket(2, "新年快乐", 5, 10000)
    assert e.summary_zh == "[互通红包] 新年快乐" and e.session_type == "external"


def test_meeting_docmsg_markdown():
    m = parse(SAMPLES["meeting"])
    assert m.content == Meeting("季度复盘会", 1593767700, 1593774900, "3楼大会议室", "请带上报表", 102,
                                1306387771734421304, 1)
    assert m.search_text.split("\n") == ["季度复盘会", "3楼大会议室", "请带上报表"]
    assert m.summary_zh == "[会议] 季度复盘会"
    d = parse(SAMPLES["docmsg"])
    assert d.content == DocMsg("客户名单（机密）", "https://doc.weixin.qq.com/txdoc/excel?scode=x", "test")
    assert d.search_text == "客户名单（机密）" and d.summary_en == "[Document] 客户名单（机密）"
    md = parse(SAMPLES["markdown"])
    assert md.content == Markdown("**请前往系统查看**，谢谢。")
    assert md.search_text == "**请前往系统查看**，谢谢。"
    assert md.summary_zh == "[Markdown] **请前往系统查看**，谢谢。"


def test_markdown_under_markdown_key_is_accepted_with_a_note():
    m = parse(env("markdown", {"content": "## 日报"}))
    assert m.supported and m.content == Markdown("## 日报")
    assert any("'markdown' instead of 'info'" in p for p in m.problems)


def test_news_and_calendar():
    n = parse(SAMPLES["news"])
    assert n.content.item[0] == NewsItem("企业微信发布新版本", "支持会话存档", "https://x.example/news",
                                         "https://x.example/p.png")
    assert type(n.content) is News and len(n.content.item) == 2
    assert n.search_text.split("\n") == ["企业微信发布新版本", "支持会话存档", "第二条", "更多内容"]
    assert n.summary_zh == "[图文] 企业微信发布新版本"
    c = parse(SAMPLES["calendar"])
    assert c.content == Calendar("产品评审", "张三", ("李四", "王五"), 1601454000, 1601456400, "5楼会议室",
                                 "提前准备原型")
    assert c.search_text.split("\n") == ["产品评审", "5楼会议室", "提前准备原型"]
    assert c.summary_en == "[Calendar] 产品评审"


def test_mixed():
    m = parse(SAMPLES["mixed"])
    assert [i.content for i in m.content.item][0] == Text("你好[微笑]\n")
    assert m.media == (MediaRef("fid-mixed-image", "368b6c18c82e6441bfd89b343e9d2429", 13177, "image", None,
                                "jpg", "mixed.item[1]"),)
    assert (m.summary_zh, m.summary_en) == ("你好[微笑] [图片]", "你好[微笑] [Image]")
    assert m.search_text == "你好[微笑]\n"


def test_meeting_voice_call_and_voip_doc_share():
    m = parse(SAMPLES["meeting_voice_call"])
    assert m.content == MeetingVoiceCall(
        "grb8a4c48a3c094a70982c518d55e40557", 1594197635, "fid-mvc",
        (DemoFile("项目方案.docx", "zhangsan", 1594197599, 1594197609),),
        (ShareScreen("zhangsan", 1594197624, 1594197625),))
    assert m.media == (MediaRef("fid-mvc", "", None, "meeting_voice_call", None, None, "meeting_voice_call"),)
    assert m.search_text == "项目方案.docx"
    assert m.summary_zh == "[音频存档]"
    v = parse(SAMPLES["voip_doc_share"])
    assert v.content == VoipDocShare("gr2751c98b19300571f8afb3b74514bd32", "欢迎使用微盘.pdf",
                                     "ff893900f24e55e216e617a40e5c4648", 4400654, "fid-voip-doc")
    assert v.media == (MediaRef("fid-voip-doc", "ff893900f24e55e216e617a40e5c4648", 4400654, "voip_doc_share",
                                "欢迎使用微盘.pdf", "pdf", "voip_doc_share"),)
    assert v.search_text == "欢迎使用微盘.pdf"


def test_sphfeed_voiptext_qydiskfile():
    s = parse(SAMPLES["sphfeed"])
    assert s.content == SphFeed(4, "腾讯", "视频号新功能介绍")
    assert s.search_text == "腾讯\n视频号新功能介绍" and s.summary_zh == "[视频号] 腾讯"
    v = parse(SAMPLES["voiptext"])
    assert v.content == VoipText(125, 1)
    assert (v.summary_zh, v.summary_en) == ("[音视频通话] 2分5秒", "[Call] 2m05s")
    assert v.search_text == ""
    q = parse(SAMPLES["qydiskfile"])
    assert q.content == QyDiskFile("年度预算.xlsx")
    assert q.search_text == "年度预算.xlsx" and q.summary_en == "[WeDrive file] 年度预算.xlsx"


def test_switch_entry():
    m = parse({"msgid": "125289002219525886280", "action": "switch", "time": 1554119421840, "user": "XuJinSheng"})
    assert m.content == Switch("XuJinSheng", 1554119421840)
    assert (m.action, m.msgtype, m.sender, m.msgtime) == ("switch", "switch", "XuJinSheng", 1554119421840)
    assert m.tolist == () and m.roomid == ""
    assert m.session_type == "system" and HEX32.fullmatch(m.session_id)
    assert m.supported and m.problems == ()
    assert (m.summary_zh, m.summary_en) == ("[切换企业]", "[Switched enterprise]")
    # each user's switch entries share one findable session, apart from their chats
    other = parse({"msgid": "2", "action": "switch", "time": 1, "user": "XuJinSheng"})
    assert other.session_id == m.session_id
    assert m.session_id != parse(env("text", {"content": "x"}, tolist=["XuJinSheng"])).session_id


def test_unknown_msgtype_is_kept_as_unsupported():
    m = parse(env("hologram", {"title": "三维会议纪要", "blob": "x"}))
    assert not m.supported
    assert m.content == Unsupported("hologram", {"title": "三维会议纪要", "blob": "x"})
    assert (m.summary_zh, m.summary_en) == ("[不支持的消息类型: hologram]", "[Unsupported message type: hologram]")
    assert m.search_text == "三维会议纪要"  # best-effort: text-like keys only
    assert HEX32.fullmatch(m.session_id)


def test_unknown_msgtype_without_a_payload_of_its_name_keeps_the_rest():
    m = parse(env("hologram", None, info={"title": "新类型标题"}, extra=1))
    assert m.content == Unsupported("hologram", {"info": {"title": "新类型标题"}, "extra": 1})
    assert m.search_text == "新类型标题"


def test_known_type_with_non_object_payload_is_unsupported():
    m = parse(env("image", ["not", "an", "object"]))
    assert not m.supported and m.content == Unsupported("image", ["not", "an", "object"])
    assert (m.summary_zh, m.summary_en) == ("[图片] (无法解析)", "[Image] (unreadable)")
    assert any("expected an object" in p for p in m.problems)
    missing = parse(env("text"))
    assert not missing.supported and any("payload is missing" in p for p in missing.problems)


# --- odd shapes: tolerated, noted ----------------------------------------------------------------

def _with(d: dict, path: tuple, value) -> dict:
    d = json.loads(json.dumps(d))
    target = d
    for k in path[:-1]:
        target = target[k]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return d


_DELETE = object()


@pytest.mark.parametrize(("msgtype", "path", "value", "check", "note"), [
    ("text", ("tolist",), "icefog", lambda m: m.tolist == ("icefog",), "tolist is a string"),
    ("text", ("tolist",), None, lambda m: m.tolist == (), "tolist is null"),
    ("text", ("tolist",), ["icefog", 7, None], lambda m: m.tolist == ("icefog", "7"), "tolist holds non-strings"),
    ("text", ("msgtime",), "1547087894783", lambda m: m.msgtime == 1547087894783, "msgtime is a string"),
    ("text", ("msgtime",), None, lambda m: m.msgtime == 0, "msgtime is null"),
    ("text", ("msgtime",), _DELETE, lambda m: m.msgtime == 0, "msgtime is missing"),
    ("text", ("msgtime",), 1547087894783.0, lambda m: m.msgtime == 1547087894783, "msgtime is a float"),
    ("text", ("from",), _DELETE, lambda m: m.sender == "", "from is missing"),
    ("text", ("from",), 12345, lambda m: m.sender == "12345", "from is a number"),
    ("text", ("roomid",), None, lambda m: m.roomid == "", "roomid is null"),
    ("text", ("action",), _DELETE, lambda m: m.action == "", "action is missing"),
    ("text", ("text", "content"), None, lambda m: m.content == Text(""), "text.content is null"),
    ("text", ("text", "content"), {"a": 1}, lambda m: m.content == Text(""), "text.content is an object"),
    ("image", ("image", "filesize"), "70961", lambda m: m.media[0].size == 70961, "image.filesize is a string"),
    ("image", ("image", "filesize"), True, lambda m: m.media[0].size is None, "image.filesize is a boolean"),
    ("image", ("image", "filesize"), "big", lambda m: m.media[0].size is None, "image.filesize is a string"),
    ("image", ("image", "md5sum"), None, lambda m: m.media[0].md5sum == "", "image.md5sum is null"),
    ("image", ("image", "sdkfileid"), _DELETE, lambda m: m.media == (), "image.sdkfileid is missing"),
    ("image", ("image", "sdkfileid"), "", lambda m: m.media == (), "image.sdkfileid is empty"),
    ("location", ("location", "latitude"), "39.9", lambda m: m.content.latitude == 39.9, "holding a number"),
    ("location", ("location", "zoom"), [15], lambda m: m.content.zoom is None, "location.zoom is a list"),
    ("vote", ("voteitem",), "香山", lambda m: m.content.voteitem == ("香山",), "voteitem is a string"),
    ("news", ("info", "item"), {"title": "唯一"}, lambda m: m.content.item[0].title == "唯一", "taken as one item"),
    ("news", ("info", "item", 0), "oops", lambda m: len(m.content.item) == 1, "info.item[0] is a string"),
    ("chatrecord", ("chatrecord", "item", 0, "content"), "{not json",
     lambda m: m.content.item[0].content == Text("{not json"), "taken as the text itself"),
    ("chatrecord", ("chatrecord", "item", 1, "content"), "{not json",
     lambda m: type(m.content.item[1].content) is Unsupported and len(m.media) == 2, "not valid JSON"),
    ("chatrecord", ("chatrecord", "item", 1, "content"), {"sdkfileid": "obj-fid"},
     lambda m: m.media[0].sdkfileid == "obj-fid", "content is an object, not a JSON string"),
    ("chatrecord", ("chatrecord", "item", 1, "content"), "[1, 2]",
     lambda m: m.content.item[1].content == Unsupported("image", [1, 2]), "JSON but not an object"),
    ("chatrecord", ("chatrecord", "item", 1, "type"), "ChatRecordHologram",
     lambda m: m.content.item[1].msgtype == "" and m.supported, "unknown item type"),
    ("chatrecord", ("chatrecord", "item", 1, "from_chatroom"), 1,
     lambda m: m.content.item[1].from_chatroom is True, "expected a boolean"),
    ("chatrecord", ("chatrecord", "item", 2), None, lambda m: len(m.content.item) == 3, "is null, expected an object"),
    ("chatrecord", ("chatrecord", "item"), "nope", lambda m: m.content.item == (), "chatrecord.item is a string"),
    ("mixed", ("mixed", "item", 0, "content"), _DELETE, lambda m: m.content.item[0].content == Unsupported("text", None),
     "mixed.item[0].content is missing"),
    ("meeting_voice_call", ("voiceid",), 42, lambda m: m.content.voiceid == "42", "voiceid is a number"),
    ("collect", ("collect", "details", 0, "id"), "1", lambda m: m.content.details[0].id == 1, "details[0].id"),
    ("calendar", ("calendar", "attendeename"), None, lambda m: m.content.attendeename == (), "attendeename is null"),
])
def test_odd_shapes_are_tolerated_and_noted(msgtype, path, value, check, note):
    m = parse(_with(SAMPLES[msgtype], path, value))
    assert check(m), m
    assert any(note in p for p in m.problems), m.problems
    assert m.msgtype == msgtype
    assert isinstance(m.summary_zh, str) and isinstance(m.search_text, str)


def test_revoke_payload_only_action_mismatch_is_noted():
    m = parse(_with(SAMPLES["revoke"], ("action",), "send"))
    assert m.recalled_msgid == "14822339130656386894_1603875615"
    assert any("expected 'recall'" in p for p in m.problems)


def test_switch_with_msgtime_instead_of_time():
    m = parse({"msgid": "s1", "action": "switch", "msgtime": 1554119421840, "user": "u"})
    assert m.msgtime == 1554119421840 and any("msgtime instead of time" in p for p in m.problems)


def test_bom_and_str_input():
    d = SAMPLES["text"]
    raw = json.dumps(d, ensure_ascii=False)
    assert parse_message(raw) == parse_message(raw.encode("utf-8"))
    m = parse_message(b"\xef\xbb\xbf" + raw.encode("utf-8"))
    assert m.content == Text("你好，合同今天发给你") and any("byte order mark" in p for p in m.problems)


def test_lone_surrogates_do_not_break_sessions():
    m = parse_message('{"msgid":"m","from":"\\ud800","tolist":["\\udfff"],"msgtype":"text",'
                      '"text":{"content":"\\ud83d"},"msgtime":1,"action":"send","roomid":""}')
    assert HEX32.fullmatch(m.session_id) and m.content == Text("\ud83d")


def test_deep_chatrecord_nesting_is_bounded():
    content: dict = {"title": "最里层", "item": [{"type": "ChatRecordText", "content": j({"content": "核心"})}]}
    for level in range(14):  # each level doubles the escaping: 14 is ~1 MB
        content = {"title": f"第{level}层", "item": [{"type": "chatrecord", "msgtime": 1, "content": j(content)}]}
    m = parse(env("chatrecord", content))
    assert m.supported
    assert any(f"deeper than {MAX_DEPTH}" in p for p in m.problems)
    depth, node = 0, m.content
    while type(node) is ChatRecord:
        node = node.item[0].content
        depth += 1
    assert depth == MAX_DEPTH + 1 and type(node) is Unsupported
    assert m.search_text.count("层") == MAX_DEPTH + 1


def test_problem_list_is_bounded():
    items = [{"type": "text", "content": None} for _ in range(500)]
    m = parse(env("mixed", {"item": items}))
    assert len(m.problems) <= 51 and m.problems[-1] == "more problems not listed"


def test_huge_text_is_fine():
    big = "合规" * 500_000
    m = parse(env("text", {"content": big}))
    assert m.search_text == big and len(m.summary_zh) == 61


# --- entries that cannot be archived as messages -------------------------------------------------

@pytest.mark.parametrize("raw", [
    b"\xff\xfe{\x00}\x00",                                   # not UTF-8 (UTF-16 is not accepted)
    b'{"msgid":"m1","text":{"content":"\xe4\xbd"}}',          # truncated UTF-8 sequence
    b"",                                                     # not JSON
    b'{"msgid":"m1",',                                       # truncated JSON
    b"[" * 100_000,                                          # nests beyond the decoder
    b'["msgid", "m1"]',                                      # not an object
    b'"msgid"',
    b"42",
    b"null",
    b'{"action":"send","msgtype":"text"}',                   # no msgid
    b'{"msgid":123}',
    b'{"msgid":""}',
    b'{"msgid":null}',
])
def test_unarchivable_entries_raise_message_parse_error(raw):
    with pytest.raises(MessageParseError):
        parse_message(raw)
    assert issubclass(MessageParseError, ValueError)


def test_a_bare_msgid_is_enough():
    m = parse_message(b'{"msgid":"only"}')
    assert m.msgid == "only" and not m.supported and HEX32.fullmatch(m.session_id)
    assert m.summary_en == "[Unsupported message type: ?]"


# --- sessions ------------------------------------------------------------------------------------

def test_group_is_one_session_whoever_speaks():
    a = parse(env("text", {"content": "1"}, sender="zhangsan", tolist=["lisi", "wangwu"], roomid=ROOM))
    b = parse(env("text", {"content": "2"}, sender="lisi", tolist=["zhangsan", "wangwu"], roomid=ROOM))
    c = parse(env("text", {"content": "3"}, sender=EXT, tolist=["zhangsan"], roomid=ROOM, msgid="x_external"))
    assert a.session_id == b.session_id == c.session_id
    assert a.session_type == b.session_type == c.session_type == "group"
    other = parse(env("text", {"content": "1"}, sender="zhangsan", roomid=ROOM[:-1] + "X"))
    assert other.session_id != a.session_id


def test_one_to_one_is_symmetric():
    ab = session_of("zhangsan", ["lisi"], "", "m1")
    ba = session_of("lisi", ["zhangsan"], "", "m2")
    assert ab == ba and ab[1] == "internal" and HEX32.fullmatch(ab[0])
    assert session_of("zhangsan", ["wangwu"], "", "m3")[0] != ab[0]


def test_concatenation_collisions_of_the_seed_are_avoided():
    # the seed's md5(a + b) gives ("ab", "c") and ("a", "bc") the same session
    assert session_of("ab", ["c"], "", "m")[0] != session_of("a", ["bc"], "", "m")[0]
    # and a room id never meets a pair
    assert session_of("", [], "xy", "m")[0] != session_of("x", ["y"], "", "m")[0]


def test_external_and_updown_types():
    assert session_of("zhangsan", [EXT], "", "123_external") == session_of(EXT, ["zhangsan"], "", "456_external")
    assert session_of("zhangsan", ["lisi"], "", "123_external")[1] == "external"   # the suffix wins
    assert session_of("zhangsan", ["partner01"], "", "123_updown_stream")[1] == "updown"
    assert session_of("zhangsan", ["lisi"], ROOM, "123_updown_stream")[1] == "group"


def test_external_inferred_from_id_shape_only_when_the_suffix_is_missing():
    m = parse(env("text", {"content": "您好"}, sender="zhangsan", tolist=[EXT], msgid="123"))
    assert m.session_type == "external" and any("inferred" in p for p in m.problems)
    # staff whose userid merely starts with "wo"/"wm" stay internal
    assert session_of("wong", ["wmartin"], "", "123")[1] == "internal"


def test_empty_tolist_and_note_to_self():
    alone = parse(env("text", {"content": "备忘"}, tolist=[]))
    to_self = parse(env("text", {"content": "备忘"}, tolist=["XuJinSheng"]))
    assert alone.session_id == to_self.session_id and HEX32.fullmatch(alone.session_id)
    assert any("no recipient" in p for p in alone.problems)
    assert to_self.problems == ()


def test_several_recipients_without_room_share_one_session():
    a = parse(env("text", {"content": "x"}, sender="a1", tolist=["b1", "c1"]))
    b = parse(env("text", {"content": "y"}, sender="b1", tolist=["c1", "a1"]))
    assert a.session_id == b.session_id
    assert a.session_id != session_of("a1", ["b1"], "", "m")[0]
    assert any("several recipients" in p for p in a.problems)


def test_session_of_accepts_any_iterable_and_switch():
    assert session_of("a", ("b",), "", "m") == session_of("a", iter(["b"]), "", "m")
    sid, stype = session_of("XuJinSheng", [], "", "125289002219525886280", action="switch")
    assert stype == "system" and HEX32.fullmatch(sid)
