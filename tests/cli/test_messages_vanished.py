"""`messages` when a listed message is gone by the time its details are read."""

from __future__ import annotations

from app.core.archive import ArchiveService


def test_a_message_deleted_after_the_listing_is_left_out(archive, monkeypatch):
    # A retention run (or a restore) may delete a message between the listing and the read of its
    # details: service.message() then says None, and `messages` failed with AttributeError on it.
    real = ArchiveService.message

    def gone_m2(self, actor, *, msgid=None, message_id=None, corp_id=None):
        detail = real(self, actor, msgid=msgid, message_id=message_id, corp_id=corp_id)
        return None if detail is not None and detail.row.msgid == "m2" else detail

    monkeypatch.setattr(ArchiveService, "message", gone_m2)
    for args in (("messages",), ("messages", "--json")):
        result = archive(*args)
        assert result.output.count("\n") == 3, result.output
        assert "m2" not in result.output or args == ("messages",)
