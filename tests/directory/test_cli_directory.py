"""The directory on the command line: `directory sync` and its report, the compliance listings, the
secrets, and names beside ids in `sessions`, `messages` and `search` (text and --json)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from app.cli import main
from app.core.directory.store import ContactFacts, apply_contacts
from native.corpus.directory import LEFT_STAFF, NOT_PERMITTED


@pytest.fixture
def cli(directory_corpus, tmp_path):
    """Run the CLI in this process on a synced archive of the corpus (no login: the demo account)."""
    from app.core.context import AppContext

    data = tmp_path / "data"
    ctx = AppContext(data)
    corp, _ = ctx.setup_demo(directory_corpus)
    ctx.make_syncer(corp, workers=1, media=False).run()
    ctx.close()
    runner = CliRunner()

    def run(*args, code=0, input=None):
        result = runner.invoke(main, ["--data-dir", str(data), *args], input=input)
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        return result.output

    run.data = data
    return run


def test_sync_report_and_listings(cli):
    out = json.loads(cli("directory", "sync", "--json", "--no-avatars"))
    assert out["outcome"] == "partial" and out["counts"]["staff"] > 30
    assert out["calls"]["user/get"]["errcodes"]["60111"] == 1
    assert out["problems"][0]["en"].startswith("user/get: WeCom knows no staff member")
    report = cli("directory", "report")
    assert "user/get" in report and "60111×1" in report and LEFT_STAFF in report
    assert cli("directory", "runs").count("partial") == 1

    staff = cli("directory", "staff", "--attention")
    assert f"({NOT_PERMITTED})" in staff and f"({LEFT_STAFF})" in staff and "(ChenJing)" not in staff
    rows = [json.loads(line) for line in cli("directory", "staff", "--json").splitlines()]
    chen = next(r for r in rows if r["id"] == "ChenJing")
    assert chen["state"] == "archived" and chen["on_list"] and chen["since"] and chen["messages"] > 0

    refused = [json.loads(line) for line in cli("directory", "consent", "--refused", "--json").splitlines()]
    assert refused and all(r["status"] == "disagree" for r in refused)
    assert all(r["evidence"] or r["source"] == "wecom" for r in refused)
    people = cli("directory", "people", "--search", "陈静")
    assert "陈静 (ChenJing)" in people and "销售二部" in people

    sessions = [json.loads(line) for line in cli("sessions", "--json", "--limit", "2000").splitlines()]
    assert all(s["corpid"] for s in sessions)
    group = next(s for s in sessions if s["room_name"] == "销售二部")
    assert {"id": "ChenJing", "name": "陈静"} in group["participant_names"]
    text = cli("sessions", "--type", "group")
    assert "[销售二部 (" in text and "陈静 (ChenJing)" in text
    refused_sessions = cli("sessions", "--refused")
    assert all(line.split()[0] for line in refused_sessions.splitlines())

    messages = cli("messages", "--session", group["session_id"], "--limit", "5")
    assert "陈静 (ChenJing)" in messages or "陈静" in messages
    first = json.loads(cli("messages", "--session", group["session_id"], "--limit", "1", "--json"))
    assert first["corpid"] and first["room_name"] == "销售二部" and first["from_name"]["name"]
    hit = json.loads(cli("search", "报价", "--limit", "1", "--json").splitlines()[0])
    assert hit["from_name"]["name"] and hit["corpid"]
    external = next(t for t in hit["tolist_names"] + [hit["from_name"]] if t["id"].startswith("wo"))
    assert external["corp"]


def test_names_shown_as_held_then_with_todays_beside_them_and_made_visible(cli):
    from app.core.context import AppContext
    from app.core.store.db import now_ms

    cli("directory", "sync", "--no-avatars")
    ctx = AppContext(cli.data)
    try:
        corp_id = ctx.archive.corp_id(ctx.accounts.no_login_actor(""))
        with ctx.db.write() as conn:
            apply_contacts(conn, ctx.db, corp_id, [ContactFacts("ChenJing", "陈静\u202e怡", "staff", "销售二部")],
                           now=now_ms() + 1000, source="user/get")
    finally:
        ctx.close()
    line = next(x for x in cli("search", "from:ChenJing", "--limit", "1").splitlines())
    assert "陈静 [now 陈静⟨U+202E⟩怡] (ChenJing)" in line
    hit = json.loads(cli("search", "from:ChenJing", "--limit", "1", "--json"))
    assert hit["from_name"] == {"id": "ChenJing", "name": "陈静", "name_now": "陈静\u202e怡"}
    history = cli("directory", "history", "ChenJing").splitlines()
    assert len(history) == 2 and "陈静  销售二部" in history[0] and "陈静⟨U+202E⟩怡" in history[1]


def test_secrets_are_kept_in_the_keyring_and_recorded_without_their_value(cli, isolated_env):
    cli("directory", "secret", "contacts", "--secret-stdin", input="the-contacts-secret-9f2\n")
    assert [k for k, v in isolated_env.store.items() if v == "the-contacts-secret-9f2"] == [
        ("wecom-archive-auditor", "corp:wwd98a74fca72fc2de:contacts_secret")]
    audit = cli("audit", "list", "--action", "settings.change", "--json")
    # a distinctive part, not "9f2" alone: three hex digits turn up in the entries' hashes (CI, 1 in ~5)
    assert "contacts_secret" in audit and "secret-9f2" not in audit
    cli("directory", "secret", "contacts", "--delete")
    assert "secret-9f2" not in "".join(isolated_env.store.values())
    assert "the secret is empty" in cli("directory", "secret", "contacts", "--secret-stdin", input="\n", code=2)


def test_the_real_thing_in_a_process_through_the_stand_in(directory_corpus, tmp_path):
    """`wecom-auditor directory sync --json` in its own process, through the HTTPS stand-in with the
    corp's proxy and CA; then an intercepted connection fails with one sentence, exit 1."""
    from app.core.config.secrets import env_var_name
    from app.core.context import AppContext
    from directory.standin import DirectoryStandIn

    data = tmp_path / "data"
    ctx = AppContext(data)
    corp, _ = ctx.setup_demo(directory_corpus)
    ctx.make_syncer(corp, workers=1, media=False).run()
    secret = json.loads((directory_corpus / "corpus.json").read_text())["secret"]

    def run(s, code):
        from dataclasses import replace

        ctx.settings.upsert_corp(replace(corp, proxy=s.proxy_url, ca_file=str(s.ca_pem)))
        ctx.save()
        env = {**os.environ, "WECOM_AUDITOR_DATA_DIR": str(data), env_var_name("CORP_SECRET", corp.corpid): secret}
        proc = subprocess.run([sys.executable, "-m", "app", "directory", "sync", "--json", "--no-avatars"],
                              capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == code, proc.stderr + proc.stdout
        assert "Traceback" not in proc.stderr
        return json.loads(proc.stdout), proc.stderr

    try:
        with DirectoryStandIn.for_corpus(directory_corpus) as s:
            report, _ = run(s, 0)
        assert report["outcome"] == "partial" and report["counts"]["staff"] > 30
        assert report["calls"]["gettoken"]["errcodes"] == {"0": 1}
        with DirectoryStandIn.for_corpus(directory_corpus, cert="self-signed") as s:
            report, err = run(s, 1)
        assert report["outcome"] == "failed"
        assert err.strip().startswith("Error: The connection to qyapi.weixin.qq.com through the proxy")
        assert "failed certificate verification" in err and len(err.strip().splitlines()) == 1
    finally:
        ctx.close()
