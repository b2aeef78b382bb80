"""Shapes of WeCom's decrypted messages for property tests: the catalogue's fields per msgtype and
random JSON values (tests/messages and tests/sync share them)."""

from __future__ import annotations

from hypothesis import strategies as st

# The catalogue's fields, written from the reference (not from the parser): msgtype → (payload key or
# None for top-level fields, payload fields, top-level fields).
FIELDS: dict[str, tuple[str | None, tuple[str, ...], tuple[str, ...]]] = {
    "text": ("text", ("content",), ()),
    "image": ("image", ("sdkfileid", "md5sum", "filesize"), ()),
    "revoke": ("revoke", ("pre_msgid",), ()),
    "agree": ("agree", ("userid", "agree_time"), ()),
    "disagree": ("disagree", ("userid", "disagree_time"), ()),
    "voice": ("voice", ("sdkfileid", "md5sum", "voice_size", "play_length"), ()),
    "video": ("video", ("sdkfileid", "md5sum", "filesize", "play_length"), ()),
    "card": ("card", ("corpname", "userid"), ()),
    "location": ("location", ("longitude", "latitude", "address", "title", "zoom"), ()),
    "emotion": ("emotion", ("type", "width", "height", "imagesize", "sdkfileid", "md5sum"), ()),
    "file": ("file", ("filename", "fileext", "filesize", "sdkfileid", "md5sum"), ()),
    "link": ("link", ("title", "description", "link_url", "image_url"), ()),
    "weapp": ("weapp", ("title", "description", "username", "displayname"), ()),
    "chatrecord": ("chatrecord", ("title", "item"), ()),
    "todo": ("todo", ("title", "content"), ()),
    "vote": (None, (), ("votetitle", "voteitem", "votetype", "voteid")),
    "collect": ("collect", ("room_name", "creator", "create_time", "title", "details"), ()),
    "redpacket": ("redpacket", ("type", "wish", "totalcnt", "totalamount"), ()),
    "external_redpacket": ("redpacket", ("type", "wish", "totalcnt", "totalamount"), ()),
    "meeting": ("meeting", ("topic", "starttime", "endtime", "address", "remarks", "meetingtype", "meetingid",
                            "status"), ()),
    "docmsg": ("doc", ("title", "link_url", "doc_creator"), ()),
    "markdown": ("info", ("content",), ()),
    "news": ("info", ("item",), ()),
    "calendar": ("calendar", ("title", "creatorname", "attendeename", "starttime", "endtime", "place",
                              "remarks"), ()),
    "mixed": ("mixed", ("item",), ()),
    "meeting_voice_call": ("meeting_voice_call", ("endtime", "sdkfileid", "demofiledata", "sharescreendata"),
                           ("voiceid",)),
    "voip_doc_share": ("voip_doc_share", ("filename", "md5sum", "filesize", "sdkfileid"), ("voipid",)),
    "sphfeed": ("sphfeed", ("feed_type", "sph_name", "feed_desc"), ()),
    "voiptext": ("info", ("callduration", "invitetype"), ()),
    "qydiskfile": ("info", ("filename",), ()),
}
COMMON = ("msgid", "action", "from", "tolist", "roomid", "msgtime", "msgtype")
INNER_TYPES = ["ChatRecordText", "ChatRecordImage", "ChatRecordVoice", "ChatRecordVideo", "ChatRecordCard",
               "ChatRecordLocation", "ChatRecordEmotion", "ChatRecordFile", "ChatRecordLink", "ChatRecordWeapp",
               "ChatRecordMixed", "chatrecord", "text", "image", "file", "voice", "video", "emotion", "link",
               "Bogus"]

json_scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-2**70, max_value=2**70)
                | st.floats() | st.text(max_size=20) | st.sampled_from(["", "1", " 12 ", "1e3", "NaN", "true"]))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
