"""Accounts in the GUI as people meet them: the first administrator, logging in (wrong password,
lockout, a password an administrator set), what each role sees in the main window, account
management and the audit log panel (listing, filters, verify — also of a trail edited in the
database — and CSV export)."""

from __future__ import annotations

import csv
import time

import pytest
from PySide6.QtCore import QDateTime, Qt, QTimer
from PySide6.QtWidgets import QApplication
from sqlalchemy import text

from app.core.actor import Actor
from app.core.auth import (
    ADMINISTRATOR,
    AUDITOR,
    EXPORTER,
    LOCKOUT_MS,
    LOCKOUT_THRESHOLD,
    REVIEWER,
    AccountService,
    Action,
    AuditFilter,
    PasswordHasher,
    ScopeSpec,
    ScryptParams,
)
from app.core.context import AppContext
from app.core.directory import StaffMember
from app.ui.auth import AccountsDialog, AuditPanel, ChangePasswordDialog, FirstRunDialog, LoginDialog, sign_in
from app.ui.auth.accounts_dialog import ScopeDialog
from app.ui.auth.audit_panel import RECORD_ROLE
from app.ui.auth.services import local_time, use_account_service
from app.ui.main_window import MainWindow

FAST = PasswordHasher(ScryptParams(n=2**10, r=8, p=1))  # the default cost is tested in tests/auth
T0 = 1_800_000_000_000
ADMIN_PW = "admin-pass-0001"
REVIEW_PW = "review-pass-0002"
AUDIT_PW = "audit-pass-0003"


class Clock:
    def __init__(self, now: int = T0):
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def fresh(tmp_path, clock):
    """(ctx, accounts) of a new archive without accounts or corps, with cheap password hashing."""
    ctx = AppContext(tmp_path / "archive")
    accounts = AccountService(ctx.db, hasher=FAST, clock=clock)
    use_account_service(ctx, accounts)
    yield ctx, accounts
    ctx.close()


@pytest.fixture
def team(fresh):
    """The fresh archive with an administrator, a reviewer and an auditor; their logged-in actors."""
    ctx, accounts = fresh
    accounts.create_first_admin("admin", ADMIN_PW, workstation="ws")
    admin = accounts.authenticate("admin", ADMIN_PW, "ws")
    accounts.create_account(admin, "rev", REVIEW_PW, roles=[REVIEWER], must_change_password=False)
    accounts.create_account(admin, "aud", AUDIT_PW, roles=[AUDITOR], must_change_password=False)
    return ctx, accounts, {"admin": admin, "rev": accounts.authenticate("rev", REVIEW_PW, "ws"),
                           "aud": accounts.authenticate("aud", AUDIT_PW, "ws")}


class Driver:
    """Acts on modal dialogs from inside their exec(): ``when(LoginDialog, fn)`` calls fn(dialog)
    once such a dialog is on screen. A failing step rejects the dialog, so a test never hangs; the
    error is raised by :meth:`check`."""

    def __init__(self):
        self.errors: list[BaseException] = []

    def when(self, dialog_type, step, timeout_s: float = 20.0, match=lambda w: True) -> None:
        deadline = time.monotonic() + timeout_s

        def poll():
            for w in QApplication.topLevelWidgets():
                if isinstance(w, dialog_type) and w.isVisible() and match(w):
                    try:
                        step(w)
                    except BaseException as exc:  # noqa: BLE001 - re-raised in check()
                        self.errors.append(exc)
                        w.reject() if hasattr(w, "reject") else w.close()
                    return
            if time.monotonic() < deadline:
                QTimer.singleShot(20, poll)
            else:
                self.errors.append(AssertionError(f"no {dialog_type.__name__} appeared"))

        QTimer.singleShot(0, poll)

    def check(self) -> None:
        if self.errors:
            raise self.errors[0]


def _type_login(dialog: LoginDialog, name: str, password: str) -> None:
    dialog.user_edit.setText(name)
    dialog.password_edit.setText(password)
    dialog.ok_button.click()


def _login_attempts(dialog: LoginDialog, attempts: list[tuple[str, str]], messages: list[str]) -> None:
    """Type each (name, password) after the previous attempt failed, collecting the messages shown
    in ``messages``; then cancel."""
    pending = list(attempts)

    def next_attempt(message: str | None = None) -> None:
        if message is not None:
            messages.append(message)
        if pending:
            _type_login(dialog, *pending.pop(0))
        else:
            dialog.reject()

    dialog.attempt_failed.connect(next_attempt)
    next_attempt()


# ------------------------------------------------------------------ first run and sign-in

def test_first_run_creates_the_administrator_and_opens(qtbot, fresh):
    ctx, accounts = fresh
    driver = Driver()

    def fill(dialog: FirstRunDialog):
        dialog.user_edit.setText("Chief")
        dialog.passwords.password.setText("chief-pass-01")
        dialog.passwords.repeat.setText("chief-pass-02")
        dialog.ok_button.click()  # the two passwords differ: nothing is created
        assert dialog.error.text() == "The two passwords differ."
        dialog.passwords.password.setText("short")
        dialog.passwords.repeat.setText("short")
        dialog.ok_button.click()
        assert dialog.error.text() == "The password must have at least 10 characters."
        assert accounts.needs_first_admin()
        dialog.passwords.password.setText("chief-pass-01")
        dialog.passwords.repeat.setText("chief-pass-01")
        dialog.roles.boxes[AUDITOR].setChecked(False)
        assert not dialog.roles.boxes[ADMINISTRATOR].isEnabled()  # the first account is an administrator
        dialog.no_login_check.setChecked(True)
        dialog.ok_button.click()

    driver.when(FirstRunDialog, fill)
    actor = sign_in(ctx)
    driver.check()
    assert actor is not None and actor.username == "chief"
    assert actor.roles == {ADMINISTRATOR, REVIEWER, EXPORTER}
    assert [a.username for a in accounts.list_accounts(actor)] == ["chief"]
    assert [r.action for r in accounts.trail.entries(Actor("t", roles={AUDITOR}), AuditFilter(account="chief"),
                                                     newest_first=False)][:2] == [Action.ACCOUNT_CREATE, Action.LOGIN]

    window = MainWindow(ctx, actor)
    qtbot.addWidget(window)
    assert window.stack.currentWidget() is window.welcome  # no corp yet: the administrator sets it up
    assert window.welcome.demo_button.isEnabled()
    assert window.accounts_action.isVisible() and not window.audit_action.isVisible()
    assert "chief" in window._who_label.text()
    assert ctx.settings.no_login and window.no_login_action.isVisible()
    window.close()
    again = sign_in(ctx)  # "open without login": no dialog while the archive has this one account
    assert again is not None and again.username == "chief" and again.login_id != actor.login_id

    window = MainWindow(ctx, again)
    qtbot.addWidget(window)
    window._update_no_login_action()  # the Account menu opens: the tick shows the setting
    assert window.no_login_action.isChecked()
    window.no_login_action.trigger()  # unticked
    assert not ctx.settings.no_login
    changes = accounts.trail.entries(Actor("t", roles={AUDITOR}), AuditFilter(actions={Action.SETTINGS_CHANGE}))
    assert [c.object for c in changes] == ["no_login: true -> false", "no_login: false -> true"]  # newest first
    window.close()


def test_cancel_on_the_first_run_quits_without_creating_anything(qtbot, fresh):
    ctx, accounts = fresh
    driver = Driver()
    driver.when(FirstRunDialog, lambda d: d.cancel_button.click())
    assert sign_in(ctx) is None
    driver.check()
    assert accounts.needs_first_admin()


def test_a_wrong_password_gets_one_generic_message(qtbot, team):
    ctx, accounts, _ = team
    driver = Driver()
    seen: list[str] = []
    driver.when(LoginDialog, lambda d: _login_attempts(
        d, [("rev", "not-the-password"), ("nobody", "not-the-password"), ("rev", "")], seen))
    assert sign_in(ctx) is None
    driver.check()
    # an unknown user name reads exactly like a wrong password; an empty field is caught before
    assert seen == ["Wrong user name or password.", "Wrong user name or password.", "Enter your password."]
    assert accounts.account(team[2]["admin"], "rev").failed_attempts == 1


def test_five_wrong_passwords_lock_the_account_and_say_until_when(qtbot, team, clock):
    ctx, accounts, _ = team
    driver = Driver()
    seen: list[str] = []
    attempts = [("rev", f"wrong-password-{i}") for i in range(LOCKOUT_THRESHOLD)] + [("rev", REVIEW_PW)]
    driver.when(LoginDialog, lambda d: _login_attempts(d, attempts, seen))
    assert sign_in(ctx) is None
    driver.check()
    locked = (f"Too many wrong passwords: this account is locked until {local_time(T0 + LOCKOUT_MS)}. Try again "
              f"then, or ask an administrator to unlock it.")
    assert seen[:LOCKOUT_THRESHOLD - 1] == ["Wrong user name or password."] * (LOCKOUT_THRESHOLD - 1)
    assert seen[LOCKOUT_THRESHOLD - 1:] == [locked, locked]  # even the right password, while locked


def test_a_password_set_by_an_administrator_must_be_changed_before_the_window(qtbot, team):
    ctx, accounts, actors = team
    accounts.reset_password(actors["admin"], "rev", "temporary-pass-9")  # must change at next login
    driver = Driver()

    def change(dialog: ChangePasswordDialog):
        assert not dialog.current_edit.isVisible()  # just typed at the login: not asked again
        dialog.passwords.password.setText("temporary-pass-9")
        dialog.passwords.repeat.setText("temporary-pass-9")
        dialog.ok_button.click()
        qtbot.waitUntil(lambda: dialog.error.text() == "The new password must differ from the current one.",
                        timeout=10_000)
        dialog.passwords.password.setText("my-own-password-1")
        dialog.passwords.repeat.setText("my-own-password-1")
        dialog.ok_button.click()

    driver.when(LoginDialog, lambda d: _type_login(d, "rev", "temporary-pass-9"))
    driver.when(ChangePasswordDialog, change)
    actor = sign_in(ctx)
    driver.check()
    assert actor is not None and actor.username == "rev" and not actor.must_change_password
    assert accounts.authenticate("rev", "my-own-password-1").username == "rev"


def test_no_login_opens_straight_in_only_while_the_archive_has_one_account(qtbot, fresh, monkeypatch):
    ctx, accounts = fresh
    accounts.create_first_admin("solo", ADMIN_PW)
    monkeypatch.setattr(ctx.settings, "no_login", True, raising=False)
    actor = sign_in(ctx)  # no dialog at all
    assert actor is not None and actor.username == "solo" and actor.is_authenticated
    login = accounts.trail.entries(Actor("t", roles={AUDITOR}), AuditFilter(actions={Action.LOGIN}))[0]
    assert login.detail["method"] == "no-login"

    accounts.create_account(actor, "second", REVIEW_PW, roles=[REVIEWER])
    driver = Driver()
    driver.when(LoginDialog, lambda d: d.reject())
    assert sign_in(ctx) is None  # two accounts: the login dialog, whatever the setting says
    driver.check()


def test_log_out_returns_to_the_login_dialog(qtbot, team):
    from app.ui.app import run_windows

    ctx, accounts, _ = team
    app = QApplication.instance()
    driver = Driver()
    windows: list[MainWindow] = []

    def in_window(window: MainWindow):
        windows.append(window)
        assert window.actor.username == "aud"
        panel = window.open_audit_log()  # a dialog of the window closes with it
        assert panel is not None
        driver.when(LoginDialog, lambda d: d.reject())  # the second login: quit
        window.logout_action.trigger()

    driver.when(LoginDialog, lambda d: _type_login(d, "aud", AUDIT_PW))
    driver.when(MainWindow, in_window)
    assert run_windows(app, ctx) == 0
    driver.check()
    assert windows and windows[0].logout_requested
    actions = [r.action for r in accounts.trail.entries(Actor("t", roles={AUDITOR}), AuditFilter(account="aud"),
                                                        newest_first=False)]
    assert actions[-1] == Action.LOGOUT and Action.AUDIT_VIEW in actions


def test_the_window_reopens_when_the_account_changes_its_own_roles(qtbot, team):
    from app.ui.app import run_windows

    ctx, accounts, actors = team
    accounts.set_roles(actors["admin"], "admin", [ADMINISTRATOR, REVIEWER, EXPORTER])
    driver = Driver()
    seen: list[MainWindow] = []

    def drop_exporter(window: MainWindow):
        seen.append(window)
        assert window.actor.roles == {ADMINISTRATOR, REVIEWER, EXPORTER}
        dialog = window.open_accounts()
        qtbot.waitUntil(lambda: dialog.model.rowCount() == 3, timeout=10_000)
        dialog.select("admin")
        roles = dialog.edit_roles()
        roles.roles.boxes[EXPORTER].setChecked(False)
        roles.ok_button.click()

    def reopened(window: MainWindow):
        seen.append(window)
        assert "roles or the scope of your account changed" in window.statusBar().currentMessage()
        window.close()

    driver.when(LoginDialog, lambda d: _type_login(d, "admin", ADMIN_PW))
    driver.when(MainWindow, drop_exporter, match=lambda w: EXPORTER in w.actor.roles)
    driver.when(MainWindow, reopened, timeout_s=40, match=lambda w: EXPORTER not in w.actor.roles)
    assert run_windows(QApplication.instance(), ctx) == 0
    driver.check()
    assert len(seen) == 2 and seen[1].actor.roles == {ADMINISTRATOR, REVIEWER}
    assert seen[1].actor.login_id == seen[0].actor.login_id  # the same login, not a new one
    assert not seen[1].export_session_action.isVisible()


# ------------------------------------------------------------------ what each role sees

def _window(qtbot, ctx, actor) -> MainWindow:
    window = MainWindow(ctx, actor)
    qtbot.addWidget(window)
    window.show()
    return window


def test_a_reviewer_reads_messages_but_sees_no_accounts_or_audit_log(qtbot, app_ctx):
    reviewer = Actor("rev", roles={REVIEWER}, account_id=11, workstation="ws")
    window = _window(qtbot, app_ctx, reviewer)
    assert window.stack.currentWidget() is window.splitter
    qtbot.waitUntil(lambda: window.sessions.model.rowCount() > 0, timeout=5000)
    assert window.find_action.isVisible()
    for action in (window.accounts_action, window.audit_action, window.settings_action, window.sync_action,
                   window.export_session_action, window.no_login_action):
        assert not action.isVisible(), action.text()
    assert window.open_accounts() is None and window.open_audit_log() is None
    assert window.change_password_action.isVisible() and window.logout_action.isVisible()
    assert window._who_label.text() == "Logged in: rev" and window._who_label.toolTip() == "Roles: Reviewer"
    window.close()


def test_an_administrator_who_is_not_a_reviewer_sees_no_message_content(qtbot, app_ctx):
    admin = Actor("boss", roles={ADMINISTRATOR}, account_id=12, workstation="ws")
    window = _window(qtbot, app_ctx, admin)
    assert window.stack.currentWidget() is window.no_content
    assert not window.splitter.isVisible()
    assert window.sessions is None and window.viewer is None and window.search is None
    qtbot.wait(100)
    auditor = Actor("t", roles={AUDITOR})
    assert app_ctx.trail.count(auditor, AuditFilter(account="boss", outcome="denied")) == 0  # nothing even tried
    assert not window.find_action.isVisible() and not window.find_action.isEnabled()
    assert not window.export_session_action.isVisible()
    assert window.accounts_action.isVisible() and window.sync_action.isVisible()
    assert not window.audit_action.isVisible()
    labels = [b.text() for b in window.no_content.buttons]
    assert "Sync now" in labels and "Accounts…" in labels and "Audit log…" not in labels
    window.close()


def test_an_auditor_gets_the_audit_log_and_the_notice(qtbot, app_ctx):
    auditor = Actor("aud", roles={AUDITOR}, account_id=13, workstation="ws")
    window = _window(qtbot, app_ctx, auditor)
    assert window.stack.currentWidget() is window.no_content
    assert window.audit_action.isVisible() and not window.accounts_action.isVisible()
    assert not window.sync_action.isVisible() and not window.settings_action.isVisible()
    assert [b.text() for b in window.no_content.buttons] == ["Sync history…", "Audit log…"]
    window.close()


def test_without_setup_rights_the_welcome_screen_says_whom_to_ask(qtbot, fresh):
    ctx, _ = fresh
    window = _window(qtbot, ctx, Actor("rev", roles={REVIEWER}, account_id=14))
    assert window.stack.currentWidget() is window.welcome
    assert not window.welcome.demo_button.isEnabled() and window.welcome.not_allowed.isVisible()
    window.close()


# ------------------------------------------------------------------ account management

def test_accounts_dialog_creates_an_account_with_roles_and_scope(qtbot, team, qtmodeltester):
    ctx, accounts, actors = team
    dialog = AccountsDialog(ctx, actors["admin"], accounts)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 3, timeout=10_000)
    qtmodeltester.check(dialog.model)
    assert [dialog.model.index(r, 0).data() for r in range(3)] == ["admin", "aud", "rev"]
    assert dialog.model.index(0, 1).data() == "Administrator"

    new = dialog.new_account()
    new.user_edit.setText("Rita")
    new.passwords.fill_generated()
    password = new.passwords.text()
    new.roles.boxes[EXPORTER].setChecked(True)  # reviewer is ticked by default
    new.scope = ScopeSpec(userids=frozenset({"zhangsan"}))
    with qtbot.waitSignal(dialog.accounts_loaded, timeout=10_000):
        new.ok_button.click()
    row = dialog.model.row_of("rita")
    assert row >= 0
    info = dialog.model.account(row)
    assert set(info.roles) == {REVIEWER, EXPORTER} and info.must_change_password
    assert info.scope.userids == {"zhangsan"}
    assert dialog.model.index(row, 1).data() == "Reviewer, Exporter"
    assert dialog.model.index(row, 2).data() == "Staff: zhangsan"
    assert dialog.model.index(row, 3).data() == "Active; must change password"
    assert accounts.authenticate("rita", password).must_change_password

    new = dialog.new_account()  # the name is taken: the dialog stays and says so
    new.user_edit.setText("rita")
    new.passwords.fill_generated()
    with qtbot.waitSignal(new.attempt_failed, timeout=10_000) as failed:
        new.ok_button.click()
    assert failed.args[0] == "The user name 'rita' is taken."
    new.reject()


def test_account_refusals_are_said_in_the_chinese_window_s_language(qtbot, team, chinese_window):
    ctx, accounts, actors = team
    dialog = AccountsDialog(ctx, actors["admin"], accounts)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 3, timeout=10_000)
    for name, said in (("rev", "用户名“rev”已被占用。"),
                       ("r\u0435v", "用户名“r\u0435v”看起来与现有账号“rev”相似")):
        new = dialog.new_account()
        new.user_edit.setText(name)
        new.passwords.fill_generated()
        with qtbot.waitSignal(new.attempt_failed, timeout=10_000) as failed:
            new.ok_button.click()
        assert failed.args[0].startswith(said), failed.args[0]
        new.reject()


def test_accounts_dialog_disables_unlocks_and_changes_roles(qtbot, team):
    ctx, accounts, actors = team
    for i in range(LOCKOUT_THRESHOLD):
        with pytest.raises(Exception):  # noqa: B017 - the wrong passwords themselves are tested in tests/auth
            accounts.authenticate("rev", f"wrong-password-{i}")
    dialog = AccountsDialog(ctx, actors["admin"], accounts)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 3, timeout=10_000)
    dialog.select("rev")
    assert dialog.model.index(dialog.model.row_of("rev"), 3).data().startswith("Locked until ")
    assert dialog.unlock_button.isEnabled()
    with qtbot.waitSignal(dialog.accounts_loaded, timeout=10_000):
        dialog.unlock()
    assert accounts.account(actors["admin"], "rev").locked_until is None
    assert dialog.model.index(dialog.model.row_of("rev"), 3).data() == "Active"

    with qtbot.waitSignal(dialog.accounts_loaded, timeout=10_000):
        dialog.toggle_disabled(confirm=False)
    assert dialog.model.index(dialog.model.row_of("rev"), 3).data() == "Disabled"
    assert dialog.disable_button.text() == "Enable"

    roles = dialog.edit_roles()
    roles.roles.set_roles({AUDITOR})
    with qtbot.waitSignal(dialog.accounts_loaded, timeout=10_000):
        roles.ok_button.click()
    assert accounts.account(actors["admin"], "rev").roles == (AUDITOR,)

    dialog.select("admin")  # the only administrator cannot lose the role: the core says so
    roles = dialog.edit_roles()
    roles.roles.set_roles({REVIEWER})
    with qtbot.waitSignal(roles.attempt_failed, timeout=10_000) as failed:
        roles.ok_button.click()
    assert "only enabled administrator" in failed.args[0]
    roles.reject()


def test_scope_dialog_picks_staff_and_departments_by_name(qtbot):
    staff = [StaffMember("zhangsan", "张三", "销售部"), StaffMember("lisi", "李四", "法务部"),
             StaffMember("wangwu", "王五", "销售部")]
    dialog = ScopeDialog(staff, ScopeSpec(userids=frozenset({"lisi", "ghost"})))
    qtbot.addWidget(dialog)
    assert dialog.some_radio.isChecked() and dialog.other_edit.text() == "ghost"
    assert [dialog.departments.item(i).text() for i in range(dialog.departments.count())] == ["法务部", "销售部"]
    dialog.filter_edit.setText("张")
    assert [dialog.staff.item(i).text() for i in range(3) if not dialog.staff.item(i).isHidden()] == \
        ["张三 (zhangsan) — 销售部"]
    dialog.filter_edit.clear()
    dialog.departments.item(1).setCheckState(Qt.CheckState.Checked)
    assert dialog.chosen() == ScopeSpec(frozenset({"lisi", "ghost"}), frozenset({"销售部"}))
    dialog.all_radio.setChecked(True)
    assert not dialog.staff.isEnabled() and dialog.chosen() == ScopeSpec()
    dialog.some_radio.setChecked(True)
    dialog.other_edit.clear()
    for lst in (dialog.staff, dialog.departments):
        for i in range(lst.count()):
            lst.item(i).setCheckState(Qt.CheckState.Unchecked)
    dialog.ok_button.click()  # "only these" with nothing ticked would mean everything: refused
    assert dialog.error.text() == "Tick at least one staff member or department, or choose All sessions."
    assert dialog.result() == 0


# ------------------------------------------------------------------ the audit log

def _panel(qtbot, ctx, actor, accounts) -> AuditPanel:
    panel = AuditPanel(ctx, actor, accounts.trail)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: not panel.model.is_loading() and panel.model.rowCount() > 0, timeout=10_000)
    return panel


def _apply(qtbot, panel: AuditPanel) -> None:
    with qtbot.waitSignal(panel.model.page_loaded, timeout=10_000):
        panel.apply_filters()


def test_audit_panel_lists_filters_and_exports(qtbot, team, qtmodeltester, tmp_path):
    ctx, accounts, actors = team
    for name in ("rev", "<b>mallory</b>"):
        with pytest.raises(Exception):  # noqa: B017
            accounts.authenticate(name, "wrong-password-1", "evil-host")
    total = accounts.trail.head().seq
    panel = _panel(qtbot, ctx, actors["aud"], accounts)
    qtmodeltester.check(panel.model)
    assert panel.model.rowCount() == total  # everything before this listing, newest first
    newest = panel.model.index(0, 0).data(RECORD_ROLE)
    assert newest.seq == total and newest.account == "<b>mallory</b>"
    assert panel.model.index(0, 1).data() == "<b>mallory</b>"  # plain text, as typed
    assert panel.model.index(0, 2).data() == "Failed login" and panel.model.index(0, 4).data() == "Failed"
    panel.view.setCurrentIndex(panel.model.index(0, 0))
    assert "Workstation: evil-host" in panel.details.toPlainText()

    panel.action_combo.setCurrentIndex(panel.action_combo.findData(Action.LOGIN_FAILED))
    _apply(qtbot, panel)
    assert [panel.model.index(r, 1).data() for r in range(panel.model.rowCount())] == ["<b>mallory</b>", "rev"]
    panel.action_combo.setCurrentIndex(0)
    panel.account_edit.setText("admin")
    panel.object_edit.setText("AUD")  # case-insensitive substring of the object
    _apply(qtbot, panel)
    rows = [panel.model.index(r, 0).data(RECORD_ROLE) for r in range(panel.model.rowCount())]
    assert rows and all(r.account == "admin" and "aud" in r.object.lower() for r in rows)
    panel.clear_filters()
    panel.to_check.setChecked(True)
    panel.to_edit.setDateTime(QDateTime.fromMSecsSinceEpoch(T0 - 3_600_000))
    _apply(qtbot, panel)
    assert panel.model.rowCount() == 0 and panel.status_label.text() == "No entry matches the filters."

    panel.clear_filters()
    qtbot.waitUntil(lambda: not panel.model.is_loading(), timeout=10_000)
    target = tmp_path / "audit.csv"
    with qtbot.waitSignal(panel.export_finished, timeout=10_000) as exported:
        panel.export_to(target)
    with open(target, encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    assert lines[0][:2] == ["seq", "time_utc"] and len(lines) == exported.args[0] + 1
    assert panel.result.text() == f"{exported.args[0]} entries written to {target}."


def test_audit_panel_pages_in_the_background(qtbot, team):
    ctx, accounts, actors = team
    from app.ui.auth import audit_panel

    for i in range(audit_panel.PAGE_SIZE + 30):
        accounts.trail.record(actors["admin"], Action.SEARCH, object_type="query", object=f"q{i}")
    panel = _panel(qtbot, ctx, actors["aud"], accounts)
    assert panel.model.rowCount() == audit_panel.PAGE_SIZE and panel.model.canFetchMore()
    qtbot.waitUntil(lambda: "scroll for more" in panel.status_label.text(), timeout=10_000)
    with qtbot.waitSignal(panel.model.page_loaded, timeout=10_000):
        panel.view.scrollToBottom()
        panel.model.fetchMore()
    total = accounts.trail.count(actors["aud"])
    qtbot.waitUntil(lambda: panel.model.rowCount() == total - 1, timeout=10_000)  # all but its own view entry
    seqs = [panel.model.record(r).seq for r in range(panel.model.rowCount())]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs)


def test_audit_panel_verifies_the_chain_and_names_an_edited_entry(qtbot, team):
    ctx, accounts, actors = team
    panel = _panel(qtbot, ctx, actors["aud"], accounts)
    with qtbot.waitSignal(panel.verify_finished, timeout=20_000) as verified:
        panel.verify_button.click()
    report = verified.args[0]
    assert report.ok
    assert panel.result.text() == f"The chain is intact: {report.checked} entries checked, up to {report.head}."
    qtbot.waitUntil(lambda: panel.head_edit.text() == str(accounts.trail.head()), timeout=5000)
    panel.copy_button.click()
    assert QApplication.clipboard().text() == panel.head_edit.text()

    with ctx.db.write() as conn:  # someone edits an entry in the database, around the app
        conn.execute(text("UPDATE audit_log SET object = :o WHERE seq = 3"), {"o": "nothing to see"})
    with qtbot.waitSignal(panel.verify_finished, timeout=20_000) as verified:
        panel.verify_button.click()
    report = verified.args[0]
    assert not report.ok and report.problem.seq == 3 and report.problem.kind == "edited"
    assert panel.result.text().startswith("The chain is BROKEN at entry #3 (edited): entry #3 was changed")
    row = panel.model.row_of_seq(3)
    assert row >= 0 and panel.model.index(row, 0).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert panel.model.index(0, 0).data(Qt.ItemDataRole.BackgroundRole) is None


def test_a_password_change_from_the_menu(qtbot, team):
    ctx, accounts, actors = team
    window = _window(qtbot, ctx, actors["rev"])
    dialog = window.change_password()
    assert dialog.current_edit.isVisibleTo(dialog)
    dialog.current_edit.setText("wrong-current-1")
    dialog.passwords.password.setText("brand-new-pass-1")
    dialog.passwords.repeat.setText("brand-new-pass-1")
    with qtbot.waitSignal(dialog.attempt_failed, timeout=10_000) as failed:
        dialog.ok_button.click()
    assert failed.args[0] == "The current password is wrong."
    dialog.current_edit.setText(REVIEW_PW)
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        dialog.ok_button.click()
    assert accounts.authenticate("rev", "brand-new-pass-1").username == "rev"
    window.close()
