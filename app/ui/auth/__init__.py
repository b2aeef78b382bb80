"""The GUI of accounts and the audit trail (issue 8): start-up sign-in, login / first-run /
change-password dialogs, account management, the audit log panel, and the notice shown instead of
message content to accounts that may not read it. The decisions and records are app/core/auth's."""

from .accounts_dialog import AccountsDialog
from .audit_panel import AuditPanel
from .login import ChangePasswordDialog, FirstRunDialog, LoginDialog
from .notice import ContentNotice
from .services import account_service, audit_trail, workstation
from .startup import sign_in

__all__ = ["AccountsDialog", "AuditPanel", "ChangePasswordDialog", "ContentNotice", "FirstRunDialog", "LoginDialog",
           "account_service", "audit_trail", "sign_in", "workstation"]
