"""The OpenAPI 3.1 document of the server's API, served at ``/openapi.json`` and kept in the repository
as ``docs/openapi.json`` (a test keeps the two equal: ``python -m app.server.openapi > docs/openapi.json``)."""

from __future__ import annotations

import json
from typing import Any


def _p(name: str, where: str = "query", *, required: bool = False, kind: str = "string", desc: str = "") -> dict:
    return {"name": name, "in": where, "required": required, "schema": {"type": kind}, "description": desc}


_V1_COMMON = [_p("ext_corp_id", required=True, desc="The corp id."),
              _p("signature", required=True, desc="hex HMAC-SHA256 with InnerSrvAppCode of the request struct "
                                                  "(see info.description).")]
_V1_PAGER = [_p("page", kind="integer"), _p("page_size", kind="integer", desc="At most 1000.")]
_V1_MSG = {"type": "object", "description": "msg-server's ChatMessage.", "properties": {
    k: {"type": t} for k, t in {
        "id": "string", "ext_corp_id": "string", "ext_creator_id": "string", "msgid": "string", "action": "string",
        "from": "string", "tolist": "array", "roomid": "string", "msgtime": "integer", "msgtype": "string",
        "content_text": "string", "seq": "integer", "session_id": "string", "session_type": "string",
        "chat_msg_content": "object", "keywords": "string", "sender_name": "string", "sender_avatar": "string"}.items()}}
_V1_RESULT: dict[str, Any] = {"type": "object", "required": ["code", "message", "data"], "properties": {
    "code": {"type": "integer", "description": "0 = success; 40001 = bad signature; 400, 403, 404, 500, 502, 503."},
    "message": {"type": "string"}, "data": {}}}
_V2_ERROR = {"description": "Refused: one sentence in `error`.",
             "content": {"application/json": {"schema": {"type": "object", "properties": {"error": {"type": "string"}}}}}}


def _ok(schema: dict, desc: str = "OK") -> dict:
    return {"200": {"description": desc, "content": {"application/json": {"schema": schema}}}}


def _v2(summary: str, params: list, schema: dict, method: str = "get") -> dict:
    return {method: {"summary": summary, "security": [{"token": []}], "parameters": params,
                     "responses": {**_ok(schema), "400": _V2_ERROR, "401": _V2_ERROR, "403": _V2_ERROR,
                                   "404": _V2_ERROR}}}


def openapi_document() -> dict:
    msg = {"type": "object", "properties": {k: {"type": t} for k, t in {
        "id": "string", "corp_id": "string", "seq": "integer", "msgid": "string", "action": "string", "from": "string",
        "tolist": "array", "roomid": "string", "msgtime": "integer", "msgtype": "string", "session_id": "string",
        "session_type": "string", "text": "string", "has_media": "boolean"}.items()}}
    session = {"type": "object", "properties": {k: {"type": t} for k, t in {
        "corp_id": "string", "session_id": "string", "session_type": "string", "roomid": "string",
        "participants": "array", "first_msgtime": "integer", "last_msgtime": "integer",
        "message_count": "integer"}.items()}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "WeCom Archive Auditor server API", "version": "1",
            "description": (
                "`/api/v1` answers like OpenSCRM's msg-server for an api-server pointed at this server. Requests "
                "are signed with the shared InnerSrvAppCode (env WECOM_AUDITOR_INNER_APP_CODE): sync signs "
                "`ext_corp_id`; the GET routes sign Go's GenBytesOrderByColumn of their request struct — the Go "
                "field names sorted, `Name=value` joined by `&`, Pager as `{page page_size 0}`, Sorter as "
                "`{sort_field sort_type}` (sessions: ExtStaffID, Name, Pager, SessionType, Sorter; session-msgs: "
                "ExtStaffID, Limit, MaxID, MinID, MsgType, Pager, ReceiverID, SendAtEnd, SendAtStart, Sorter; "
                "search: ExtPeerID, ExtStaffID, Keyword, Pager). v1 acts as the account whose login token the "
                "server holds (WECOM_AUDITOR_V1_TOKEN), within its scope, and every request is audited. It "
                "differs from msg-server where msg-server is flawed: session ids are this archive's (one per "
                "conversation; msg-server's hash of sender+room gave a group one id per sender); search is "
                "limited to the corp, the pair and the keyword (msg-server's OR returned every message between "
                "the pair, of every corp, whatever the keyword); the signature covers no time, so a v1 request "
                "can be replayed — use /api/v2 where you can. `/api/v2` authenticates the app's accounts by "
                "login token, honours their scopes and records every read. `/health` and `/metrics` hold no "
                "content.")},
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer",
                                                     "description": "A login token (wecom-auditor login --print-token)."}}},
        "paths": {
            "/api/v1/chat-msg/sync": {"post": {
                "summary": "Sync the corp now (answers when the sync has finished).",
                "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": [
                    "ext_corp_id", "signature"], "properties": {"ext_corp_id": {"type": "string"},
                                                                 "signature": {"type": "string"}}}}}},
                "responses": _ok(_V1_RESULT)}},
            "/api/v1/chat-msg/sessions": {"get": {
                "summary": "A staff member's conversations of one type, newest first.",
                "parameters": [*_V1_COMMON, _p("ext_staff_id", required=True),
                               _p("session_type", required=True, desc="room, external or internal"), _p("name"),
                               _p("sort_field"), _p("sort_type"), *_V1_PAGER],
                "responses": _ok({**_V1_RESULT, "description": "data: {items: [ChatSessions], pager: {page, "
                                                               "page_size, total_rows}}"})}},
            "/api/v1/chat-msg/session-msgs": {"get": {
                "summary": "The messages between a staff member and a receiver (a person or a room).",
                "parameters": [*_V1_COMMON, _p("ext_staff_id", required=True), _p("receiver_id", required=True),
                               _p("msg_type"), _p("send_at_start", desc="YYYY-MM-DD"), _p("send_at_end"),
                               _p("max_id"), _p("min_id"), _p("limit", kind="integer"), _p("sort_field"),
                               _p("sort_type", desc="asc or desc (default)"), *_V1_PAGER],
                "responses": _ok({**_V1_RESULT, "description": "data: {items: [ChatMessage], total}"})}},
            "/api/v1/chat-msg/search": {"get": {
                "summary": "A keyword in the conversations of a staff member and a peer.",
                "parameters": [*_V1_COMMON, _p("keyword", required=True), _p("ext_staff_id", required=True),
                               _p("ext_peer_id", required=True), *_V1_PAGER],
                "responses": _ok({**_V1_RESULT, "description": "data: {items: [ChatMessage], total}",
                                  "properties": {**_V1_RESULT["properties"], "data": {"type": "object", "properties": {
                                      "items": {"type": "array", "items": _V1_MSG}, "total": {"type": "integer"}}}}})}},
            "/api/v2/sessions": _v2("Conversations in the account's scope, newest first.", [
                _p("corp"), _p("type", desc="internal, external, group, updown, system"), _p("participant"),
                _p("limit", kind="integer"), _p("offset", kind="integer")],
                {"type": "object", "properties": {"items": {"type": "array", "items": session},
                                                  "next_offset": {"type": ["integer", "null"]}}}),
            "/api/v2/sessions/{session_id}/messages": _v2("One conversation's messages, oldest first (records "
                                                          "session.open on the first page).", [
                _p("session_id", "path", required=True), _p("corp"), _p("limit", kind="integer"),
                _p("after", desc="next_cursor of the previous page")],
                {"type": "object", "properties": {"items": {"type": "array", "items": msg},
                                                  "next_cursor": {"type": ["string", "null"]}}}),
            "/api/v2/messages/{msgid}": _v2("One message (records message.view, or message.raw with raw=true).", [
                _p("msgid", "path", required=True), _p("raw", kind="boolean")], msg),
            "/api/v2/search": _v2("Search in the query language (records the query).", [
                _p("q", required=True), _p("corp"), _p("limit", kind="integer"), _p("before")],
                {"type": "object", "properties": {"items": {"type": "array", "items": msg},
                                                  "total": {"type": ["integer", "null"]},
                                                  "next_cursor": {"type": ["string", "null"]}}}),
            "/api/v2/sync": _v2("Sync a corp now (needs sync.run).", [], {"type": "object"}, "post"),
            "/api/v2/status": _v2("The servers, each corp's last sync and the job queue.", [], {"type": "object"}),
            "/health": {"get": {"summary": "Database, queue and instances (503 when failing).",
                                "responses": _ok({"type": "object"})}},
            "/metrics": {"get": {"summary": "Prometheus text format: counts, queue, sync times, requests.",
                                 "responses": {"200": {"description": "text/plain; version=0.0.4"}}}},
            "/openapi.json": {"get": {"summary": "This document.", "responses": _ok({"type": "object"})}},
        },
    }


def openapi_json() -> str:
    return json.dumps(openapi_document(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(openapi_json())
