"""The query language: what parses to what, and malformed queries explained with a position."""

from __future__ import annotations

from datetime import UTC

import pytest

from app.core.search import QueryError, parse_query
from app.core.search.query import All, And, DateRange, Field, Not, Or, Text


def test_terms_operators_and_fields_parse_to_the_expected_tree():
    t = lambda s, phrase=False: Text(s, s.lower(), phrase)  # noqa: E731
    assert parse_query("") == All()
    assert parse_query("合同") == t("合同")
    assert parse_query("合同 发票") == And((t("合同"), t("发票")))
    assert parse_query("合同 AND 发票 OR x") == Or((And((t("合同"), t("发票"))), t("x")))
    assert parse_query("-a NOT b") == And((Not(t("a")), Not(t("b"))))
    assert parse_query('"a b" (c OR d)') == And((t("a b", True), Or((t("c"), t("d")))))
    assert parse_query('"say \\"hi\\" \\\\ ok"') == t('say "hi" \\ ok', True)
    assert parse_query("or and not") == And((t("or"), t("and"), t("not")))  # operators are upper case
    assert parse_query("5000-6000 a-b") == And((t("5000-6000"), t("a-b")))  # '-' only negates up front
    assert parse_query("12:30 备注:x") == And((t("12:30"), t("备注:x")))  # not field names
    assert parse_query("From:zhangwei type:image,video") == And((Field("from", "zhangwei"),
                                                                 Or((Field("type", "image"), Field("type", "video")))))
    assert parse_query('to:"a b" has:MEDIA is:recalled') == And((Field("to", "a b"), Field("has", "media"),
                                                                 Field("is", "recalled")))
    assert parse_query("ＡＢＣ") == Text("ＡＢＣ", "abc")


def test_dates_are_days_months_years_and_ranges_in_the_given_zone():
    day = 86_400_000
    jan1 = 1_735_689_600_000  # 2025-01-01T00:00Z
    assert parse_query("date:2025-01-01", tz=UTC) == DateRange(jan1, jan1 + day)
    assert parse_query("date:2025-01-01..2025-01-03", tz=UTC) == DateRange(jan1, jan1 + 3 * day)
    assert parse_query("date:2025-01..", tz=UTC) == DateRange(jan1, None)
    assert parse_query("date:..2025", tz=UTC) == DateRange(None, jan1 + 365 * day)
    assert parse_query("after:2025-01-02 before:2025-01-03", tz=UTC) == And((DateRange(jan1 + day, None),
                                                                              DateRange(None, jan1 + 2 * day)))
    assert parse_query("date:2025-01-01T08:30", tz=UTC) == DateRange(jan1 + 8 * 3_600_000 + 30 * 60_000,
                                                                      jan1 + 8 * 3_600_000 + 31 * 60_000)


@pytest.mark.parametrize("query, position, words", [
    ('合同 "退款', 3, "never closed"),
    ("(合同 OR 发票", 0, "never closed"),
    ("合同)", 2, "closes nothing"),
    ("()", 0, "empty parentheses"),
    ('""', 0, "empty phrase"),
    ("foo:bar", 0, "unknown field"),
    ("a http://x", 2, "unknown field"),
    ("from:", 5, "needs a value"),
    ("type:image,", 11, "needs a value"),
    ("date:2025-13-01", 5, "not a valid date"),
    ("date:yesterday", 5, "not a date"),
    ("date:2025-03-01..2025-01-01", 5, "empty"),
    ("date:..", 5, "at least one date"),
    ("after:2025-02-30", 6, "not a valid date"),
    ("session:vip", 8, "session: is one of"),
    ("has:files", 4, "has: can be media"),
    ("is:deleted", 3, "is: can be recalled"),
    ("OR 合同", 0, "OR needs"),
    ("合同 OR", 3, "OR needs"),
    ("合同 OR OR 发票", 3, "OR needs"),
    ("AND 合同", 0, "AND needs"),
    ("合同 NOT", 3, "must be followed"),
    ("- 合同", 0, "'-' must be followed"),
    ("(合同 -)", 4, "'-' must be followed"),
])
def test_malformed_queries_say_what_and_where(query, position, words):
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert info.value.position == position, info.value
    assert words in info.value.message
    assert f"at character {position + 1}" in str(info.value)
    assert info.value.pointer().splitlines()[1] == " " * position + "^"
