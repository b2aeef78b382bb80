"""Session id and session type of a message.

A session is what the reviewer's session tree shows as one conversation. Its id is 32 lower-case
hex chars (an MD5, used as a stable key only, not for security) of a *typed key*:

=============================================  ==========================================================
entry                                          session key (hashed as UTF-8)
=============================================  ==========================================================
roomid non-empty                               ``"room:" + roomid``
no roomid: participants = {from} ∪ tolist      1 or 2 participants a <= b (a == b for one):
(empty tolist entries dropped)                 ``"pair:" + str(len(a)) + ":" + a + b``
                                               3 or more, sorted p1..pn:
                                               ``"multi:" + "".join(str(len(p)) + ":" + p for p)``
action "switch" (no peer)                      ``"system:" + user``
=============================================  ==========================================================

Session type, first rule that matches:

1. action "switch" → ``"system"``
2. roomid non-empty → ``"group"``
3. msgid ends with ``"_external"`` → ``"external"``
4. msgid ends with ``"_updown_stream"`` → ``"updown"``
5. a participant id has the shape of an external_userid (``wo``/``wm`` + [A-Za-z0-9_-], 28..40
   chars in all) → ``"external"``, with a note in the message's problems
6. otherwise → ``"internal"``

Where we differ from the seed
-----------------------------
The seed (OpenSCRM msg-server, ``getSessionID``/``getSessionType``) computes group → md5(from +
roomid), one-to-one → md5(min(from, to) + max(from, to)), and the type from roomid and the
``_external`` suffix. What it gets wrong or leaves open, and what we do:

- **Group session per sender.** md5(from + roomid) gives every member of a group a different
  "session", so a group chat of 30 people appears as 30 conversations. A group is one session:
  md5("room:" + roomid), whoever speaks.
- **Ambiguous concatenation.** md5(a + b) collides for ("ab", "c") and ("a", "bc"): userids are
  chosen by admins, so two unrelated pairs could share a session. We length-prefix the first id and
  type-prefix every key ("room:", "pair:", "multi:", "system:") so no two kinds of key collide.
  Seed ids are therefore not reproduced; they can be recomputed from the stored JSON at any time.
- **Empty tolist.** The seed indexes ToList[0] and crashes. We take the participants as the set
  {from} ∪ tolist: with no recipient it is the sender alone, the same session as a note to self.
- **from == tolist[0] (a note to self).** The seed hashes from + from; we do the same in effect:
  the one-participant "pair" (a, a), i.e. the sender's own session. It is not a problem.
- **Several recipients without a roomid.** The seed silently uses ToList[0] and drops the others.
  We give the whole participant set one "multi" session (so A→[B, C] and B→[A, C] meet), keep the
  type by the msgid rules, and note it in problems.
- **"_updown_stream" msgids.** The seed calls them internal. Upstream/downstream chats are with
  members of partner corps, neither staff nor external customers, and compliance reviews them
  separately: they get their own type ``"updown"`` (a group stays ``"group"``).
- **External without the suffix.** The msgid suffix is WeCom's documented rule and wins. Only when
  the msgid has neither suffix do we look at the ids: an external_userid has a recognisable shape
  (``wo``/``wm`` + 30 chars of [A-Za-z0-9_-]); we accept 28..40 chars of that alphabet and call the
  session external, noting it. A plain ``startswith("wo")`` would misfile staff such as "wong".
- **Switch entries** have no peer and no msgtype; the seed has no session for them. A reviewer
  must still find them: each user gets one "system" session (type ``"system"``) holding their
  switch entries, so they sit in the session tree under that user.
- **Groups with external members.** Their msgids end in ``"_external"`` but the type stays
  ``"group"``, as in the seed; whether a group has external members is for the store to derive.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

_EXTERNAL_SUFFIX = "_external"
_UPDOWN_SUFFIX = "_updown_stream"
_ID_PUNCT = str.maketrans("", "", "_-")


def _md5_hex(key: str) -> str:
    # surrogatepass: JSON may carry lone surrogates ("\ud800"), which strict UTF-8 refuses.
    return hashlib.md5(key.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()


def looks_like_external_userid(userid: str) -> bool:
    """True for ids shaped like WeCom's external_userid ("wo"/"wm" + ~30 chars of [A-Za-z0-9_-])."""
    return (
        28 <= len(userid) <= 40
        and userid[:2] in ("wo", "wm")
        and userid.isascii()
        and userid.translate(_ID_PUNCT).isalnum()
    )


def session_key(sender: str, tolist: Iterable[str], roomid: str, *, action: str = "send") -> str:
    """The unhashed key of a session (see the module docstring); useful in tests and debugging."""
    if action == "switch":
        return "system:" + sender
    if roomid:
        return "room:" + roomid
    parts = {sender}
    parts.update(t for t in tolist if t)
    if len(parts) == 1:
        return f"pair:{len(sender)}:{sender}{sender}"
    if len(parts) == 2:
        a, b = sorted(parts)
        return f"pair:{len(a)}:{a}{b}"
    return "multi:" + "".join(f"{len(p)}:{p}" for p in sorted(parts))


def session_and_notes(sender: str, tolist: tuple[str, ...], roomid: str, msgid: str,
                      action: str = "send") -> tuple[str, str, list[str]]:
    """(session_id, session_type, notes): session_of plus English notes for ParsedMessage.problems."""
    notes: list[str] = []
    key = session_key(sender, tolist, roomid, action=action)
    if action == "switch":
        return _md5_hex(key), "system", notes
    if roomid:
        return _md5_hex(key), "group", notes
    if key.startswith("multi:"):
        notes.append("several recipients without a roomid: one session for all participants")
    elif not any(tolist):
        notes.append("no recipient: filed in the sender's own session")
    if msgid.endswith(_EXTERNAL_SUFFIX):
        return _md5_hex(key), "external", notes
    if msgid.endswith(_UPDOWN_SUFFIX):
        return _md5_hex(key), "updown", notes
    if looks_like_external_userid(sender) or any(looks_like_external_userid(t) for t in tolist):
        notes.append("external contact inferred from an id's shape; the msgid lacks '_external'")
        return _md5_hex(key), "external", notes
    return _md5_hex(key), "internal", notes


def session_of(sender: str, tolist: Iterable[str], roomid: str, msgid: str, *,
               action: str = "send") -> tuple[str, str]:
    """(session_id, session_type) of a message; session_id is 32 lower-case hex chars.

    ``sender`` is the message's "from" (for action "switch": its "user"). Pure and total: any
    strings give an answer. The rules, and where they differ from the seed, are in the module
    docstring.
    """
    sid, stype, _ = session_and_notes(sender, tuple(tolist), roomid, msgid, action)
    return sid, stype
