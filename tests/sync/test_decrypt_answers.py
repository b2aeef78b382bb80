"""An SDK host answers a chunk without sending the encrypted items back; the pool puts them back."""

from __future__ import annotations

import pickle

import pytest

from app.core.messages import parse_message
from app.core.sdk import ChatDataItem
from app.core.sdk.decrypt import STAGE_KEY, Decrypted, Rejected, with_items

RAW = b'{"msgid":"m-1","action":"send","from":"a","tolist":["b"],"roomid":"","msgtime":1700000000000,' \
      b'"msgtype":"text","text":{"content":"hi"}}'


def test_answers_get_their_items_back_in_order():
    items = [ChatDataItem(1, "m-1", 1, "k" * 344, "m" * 500), ChatDataItem(2, "m-2", 9, "k", "m" * 500)]
    parsed = parse_message(RAW)
    rejected = Rejected(items[1], STAGE_KEY, "no private key installed for publickey_ver 9")
    answers = pickle.loads(pickle.dumps([(RAW, parsed), rejected]))  # as they cross the pipe
    outcomes = with_items(items, answers)
    assert outcomes == [Decrypted(items[0], RAW, parsed), rejected]
    # what crosses the pipe for a decrypted entry holds neither of its encrypted fields
    assert b"k" * 344 not in pickle.dumps(answers[0])


def test_an_answer_missing_for_an_item_is_an_error_not_a_shift():
    items = [ChatDataItem(1, "m-1", 1, "k", "m"), ChatDataItem(2, "m-2", 1, "k", "m")]
    with pytest.raises(ValueError):
        with_items(items, [(RAW, parse_message(RAW))])
