"""``sample rule-edit``: an administrator changes a sampling rule from the command line as from the
window (recorded, old draws unchanged); wrong input gets one sentence and changes nothing."""

from __future__ import annotations

import json

from .kit import make_archive


def _rules(cli) -> dict[str, dict]:
    out = cli("sample", "rules", "--all", "--json").output
    return {r["name"]: r for r in (json.loads(line) for line in out.splitlines() if line.strip())}


def test_a_rule_is_renamed_resized_regrouped_and_disabled(tmp_path):
    cli = make_archive(tmp_path)
    cli("sample", "rule-add", "Sales", "--user", "zhangwei", "--percent", "10")
    cli("sample", "rule-edit", "Sales", "--name", "Sales east", "--sessions", "5", "--user", "lina",
        "--user", "wangfang", "--department", "华东销售部")
    rule = _rules(cli)["Sales east"]
    assert (rule["percent"], rule["sessions"]) == (None, 5)
    assert rule["userids"] == ["lina", "wangfang"] and rule["departments"] == ["华东销售部"]
    out = cli("sample", "rule-edit", "Sales east", "--no-users", "--disable").output
    assert "Sampling rule changed" in out
    rule = _rules(cli)["Sales east"]
    assert rule["userids"] == [] and rule["departments"] == ["华东销售部"] and rule["disabled"]
    assert "Sales east" not in cli("sample", "rules").output and "(disabled)" in cli("sample", "rules", "--all").output
    cli("sample", "rule-edit", "Sales east", "--enable")
    assert not _rules(cli)["Sales east"]["disabled"] and "Sales east" in cli("sample", "rules").output
    audit = cli("audit", "list", "--action", "review.sampling", "--json").output
    changes = [json.loads(line)["detail"] for line in audit.splitlines() if line.strip()]
    assert any("Sales -> Sales east" in json.dumps(d, ensure_ascii=False) for d in changes), changes


def test_wrong_input_is_refused_and_changes_nothing(tmp_path):
    cli = make_archive(tmp_path)
    cli("sample", "rule-add", "Sales", "--user", "zhangwei", "--percent", "10")
    before = _rules(cli)
    assert "not both" in cli("sample", "rule-edit", "Sales", "--percent", "5", "--sessions", "3", code=2).output
    assert "not both" in cli("sample", "rule-edit", "Sales", "--user", "lina", "--no-users", code=2).output
    assert "there is no sampling rule 'Nobody'" in cli("sample", "rule-edit", "Nobody", "--percent", "5",
                                                      code=1).output
    out = cli("sample", "rule-edit", "Sales", "--no-users", code=1).output  # neither staff nor departments left
    assert "needs staff (userids) or departments" in out
    assert _rules(cli) == before
