"""Screenshots of the app with the demo archive, in Chinese and English (docs/*.png): the main
window, the login dialog, account management, the audit log, and the review (the window with tag
chips, notes and badges; the Review panel; the administrator's Review settings).

    QT_QPA_PLATFORM=offscreen python tools/screenshots.py [--data-dir DIR] [--only NAME …]

Without --data-dir it generates and syncs a demo archive in a temporary folder first, and adds a few
accounts and their activity (a scoped reviewer, an exporter, an auditor, a locked and a disabled
account) and a review (tags, a note, a policy's alerts, a saved search, a sample) so that the
account, audit and review screens show something. With --data-dir nothing is added:
the screens show that archive as it is, seen by the local OS user (every role).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
WORKSTATION = "audit-ws-01"
# Accounts added to a generated archive: (user name, password, roles, scope departments, scope userids)
SHOT_ACCOUNTS = (
    ("li.na", "reviewer-pass-01", ("reviewer",), ("销售一部",), ()),
    ("wang.qiang", "reviewer-pass-02", ("reviewer", "exporter"), (), ("zhangwei", "LiNa")),
    ("zhao.min", "auditor-pass-03", ("auditor",), (), ()),
    ("chen.jie", "admin-pass-0004", ("administrator",), (), ()),
    ("liu.yang", "reviewer-pass-05", ("reviewer",), (), ()),
)


def _pick_session(ctx, actor):
    """A busy group session: it shows the most kinds of messages."""
    groups = ctx.archive.sessions(actor, session_type="group", limit=50)
    return max(groups, key=lambda s: s.message_count)


def _settle(app, until=lambda: True, timeout_s: float = 10.0, at_least_s: float = 0.5) -> None:
    """Let background loads land: process events for at least ``at_least_s`` and until ``until()``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        QCoreApplication.processEvents()
        app.thread().msleep(30)
        if time.monotonic() - start >= at_least_s and until():
            return


def populate_accounts(ctx, admin) -> None:
    """Accounts and some of their activity, for the account and audit-log screenshots."""
    from app.core.auth import AuthenticationError, ScopeSpec
    from app.core.search import SearchQuery

    accounts = ctx.accounts
    for name, password, roles, departments, userids in SHOT_ACCOUNTS:
        accounts.create_account(admin, name, password, roles=roles, must_change_password=False,
                                scope=ScopeSpec(frozenset(userids), frozenset(departments)))
    accounts.create_account(admin, "sun.li", "temporary-pass-6", roles=["reviewer"])  # must change at login
    reviewer = accounts.authenticate("li.na", "reviewer-pass-01", WORKSTATION)
    for session in ctx.archive.sessions(reviewer, limit=2):
        ctx.archive.messages(reviewer, corp_id=session.corp_id, session_id=session.session_id, limit=20)
    ctx.search.search(reviewer, SearchQuery(keyword="合同"), limit=20)
    for attempt in ("Wang.Qiang!", "wangqiang2024", "wang.qiang", "Qiang-2025", "qiang-pass"):
        with contextlib.suppress(AuthenticationError):
            accounts.authenticate("wang.qiang", attempt, "laptop-17")  # the fifth locks it
    with contextlib.suppress(AuthenticationError):
        accounts.authenticate("zhangsan", "guess-password", "laptop-17")
    accounts.disable(admin, "liu.yang")


def populate_review(ctx, reviewer) -> None:
    """A day of review on the demo archive: tags and a note in the busiest group, a reviewed-up-to
    mark, a lexicon policy's alerts (one triaged), a shared saved search and a weekly sample."""
    from datetime import date

    from app.core.review import Review

    review = Review(ctx.db, ctx.trail)
    session = _pick_session(ctx, reviewer)
    messages = ctx.archive.messages(reviewer, corp_id=session.corp_id, session_id=session.session_id,
                                    limit=400, newest_first=True)
    texts = [m for m in messages if m.msgtype == "text"]
    tags = review.tags.tags(reviewer)
    review.tags.tag(reviewer, tags[0].key, message_ids=[texts[1].id, texts[3].id])
    review.tags.tag(reviewer, tags[1].key, message_ids=[texts[1].id])
    review.tags.tag(reviewer, tags[3].key, message_ids=[texts[2].id])
    review.notes.add(reviewer, session.corp_id, session.session_id, "报价与合同条款不一致，需与法务确认。",
                     message_id=texts[1].id)
    review.status.mark_reviewed(reviewer, session.corp_id, session.session_id, upto_message_id=texts[6].id)
    review.policies.create(reviewer, "返现与回扣 Kickbacks", '返现 OR 回扣 OR "私下转账" OR 合同')
    review.policies.run(reviewer, since_ms=0, search=ctx.search)
    alerts = review.alerts.list(reviewer, limit=50)
    if len(alerts) > 2:
        review.alerts.triage(reviewer, [alerts[0].id], "assign", assignee="me")
        review.alerts.triage(reviewer, [alerts[1].id], "dismiss", reason="标准合同模板，无问题")
    review.searches.save(reviewer, "外部文件 Files to customers", "type:file session:external", shared=True)
    staff = [p for p in session.participants if not p.startswith(("wm", "wo", "wb"))][:3]
    review.sampling.create_rule(reviewer, "销售抽检 Sales sample", userids=staff, sessions=4)
    review.sampling.draw(reviewer, "销售抽检 Sales sample", week=date.fromtimestamp(texts[0].msgtime / 1000))


def _review_window(app, ctx, actor, window):
    """The window as a reviewer works: chips under the bubbles, the notes, the tree's badges, the
    open-alert count."""
    vr = window.review.viewer_review
    _settle(app, lambda: vr._key is not None and bool(vr.notes()), timeout_s=15)
    note = vr.notes()[0]
    vr.go_to(note.message_id)
    window.review.notes_dock.show()
    window.resizeDocks([window.review.notes_dock], [330], Qt.Orientation.Horizontal)
    _settle(app, at_least_s=2.0)
    image = window.grab()
    window.review.notes_dock.hide()
    return image


def _review_panel(app, ctx, actor, window):
    panel = window.panels["review"]
    dock = panel.parentWidget()
    dock.setFloating(True)
    dock.resize(1180, 430)
    dock.show()
    _settle(app, lambda: panel.loads >= 3, timeout_s=15)
    if panel.alert_tree.topLevelItemCount():
        panel.alert_tree.topLevelItem(0).setSelected(True)
    _settle(app, at_least_s=1.0)
    image = panel.grab()
    dock.hide()
    dock.setFloating(False)
    return image


def _docked(app, window, key, size=(1180, 640), until=lambda panel: True, prepare=None):
    """A docked panel floated at ``size`` and grabbed once ``until(panel)`` (its reads landed)."""
    panel = window.panels[key]
    dock = panel.parentWidget()
    dock.setFloating(True)
    dock.resize(*size)
    dock.show()
    if prepare is not None:
        prepare(panel)
    _settle(app, lambda: until(panel), timeout_s=20, at_least_s=1.0)
    image = panel.grab()
    dock.hide()
    dock.setFloating(False)
    return image


def _review_settings(app, ctx, actor, window):
    """The administrator's Review settings: the tag set with its colours, a tag chosen."""
    from app.ui.review.settings import ReviewSettingsDialog

    dialog = ReviewSettingsDialog(ctx, actor, window)
    dialog.resize(1000, 430)
    dialog.show()
    page = dialog.tags_page
    _settle(app, lambda: all(p.loads for p in dialog.pages()), timeout_s=15)
    page.tree.setCurrentItem(page.tree.topLevelItem(1))
    _settle(app)
    image = dialog.grab()
    dialog.close()
    return image


def _statistics(app, ctx, actor, window):
    return _docked(app, window, "statistics", until=lambda p: p.stats is not None)


def _timeline(app, ctx, actor, window):
    stats = window.panels["statistics"].stats
    person = stats.per_staff[0].userid if stats and stats.per_staff else ""
    corp = ctx.archive.corp_id(actor)
    return _docked(app, window, "timeline", until=lambda p: p.timeline is not None,
                   prepare=lambda p: p.show_person(corp, person))


def _group_members(app, ctx, actor, window):
    groups = ctx.archive.sessions(actor, session_type="group", limit=200)
    customer = [g for g in groups if any(p.startswith(("wo", "wm")) for p in g.participants)] or groups
    group = max(customer, key=lambda g: len(g.participants))

    def choose(panel):
        _settle(app, lambda: panel.group_box.count() > 0, timeout_s=10)
        panel.select_group(group.session_id)

    return _docked(app, window, "group-members", size=(1180, 420), prepare=choose,
                   until=lambda p: p.group is not None and p.group.session_id == group.session_id)


def _print_panel(app, ctx, actor, window):
    return _docked(app, window, "print", size=(900, 330), until=lambda p: p.session_box.count() > 0)


def _login(app, ctx, actor, window):
    from app.ui.auth import LoginDialog

    dialog = LoginDialog(ctx.accounts, workstation=WORKSTATION, archive=ctx.db.display_url, username="li.na")
    dialog.password_edit.setText("reviewer-pass-01")
    dialog.show()
    _settle(app)
    image = dialog.grab()
    dialog.close()
    return image


def _accounts(app, ctx, actor, window):
    from app.ui.auth import AccountsDialog

    dialog = AccountsDialog(ctx, actor, ctx.accounts, window)
    dialog.resize(1180, 420)
    dialog.show()
    _settle(app, lambda: dialog.model.rowCount() > 0)
    dialog.select("wang.qiang")
    dialog.message.show_note(dialog.tr("Account %1 created.").replace("%1", "sun.li"))
    _settle(app)
    image = dialog.grab()
    dialog.close()
    return image


def _audit_log(app, ctx, actor, window):
    from app.ui.auth import AuditPanel

    panel = AuditPanel(ctx, actor, ctx.trail, window)
    panel.resize(1280, 760)
    panel.show()
    _settle(app, lambda: panel.model.rowCount() > 0 and not panel.model.is_loading())
    panel.verify()
    _settle(app, panel.verify_button.isEnabled)
    failed = next((r for r in range(panel.model.rowCount()) if panel.model.record(r).action == "login.failed"), 0)
    panel.view.selectRow(failed)
    _settle(app)
    image = panel.grab()
    panel.close()
    return image


MAIN_SIZES = (("", (1600, 1000)), ("-1024x700", (1024, 700)))  # file name suffix, window size


SHOTS = (("login", _login), ("accounts", _accounts), ("audit-log", _audit_log), ("review-window", _review_window),
         ("review-panel", _review_panel), ("review-settings", _review_settings), ("statistics", _statistics),
         ("timeline", _timeline), ("group-members", _group_members), ("print-conversation", _print_panel))


def shoot(data_dir: Path, out_dir: Path, login=None, only: set[str] | None = None) -> list[Path]:
    """Every screenshot in both languages (``only``: just these names, "main-window" for the
    window's). ``login``: (user name, password) of an account with every role to act as; None:
    the local OS user."""
    from app.core.actor import Actor
    from app.core.context import AppContext
    from app.ui.app import install_translators
    from app.ui.main_window import MainWindow

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before the QApplication exists
    app = QApplication.instance() or QApplication([])
    from app.ui.app import add_shipped_fonts

    add_shipped_fonts()  # as the app does: Chinese glyphs whatever fonts this computer has
    written = []
    for lang in ("zh_CN", "en"):
        translators = install_translators(app, lang) if lang != "en" else []
        app.setProperty("ui_language", lang)
        ctx = AppContext(data_dir)
        actor = ctx.accounts.authenticate(*login, WORKSTATION) if login else Actor.local()

        window = MainWindow(ctx, actor)
        window.resize(*MAIN_SIZES[0][1])
        window.show()
        session = _pick_session(ctx, actor)
        window.sessions.select_session(session.corp_id, session.session_id, emit=True)
        window.search.query_edit.setText("合同" if lang == "zh_CN" else "PDF")
        window.search.search()
        _settle(app, at_least_s=3.0)  # thumbnails, search
        for suffix, size in MAIN_SIZES if only is None or "main-window" in only else ():
            window.resize(*size)  # a large screen and the smallest the window is made for
            _settle(app, at_least_s=1.0)
            written.append(out_dir / f"main-window{suffix}-{lang}.png")
            window.grab().save(str(written[-1]))
        window.resize(*MAIN_SIZES[0][1])

        for name, shot in SHOTS:
            if only is not None and name not in only:
                continue
            written.append(out_dir / f"{name}-{lang}.png")
            shot(app, ctx, actor, window).save(str(written[-1]))

        window.close()
        ctx.close()
        for t in translators:
            app.removeTranslator(t)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="only this screenshot (repeatable): main-window, " + ", ".join(n for n, _s in SHOTS))
    args = parser.parse_args()
    only = set(args.only) if args.only else None
    args.out.mkdir(parents=True, exist_ok=True)
    if args.data_dir:
        paths = shoot(args.data_dir, args.out, only=only)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            from app.core.context import AppContext

            ctx = AppContext(tmp)
            corp, _ = ctx.setup_demo()  # an archive without accounts: makes the demo account (every role)
            demo = ctx.demo_login
            ctx.make_syncer(corp).run()
            from app.core.directory.service import sync_directory

            sync_directory(ctx, None, corp)  # the demo's simulated WeCom: names, pictures, group members
            populate_accounts(ctx, ctx.accounts.authenticate(demo.username, demo.password, WORKSTATION))
            populate_review(ctx, ctx.accounts.authenticate(demo.username, demo.password, WORKSTATION))
            ctx.close()
            paths = shoot(Path(tmp), args.out, login=(demo.username, demo.password), only=only)
    for p in paths:
        print(p)


if __name__ == "__main__":
    main()
