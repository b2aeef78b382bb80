<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="en" sourcelanguage="en">
<context>
    <name>AccountsDialog</name>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="385" />
        <location filename="../../app/ui/auth/accounts_dialog.py" line="399" />
        <source>Accounts</source>
        <translation>Accounts</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="402" />
        <source>New account…</source>
        <translation>New account…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="403" />
        <source>Roles…</source>
        <translation>Roles…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="404" />
        <source>Scope…</source>
        <translation>Scope…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="405" />
        <source>Reset password…</source>
        <translation>Reset password…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="406" />
        <location filename="../../app/ui/auth/accounts_dialog.py" line="483" />
        <location filename="../../app/ui/auth/accounts_dialog.py" line="554" />
        <source>Disable</source>
        <translation>Disable</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="407" />
        <source>Unlock</source>
        <translation>Unlock</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="408" />
        <source>Refresh</source>
        <translation>Refresh</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="468" />
        <source>Cannot read the accounts: %1</source>
        <translation>Cannot read the accounts: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="483" />
        <source>Enable</source>
        <translation>Enable</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="505" />
        <source>Account %1 created.</source>
        <translation>Account %1 created.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="515" />
        <source>Roles of %1 changed.</source>
        <translation>Roles of %1 changed.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="526" />
        <source>Scope of %1 changed.</source>
        <translation>Scope of %1 changed.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="536" />
        <source>Password of %1 reset.</source>
        <translation>Password of %1 reset.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="546" />
        <source>Account %1 enabled.</source>
        <translation>Account %1 enabled.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="549" />
        <source>Disable account</source>
        <translation>Disable account</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="550" />
        <source>Disable the account %1? It can no longer log in, and its command-line tokens stop working. Its audit entries stay.</source>
        <translation>Disable the account %1? It can no longer log in, and its command-line tokens stop working. Its audit entries stay.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="558" />
        <source>Account %1 disabled.</source>
        <translation>Account %1 disabled.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="565" />
        <source>Account %1 unlocked.</source>
        <translation>Account %1 unlocked.</translation>
    </message>
</context>
<context>
    <name>AccountsModel</name>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="53" />
        <source>All sessions</source>
        <translation>All sessions</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="57" />
        <source>Staff: %1</source>
        <translation>Staff: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="59" />
        <source>Departments: %1</source>
        <translation>Departments: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="60" />
        <source>; </source>
        <translation>; </translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="75" />
        <source>User name</source>
        <translation>User name</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="75" />
        <source>Roles</source>
        <translation>Roles</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="75" />
        <source>Scope</source>
        <translation>Scope</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="75" />
        <source>State</source>
        <translation>State</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="76" />
        <source>Last login</source>
        <translation>Last login</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="76" />
        <source>Created</source>
        <translation>Created</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="97" />
        <source>Disabled</source>
        <translation>Disabled</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="99" />
        <source>Locked until %1</source>
        <translation>Locked until %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="101" />
        <source>Active</source>
        <translation>Active</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="103" />
        <source>; must change password</source>
        <translation>; must change password</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="116" />
        <source>never</source>
        <translation>never</translation>
    </message>
</context>
<context>
    <name>ApiCallsModel</name>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="64" />
        <source>API</source>
        <translation>API</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="64" />
        <source>Calls</source>
        <translation>Calls</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="64" />
        <source>Errcodes (count)</source>
        <translation>Errcodes (count)</translation>
    </message>
</context>
<context>
    <name>ArchivePage</name>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="49" />
        <source>SQLite file on this computer (one workstation)</source>
        <translation>SQLite file on this computer (one workstation)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="50" />
        <source>MySQL / MariaDB server (a team)</source>
        <translation>MySQL / MariaDB server (a team)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="54" />
        <source>Archive database file</source>
        <translation>Archive database file</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="55" />
        <source>SQLite databases (*.db *.sqlite);;All files (*)</source>
        <translation>SQLite databases (*.db *.sqlite);;All files (*)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="61" />
        <source>Type to replace the stored password</source>
        <translation>Type to replace the stored password</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="66" />
        <source>Test connection</source>
        <translation>Test connection</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="67" />
        <source>Opens the database off the main window. An empty database gets the archive's tables.</source>
        <translation>Opens the database off the main window. An empty database gets the archive's tables.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="78" />
        <source>File:</source>
        <translation>File:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="80" />
        <source>URL:</source>
        <translation>URL:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="81" />
        <source>Password:</source>
        <translation>Password:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="87" />
        <source>The app uses a new database after a restart. The password is kept in the keyring, never in the settings file.</source>
        <translation>The app uses a new database after a restart. The password is kept in the keyring, never in the settings file.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="128" />
        <source>The database setting has a value to fix.</source>
        <translation>The database setting has a value to fix.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="134" />
        <source>Enter the server's URL: mysql+pymysql://user@host:3306/dbname</source>
        <translation>Enter the server's URL: mysql+pymysql://user@host:3306/dbname</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="137" />
        <source>This is not a database URL; write it as mysql+pymysql://user@host:3306/dbname</source>
        <translation>This is not a database URL; write it as mysql+pymysql://user@host:3306/dbname</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="139" />
        <source>Only MySQL or MariaDB servers: the URL starts with mysql+pymysql://</source>
        <translation>Only MySQL or MariaDB servers: the URL starts with mysql+pymysql://</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="141" />
        <source>Leave the password out of the URL (the URL is saved in the settings file); type it in the Password field, which is kept in the keyring.</source>
        <translation>Leave the password out of the URL (the URL is saved in the settings file); type it in the Password field, which is kept in the keyring.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="144" />
        <source>The URL needs a host and a database name: mysql+pymysql://user@host:3306/dbname</source>
        <translation>The URL needs a host and a database name: mysql+pymysql://user@host:3306/dbname</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="150" />
        <source>This is a folder; choose or type a file name, e.g. archive.db.</source>
        <translation>This is a folder; choose or type a file name, e.g. archive.db.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="152" />
        <source>Give the full path of the database file.</source>
        <translation>Give the full path of the database file.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="166" />
        <source>Stored in the keyring when you click OK.</source>
        <translation>Stored in the keyring when you click OK.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="168" />
        <source>Stored in the keyring.</source>
        <translation>Stored in the keyring.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="170" />
        <source>Not set.</source>
        <translation>Not set.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="184" />
        <source>Connecting…</source>
        <translation>Connecting…</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="191" />
        <source>Connected: %1</source>
        <translation>Connected: %1</translation>
    </message>
</context>
<context>
    <name>ArchiveText</name>
    <message>
        <location filename="../../app/ui/archive_text.py" line="19" />
        <source>an in-memory database</source>
        <translation>an in-memory database</translation>
    </message>
    <message>
        <location filename="../../app/ui/archive_text.py" line="22" />
        <source>%1 database %2 on %3</source>
        <translation>%1 database %2 on %3</translation>
    </message>
</context>
<context>
    <name>ArchivedStaffModel</name>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="119" />
        <source>Archived</source>
        <translation>Archived</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="119" />
        <source>On the list, no chats</source>
        <translation>On the list, no chats</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="120" />
        <source>Chats archived, never on the list</source>
        <translation>Chats archived, never on the list</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="121" />
        <source>Chats archived, taken off the list</source>
        <translation>Chats archived, taken off the list</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="124" />
        <source>State</source>
        <translation>State</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="124" />
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="124" />
        <source>Userid</source>
        <translation>Userid</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="124" />
        <source>Department</source>
        <translation>Department</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="125" />
        <source>On the list</source>
        <translation>On the list</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="125" />
        <source>Messages sent</source>
        <translation>Messages sent</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="125" />
        <source>Last message</source>
        <translation>Last message</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="130" />
        <source>since %1</source>
        <translation>since %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="131" />
        <source>off since %1</source>
        <translation>off since %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="131" />
        <source>never</source>
        <translation>never</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="145" />
        <source>on the list %1 – %2</source>
        <translation>on the list %1 – %2</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="146" />
        <source>now</source>
        <translation>now</translation>
    </message>
</context>
<context>
    <name>ArchivedStaffPanel</name>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="161" />
        <source>Only chats archived without being on the list</source>
        <translation>Only chats archived without being on the list</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="163" />
        <source>Refresh</source>
        <translation>Refresh</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="179" />
        <source>The archive holds no corp yet.</source>
        <translation>The archive holds no corp yet.</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="197" />
        <source>The permit list has not been read from WeCom yet (Directory → Sync from WeCom). Staff who send messages in the archive are listed.</source>
        <translation>The permit list has not been read from WeCom yet (Directory → Sync from WeCom). Staff who send messages in the archive are listed.</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="201" />
        <source>%1 staff under archiving (permit list read %2); %3 with chats archived without being on the list.</source>
        <translation>%1 staff under archiving (permit list read %2); %3 with chats archived without being on the list.</translation>
    </message>
</context>
<context>
    <name>AuditLogModel</name>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="166" />
        <source>Time</source>
        <translation>Time</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="166" />
        <source>Account</source>
        <translation>Account</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="166" />
        <source>Action</source>
        <translation>Action</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="166" />
        <source>Object</source>
        <translation>Object</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="167" />
        <source>Outcome</source>
        <translation>Outcome</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="167" />
        <source>Workstation</source>
        <translation>Workstation</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="258" />
        <source>%1 — double-click or "Go to" to open it</source>
        <translation>%1 — double-click or "Go to" to open it</translation>
    </message>
</context>
<context>
    <name>AuditPanel</name>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="300" />
        <source>Audit log</source>
        <translation>Audit log</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="304" />
        <source>Any account (exact user name)</source>
        <translation>Any account (exact user name)</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="306" />
        <source>Account</source>
        <translation>Account</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="308" />
        <source>Action</source>
        <translation>Action</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="309" />
        <source>Any action</source>
        <translation>Any action</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="313" />
        <source>Outcome</source>
        <translation>Outcome</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="314" />
        <source>Any outcome</source>
        <translation>Any outcome</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="318" />
        <source>From</source>
        <translation>From</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="320" />
        <source>To</source>
        <translation>To</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="323" />
        <source>Text in the object (session, query, file, setting…)</source>
        <translation>Text in the object (session, query, file, setting…)</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="325" />
        <source>Object contains</source>
        <translation>Object contains</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="326" />
        <source>Apply</source>
        <translation>Apply</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="328" />
        <source>Clear filters</source>
        <translation>Clear filters</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="335" />
        <source>Account:</source>
        <translation>Account:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="337" />
        <source>Action:</source>
        <translation>Action:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="339" />
        <source>Outcome:</source>
        <translation>Outcome:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="345" />
        <source>Object:</source>
        <translation>Object:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="367" />
        <source>Audit entries</source>
        <translation>Audit entries</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="379" />
        <source>Select an entry to see all its fields.</source>
        <translation>Select an entry to see all its fields.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="380" />
        <source>Entry details</source>
        <translation>Entry details</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="390" />
        <source>Verify chain</source>
        <translation>Verify chain</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="391" />
        <source>Check every entry's hash and link: an edited, deleted, inserted or reordered entry is named</source>
        <translation>Check every entry's hash and link: an edited, deleted, inserted or reordered entry is named</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="393" />
        <source>Export CSV…</source>
        <translation>Export CSV…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="394" />
        <source>Write the entries that match the filters, oldest first</source>
        <translation>Write the entries that match the filters, oldest first</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="398" />
        <source>Chain head</source>
        <translation>Chain head</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="399" />
        <source>The last entry's number and hash: keep a copy outside the app to prove later that the log was not rewritten up to here</source>
        <translation>The last entry's number and hash: keep a copy outside the app to prove later that the log was not rewritten up to here</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="401" />
        <source>Copy</source>
        <translation>Copy</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="402" />
        <source>Go to</source>
        <translation>Go to</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="403" />
        <source>Open the conversation or the message of the selected entry (double-click does the same)</source>
        <translation>Open the conversation or the message of the selected entry (double-click does the same)</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="409" />
        <source>Chain head:</source>
        <translation>Chain head:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="466" />
        <source>Loading…</source>
        <translation>Loading…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="502" />
        <source>No entry matches the filters.</source>
        <translation>No entry matches the filters.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="506" />
        <source>%1 entries match; the newest %2 are listed (scroll for more).</source>
        <translation>%1 entries match; the newest %2 are listed (scroll for more).</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="509" />
        <source>1 entry matches.</source>
        <translation>1 entry matches.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="510" />
        <source>%1 entries match, newest first.</source>
        <translation>%1 entries match, newest first.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="513" />
        <source>Cannot read the audit log: %1</source>
        <translation>Cannot read the audit log: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="537" />
        <source>Entry #%1</source>
        <translation>Entry #%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="538" />
        <source>Time: %1 (UTC %2)</source>
        <translation>Time: %1 (UTC %2)</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="539" />
        <source>Account: %1</source>
        <translation>Account: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="541" />
        <source>Action: %1 (%2)</source>
        <translation>Action: %1 (%2)</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="542" />
        <source>Object: %1</source>
        <translation>Object: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="546" />
        <source>Outcome: %1</source>
        <translation>Outcome: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="547" />
        <source>Workstation: %1</source>
        <translation>Workstation: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="548" />
        <source>Login: %1</source>
        <translation>Login: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="549" />
        <source>Detail: %1</source>
        <translation>Detail: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="550" />
        <source>Previous hash: %1</source>
        <translation>Previous hash: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="551" />
        <source>Entry hash: %1</source>
        <translation>Entry hash: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="572" />
        <source>Chain head copied: keep it outside the app (a printout, a note in the case file) to prove later that the log up to it was not rewritten.</source>
        <translation>Chain head copied: keep it outside the app (a printout, a note in the case file) to prove later that the log up to it was not rewritten.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="578" />
        <source>Verifying the chain…</source>
        <translation>Verifying the chain…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="585" />
        <source>The chain is intact: %1 entries checked, up to %2.</source>
        <translation>The chain is intact: %1 entries checked, up to %2.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="590" />
        <source>The chain is BROKEN at entry #%1 (%2): %3</source>
        <translation>The chain is BROKEN at entry #%1 (%2): %3</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="594" />
        <source>This check could not be recorded in the audit log, which cannot be appended to in this state.</source>
        <translation>This check could not be recorded in the audit log, which cannot be appended to in this state.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="609" />
        <source>Cannot verify the chain: %1</source>
        <translation>Cannot verify the chain: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="617" />
        <source>Export the audit log</source>
        <translation>Export the audit log</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="618" />
        <source>CSV files (*.csv)</source>
        <translation>CSV files (*.csv)</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="625" />
        <source>Exporting…</source>
        <translation>Exporting…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="633" />
        <source>%1 entries written to %2.</source>
        <translation>%1 entries written to %2.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="633" />
        <source>1 entry written to %2.</source>
        <translation>1 entry written to %2.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="639" />
        <source>Cannot export the audit log: %1</source>
        <translation>Cannot export the audit log: %1</translation>
    </message>
</context>
<context>
    <name>AuditText</name>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="70" />
        <source>Login</source>
        <translation>Login</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="71" />
        <source>Logout</source>
        <translation>Logout</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="72" />
        <source>Failed login</source>
        <translation>Failed login</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="73" />
        <source>Session opened</source>
        <translation>Session opened</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="74" />
        <source>Message details viewed</source>
        <translation>Message details viewed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="75" />
        <source>Raw JSON viewed</source>
        <translation>Raw JSON viewed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="76" />
        <source>Media file opened</source>
        <translation>Media file opened</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="77" />
        <source>Media file saved</source>
        <translation>Media file saved</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="78" />
        <source>Search</source>
        <translation>Search</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="79" />
        <source>Evidence export started</source>
        <translation>Evidence export started</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="80" />
        <source>Evidence export</source>
        <translation>Evidence export</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="81" />
        <source>Package verified</source>
        <translation>Package verified</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="82" />
        <source>Sync run</source>
        <translation>Sync run</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="83" />
        <source>Settings changed</source>
        <translation>Settings changed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="84" />
        <source>Account created</source>
        <translation>Account created</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="85" />
        <source>Account changed</source>
        <translation>Account changed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="86" />
        <source>Roles changed</source>
        <translation>Roles changed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="87" />
        <source>Scope changed</source>
        <translation>Scope changed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="88" />
        <source>Account disabled</source>
        <translation>Account disabled</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="89" />
        <source>Account enabled</source>
        <translation>Account enabled</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="90" />
        <source>Account unlocked</source>
        <translation>Account unlocked</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="91" />
        <source>Accounts listed</source>
        <translation>Accounts listed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="92" />
        <source>Password changed</source>
        <translation>Password changed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="93" />
        <source>Password reset</source>
        <translation>Password reset</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="94" />
        <source>Login token issued</source>
        <translation>Login token issued</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="95" />
        <source>Login token revoked</source>
        <translation>Login token revoked</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="96" />
        <source>Audit log viewed</source>
        <translation>Audit log viewed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="97" />
        <source>Audit log exported</source>
        <translation>Audit log exported</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="98" />
        <source>Audit chain verified</source>
        <translation>Audit chain verified</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="99" />
        <source>Archive read</source>
        <translation>Archive read</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="100" />
        <source>Search index rebuilt</source>
        <translation>Search index rebuilt</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="101" />
        <source>Directory imported</source>
        <translation>Directory imported</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="102" />
        <source>Directory synced</source>
        <translation>Directory synced</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="103" />
        <source>Backup made</source>
        <translation>Backup made</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="104" />
        <source>Backup verified</source>
        <translation>Backup verified</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="105" />
        <source>Archive restored</source>
        <translation>Archive restored</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="106" />
        <source>Retention policy changed</source>
        <translation>Retention policy changed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="107" />
        <source>Deletion proposed</source>
        <translation>Deletion proposed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="108" />
        <source>Deletion approved</source>
        <translation>Deletion approved</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="109" />
        <source>Deleted under retention</source>
        <translation>Deleted under retention</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="110" />
        <source>Legal hold placed</source>
        <translation>Legal hold placed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="111" />
        <source>Legal hold released</source>
        <translation>Legal hold released</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="112" />
        <source>Read through the API</source>
        <translation>Read through the API</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="113" />
        <source>Tags changed</source>
        <translation>Tags changed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="114" />
        <source>Review status set</source>
        <translation>Review status set</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="115" />
        <source>Note written</source>
        <translation>Note written</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="116" />
        <source>Tag set changed</source>
        <translation>Tag set changed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="117" />
        <source>Saved search changed</source>
        <translation>Saved search changed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="118" />
        <source>Policy changed</source>
        <translation>Policy changed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="119" />
        <source>Policies evaluated</source>
        <translation>Policies evaluated</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="120" />
        <source>Alert handled</source>
        <translation>Alert handled</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="121" />
        <source>Sampling rule changed</source>
        <translation>Sampling rule changed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="122" />
        <source>Sample drawn</source>
        <translation>Sample drawn</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="123" />
        <source>Review work read</source>
        <translation>Review work read</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="128" />
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="128" />
        <source>Denied</source>
        <translation>Denied</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="129" />
        <source>Failed</source>
        <translation>Failed</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="133" />
        <source>edited</source>
        <translation>edited</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="133" />
        <source>deleted</source>
        <translation>deleted</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="134" />
        <source>reordered</source>
        <translation>reordered</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="134" />
        <source>inserted</source>
        <translation>inserted</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="135" />
        <source>chain head</source>
        <translation>chain head</translation>
    </message>
</context>
<context>
    <name>AuthText</name>
    <message>
        <location filename="../../app/ui/auth/services.py" line="112" />
        <source>Administrator</source>
        <translation>Administrator</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="113" />
        <source>Reviewer</source>
        <translation>Reviewer</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="114" />
        <source>Exporter</source>
        <translation>Exporter</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="115" />
        <source>Auditor</source>
        <translation>Auditor</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="121" />
        <source>settings, sync and accounts; reads no message content unless also a reviewer</source>
        <translation>settings, sync and accounts; reads no message content unless also a reviewer</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="123" />
        <source>browse sessions, read messages, search, open media (within the account's scope)</source>
        <translation>browse sessions, read messages, search, open media (within the account's scope)</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="125" />
        <source>create evidence packages (within the account's scope)</source>
        <translation>create evidence packages (within the account's scope)</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="126" />
        <source>read the audit log and verify evidence packages; read-only</source>
        <translation>read the audit log and verify evidence packages; read-only</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="132" />
        <source>, </source>
        <translation>, </translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="138" />
        <source>no role</source>
        <translation>no role</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="142" />
        <source>At least %1 characters; not the user name; not one character repeated.</source>
        <translation>At least %1 characters; not the user name; not one character repeated.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="154" />
        <source>Too many wrong passwords: this account is locked until %1. Try again then, or ask an administrator to unlock it.</source>
        <translation>Too many wrong passwords: this account is locked until %1. Try again then, or ask an administrator to unlock it.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="162" />
        <source>The password must have at least %1 characters.</source>
        <translation>The password must have at least %1 characters.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="164" />
        <source>The password must not be the user name.</source>
        <translation>The password must not be the user name.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="166" />
        <source>The password must not be one character repeated.</source>
        <translation>The password must not be one character repeated.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="168" />
        <source>The new password must differ from the current one.</source>
        <translation>The new password must differ from the current one.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="174" />
        <source>Enter a user name.</source>
        <translation>Enter a user name.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="176" />
        <source>The user name must have at most 64 characters.</source>
        <translation>The user name must have at most 64 characters.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="178" />
        <source>The user name must not contain spaces, control characters or ':'.</source>
        <translation>The user name must not contain spaces, control characters or ':'.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="199" />
        <source>This account is disabled. Ask an administrator to enable it.</source>
        <translation>This account is disabled. Ask an administrator to enable it.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="202" />
        <source>The current password is wrong.</source>
        <translation>The current password is wrong.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="204" />
        <source>Wrong user name or password.</source>
        <translation>Wrong user name or password.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="210" />
        <source>Not allowed: %1</source>
        <translation>Not allowed: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="217" />
        <source>Something went wrong.</source>
        <translation>Something went wrong.</translation>
    </message>
</context>
<context>
    <name>BackendForm</name>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="63" />
        <source>Folder for media files</source>
        <translation>Folder for media files</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="77" />
        <source>Type to replace the stored secret key</source>
        <translation>Type to replace the stored secret key</translation>
    </message>
</context>
<context>
    <name>BackgroundDialog</name>
    <message>
        <location filename="../../app/ui/auth/login.py" line="116" />
        <source>Checking…</source>
        <translation>Checking…</translation>
    </message>
</context>
<context>
    <name>BackupDialog</name>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="129" />
        <source>Back up the archive</source>
        <translation>Back up the archive</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="133" />
        <source>A backup holds a consistent copy of the archive database, the media files, the settings (no secrets) and a manifest with SHA-256s and the audit trail's head, signed with the export key. Keep the folder on another disk or a mounted share. The search index is not backed up: it is rebuilt after a restore.</source>
        <translation>A backup holds a consistent copy of the archive database, the media files, the settings (no secrets) and a manifest with SHA-256s and the audit trail's head, signed with the export key. Keep the folder on another disk or a mounted share. The search index is not backed up: it is rebuilt after a restore.</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="138" />
        <source>A folder on another disk or a mounted share</source>
        <translation>A folder on another disk or a mounted share</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="139" />
        <location filename="../../app/ui/backup_dialog.py" line="247" />
        <source>Backup folder</source>
        <translation>Backup folder</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="140" />
        <source>Browse…</source>
        <translation>Browse…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="146" />
        <source>Incremental: continue the folder's chain (only new media files are copied)</source>
        <translation>Incremental: continue the folder's chain (only new media files are copied)</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="148" />
        <source>Full: copy every media file and start a new chain</source>
        <translation>Full: copy every media file and start a new chain</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="158" />
        <source>Folder:</source>
        <translation>Folder:</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="160" />
        <location filename="../../app/ui/backup_dialog.py" line="181" />
        <source>Kind:</source>
        <translation>Kind:</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="161" />
        <source>Scheduled:</source>
        <translation>Scheduled:</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="179" />
        <source>Backup:</source>
        <translation>Backup:</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="180" />
        <source>Saved in:</source>
        <translation>Saved in:</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="182" />
        <source>Contents:</source>
        <translation>Contents:</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="183" />
        <source>Manifest SHA-256:</source>
        <translation>Manifest SHA-256:</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="184" />
        <source>Audit trail head:</source>
        <translation>Audit trail head:</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="190" />
        <source>Back up</source>
        <translation>Back up</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="193" />
        <source>Verify a backup…</source>
        <translation>Verify a backup…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="194" />
        <source>Check a backup and every backup it continues without restoring it: signatures, files, media, every message's SHA-256 and the audit trail</source>
        <translation>Check a backup and every backup it continues without restoring it: signatures, files, media, every message's SHA-256 and the audit trail</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="197" />
        <source>Cancel</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="199" />
        <source>Close</source>
        <translation>Close</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="242" />
        <source>Every %1 h into %2 (this computer; change it in Settings → Background jobs).</source>
        <translation>Every %1 h into %2 (this computer; change it in Settings → Background jobs).</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="244" />
        <source>Off (set an interval and a folder in Settings → Background jobs).</source>
        <translation>Off (set an interval and a folder in Settings → Background jobs).</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="261" />
        <source>Choose the folder the backups are kept in.</source>
        <translation>Choose the folder the backups are kept in.</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="273" />
        <source>It holds 1 backup (%2); an incremental one continues it.</source>
        <translation>It holds 1 backup (%2); an incremental one continues it.</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="274" />
        <source>It holds %1 backups, the newest %2; an incremental one continues its chain.</source>
        <translation>It holds %1 backups, the newest %2; an incremental one continues its chain.</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="277" />
        <source>It holds no backup yet: the first one is full.</source>
        <translation>It holds no backup yet: the first one is full.</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="298" />
        <source>Choose the backup folder.</source>
        <translation>Choose the backup folder.</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="306" />
        <source>Starting the backup…</source>
        <translation>Starting the backup…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="317" />
        <source>Backup folder, or one backup in it</source>
        <translation>Backup folder, or one backup in it</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="323" />
        <source>Checking the backup…</source>
        <translation>Checking the backup…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="351" />
        <source>Cancelling…</source>
        <translation>Cancelling…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="358" />
        <source>Copying the database…</source>
        <translation>Copying the database…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="359" />
        <source>Checking every message's SHA-256…</source>
        <translation>Checking every message's SHA-256…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="360" />
        <source>Copying media files…</source>
        <translation>Copying media files…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="361" />
        <source>Checking media files…</source>
        <translation>Checking media files…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="362" />
        <source>Writing and signing the manifest…</source>
        <translation>Writing and signing the manifest…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="363" />
        <source>Writing the backup to disk…</source>
        <translation>Writing the backup to disk…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="364" />
        <source>Checking the signatures and files…</source>
        <translation>Checking the signatures and files…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="365" />
        <source>Checking the audit trail's hash chain…</source>
        <translation>Checking the audit trail's hash chain…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="375" />
        <source>%1 %2 of %3</source>
        <translation>%1 %2 of %3</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="402" />
        <source>The backup was cancelled: nothing was left in the folder, and the backups already there are unchanged.</source>
        <translation>The backup was cancelled: nothing was left in the folder, and the backups already there are unchanged.</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="406" />
        <source>The verification was cancelled.</source>
        <translation>The verification was cancelled.</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="411" />
        <source>The backup failed: %1</source>
        <translation>The backup failed: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="414" />
        <source>The backup cannot be verified: %1</source>
        <translation>The backup cannot be verified: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="426" />
        <source>Incremental, continuing %1</source>
        <translation>Incremental, continuing %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="428" />
        <source>Full (the folder held no backup of this archive to continue)</source>
        <translation>Full (the folder held no backup of this archive to continue)</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="430" />
        <source>Full, starting a new chain</source>
        <translation>Full, starting a new chain</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="431" />
        <source>%1; %2 (%3) added</source>
        <translation>%1; %2 (%3) added</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="432" />
        <location filename="../../app/ui/backup_dialog.py" line="456" />
        <source>1 message</source>
        <translation>1 message</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="432" />
        <location filename="../../app/ui/backup_dialog.py" line="456" />
        <source>%1 messages</source>
        <translation>%1 messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="433" />
        <location filename="../../app/ui/backup_dialog.py" line="457" />
        <source>1 media file</source>
        <translation>1 media file</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="433" />
        <location filename="../../app/ui/backup_dialog.py" line="457" />
        <source>%1 media files</source>
        <translation>%1 media files</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="440" />
        <source>The backup is written, but 1 media file could not be backed up (below).</source>
        <translation>The backup is written, but 1 media file could not be backed up (below).</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="442" />
        <source>The backup is written, but %1 media files could not be backed up (below).</source>
        <translation>The backup is written, but %1 media files could not be backed up (below).</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="447" />
        <source>The backup is written and signed.</source>
        <translation>The backup is written and signed.</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="452" />
        <source>Intact: backup %1 and its chain of %2; %3, %4, audit trail of %5 entries; signed by key %6.</source>
        <translation>Intact: backup %1 and its chain of %2; %3, %4, audit trail of %5 entries; signed by key %6.</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="455" />
        <source>1 backup</source>
        <translation>1 backup</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="455" />
        <source>%1 backups</source>
        <translation>%1 backups</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="460" />
        <source>Backup %2 FAILED: 1 problem (below).</source>
        <translation>Backup %2 FAILED: 1 problem (below).</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="461" />
        <source>Backup %2 FAILED: %1 problems (listed below).</source>
        <translation>Backup %2 FAILED: %1 problems (listed below).</translation>
    </message>
</context>
<context>
    <name>ChangePasswordDialog</name>
    <message>
        <location filename="../../app/ui/auth/login.py" line="295" />
        <location filename="../../app/ui/auth/login.py" line="296" />
        <source>Change password</source>
        <translation>Change password</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="298" />
        <source>Quit</source>
        <translation>Quit</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="299" />
        <source>Account: %1</source>
        <translation>Account: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="301" />
        <source>An administrator set the password of the account %1. Choose your own password before you continue.</source>
        <translation>An administrator set the password of the account %1. Choose your own password before you continue.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="304" />
        <source>Current password</source>
        <translation>Current password</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="307" />
        <source>Current password:</source>
        <translation>Current password:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="305" />
        <source>New password:</source>
        <translation>New password:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="305" />
        <source>Repeat new password:</source>
        <translation>Repeat new password:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="322" />
        <source>Enter your current password.</source>
        <translation>Enter your current password.</translation>
    </message>
</context>
<context>
    <name>CompliancePanels</name>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="105" />
        <source>This view cannot be read: %1</source>
        <translation>This view cannot be read: %1</translation>
    </message>
</context>
<context>
    <name>ConsentModel</name>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="214" />
        <source>Agreed</source>
        <translation>Agreed</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="214" />
        <source>Refused</source>
        <translation>Refused</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="215" />
        <source>Agreed by default</source>
        <translation>Agreed by default</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="218" />
        <source>Consent</source>
        <translation>Consent</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="218" />
        <source>Customer</source>
        <translation>Customer</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="218" />
        <source>With</source>
        <translation>With</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="218" />
        <source>Decided</source>
        <translation>Decided</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="219" />
        <source>Checked with WeCom</source>
        <translation>Checked with WeCom</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="219" />
        <source>Archive entries</source>
        <translation>Archive entries</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="238" />
        <source>group %1</source>
        <translation>group %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="239" />
        <source>(archive entries only)</source>
        <translation>(archive entries only)</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="243" />
        <source>not reported by WeCom</source>
        <translation>not reported by WeCom</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="259" />
        <source>%1 on %2 (seen %3)</source>
        <translation>%1 on %2 (seen %3)</translation>
    </message>
</context>
<context>
    <name>ConsentPanel</name>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="294" />
        <source>Only customers who refused</source>
        <translation>Only customers who refused</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="296" />
        <source>Open conversation</source>
        <translation>Open conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="297" />
        <source>Open entry</source>
        <translation>Open entry</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="305" />
        <source>Agree/disagree entries of this customer in the archive:</source>
        <translation>Agree/disagree entries of this customer in the archive:</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="326" />
        <source>The archive holds no corp yet.</source>
        <translation>The archive holds no corp yet.</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="346" />
        <source>No consent is known yet: WeCom reports it at a directory sync (Directory → Sync from WeCom), and agree/disagree entries come with the archive.</source>
        <translation>No consent is known yet: WeCom reports it at a directory sync (Directory → Sync from WeCom), and agree/disagree entries come with the archive.</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="349" />
        <source>%1 customers; %2 refused archiving (%3 chats or groups).</source>
        <translation>%1 customers; %2 refused archiving (%3 chats or groups).</translation>
    </message>
</context>
<context>
    <name>ContentNotice</name>
    <message>
        <location filename="../../app/ui/auth/notice.py" line="28" />
        <source>Message content is not available to this account</source>
        <translation>Message content is not available to this account</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/notice.py" line="34" />
        <source>You are logged in as %1 with the roles: %2. Reading sessions, messages, media and search results needs the Reviewer role; administrators read no message content unless they are also reviewers. Ask an administrator to give you the Reviewer role if your work needs it.</source>
        <translation>You are logged in as %1 with the roles: %2. Reading sessions, messages, media and search results needs the Reviewer role; administrators read no message content unless they are also reviewers. Ask an administrator to give you the Reviewer role if your work needs it.</translation>
    </message>
</context>
<context>
    <name>CorpPage</name>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="120" />
        <source>Add corp</source>
        <translation>Add corp</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="121" />
        <source>Remove corp…</source>
        <translation>Remove corp…</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="123" />
        <source>Corp:</source>
        <translation>Corp:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="131" />
        <source>No corp is configured. Click “Add corp” to enter yours.</source>
        <translation>No corp is configured. Click “Add corp” to enter yours.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="137" />
        <source>ww0123456789abcdef (Admin console &gt; My company)</source>
        <translation>ww0123456789abcdef (Admin console &gt; My company)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="140" />
        <source>Shown in the session tree and in exports</source>
        <translation>Shown in the session tree and in exports</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="143" />
        <source>Type to replace the stored secret</source>
        <translation>Type to replace the stored secret</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="147" />
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="147" />
        <source>Where the key is kept</source>
        <translation>Where the key is kept</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="155" />
        <source>Import PEM…</source>
        <translation>Import PEM…</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="156" />
        <source>Remove</source>
        <translation>Remove</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="163" />
        <source>Use the built-in simulator (demo and tests)</source>
        <translation>Use the built-in simulator (demo and tests)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="164" />
        <source>Use Tencent's SDK library</source>
        <translation>Use Tencent's SDK library</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="168" />
        <source>Choose the simulator corpus folder</source>
        <translation>Choose the simulator corpus folder</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="169" />
        <source>Corpus folder (holds corpus.json)</source>
        <translation>Corpus folder (holds corpus.json)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="170" />
        <source>Choose libWeWorkFinanceSdk_C.so</source>
        <translation>Choose libWeWorkFinanceSdk_C.so</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="171" />
        <source>Shared libraries (*.so *.so.*);;All files (*)</source>
        <translation>Shared libraries (*.so *.so.*);;All files (*)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="176" />
        <source>Optional: socks5://host:port or http://host:port</source>
        <translation>Optional: socks5://host:port or http://host:port</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="180" />
        <source>user:password, if the proxy needs one</source>
        <translation>user:password, if the proxy needs one</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="184" />
        <source> s</source>
        <translation> s</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="185" />
        <source>Choose the CA certificate (PEM)</source>
        <translation>Choose the CA certificate (PEM)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="186" />
        <source>Certificates (*.pem *.crt *.cer);;All files (*)</source>
        <translation>Certificates (*.pem *.crt *.cer);;All files (*)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="187" />
        <source>Only for a company proxy that inspects TLS: its CA (PEM)</source>
        <translation>Only for a company proxy that inspects TLS: its CA (PEM)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="189" />
        <source>Test connection</source>
        <translation>Test connection</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="200" />
        <source>Corp ID:</source>
        <translation>Corp ID:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="202" />
        <source>Name:</source>
        <translation>Name:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="203" />
        <source>Chat-archive secret:</source>
        <translation>Chat-archive secret:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="205" />
        <source>Private keys:</source>
        <translation>Private keys:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="208" />
        <source>SDK:</source>
        <translation>SDK:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="213" />
        <source>Proxy:</source>
        <translation>Proxy:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="215" />
        <source>Proxy password:</source>
        <translation>Proxy password:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="217" />
        <source>Timeout per SDK call:</source>
        <translation>Timeout per SDK call:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="218" />
        <source>Trusted CA:</source>
        <translation>Trusted CA:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="291" />
        <source>Remove corp</source>
        <translation>Remove corp</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="292" />
        <source>Remove %1 from the settings? When you click OK its secret and private keys are deleted from the keyring. Its archived messages stay in the archive.</source>
        <translation>Remove %1 from the settings? When you click OK its secret and private keys are deleted from the keyring. Its archived messages stay in the archive.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="303" />
        <location filename="../../app/ui/settings/corp_page.py" line="367" />
        <location filename="../../app/ui/settings/corp_page.py" line="519" />
        <source>New corp</source>
        <translation>New corp</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="331" />
        <source>The corp ID of a saved corp cannot change: the archive refers to it. Remove the corp and add it again instead.</source>
        <translation>The corp ID of a saved corp cannot change: the archive refers to it. Remove the corp and add it again instead.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="382" />
        <source>This computer has no usable keyring (Secret Service, KWallet, Keychain or Credential Manager), so secrets cannot be saved here. Set them as environment variables of the app instead: %1 (the chat-archive secret), %2 (each private key: the PEM text, or @/path/to/key.pem) and %3 (the proxy password).</source>
        <translation>This computer has no usable keyring (Secret Service, KWallet, Keychain or Credential Manager), so secrets cannot be saved here. Set them as environment variables of the app instead: %1 (the chat-archive secret), %2 (each private key: the PEM text, or @/path/to/key.pem) and %3 (the proxy password).</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="390" />
        <location filename="../../app/ui/settings/corp_page.py" line="398" />
        <source>Stored in the keyring when you click OK.</source>
        <translation>Stored in the keyring when you click OK.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="392" />
        <location filename="../../app/ui/settings/corp_page.py" line="400" />
        <location filename="../../app/ui/settings/corp_page.py" line="411" />
        <source>Checking the keyring…</source>
        <translation>Checking the keyring…</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="402" />
        <location filename="../../app/ui/settings/corp_page.py" line="423" />
        <source>Stored in the keyring.</source>
        <translation>Stored in the keyring.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="402" />
        <location filename="../../app/ui/settings/corp_page.py" line="428" />
        <source>Not set.</source>
        <translation>Not set.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="409" />
        <source>New: stored in the keyring when you click OK.</source>
        <translation>New: stored in the keyring when you click OK.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="414" />
        <source>Missing: import it again.</source>
        <translation>Missing: import it again.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="425" />
        <source>Read from the environment variable %1.</source>
        <translation>Read from the environment variable %1.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="427" />
        <source>Read from the demo corpus folder (demo data).</source>
        <translation>Read from the demo corpus folder (demo data).</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="466" />
        <source>Remove private key</source>
        <translation>Remove private key</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="467" />
        <source>Remove the private key of version %1? Messages encrypted with it can no longer be decrypted (they go to quarantine) until you import it again.</source>
        <translation>Remove the private key of version %1? Messages encrypted with it can no longer be decrypted (they go to quarantine) until you import it again.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="480" />
        <source>Fix the values marked above first.</source>
        <translation>Fix the values marked above first.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="486" />
        <source>Connecting… (this can take up to a minute)</source>
        <translation>Connecting… (this can take up to a minute)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="519" />
        <source>Corp “%1” has a value to fix.</source>
        <translation>Corp “%1” has a value to fix.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="527" />
        <source>Enter the corp ID (Admin console &gt; My company &gt; Corp ID).</source>
        <translation>Enter the corp ID (Admin console &gt; My company &gt; Corp ID).</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="529" />
        <source>The corp ID cannot contain spaces.</source>
        <translation>The corp ID cannot contain spaces.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="531" />
        <source>The corp ID is at most 64 characters long.</source>
        <translation>The corp ID is at most 64 characters long.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="533" />
        <source>Another corp already has this corp ID.</source>
        <translation>Another corp already has this corp ID.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="538" />
        <source>%1 is not a file: choose the PEM file of your company's CA, or leave the field empty.</source>
        <translation>%1 is not a file: choose the PEM file of your company's CA, or leave the field empty.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="541" />
        <source>Write the proxy as socks5://host:port or http://host:port (user and password go in the proxy password field).</source>
        <translation>Write the proxy as socks5://host:port or http://host:port (user and password go in the proxy password field).</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="547" />
        <source>Choose the simulator's corpus folder.</source>
        <translation>Choose the simulator's corpus folder.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="549" />
        <source>%1 is not a simulator corpus (it has no corpus.json).</source>
        <translation>%1 is not a simulator corpus (it has no corpus.json).</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="554" />
        <source>Choose Tencent's SDK library file (libWeWorkFinanceSdk_C.so).</source>
        <translation>Choose Tencent's SDK library file (libWeWorkFinanceSdk_C.so).</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="577" />
        <source>The SDK library could not be checked: %1</source>
        <translation>The SDK library could not be checked: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="582" />
        <source>Checking the SDK library…</source>
        <translation>Checking the SDK library…</translation>
    </message>
</context>
<context>
    <name>DateRange</name>
    <message>
        <location filename="../../app/ui/insight_common.py" line="113" />
        <source>From</source>
        <translation>From</translation>
    </message>
    <message>
        <location filename="../../app/ui/insight_common.py" line="114" />
        <source>To</source>
        <translation>To</translation>
    </message>
</context>
<context>
    <name>DirectoryPanel</name>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="135" />
        <source>Sync from WeCom</source>
        <translation>Sync from WeCom</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="136" />
        <source>Staff, departments, external contacts, groups, the permit list and consent from WeCom's server API</source>
        <translation>Staff, departments, external contacts, groups, the permit list and consent from WeCom's server API</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="138" />
        <source>Cancel</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="140" />
        <source>Import names file…</source>
        <translation>Import names file…</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="141" />
        <source>Secrets…</source>
        <translation>Secrets…</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="144" />
        <source>off</source>
        <translation>off</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="145" />
        <source> h</source>
        <translation> h</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="147" />
        <source>Sync the directory every so many hours in the background (0: off)</source>
        <translation>Sync the directory every so many hours in the background (0: off)</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="165" />
        <source>Problems of the last directory sync</source>
        <translation>Problems of the last directory sync</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="176" />
        <source>Every:</source>
        <translation>Every:</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="186" />
        <source>Problems:</source>
        <translation>Problems:</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="193" />
        <source>The directory sync failed: %1</source>
        <translation>The directory sync failed: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="195" />
        <location filename="../../app/ui/directory_panel.py" line="325" />
        <source>The directory sync was cancelled.</source>
        <translation>The directory sync was cancelled.</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="242" />
        <source>The directory has not been synced from WeCom yet. Names come from WeCom's server API (Sync from WeCom), or from a names file.</source>
        <translation>The directory has not been synced from WeCom yet. Names come from WeCom's server API (Sync from WeCom), or from a names file.</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="248" />
        <source>succeeded</source>
        <translation>succeeded</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="248" />
        <source>done with refusals</source>
        <translation>done with refusals</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="249" />
        <source>failed</source>
        <translation>failed</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="249" />
        <source>cancelled</source>
        <translation>cancelled</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="249" />
        <source>running</source>
        <translation>running</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="250" />
        <source>names file import</source>
        <translation>names file import</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="250" />
        <source>sync from WeCom</source>
        <translation>sync from WeCom</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="251" />
        <source>Last %1: %2, %3 by %4.</source>
        <translation>Last %1: %2, %3 by %4.</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="255" />
        <source>%1 staff, %2 departments, %3 external contacts, %4 groups, %5 on the permit list, %6 consent states, %7 avatars; %8 names new, %9 changed.</source>
        <translation>%1 staff, %2 departments, %3 external contacts, %4 groups, %5 on the permit list, %6 consent states, %7 avatars; %8 names new, %9 changed.</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="259" />
        <location filename="../../app/ui/directory_panel.py" line="360" />
        <source>%1 names imported.</source>
        <translation>%1 names imported.</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="268" />
        <source>(%1×: %2)</source>
        <translation>(%1×: %2)</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="268" />
        <source>(%1×)</source>
        <translation>(%1×)</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="274" />
        <source>The directory cannot be read: %1</source>
        <translation>The directory cannot be read: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="281" />
        <source>No corp is configured on this computer.</source>
        <translation>No corp is configured on this computer.</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="286" />
        <source>Corp %1 is not configured on this computer: %2</source>
        <translation>Corp %1 is not configured on this computer: %2</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="303" />
        <source>Asking WeCom…</source>
        <translation>Asking WeCom…</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="309" />
        <source>departments</source>
        <translation>departments</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="309" />
        <source>staff</source>
        <translation>staff</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="310" />
        <source>external contacts</source>
        <translation>external contacts</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="310" />
        <source>groups</source>
        <translation>groups</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="311" />
        <source>permit list</source>
        <translation>permit list</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="311" />
        <source>consent</source>
        <translation>consent</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="311" />
        <source>avatars</source>
        <translation>avatars</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="318" />
        <source>Step %1 of %2: %3…</source>
        <translation>Step %1 of %2: %3…</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="322" />
        <source>The directory is synced.</source>
        <translation>The directory is synced.</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="323" />
        <source>The directory is synced; WeCom refused some calls (see Problems).</source>
        <translation>The directory is synced; WeCom refused some calls (see Problems).</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="324" />
        <source>The directory sync failed (see Problems).</source>
        <translation>The directory sync failed (see Problems).</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="343" />
        <source>Import names file</source>
        <translation>Import names file</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="344" />
        <source>Names files (*.json);;All files (*)</source>
        <translation>Names files (*.json);;All files (*)</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="365" />
        <source>The names file was not imported: %1</source>
        <translation>The names file was not imported: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="389" />
        <source>The secrets were not saved: %1</source>
        <translation>The secrets were not saved: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="391" />
        <source>The secrets are kept in the OS keyring.</source>
        <translation>The secrets are kept in the OS keyring.</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="400" />
        <source>The schedule was not saved: %1</source>
        <translation>The schedule was not saved: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="403" />
        <source>The directory is synced every %1 hours while background jobs run.</source>
        <translation>The directory is synced every %1 hours while background jobs run.</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="404" />
        <source>Scheduled directory syncs are off.</source>
        <translation>Scheduled directory syncs are off.</translation>
    </message>
</context>
<context>
    <name>DrawDialog</name>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="430" />
        <source>Draw “%1” now</source>
        <translation>Draw “%1” now</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="431" />
        <source>Draw</source>
        <translation>Draw</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="437" />
        <source>The week holding:</source>
        <translation>The week holding:</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="439" />
        <source>The week runs from Monday 00:00 to the next Monday, local time. A week is drawn once per rule; the sample goes to the reviewers' queue (My sample).</source>
        <translation>The week runs from Monday 00:00 to the next Monday, local time. A week is drawn once per rule; the sample goes to the reviewers' queue (My sample).</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="448" />
        <source>Drawing…</source>
        <translation>Drawing…</translation>
    </message>
</context>
<context>
    <name>EvidenceModel</name>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="271" />
        <source>Entry</source>
        <translation>Entry</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="271" />
        <source>Time</source>
        <translation>Time</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="271" />
        <source>Decision time</source>
        <translation>Decision time</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="271" />
        <source>Msgid</source>
        <translation>Msgid</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="274" />
        <source>Agreed to archiving</source>
        <translation>Agreed to archiving</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="274" />
        <source>Refused archiving</source>
        <translation>Refused archiving</translation>
    </message>
</context>
<context>
    <name>ExportDialog</name>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="119" />
        <source>Export evidence</source>
        <translation>Export evidence</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="124" />
        <source>Export:</source>
        <translation>Export:</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="126" />
        <source>From</source>
        <translation>From</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="127" />
        <source>To</source>
        <translation>To</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="134" />
        <source> h</source>
        <translation> h</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="136" />
        <source>The conversation around each message that is also exported</source>
        <translation>The conversation around each message that is also exported</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="144" />
        <source>Dates:</source>
        <translation>Dates:</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="150" />
        <source>Context (±hours):</source>
        <translation>Context (±hours):</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="153" />
        <location filename="../../app/ui/export_dialog.py" line="263" />
        <source>Output folder</source>
        <translation>Output folder</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="154" />
        <source>Browse…</source>
        <translation>Browse…</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="158" />
        <source>Output folder:</source>
        <translation>Output folder:</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="159" />
        <source>As a single zip file</source>
        <translation>As a single zip file</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="160" />
        <source>One .zip file holding the package folder, easy to send; `wecom-auditor verify` checks it without unzipping</source>
        <translation>One .zip file holding the package folder, easy to send; `wecom-auditor verify` checks it without unzipping</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="162" />
        <source>PDF transcripts</source>
        <translation>PDF transcripts</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="164" />
        <source>A PDF per conversation besides the HTML transcript (slower for large exports)</source>
        <translation>A PDF per conversation besides the HTML transcript (slower for large exports)</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="170" />
        <source>Package:</source>
        <translation>Package:</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="67" />
        <source>Export signing key</source>
        <translation>Export signing key</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="71" />
        <source>Passphrase of the export signing key:</source>
        <translation>Passphrase of the export signing key:</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="74" />
        <source>This computer has no keyring: the export signing key is kept encrypted under a passphrase. Choose it (asked for at each export):</source>
        <translation>This computer has no keyring: the export signing key is kept encrypted under a passphrase. Choose it (asked for at each export):</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="78" />
        <source>The same passphrase again:</source>
        <translation>The same passphrase again:</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="82" />
        <source>The two passphrases differ.</source>
        <translation>The two passphrases differ.</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="398" />
        <source>1 message</source>
        <translation>1 message</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="399" />
        <source>1 conversation</source>
        <translation>1 conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="399" />
        <source>%1 conversations</source>
        <translation>%1 conversations</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="400" />
        <source>1 media file</source>
        <translation>1 media file</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="400" />
        <source>%1 media files</source>
        <translation>%1 media files</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="402" />
        <source>1 hit</source>
        <translation>1 hit</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="402" />
        <source>%1 hits</source>
        <translation>%1 hits</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="404" />
        <source>1 PDF transcript</source>
        <translation>1 PDF transcript</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="404" />
        <source>%1 PDF transcripts</source>
        <translation>%1 PDF transcripts</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="405" />
        <source>, </source>
        <translation>, </translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="407" />
        <source>; %1 media not stored in the archive (listed in the load file)</source>
        <translation>; %1 media not stored in the archive (listed in the load file)</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="192" />
        <source>Contents:</source>
        <translation>Contents:</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="195" />
        <source>Export</source>
        <translation>Export</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="197" />
        <source>Cancel export</source>
        <translation>Cancel export</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="199" />
        <source>Open folder</source>
        <translation>Open folder</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="201" />
        <source>Close</source>
        <translation>Close</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="282" />
        <source>The end date is before the start date.</source>
        <translation>The end date is before the start date.</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="290" />
        <source>Choose an output folder.</source>
        <translation>Choose an output folder.</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="296" />
        <source>The output folder cannot be created: %1</source>
        <translation>The output folder cannot be created: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="331" />
        <location filename="../../app/ui/export_dialog.py" line="360" />
        <source>Preparing the export…</source>
        <translation>Preparing the export…</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="343" />
        <source>Cancelling…</source>
        <translation>Cancelling…</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="398" />
        <source>%1 messages</source>
        <translation>%1 messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="190" />
        <source>Saved as:</source>
        <translation>Saved as:</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="191" />
        <source>Package fingerprint:</source>
        <translation>Package fingerprint:</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="356" />
        <source>Copying messages and media…</source>
        <translation>Copying messages and media…</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="356" />
        <source>Writing transcripts…</source>
        <translation>Writing transcripts…</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="357" />
        <source>%1 (%2%)</source>
        <translation>%1 (%2%)</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="375" />
        <source>The export was cancelled; nothing was written.</source>
        <translation>The export was cancelled; nothing was written.</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="379" />
        <source>The export failed: %1</source>
        <translation>The export failed: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="385" />
        <source>The evidence package is ready.</source>
        <translation>The evidence package is ready.</translation>
    </message>
</context>
<context>
    <name>FindBar</name>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="58" />
        <source>Find in this conversation</source>
        <extracomment>a hit to show: (corp id, session id, message id) the terms to mark in the bubbles changed (a tuple of normalised texts; () when closed)</extracomment>
        <translation>Find in this conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="60" />
        <source>Words or a query as in the search panel; Enter: next hit, Shift+Enter: previous hit (F3 / Shift+F3 anywhere in the window)</source>
        <translation>Words or a query as in the search panel; Enter: next hit, Shift+Enter: previous hit (F3 / Shift+F3 anywhere in the window)</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="64" />
        <source>Previous hit (Shift+F3)</source>
        <translation>Previous hit (Shift+F3)</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="67" />
        <source>Next hit (F3)</source>
        <translation>Next hit (F3)</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="72" />
        <source>Close (Esc): no more marks</source>
        <translation>Close (Esc): no more marks</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="145" />
        <source>1 hit in this conversation</source>
        <translation>1 hit in this conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="146" />
        <source>%1 hits in this conversation</source>
        <translation>%1 hits in this conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="147" />
        <location filename="../../app/ui/viewer/find.py" line="187" />
        <source>No hits in this conversation</source>
        <translation>No hits in this conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="189" />
        <source>from the first hit again</source>
        <translation>from the first hit again</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="189" />
        <source>from the last hit again</source>
        <translation>from the last hit again</translation>
    </message>
</context>
<context>
    <name>FirstRunDialog</name>
    <message>
        <location filename="../../app/ui/auth/login.py" line="196" />
        <source>Create the first administrator — WeCom Archive Auditor</source>
        <translation>Create the first administrator — WeCom Archive Auditor</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="197" />
        <source>Create and open</source>
        <translation>Create and open</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="198" />
        <source>Quit</source>
        <translation>Quit</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="199" />
        <source>Welcome to WeCom Archive Auditor</source>
        <translation>Welcome to WeCom Archive Auditor</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="201" />
        <source>This archive has no accounts yet. Create the first administrator: it manages the settings, the syncs and the other accounts. Everything done in the app is recorded under an account in the audit log.</source>
        <translation>This archive has no accounts yet. Create the first administrator: it manages the settings, the syncs and the other accounts. Everything done in the app is recorded under an account in the audit log.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="205" />
        <source>Archive: %1</source>
        <translation>Archive: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="207" />
        <source>User name</source>
        <translation>User name</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="212" />
        <source>Roles of this account. On a workstation used by one person, keep them all; in a team, keep only Administrator and create an account for each reviewer.</source>
        <translation>Roles of this account. On a workstation used by one person, keep them all; in a team, keep only Administrator and create an account for each reviewer.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="215" />
        <source>Open without login on this workstation (only while the archive has this single account)</source>
        <translation>Open without login on this workstation (only while the archive has this single account)</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="210" />
        <source>User name:</source>
        <translation>User name:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="243" />
        <source>Creating the account…</source>
        <translation>Creating the account…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="272" />
        <source>Another workstation has just created the first account of this archive: log in with an account an administrator gives you.</source>
        <translation>Another workstation has just created the first account of this archive: log in with an account an administrator gives you.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="275" />
        <source>Log in instead</source>
        <translation>Log in instead</translation>
    </message>
</context>
<context>
    <name>GroupMembersPanel</name>
    <message>
        <location filename="../../app/ui/members_panel.py" line="111" />
        <source>Open conversation</source>
        <translation>Open conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="132" />
        <source>Group:</source>
        <translation>Group:</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="154" />
        <source>The archive holds no corp yet.</source>
        <translation>The archive holds no corp yet.</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="169" />
        <source>Group %1</source>
        <translation>Group %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="177" />
        <source>No group conversations (or none in your scope).</source>
        <translation>No group conversations (or none in your scope).</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="221" />
        <source>The member list cannot be read: %1</source>
        <translation>The member list cannot be read: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="236" />
        <source>This group is not in the archive (or not in your scope).</source>
        <translation>This group is not in the archive (or not in your scope).</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="241" />
        <source>internal group</source>
        <translation>internal group</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="241" />
        <source>customer group</source>
        <translation>customer group</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="246" />
        <source>owner %1</source>
        <translation>owner %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="248" />
        <source>created %1</source>
        <translation>created %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="250" />
        <source>%1 as WeCom listed them on %2</source>
        <translation>%1 as WeCom listed them on %2</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="251" />
        <source>1 member</source>
        <translation>1 member</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="251" />
        <source>%1 members</source>
        <translation>%1 members</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="254" />
        <source>WeCom has not described this group (Directory → Sync from WeCom): the people seen in its messages are listed</source>
        <translation>WeCom has not described this group (Directory → Sync from WeCom): the people seen in its messages are listed</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="257" />
        <source>1 has left</source>
        <translation>1 has left</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="257" />
        <source>%1 have left</source>
        <translation>%1 have left</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="259" />
        <source>1 more seen in the archive only</source>
        <translation>1 more seen in the archive only</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="260" />
        <source>%1 more seen in the archive only</source>
        <translation>%1 more seen in the archive only</translation>
    </message>
</context>
<context>
    <name>ImageViewDialog</name>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="134" />
        <source>Image</source>
        <translation>Image</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="141" />
        <source>Loading…</source>
        <translation>Loading…</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="145" />
        <source>Actual size</source>
        <translation>Actual size</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="149" />
        <source>Save as…</source>
        <translation>Save as…</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="171" />
        <source>This image cannot be shown: {error}</source>
        <translation>This image cannot be shown: {error}</translation>
    </message>
</context>
<context>
    <name>Insights</name>
    <message>
        <location filename="../../app/ui/insight_common.py" line="44" />
        <source>Group %1</source>
        <translation>Group %1</translation>
    </message>
</context>
<context>
    <name>JobsModel</name>
    <message>
        <location filename="../../app/ui/queue/model.py" line="37" />
        <source>State</source>
        <translation>State</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="37" />
        <source>Job</source>
        <translation>Job</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="37" />
        <source>Kind</source>
        <translation>Kind</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="37" />
        <source>Attempts</source>
        <translation>Attempts</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="37" />
        <source>When</source>
        <translation>When</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="38" />
        <source>Worker</source>
        <translation>Worker</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="38" />
        <source>Last error</source>
        <translation>Last error</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="32" />
        <source>Scheduled</source>
        <translation>Scheduled</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="32" />
        <source>Ready</source>
        <translation>Ready</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="32" />
        <source>Running</source>
        <translation>Running</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="33" />
        <source>Dead</source>
        <translation>Dead</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="34" />
        <source>Media download</source>
        <translation>Media download</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="34" />
        <source>Scheduled sync</source>
        <translation>Scheduled sync</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="75" />
        <source>lease until %1</source>
        <translation>lease until %1</translation>
    </message>
</context>
<context>
    <name>LanguagePage</name>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="213" />
        <source>Follow the system</source>
        <translation>Follow the system</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="221" />
        <source>The new language takes effect after you restart the app.</source>
        <translation>The new language takes effect after you restart the app.</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <location filename="../../app/ui/auth/login.py" line="130" />
        <source>Log in — WeCom Archive Auditor</source>
        <translation>Log in — WeCom Archive Auditor</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="131" />
        <source>Log in</source>
        <translation>Log in</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="132" />
        <source>Quit</source>
        <translation>Quit</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="133" />
        <source>WeCom Archive Auditor</source>
        <translation>WeCom Archive Auditor</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="134" />
        <source>Archive: %1</source>
        <translation>Archive: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="139" />
        <source>User name</source>
        <translation>User name</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="142" />
        <source>Password</source>
        <translation>Password</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="144" />
        <source>User name:</source>
        <translation>User name:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="145" />
        <source>Password:</source>
        <translation>Password:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="162" />
        <source>Enter your user name.</source>
        <translation>Enter your user name.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="164" />
        <source>Enter your password.</source>
        <translation>Enter your password.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../app/ui/main_window.py" line="85" />
        <location filename="../../app/ui/main_window.py" line="279" />
        <source>WeCom Archive Auditor</source>
        <translation>WeCom Archive Auditor</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="139" />
        <source>&amp;File</source>
        <translation>&amp;File</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="140" />
        <source>&amp;Settings…</source>
        <translation>&amp;Settings…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="141" />
        <source>&amp;Quit</source>
        <translation>&amp;Quit</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="142" />
        <source>&amp;Export evidence…</source>
        <translation>&amp;Export evidence…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="143" />
        <source>Export search &amp;results…</source>
        <translation>Export search &amp;results…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="144" />
        <source>Export &amp;selected messages…</source>
        <translation>Export &amp;selected messages…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="145" />
        <source>&amp;Verify evidence package…</source>
        <translation>&amp;Verify evidence package…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="149" />
        <source>&amp;Print conversation…</source>
        <translation>&amp;Print conversation…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="158" />
        <source>S&amp;ync</source>
        <translation>S&amp;ync</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="159" />
        <source>&amp;Sync now</source>
        <translation>&amp;Sync now</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="160" />
        <source>Sync every configured corp, one after the other</source>
        <translation>Sync every configured corp, one after the other</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="161" />
        <source>Sync &amp;one corp</source>
        <translation>Sync &amp;one corp</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="163" />
        <source>&amp;Cancel sync</source>
        <translation>&amp;Cancel sync</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="164" />
        <source>Sync &amp;history…</source>
        <translation>Sync &amp;history…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="165" />
        <source>Background &amp;jobs…</source>
        <translation>Background &amp;jobs…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="171" />
        <source>&amp;View</source>
        <translation>&amp;View</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="172" />
        <source>&amp;Search messages</source>
        <translation>&amp;Search messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="173" />
        <source>&amp;Copy selected messages</source>
        <translation>&amp;Copy selected messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="174" />
        <source>&amp;Jump to date…</source>
        <translation>&amp;Jump to date…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="175" />
        <source>&amp;Find in this conversation…</source>
        <translation>&amp;Find in this conversation…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="176" />
        <source>&amp;Next hit</source>
        <translation>&amp;Next hit</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="177" />
        <source>&amp;Previous hit</source>
        <translation>&amp;Previous hit</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="183" />
        <source>&amp;Account</source>
        <translation>&amp;Account</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="184" />
        <source>Change &amp;password…</source>
        <translation>Change &amp;password…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="185" />
        <source>&amp;Accounts…</source>
        <translation>&amp;Accounts…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="186" />
        <source>Audit &amp;log…</source>
        <translation>Audit &amp;log…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="187" />
        <source>Open &amp;without login on this workstation</source>
        <translation>Open &amp;without login on this workstation</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="188" />
        <source>Log &amp;out</source>
        <translation>Log &amp;out</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="195" />
        <source>&amp;Help</source>
        <translation>&amp;Help</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="196" />
        <source>&amp;About</source>
        <translation>&amp;About</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="343" />
        <source>Preparing the demo archive… (about ten seconds the first time)</source>
        <translation>Preparing the demo archive… (about ten seconds the first time)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="499" />
        <source>Open a conversation to print.</source>
        <translation>Open a conversation to print.</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="570" />
        <source>Logged in: %1</source>
        <translation>Logged in: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="570" />
        <source>Acting as: %1</source>
        <translation>Acting as: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="572" />
        <source>Roles: %1</source>
        <translation>Roles: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="292" />
        <source>Search index updated: 1 message</source>
        <translation>Search index updated: 1 message</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="293" />
        <source>Search index updated: %1 messages</source>
        <translation>Search index updated: %1 messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="355" />
        <source>Demo archive</source>
        <translation>Demo archive</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="408" />
        <source>last synced %1 (%2)</source>
        <translation>last synced %1 (%2)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="409" />
        <source>never synced</source>
        <translation>never synced</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="416" />
        <source>finished</source>
        <translation>finished</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="416" />
        <source>cancelled</source>
        <translation>cancelled</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="416" />
        <source>failed</source>
        <translation>failed</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="417" />
        <source>interrupted</source>
        <translation>interrupted</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="446" />
        <source>1 new message</source>
        <translation>1 new message</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="446" />
        <source>%1 new messages</source>
        <translation>%1 new messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="447" />
        <source>1 quarantined</source>
        <translation>1 quarantined</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="447" />
        <source>%1 quarantined</source>
        <translation>%1 quarantined</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="448" />
        <source>1 media file stored</source>
        <translation>1 media file stored</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="448" />
        <source>%1 media files stored</source>
        <translation>%1 media files stored</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="451" />
        <source>Sync %1: %2</source>
        <translation>Sync %1: %2</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="452" />
        <source>, </source>
        <translation>, </translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="484" />
        <source>Choose a session to export.</source>
        <translation>Choose a session to export.</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="489" />
        <source>Session %1</source>
        <translation>Session %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="512" />
        <source>Nothing to export: %1</source>
        <translation>Nothing to export: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="515" />
        <source>Search: %1</source>
        <translation>Search: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="524" />
        <source>Select the messages to export first.</source>
        <translation>Select the messages to export first.</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="528" />
        <source>1 selected message</source>
        <translation>1 selected message</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="529" />
        <source>%1 selected messages</source>
        <translation>%1 selected messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="593" />
        <source>Open without login</source>
        <translation>Open without login</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="599" />
        <source>This workstation opens without login from now on.</source>
        <translation>This workstation opens without login from now on.</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="600" />
        <source>This workstation asks for the password from now on.</source>
        <translation>This workstation asks for the password from now on.</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="607" />
        <source>Password changed.</source>
        <translation>Password changed.</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="630" />
        <source>The roles or the scope of your account changed: the window was reopened with them.</source>
        <translation>The roles or the scope of your account changed: the window was reopened with them.</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="660" />
        <source>About</source>
        <translation>About</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="661" />
        <source>WeCom Archive Auditor
Archive and review WeCom chats for compliance.</source>
        <translation>WeCom Archive Auditor
Archive and review WeCom chats for compliance.</translation>
    </message>
</context>
<context>
    <name>MediaActions</name>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="223" />
        <source>Save voice message</source>
        <translation>Save voice message</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="223" />
        <source>Save as</source>
        <translation>Save as</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="240" />
        <location filename="../../app/ui/viewer/media_view.py" line="274" />
        <source>Open file</source>
        <translation>Open file</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="241" />
        <source>Programs and scripts from messages are never opened. Use "Save as…" to keep a copy.</source>
        <translation>Programs and scripts from messages are never opened. Use "Save as…" to keep a copy.</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="271" />
        <source>No program on this computer opens .{ext} files.</source>
        <translation>No program on this computer opens .{ext} files.</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="272" />
        <source>No program on this computer opens files of this type.</source>
        <translation>No program on this computer opens files of this type.</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="275" />
        <source>Nothing was opened, and nothing is recorded as opened. Use "Save as…" to keep a copy, or install a program for this type.</source>
        <translation>Nothing was opened, and nothing is recorded as opened. Use "Save as…" to keep a copy, or install a program for this type.</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="280" />
        <location filename="../../app/ui/viewer/media_view.py" line="286" />
        <source>Media</source>
        <translation>Media</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="281" />
        <source>The file was opened, but this could not be recorded: {error}</source>
        <translation>The file was opened, but this could not be recorded: {error}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="287" />
        <source>The file could not be copied: {error}</source>
        <translation>The file could not be copied: {error}</translation>
    </message>
</context>
<context>
    <name>MediaStoragePage</name>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="142" />
        <source>Test connection</source>
        <translation>Test connection</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="143" />
        <source>Writes, reads back and deletes a small test object (for a folder: checks it can be written), off the main window.</source>
        <translation>Writes, reads back and deletes a small test object (for a folder: checks it can be written), off the main window.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="154" />
        <source>Images, voice, video and files are downloaded, verified against WeCom's checksum and stored under their SHA-256. Choose where:</source>
        <translation>Images, voice, video and files are downloaded, verified against WeCom's checksum and stored under their SHA-256. Choose where:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="160" />
        <source>Secret keys are kept in the keyring, never in the settings file. Files already stored stay where they are and remain readable; to move them, run: wecom-auditor media migrate --to oss (or cos, local). A new choice takes effect after a restart.</source>
        <translation>Secret keys are kept in the keyring, never in the settings file. Files already stored stay where they are and remain readable; to move them, run: wecom-auditor media migrate --to oss (or cos, local). A new choice takes effect after a restart.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="228" />
        <source>The media folder has a value to fix.</source>
        <translation>The media folder has a value to fix.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="229" />
        <source>The media storage has a value to fix.</source>
        <translation>The media storage has a value to fix.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="237" />
        <source>Give the full path of the folder.</source>
        <translation>Give the full path of the folder.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="239" />
        <source>This is a file; choose a folder.</source>
        <translation>This is a file; choose a folder.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="255" />
        <source>Enter the secret key (it is kept in the keyring).</source>
        <translation>Enter the secret key (it is kept in the keyring).</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="283" />
        <source>Cannot read the keyring: %1</source>
        <translation>Cannot read the keyring: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="292" />
        <source>No keyring on this computer: give the secret key in the environment variable %1.</source>
        <translation>No keyring on this computer: give the secret key in the environment variable %1.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="295" />
        <source>Stored in the keyring when you click OK.</source>
        <translation>Stored in the keyring when you click OK.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="299" />
        <source>Stored in the keyring.</source>
        <translation>Stored in the keyring.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="301" />
        <source>Read from the environment variable %1.</source>
        <translation>Read from the environment variable %1.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="303" />
        <source>Not set.</source>
        <translation>Not set.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="332" />
        <source>Connecting…</source>
        <translation>Connecting…</translation>
    </message>
</context>
<context>
    <name>MemberModel</name>
    <message>
        <location filename="../../app/ui/members_panel.py" line="52" />
        <source>Invited by a member</source>
        <translation>Invited by a member</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="52" />
        <source>Through a link</source>
        <translation>Through a link</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="53" />
        <source>Scanned a QR code</source>
        <translation>Scanned a QR code</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="56" />
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="56" />
        <source>Id</source>
        <translation>Id</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="56" />
        <source>Staff or corp</source>
        <translation>Staff or corp</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="56" />
        <source>Joined</source>
        <translation>Joined</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="56" />
        <source>How</source>
        <translation>How</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="57" />
        <source>Invited by</source>
        <translation>Invited by</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="57" />
        <source>Messages here</source>
        <translation>Messages here</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="57" />
        <source>Last message here</source>
        <translation>Last message here</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="57" />
        <source>Membership</source>
        <translation>Membership</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="62" />
        <source>%1 (owner)</source>
        <translation>%1 (owner)</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="67" />
        <source>External %1</source>
        <translation>External %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="67" />
        <source>External</source>
        <translation>External</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="69" />
        <source>Staff, %1</source>
        <translation>Staff, %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="69" />
        <source>Staff</source>
        <translation>Staff</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="83" />
        <source>Left (not listed since %1)</source>
        <translation>Left (not listed since %1)</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="84" />
        <source>Member</source>
        <translation>Member</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="84" />
        <source>Seen in the archive only</source>
        <translation>Seen in the archive only</translation>
    </message>
</context>
<context>
    <name>MessageDelegate</name>
    <message>
        <location filename="../../app/ui/viewer/delegate.py" line="264" />
        <source>[Cannot show this part]</source>
        <translation>[Cannot show this part]</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/delegate.py" line="301" />
        <source>Open</source>
        <translation>Open</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/delegate.py" line="303" />
        <source>Save voice…</source>
        <translation>Save voice…</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/delegate.py" line="304" />
        <source>Save as…</source>
        <translation>Save as…</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/delegate.py" line="307" />
        <source>View</source>
        <translation>View</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/delegate.py" line="573" />
        <source>Recalled at {time}</source>
        <translation>Recalled at {time}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/delegate.py" line="678" />
        <source>Loading…</source>
        <translation>Loading…</translation>
    </message>
</context>
<context>
    <name>MessageDetailsDialog</name>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="121" />
        <source>Message details</source>
        <translation>Message details</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="124" />
        <source>This message is not in the archive.</source>
        <translation>This message is not in the archive.</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="129" />
        <source>This message cannot be shown to your account: {reason}</source>
        <translation>This message cannot be shown to your account: {reason}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="132" />
        <source>This message cannot be shown: {reason}</source>
        <translation>This message cannot be shown: {reason}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="144" />
        <source>Fields</source>
        <translation>Fields</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="148" />
        <source>Raw JSON (formatted)</source>
        <translation>Raw JSON (formatted)</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="149" />
        <source>Raw JSON (exact bytes)</source>
        <translation>Raw JSON (exact bytes)</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="150" />
        <source>Hex</source>
        <translation>Hex</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="151" />
        <source>Media ({n})</source>
        <translation>Media ({n})</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="156" />
        <source>SHA-256:</source>
        <translation>SHA-256:</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="160" />
        <source>Verify</source>
        <translation>Verify</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="168" />
        <source>Copy raw JSON</source>
        <translation>Copy raw JSON</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="195" />
        <source>msgid</source>
        <translation>msgid</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="196" />
        <source>seq</source>
        <translation>seq</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="197" />
        <source>Public key version</source>
        <translation>Public key version</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="198" />
        <source>action</source>
        <translation>action</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="199" />
        <source>From</source>
        <translation>From</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="200" />
        <source>To</source>
        <translation>To</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="201" />
        <source>roomid</source>
        <translation>roomid</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="202" />
        <source>msgtime</source>
        <translation>msgtime</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="203" />
        <source>msgtype</source>
        <translation>msgtype</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="203" />
        <source>(not supported)</source>
        <translation>(not supported)</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="204" />
        <source>Session</source>
        <translation>Session</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="206" />
        <source>Recalled</source>
        <translation>Recalled</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="206" />
        <source>Recalled at {time}</source>
        <translation>Recalled at {time}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="208" />
        <source>Recalls message</source>
        <translation>Recalls message</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="209" />
        <source>Stored size</source>
        <translation>Stored size</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="209" />
        <source>{n} bytes</source>
        <translation>{n} bytes</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="214" />
        <location filename="../../app/ui/viewer/details.py" line="217" />
        <source>Parse problems</source>
        <translation>Parse problems</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="224" />
        <source>Content</source>
        <translation>Content</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="228" />
        <source>Where</source>
        <translation>Where</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="228" />
        <source>Kind</source>
        <translation>Kind</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="228" />
        <source>File name</source>
        <translation>File name</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="228" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="228" />
        <source>Size</source>
        <translation>Size</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="229" />
        <source>MD5 matched</source>
        <translation>MD5 matched</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="229" />
        <source>SHA-256</source>
        <translation>SHA-256</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="229" />
        <source>Last error</source>
        <translation>Last error</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="235" />
        <source>yes</source>
        <translation>yes</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="235" />
        <source>no</source>
        <translation>no</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="254" />
        <source>Match: the stored JSON has the SHA-256 recorded when it was archived.</source>
        <translation>Match: the stored JSON has the SHA-256 recorded when it was archived.</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="256" />
        <source>MISMATCH: the stored JSON now hashes to {sha}</source>
        <translation>MISMATCH: the stored JSON now hashes to {sha}</translation>
    </message>
</context>
<context>
    <name>MessageListModel</name>
    <message>
        <location filename="../../app/ui/viewer/model.py" line="344" />
        <source>[recalled at {time}]</source>
        <extracomment>a new window is shown; the id of the row to bring into view (-1: the newest, at the bottom) the session a person opened (``record_open``), as ArchiveService.open_session returned it (a SessionRow, or None if the archive has no such session); emitted before window_opened the core refused to open the session (the reason, one sentence); the window is now empty the media rows of these messages changed (a download finished): their bubbles must be drawn anew a prefetched page is staged beyond one end of the window ("older" or "newer"): see staged_facts</extracomment>
        <translation>[recalled at {time}]</translation>
    </message>
</context>
<context>
    <name>MessageRenderer</name>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="166" />
        <source>{amount} yuan</source>
        <translation>{amount} yuan</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="357" />
        <source>[This message could not be read: {type}]</source>
        <translation>[This message could not be read: {type}]</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="358" />
        <location filename="../../app/ui/viewer/render.py" line="707" />
        <source>Show raw JSON</source>
        <translation>Show raw JSON</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="402" />
        <source>{who} recalled a message</source>
        <translation>{who} recalled a message</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="407" />
        <source>{who} agreed to have chats archived</source>
        <translation>{who} agreed to have chats archived</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="413" />
        <source>{who} declined to have chats archived</source>
        <translation>{who} declined to have chats archived</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="616" />
        <source>{who} switched enterprise</source>
        <translation>{who} switched enterprise</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="471" />
        <source>{n} forwarded messages</source>
        <translation>{n} forwarded messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="625" />
        <source>Collapse</source>
        <translation>Collapse</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="626" />
        <source>Show all {n} items</source>
        <translation>Show all {n} items</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="422" />
        <source>Voice message</source>
        <translation>Voice message</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="576" />
        <source>Ended {time}</source>
        <translation>Ended {time}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="578" />
        <source>Shared file: {name} ({who})</source>
        <translation>Shared file: {name} ({who})</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="581" />
        <source>Shared screen: {who}</source>
        <translation>Shared screen: {who}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="582" />
        <source>Call recording</source>
        <translation>Call recording</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="522" />
        <location filename="../../app/ui/viewer/render.py" line="552" />
        <source>Place: {place}</source>
        <translation>Place: {place}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="554" />
        <source>Attendees: {names}</source>
        <translation>Attendees: {names}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="532" />
        <location filename="../../app/ui/viewer/render.py" line="557" />
        <source>Created by {who}</source>
        <translation>Created by {who}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="424" />
        <source>AMR audio cannot be played inside this app: "Open" plays it with a program of this computer that can.</source>
        <translation>AMR audio cannot be played inside this app: "Open" plays it with a program of this computer that can.</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="494" />
        <source>Started a vote</source>
        <translation>Started a vote</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="495" />
        <source>Voted</source>
        <translation>Voted</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="510" />
        <source>Amount: {amount}</source>
        <translation>Amount: {amount}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="512" />
        <source>Packets: {n}</source>
        <translation>Packets: {n}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="603" />
        <source>Call</source>
        <translation>Call</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="604" />
        <source>Duration {d}</source>
        <translation>Duration {d}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="629" />
        <source>Attended</source>
        <translation>Attended</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="630" />
        <source>Declined</source>
        <translation>Declined</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="631" />
        <source>Not answered yet</source>
        <translation>Not answered yet</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="632" />
        <source>Cancelled</source>
        <translation>Cancelled</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="633" />
        <source>Expired</source>
        <translation>Expired</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="634" />
        <source>Normal red packet</source>
        <translation>Normal red packet</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="635" />
        <source>Lucky red packet</source>
        <translation>Lucky red packet</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="636" />
        <source>Incentive red packet</source>
        <translation>Incentive red packet</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="637" />
        <source>Picture post</source>
        <translation>Picture post</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="638" />
        <source>Video post</source>
        <translation>Video post</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="639" />
        <source>Live stream</source>
        <translation>Live stream</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="640" />
        <source>Voice call</source>
        <translation>Voice call</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="641" />
        <source>Video call</source>
        <translation>Video call</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="642" />
        <source>Group voice call</source>
        <translation>Group voice call</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="643" />
        <source>Group video call</source>
        <translation>Group video call</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="654" />
        <source>({n} more characters: open Details to read the whole message)</source>
        <translation>({n} more characters: open Details to read the whole message)</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="679" />
        <source>Not archived (no media reference)</source>
        <translation>Not archived (no media reference)</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="683" />
        <source>Download pending</source>
        <translation>Download pending</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="685" />
        <source>Expired: WeCom no longer holds this file</source>
        <translation>Expired: WeCom no longer holds this file</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="688" />
        <source>Download failed: {reason}</source>
        <translation>Download failed: {reason}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="689" />
        <source>Download failed</source>
        <translation>Download failed</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="706" />
        <source>[Unsupported message type: {type}]</source>
        <translation>[Unsupported message type: {type}]</translation>
    </message>
</context>
<context>
    <name>MessageViewer</name>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="185" />
        <source>Jump to date…</source>
        <extracomment>a message id, on double-click (declared qint64: ids are 64-bit snowflakes, beyond Qt's int) the target of show_message / jump_to_date is selected and scrolled into view</extracomment>
        <translation>Jump to date…</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="186" />
        <source>Show the first message of a day (Ctrl+G)</source>
        <translation>Show the first message of a day (Ctrl+G)</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="189" />
        <source>Newest</source>
        <translation>Newest</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="190" />
        <source>Go to the newest message</source>
        <translation>Go to the newest message</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="193" />
        <source>Oldest</source>
        <translation>Oldest</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="194" />
        <source>Go to the first message of the conversation</source>
        <translation>Go to the first message of the conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="197" />
        <location filename="../../app/ui/viewer/widget.py" line="718" />
        <source>Details…</source>
        <translation>Details…</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="198" />
        <source>Fields, raw JSON and SHA-256 of the selected message</source>
        <translation>Fields, raw JSON and SHA-256 of the selected message</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="225" />
        <source>Choose a session to read its messages.</source>
        <translation>Choose a session to read its messages.</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="475" />
        <source>This conversation cannot be shown to your account.
{reason}</source>
        <translation>This conversation cannot be shown to your account.
{reason}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="657" />
        <source>1 participant</source>
        <translation>1 participant</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="658" />
        <source>%1 participants</source>
        <translation>%1 participants</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="659" />
        <source>1 message</source>
        <translation>1 message</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="659" />
        <source>%1 messages</source>
        <translation>%1 messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="670" />
        <source>Loading…</source>
        <translation>Loading…</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="673" />
        <source>Could not load messages: {error}</source>
        <translation>Could not load messages: {error}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="716" />
        <source>Copy</source>
        <translation>Copy</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="720" />
        <source>Export selected messages…</source>
        <translation>Export selected messages…</translation>
    </message>
</context>
<context>
    <name>NewAccountDialog</name>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="253" />
        <source>New account</source>
        <translation>New account</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="254" />
        <source>Create</source>
        <translation>Create</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="256" />
        <source>User name</source>
        <translation>User name</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="258" />
        <source>Initial password:</source>
        <translation>Initial password:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="258" />
        <source>Repeat password:</source>
        <translation>Repeat password:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="260" />
        <source>The owner must choose a new password at the first login</source>
        <translation>The owner must choose a new password at the first login</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="264" />
        <source>Change…</source>
        <translation>Change…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="269" />
        <source>User name:</source>
        <translation>User name:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="271" />
        <source>Roles:</source>
        <translation>Roles:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="272" />
        <source>Scope:</source>
        <translation>Scope:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="296" />
        <source>Give the account at least one role.</source>
        <translation>Give the account at least one role.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="300" />
        <source>Creating the account…</source>
        <translation>Creating the account…</translation>
    </message>
</context>
<context>
    <name>NewPasswordFields</name>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="97" />
        <source>Password</source>
        <translation>Password</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="98" />
        <source>Repeat password</source>
        <translation>Repeat password</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="102" />
        <source>Show</source>
        <translation>Show</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="106" />
        <source>Generate</source>
        <translation>Generate</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="107" />
        <source>Fill in a random password and show it, to hand it over</source>
        <translation>Fill in a random password and show it, to hand it over</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="117" />
        <source>Password:</source>
        <translation>Password:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="118" />
        <source>Repeat password:</source>
        <translation>Repeat password:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="140" />
        <source>Enter the new password.</source>
        <translation>Enter the new password.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="142" />
        <source>The two passwords differ.</source>
        <translation>The two passwords differ.</translation>
    </message>
</context>
<context>
    <name>NotesPane</name>
    <message>
        <location filename="../../app/ui/review/notes.py" line="45" />
        <source>Notes</source>
        <translation>Notes</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="57" />
        <source>Earlier versions</source>
        <translation>Earlier versions</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="60" />
        <source>Write a note…</source>
        <translation>Write a note…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="62" />
        <source>Add to message</source>
        <translation>Add to message</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="63" />
        <source>Add to conversation</source>
        <translation>Add to conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="64" />
        <source>Edit</source>
        <translation>Edit</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="65" />
        <source>Save new version</source>
        <translation>Save new version</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="113" />
        <source>Choose a conversation to read and write notes.</source>
        <translation>Choose a conversation to read and write notes.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="115" />
        <source>Notes on this conversation</source>
        <translation>Notes on this conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="117" />
        <source>Notes on the selected message and its conversation</source>
        <translation>Notes on the selected message and its conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="123" />
        <source>Only its author may change a note.</source>
        <translation>Only its author may change a note.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="126" />
        <source>No notes yet.</source>
        <translation>No notes yet.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="131" />
        <source>on the message</source>
        <translation>on the message</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="131" />
        <source>on the conversation</source>
        <translation>on the conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="134" />
        <source>edited %1 (version %2)</source>
        <translation>edited %1 (version %2)</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="137" />
        <location filename="../../app/ui/review/notes.py" line="199" />
        <source>(The text is hidden: your account sees who wrote a note and when, not what.)</source>
        <translation>(The text is hidden: your account sees who wrote a note and when, not what.)</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="169" />
        <source>edited · 1 earlier version</source>
        <translation>edited · 1 earlier version</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="170" />
        <source>edited · %1 earlier versions</source>
        <translation>edited · %1 earlier versions</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="196" />
        <source>Version %1 · %2 · %3</source>
        <translation>Version %1 · %2 · %3</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="211" />
        <source>Note added.</source>
        <translation>Note added.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="229" />
        <source>Saved as version %1; the earlier versions are kept.</source>
        <translation>Saved as version %1; the earlier versions are kept.</translation>
    </message>
</context>
<context>
    <name>Panels</name>
    <message>
        <location filename="../../app/ui/panel_list.py" line="19" />
        <source>Quarantine</source>
        <translation>Quarantine</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="41" />
        <source>Directory</source>
        <translation>Directory</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="43" />
        <source>Archived staff</source>
        <translation>Archived staff</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="45" />
        <source>Consent</source>
        <translation>Consent</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="55" />
        <source>Server</source>
        <translation>Server</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="64" />
        <source>Review</source>
        <translation>Review</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="91" />
        <source>Statistics</source>
        <translation>Statistics</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="93" />
        <source>Person timeline</source>
        <translation>Person timeline</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="95" />
        <source>Group members</source>
        <translation>Group members</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="97" />
        <source>Print conversation</source>
        <translation>Print conversation</translation>
    </message>
</context>
<context>
    <name>PathField</name>
    <message>
        <location filename="../../app/ui/settings/fields.py" line="45" />
        <source>Browse…</source>
        <translation>Browse…</translation>
    </message>
</context>
<context>
    <name>PoliciesPage</name>
    <message>
        <location filename="../../app/ui/review/settings.py" line="254" />
        <source>A policy is a saved query that raises an alert in the reviewers' queue for each conversation and day with new matches.</source>
        <translation>A policy is a saved query that raises an alert in the reviewers' queue for each conversation and day with new matches.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="257" />
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="257" />
        <source>Query</source>
        <translation>Query</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="258" />
        <source>Runs</source>
        <translation>Runs</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="258" />
        <source>State</source>
        <translation>State</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="259" />
        <source>Assignee</source>
        <translation>Assignee</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="259" />
        <source>Alerts</source>
        <translation>Alerts</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="260" />
        <source>Last run</source>
        <translation>Last run</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="263" />
        <source>New…</source>
        <translation>New…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="264" />
        <source>Edit…</source>
        <translation>Edit…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="265" />
        <location filename="../../app/ui/review/settings.py" line="300" />
        <source>Disable</source>
        <translation>Disable</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="266" />
        <source>Run now…</source>
        <translation>Run now…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="283" />
        <source>%1 (%2 open)</source>
        <translation>%1 (%2 open)</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="285" />
        <source>Enabled</source>
        <translation>Enabled</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="285" />
        <source>Disabled</source>
        <translation>Disabled</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="286" />
        <source>never</source>
        <translation>never</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="299" />
        <source>Enable</source>
        <translation>Enable</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="304" />
        <source>Policy “%1” created: it looks at what arrives from now on.</source>
        <translation>Policy “%1” created: it looks at what arrives from now on.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="312" />
        <source>Policy “%1” saved.</source>
        <translation>Policy “%1” saved.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="319" />
        <source>“%1” is disabled: it raises no alerts.</source>
        <translation>“%1” is disabled: it raises no alerts.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="320" />
        <source>“%1” is enabled: it looks at what arrives from now on.</source>
        <translation>“%1” is enabled: it looks at what arrives from now on.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="334" />
        <source>“%1” ran on %2: %3; %4 raised, %5 given new hits.</source>
        <translation>“%1” ran on %2: %3; %4 raised, %5 given new hits.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="336" />
        <source>1 message</source>
        <translation>1 message</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="336" />
        <source>%1 messages</source>
        <translation>%1 messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="337" />
        <source>1 new hit</source>
        <translation>1 new hit</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="337" />
        <source>%1 new hits</source>
        <translation>%1 new hits</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="338" />
        <source>1 alert</source>
        <translation>1 alert</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="338" />
        <source>%1 alerts</source>
        <translation>%1 alerts</translation>
    </message>
</context>
<context>
    <name>PolicyDialog</name>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="169" />
        <source>New policy</source>
        <translation>New policy</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="169" />
        <source>Edit policy</source>
        <translation>Edit policy</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="174" />
        <source>e.g. 返现 OR 回扣 OR "私下转账"</source>
        <translation>e.g. 返现 OR 回扣 OR "私下转账"</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="184" />
        <source>user name of a reviewer; empty: nobody</source>
        <translation>user name of a reviewer; empty: nobody</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="186" />
        <source>Enabled: raises alerts</source>
        <translation>Enabled: raises alerts</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="190" />
        <source>Name:</source>
        <translation>Name:</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="191" />
        <source>Query:</source>
        <translation>Query:</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="193" />
        <source>Runs:</source>
        <translation>Runs:</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="194" />
        <source>Assign alerts to:</source>
        <translation>Assign alerts to:</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="195" />
        <source>Description:</source>
        <translation>Description:</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="198" />
        <source>The query is written as in the search box. Each new match raises an alert: one per conversation and day. A new policy looks at what arrives from now on; Run now… can look back.</source>
        <translation>The query is written as in the search box. Each new match raises an alert: one per conversation and day. A new policy looks at what arrives from now on; Run now… can look back.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="236" />
        <source>Give the policy a name.</source>
        <translation>Give the policy a name.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="238" />
        <source>Write the policy's query.</source>
        <translation>Write the policy's query.</translation>
    </message>
</context>
<context>
    <name>PrintPanel</name>
    <message>
        <location filename="../../app/ui/print_panel.py" line="72" />
        <source>The transcript could not be made: %1</source>
        <translation>The transcript could not be made: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="74" />
        <source>Cancelled; nothing was kept.</source>
        <translation>Cancelled; nothing was kept.</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="80" />
        <source>Make PDF and open it</source>
        <translation>Make PDF and open it</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="81" />
        <source>Cancel</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="91" />
        <source>Open PDF</source>
        <translation>Open PDF</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="92" />
        <source>Show folder</source>
        <translation>Show folder</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="96" />
        <source>The transcript is the PDF of an evidence package of this conversation (recorded in the audit trail as an export). Print it from the PDF viewer. The package is kept in a private temporary folder until the window closes.</source>
        <translation>The transcript is the PDF of an evidence package of this conversation (recorded in the audit trail as an export). Print it from the PDF viewer. The package is kept in a private temporary folder until the window closes.</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="103" />
        <source>Conversation:</source>
        <translation>Conversation:</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="106" />
        <source>Only messages</source>
        <translation>Only messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="136" />
        <source>Printing a conversation needs an account that may read it (the reviewer role) besides the exporter role.</source>
        <translation>Printing a conversation needs an account that may read it (the reviewer role) besides the exporter role.</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="180" />
        <source>%1 from %2 to %3.</source>
        <translation>%1 from %2 to %3.</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="180" />
        <source>1 message</source>
        <translation>1 message</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="181" />
        <source>%1 messages</source>
        <translation>%1 messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="238" />
        <source>Making the transcript…</source>
        <translation>Making the transcript…</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="257" />
        <source>Transcript made (package %1): %2 PDF file(s), %3 messages.</source>
        <translation>Transcript made (package %1): %2 PDF file(s), %3 messages.</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="278" />
        <source>No program on this computer opens PDF files; the transcript is at %1</source>
        <translation>No program on this computer opens PDF files; the transcript is at %1</translation>
    </message>
</context>
<context>
    <name>PrivateKeyImportDialog</name>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="26" />
        <source>Import private key</source>
        <translation>Import private key</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="32" />
        <source>Choose the private key (PEM)</source>
        <translation>Choose the private key (PEM)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="33" />
        <source>PEM files (*.pem *.key);;All files (*)</source>
        <translation>PEM files (*.pem *.key);;All files (*)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="34" />
        <source>private_key_v2.pem</source>
        <translation>private_key_v2.pem</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="38" />
        <source>The private key that matches the public key of this version in the WeCom admin console (Chat archive &gt; publickey_ver) for corp %1. Keep every old version: older messages need it.</source>
        <translation>The private key that matches the public key of this version in the WeCom admin console (Chat archive &gt; publickey_ver) for corp %1. Keep every old version: older messages need it.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="40" />
        <source>(new corp)</source>
        <translation>(new corp)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="42" />
        <source>Key version (publickey_ver):</source>
        <translation>Key version (publickey_ver):</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="44" />
        <source>PEM file:</source>
        <translation>PEM file:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="73" />
        <source>Version %1 is installed: importing replaces its key.</source>
        <translation>Version %1 is installed: importing replaces its key.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="89" />
        <source>%1 is not a file.</source>
        <translation>%1 is not a file.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="92" />
        <source>This file is far too big to be a private key; choose the .pem file.</source>
        <translation>This file is far too big to be a private key; choose the .pem file.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="95" />
        <source>This file cannot be read as a PEM text file; choose the .pem file.</source>
        <translation>This file cannot be read as a PEM text file; choose the .pem file.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="100" />
        <source>This file is not a usable private key: an unencrypted PEM RSA key is needed (-----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----).</source>
        <translation>This file is not a usable private key: an unencrypted PEM RSA key is needed (-----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----).</translation>
    </message>
</context>
<context>
    <name>QuarantineModel</name>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="53" />
        <source>Key</source>
        <translation>Key</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="53" />
        <source>Decrypt</source>
        <translation>Decrypt</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="53" />
        <source>Parse</source>
        <translation>Parse</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="54" />
        <source>Store</source>
        <translation>Store</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="54" />
        <source>Conflict</source>
        <translation>Conflict</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="57" />
        <source>Seq</source>
        <translation>Seq</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="57" />
        <source>Msgid</source>
        <translation>Msgid</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="57" />
        <source>Key version</source>
        <translation>Key version</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="57" />
        <source>Stage</source>
        <translation>Stage</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="57" />
        <source>Reason</source>
        <translation>Reason</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="58" />
        <source>Tries</source>
        <translation>Tries</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="58" />
        <source>First seen</source>
        <translation>First seen</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="58" />
        <source>Last tried</source>
        <translation>Last tried</translation>
    </message>
</context>
<context>
    <name>QuarantinePanel</name>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="98" />
        <source>Refresh</source>
        <translation>Refresh</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="99" />
        <source>Retry with the keys installed now</source>
        <translation>Retry with the keys installed now</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="105" />
        <source>Corp:</source>
        <translation>Corp:</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="116" />
        <source>The retry failed: %1</source>
        <translation>The retry failed: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="145" />
        <location filename="../../app/ui/quarantine_panel.py" line="155" />
        <source>Nothing is in quarantine.</source>
        <translation>Nothing is in quarantine.</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="158" />
        <source>%1 entries are kept here as WeCom delivered them, with the reason they are not in the archive yet. After importing a missing private key, retry them.</source>
        <translation>%1 entries are kept here as WeCom delivered them, with the reason they are not in the archive yet. After importing a missing private key, retry them.</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="160" />
        <source>1 entry is kept here as WeCom delivered it, with the reason it is not in the archive yet. After importing a missing private key, retry it.</source>
        <translation>1 entry is kept here as WeCom delivered it, with the reason it is not in the archive yet. After importing a missing private key, retry it.</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="164" />
        <source>The quarantine cannot be read: %1</source>
        <translation>The quarantine cannot be read: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="175" />
        <source>Corp %1 is not configured on this computer: %2</source>
        <translation>Corp %1 is not configured on this computer: %2</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="179" />
        <source>Retrying…</source>
        <translation>Retrying…</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="184" />
        <source>Retried %1: %2 now archived, %3 still in quarantine.</source>
        <translation>Retried %1: %2 now archived, %3 still in quarantine.</translation>
    </message>
</context>
<context>
    <name>QueueDialog</name>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="45" />
        <source>Background jobs</source>
        <translation>Background jobs</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="57" />
        <source>All jobs</source>
        <translation>All jobs</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="74" />
        <source>&amp;Retry now</source>
        <translation>&amp;Retry now</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="75" />
        <source>Run the selected dead or waiting job again now</source>
        <translation>Run the selected dead or waiting job again now</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="76" />
        <source>&amp;Delete</source>
        <translation>&amp;Delete</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="77" />
        <source>Re-enqueue &amp;pending media</source>
        <translation>Re-enqueue &amp;pending media</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="78" />
        <source>Add a download job for every pending media file that has none</source>
        <translation>Add a download job for every pending media file that has none</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="79" />
        <source>Re&amp;fresh</source>
        <translation>Re&amp;fresh</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="85" />
        <source>Show:</source>
        <translation>Show:</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="100" />
        <source>Queue: %1</source>
        <translation>Queue: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="101" />
        <source>Loading…</source>
        <translation>Loading…</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="134" />
        <source>Scheduled: %1   Ready: %2   Running: %3   Dead: %4</source>
        <translation>Scheduled: %1   Ready: %2   Running: %3   Dead: %4</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="149" />
        <source>The job queue cannot be read: %1</source>
        <translation>The job queue cannot be read: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="183" />
        <source>Job %1 will run again now.</source>
        <translation>Job %1 will run again now.</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="184" />
        <source>Job %1 cannot be retried now (it is running or gone).</source>
        <translation>Job %1 cannot be retried now (it is running or gone).</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="192" />
        <source>Job %1 deleted.</source>
        <translation>Job %1 deleted.</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="192" />
        <source>Job %1 was gone already.</source>
        <translation>Job %1 was gone already.</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="198" />
        <source>%1 job(s) added for pending media.</source>
        <translation>%1 job(s) added for pending media.</translation>
    </message>
</context>
<context>
    <name>QueuePage</name>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="76" />
        <source>Embedded, in the archive database (no server needed)</source>
        <translation>Embedded, in the archive database (no server needed)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="77" />
        <source>A Redis server (a team's workstations and servers share it)</source>
        <translation>A Redis server (a team's workstations and servers share it)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="87" />
        <source>Type to replace the stored password</source>
        <translation>Type to replace the stored password</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="93" />
        <source>Test connection</source>
        <translation>Test connection</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="94" />
        <source>Opens the job queue off the main window and counts its jobs (the embedded queue: in the archive database in use now).</source>
        <translation>Opens the job queue off the main window and counts its jobs (the embedded queue: in the archive database in use now).</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="106" />
        <source> min</source>
        <translation> min</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="107" />
        <location filename="../../app/ui/settings/queue_page.py" line="111" />
        <source>Off</source>
        <translation>Off</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="110" />
        <source> h</source>
        <translation> h</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="113" />
        <source>A folder on another disk or a mounted share</source>
        <translation>A folder on another disk or a mounted share</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="114" />
        <source>Browse…</source>
        <translation>Browse…</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="120" />
        <source>Redis URL:</source>
        <translation>Redis URL:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="121" />
        <source>Redis password:</source>
        <translation>Redis password:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="125" />
        <source>Sync every:</source>
        <translation>Sync every:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="130" />
        <source>Back up every:</source>
        <translation>Back up every:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="131" />
        <source>Backup folder:</source>
        <translation>Backup folder:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="136" />
        <source>Failed media downloads and scheduled syncs run as background jobs on a delay queue, while the window is open or on a server running: wecom-auditor worker. Where the jobs wait:</source>
        <translation>Failed media downloads and scheduled syncs run as background jobs on a delay queue, while the window is open or on a server running: wecom-auditor worker. Where the jobs wait:</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="141" />
        <source>The embedded queue suits one workstation, or a team sharing a MySQL archive. Redis URL: redis://host:6379/0 (rediss:// for TLS); add ?prefix=NAME to keep two archives apart on one Redis. The password is kept in the keyring, never in the settings file or the URL. A new queue takes effect after a restart; jobs waiting in the old one stay there, and pending media is queued again from the archive.</source>
        <translation>The embedded queue suits one workstation, or a team sharing a MySQL archive. Redis URL: redis://host:6379/0 (rediss:// for TLS); add ?prefix=NAME to keep two archives apart on one Redis. The password is kept in the keyring, never in the settings file or the URL. A new queue takes effect after a restart; jobs waiting in the old one stay there, and pending media is queued again from the archive.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="149" />
        <source>Syncs every corp in the background every so many minutes (Off: only when you sync). WeCom keeps chats for about 5 days, so keep it well below that. A new interval takes effect within 5 minutes.</source>
        <translation>Syncs every corp in the background every so many minutes (Off: only when you sync). WeCom keeps chats for about 5 days, so keep it well below that. A new interval takes effect within 5 minutes.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="155" />
        <source>Backs up the archive every so many hours into a folder of this computer, as "Back up now…" does (incremental, continuing the folder's chain; the first one is full). Off: only when you back up. On a computer without a keyring, set WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE for the signing key.</source>
        <translation>Backs up the archive every so many hours into a folder of this computer, as "Back up now…" does (incremental, continuing the folder's chain; the first one is full). Off: only when you back up. On a computer without a keyring, set WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE for the signing key.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="221" />
        <source>The background jobs setting has a value to fix.</source>
        <translation>The background jobs setting has a value to fix.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="225" />
        <source>Choose the folder the scheduled backups go into.</source>
        <translation>Choose the folder the scheduled backups go into.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="229" />
        <source>Backup folder</source>
        <translation>Backup folder</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="238" />
        <source>Enter the Redis server's URL: redis://host:6379/0</source>
        <translation>Enter the Redis server's URL: redis://host:6379/0</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="243" />
        <location filename="../../app/ui/settings/queue_page.py" line="259" />
        <source>This is not a Redis URL; write it as redis://host:6379/0</source>
        <translation>This is not a Redis URL; write it as redis://host:6379/0</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="245" />
        <source>A Redis URL starts with redis:// (rediss:// for TLS, unix:// for a socket).</source>
        <translation>A Redis URL starts with redis:// (rediss:// for TLS, unix:// for a socket).</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="247" />
        <source>Leave the password out of the URL (the URL is saved in the settings file); type it in the Redis password field, which is kept in the keyring.</source>
        <translation>Leave the password out of the URL (the URL is saved in the settings file); type it in the Redis password field, which is kept in the keyring.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="251" />
        <source>Give the socket's path: unix:///run/redis/redis.sock</source>
        <translation>Give the socket's path: unix:///run/redis/redis.sock</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="254" />
        <source>The URL needs the server's host: redis://host:6379/0</source>
        <translation>The URL needs the server's host: redis://host:6379/0</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="257" />
        <source>After the host comes the database number: redis://host:6379/0</source>
        <translation>After the host comes the database number: redis://host:6379/0</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="287" />
        <source>Cannot read the keyring: %1</source>
        <translation>Cannot read the keyring: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="302" />
        <source>No keyring on this computer: give the password in the environment variable %1.</source>
        <translation>No keyring on this computer: give the password in the environment variable %1.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="305" />
        <source>Stored in the keyring when you click OK.</source>
        <translation>Stored in the keyring when you click OK.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="309" />
        <source>Stored in the keyring.</source>
        <translation>Stored in the keyring.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="311" />
        <source>Read from the environment variable %1.</source>
        <translation>Read from the environment variable %1.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="313" />
        <source>Not set (fine if the server asks for none).</source>
        <translation>Not set (fine if the server asks for none).</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="341" />
        <source>Connecting…</source>
        <translation>Connecting…</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="352" />
        <source>OK: %1. Jobs: %2 scheduled, %3 ready, %4 running, %5 dead.</source>
        <translation>OK: %1. Jobs: %2 scheduled, %3 ready, %4 running, %5 dead.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="358" />
        <source>Failed: %1</source>
        <translation>Failed: %1</translation>
    </message>
</context>
<context>
    <name>ResetPasswordDialog</name>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="345" />
        <source>Reset the password of %1</source>
        <translation>Reset the password of %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="346" />
        <source>New password:</source>
        <translation>New password:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="346" />
        <source>Repeat password:</source>
        <translation>Repeat password:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="348" />
        <source>The owner must choose a new password at the next login</source>
        <translation>The owner must choose a new password at the next login</translation>
    </message>
</context>
<context>
    <name>ReviewEditor</name>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="78" />
        <source>Saving…</source>
        <translation>Saving…</translation>
    </message>
</context>
<context>
    <name>ReviewPanel</name>
    <message>
        <location filename="../../app/ui/review/panel.py" line="61" />
        <source>My alerts</source>
        <translation>My alerts</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="62" />
        <source>My sample</source>
        <translation>My sample</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="63" />
        <source>Saved searches</source>
        <translation>Saved searches</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="65" />
        <source>Review settings…</source>
        <translation>Review settings…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="89" />
        <source>Open: mine and unassigned</source>
        <translation>Open: mine and unassigned</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="89" />
        <source>Open: all in my scope</source>
        <translation>Open: all in my scope</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="90" />
        <source>Open: assigned to me</source>
        <translation>Open: assigned to me</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="90" />
        <location filename="../../app/ui/review/panel.py" line="260" />
        <source>Dismissed</source>
        <translation>Dismissed</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="91" />
        <location filename="../../app/ui/review/panel.py" line="260" />
        <source>Escalated</source>
        <translation>Escalated</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="95" />
        <source>Policy</source>
        <translation>Policy</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="95" />
        <location filename="../../app/ui/review/panel.py" line="130" />
        <source>Conversation</source>
        <translation>Conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="95" />
        <source>Day</source>
        <translation>Day</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="96" />
        <source>Hits</source>
        <translation>Hits</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="96" />
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="96" />
        <source>Assignee</source>
        <translation>Assignee</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="97" />
        <source>Reason</source>
        <translation>Reason</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="98" />
        <location filename="../../app/ui/review/panel.py" line="132" />
        <source>Open conversation</source>
        <translation>Open conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="99" />
        <source>Assign to me</source>
        <translation>Assign to me</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="100" />
        <source>Assign…</source>
        <translation>Assign…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="101" />
        <source>Dismiss…</source>
        <translation>Dismiss…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="102" />
        <source>Escalate…</source>
        <translation>Escalate…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="103" />
        <source>Reopen</source>
        <translation>Reopen</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="126" />
        <source>Sample</source>
        <translation>Sample</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="130" />
        <source>Reviewed</source>
        <translation>Reviewed</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="130" />
        <source>By</source>
        <translation>By</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="131" />
        <source>When</source>
        <translation>When</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="133" />
        <source>Mark reviewed</source>
        <translation>Mark reviewed</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="135" />
        <source>Sampling rule</source>
        <translation>Sampling rule</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="136" />
        <source>Draw this week's sample</source>
        <translation>Draw this week's sample</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="155" />
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="155" />
        <source>Owner</source>
        <translation>Owner</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="155" />
        <source>Shared</source>
        <translation>Shared</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="156" />
        <source>Hits now</source>
        <translation>Hits now</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="156" />
        <source>New since my last run</source>
        <translation>New since my last run</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="157" />
        <source>Query</source>
        <translation>Query</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="159" />
        <source>Run in the search panel</source>
        <translation>Run in the search panel</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="160" />
        <location filename="../../app/ui/review/panel.py" line="387" />
        <source>Share</source>
        <translation>Share</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="161" />
        <source>Delete</source>
        <translation>Delete</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="162" />
        <source>Save a search from the search results' menu (right-click).</source>
        <translation>Save a search from the search results' menu (right-click).</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="247" />
        <source>(hidden)</source>
        <translation>(hidden)</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="253" />
        <location filename="../../app/ui/review/panel.py" line="432" />
        <source>1 alert</source>
        <translation>1 alert</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="253" />
        <location filename="../../app/ui/review/panel.py" line="432" />
        <source>%1 alerts</source>
        <translation>%1 alerts</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="260" />
        <source>Open</source>
        <translation>Open</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="278" />
        <source>%1 — week of %2 (%3 of %4 reviewed)</source>
        <translation>%1 — week of %2 (%3 of %4 reviewed)</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="297" />
        <source>No sample drawn yet.</source>
        <translation>No sample drawn yet.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="315" />
        <location filename="../../app/ui/review/panel.py" line="353" />
        <source>Yes</source>
        <translation>Yes</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="315" />
        <source>Not yet</source>
        <translation>Not yet</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="322" />
        <source>%1 of %2 conversations reviewed. Drawn by %3 on %4 among %5 candidates without alerts; seed %6 (an auditor reproduces the draw with it).</source>
        <translation>%1 of %2 conversations reviewed. Drawn by %3 on %4 among %5 candidates without alerts; seed %6 (an auditor reproduces the draw with it).</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="353" />
        <source>No</source>
        <translation>No</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="387" />
        <source>Stop sharing</source>
        <translation>Stop sharing</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="416" />
        <source>Dismiss alerts</source>
        <translation>Dismiss alerts</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="416" />
        <source>Escalate alerts</source>
        <translation>Escalate alerts</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="417" />
        <source>Why? (kept with the alert; the audit trail keeps its fingerprint)</source>
        <translation>Why? (kept with the alert; the audit trail keeps its fingerprint)</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="422" />
        <source>Assign alerts</source>
        <translation>Assign alerts</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="423" />
        <source>User name of the reviewer (empty: nobody):</source>
        <translation>User name of the reviewer (empty: nobody):</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="430" />
        <source>Assigned %1.</source>
        <translation>Assigned %1.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="430" />
        <source>Dismissed %1.</source>
        <translation>Dismissed %1.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="431" />
        <source>Escalated %1.</source>
        <translation>Escalated %1.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="431" />
        <source>Reopened %1.</source>
        <translation>Reopened %1.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="460" />
        <source>1 conversation marked reviewed.</source>
        <translation>1 conversation marked reviewed.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="461" />
        <source>%1 conversations marked reviewed.</source>
        <translation>%1 conversations marked reviewed.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="474" />
        <source>Drew %1 of %2 conversations.</source>
        <translation>Drew %1 of %2 conversations.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="493" />
        <source>“%1”: %2.</source>
        <translation>“%1”: %2.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="494" />
        <source>1 hit</source>
        <translation>1 hit</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="494" />
        <source>%1 hits</source>
        <translation>%1 hits</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="506" />
        <source>“%1” is shared with the other reviewers.</source>
        <translation>“%1” is shared with the other reviewers.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="507" />
        <source>“%1” is yours alone again.</source>
        <translation>“%1” is yours alone again.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="520" />
        <source>Deleted “%1”.</source>
        <translation>Deleted “%1”.</translation>
    </message>
</context>
<context>
    <name>ReviewSettings</name>
    <message>
        <location filename="../../app/ui/review/settings.py" line="495" />
        <source>Review se&amp;ttings…</source>
        <translation>Review se&amp;ttings…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="496" />
        <source>Tags, policies and sampling rules of the review</source>
        <translation>Tags, policies and sampling rules of the review</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="157" />
        <source>After every sync</source>
        <translation>After every sync</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="158" />
        <source>Daily</source>
        <translation>Daily</translation>
    </message>
</context>
<context>
    <name>ReviewSettingsDialog</name>
    <message>
        <location filename="../../app/ui/review/settings.py" line="453" />
        <source>Review settings</source>
        <translation>Review settings</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="458" />
        <source>Tags</source>
        <translation>Tags</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="459" />
        <source>Policies</source>
        <translation>Policies</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="460" />
        <source>Sampling rules</source>
        <translation>Sampling rules</translation>
    </message>
</context>
<context>
    <name>ReviewText</name>
    <message>
        <location filename="../../app/ui/review/common.py" line="66" />
        <source>Refused: this is outside the scope of your account, so nothing was changed.</source>
        <translation>Refused: this is outside the scope of your account, so nothing was changed.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/common.py" line="68" />
        <source>Refused: %1</source>
        <translation>Refused: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/common.py" line="71" />
        <source>This could not be done: %1</source>
        <translation>This could not be done: %1</translation>
    </message>
</context>
<context>
    <name>RolesDialog</name>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="319" />
        <source>Roles of %1</source>
        <translation>Roles of %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="321" />
        <source>A change applies at the account's next login.</source>
        <translation>A change applies at the account's next login.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="332" />
        <source>Give the account at least one role (or disable it).</source>
        <translation>Give the account at least one role (or disable it).</translation>
    </message>
</context>
<context>
    <name>RuleDialog</name>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="349" />
        <source>New sampling rule</source>
        <translation>New sampling rule</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="349" />
        <source>Edit sampling rule</source>
        <translation>Edit sampling rule</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="353" />
        <source>staff userids, separated by commas</source>
        <translation>staff userids, separated by commas</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="355" />
        <source>departments, separated by commas</source>
        <translation>departments, separated by commas</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="361" />
        <source>A percentage of the week's conversations:</source>
        <translation>A percentage of the week's conversations:</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="362" />
        <source>A number of conversations:</source>
        <translation>A number of conversations:</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="379" />
        <source>Name:</source>
        <translation>Name:</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="380" />
        <source>Staff:</source>
        <translation>Staff:</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="381" />
        <source>Departments:</source>
        <translation>Departments:</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="382" />
        <source>Each week:</source>
        <translation>Each week:</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="384" />
        <source>Each week's sample is chosen at random among the conversations a member of the group took part in that week and that raised no alert. The seed of each draw is kept, so that an auditor can reproduce it.</source>
        <translation>Each week's sample is chosen at random among the conversations a member of the group took part in that week and that raised no alert. The seed of each draw is kept, so that an auditor can reproduce it.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="401" />
        <source>Give the rule a name.</source>
        <translation>Give the rule a name.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="403" />
        <source>Name the staff or the departments whose conversations are sampled.</source>
        <translation>Name the staff or the departments whose conversations are sampled.</translation>
    </message>
</context>
<context>
    <name>RunPolicyDialog</name>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="269" />
        <source>Run “%1” now</source>
        <translation>Run “%1” now</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="270" />
        <source>Run</source>
        <translation>Run</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="271" />
        <source>On the messages stored since it last ran</source>
        <translation>On the messages stored since it last ran</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="272" />
        <source>On every message since:</source>
        <translation>On every message since:</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="285" />
        <source>Alerts are raised as after a sync; a message already a hit of this policy raises nothing again. Looking back reads the search index: a long period takes a while.</source>
        <translation>Alerts are raised as after a sync; a message already a hit of this policy raises nothing again. Looking back reads the search index: a long period takes a while.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="298" />
        <source>Running the policy…</source>
        <translation>Running the policy…</translation>
    </message>
</context>
<context>
    <name>SamplingPage</name>
    <message>
        <location filename="../../app/ui/review/settings.py" line="346" />
        <source>A sampling rule gives the reviewers a weekly sample of a staff group's conversations without alerts.</source>
        <translation>A sampling rule gives the reviewers a weekly sample of a staff group's conversations without alerts.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="349" />
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="349" />
        <source>Staff group</source>
        <translation>Staff group</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="350" />
        <source>Each week</source>
        <translation>Each week</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="350" />
        <source>State</source>
        <translation>State</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="351" />
        <source>Created</source>
        <translation>Created</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="356" />
        <source>New…</source>
        <translation>New…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="357" />
        <source>Edit…</source>
        <translation>Edit…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="358" />
        <location filename="../../app/ui/review/settings.py" line="403" />
        <source>Disable</source>
        <translation>Disable</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="359" />
        <source>Draw now…</source>
        <translation>Draw now…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="361" />
        <source>Drawing a sample is review work: it needs the reviewer role.</source>
        <translation>Drawing a sample is review work: it needs the reviewer role.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="379" />
        <source>Disabled</source>
        <translation>Disabled</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="379" />
        <source>Enabled</source>
        <translation>Enabled</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="388" />
        <source>Staff: %1</source>
        <translation>Staff: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="390" />
        <source>Departments: %1</source>
        <translation>Departments: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="396" />
        <location filename="../../app/ui/review/settings.py" line="436" />
        <source>1 conversation</source>
        <translation>1 conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="396" />
        <location filename="../../app/ui/review/settings.py" line="436" />
        <source>%1 conversations</source>
        <translation>%1 conversations</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="403" />
        <source>Enable</source>
        <translation>Enable</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="407" />
        <source>Sampling rule “%1” created.</source>
        <translation>Sampling rule “%1” created.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="414" />
        <source>Sampling rule “%1” saved.</source>
        <translation>Sampling rule “%1” saved.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="421" />
        <source>“%1” is enabled.</source>
        <translation>“%1” is enabled.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="421" />
        <source>“%1” is disabled: it is drawn no more.</source>
        <translation>“%1” is disabled: it is drawn no more.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="434" />
        <source>Drew %1 of %2 for the week of %3. Seed: %4 — an auditor reproduces the draw with it (sample reproduce %5).</source>
        <translation>Drew %1 of %2 for the week of %3. Seed: %4 — an auditor reproduces the draw with it (sample reproduce %5).</translation>
    </message>
</context>
<context>
    <name>ScopeDialog</name>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="134" />
        <source>Scope of %1</source>
        <translation>Scope of %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="135" />
        <source>Scope of the new account</source>
        <translation>Scope of the new account</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="136" />
        <source>All sessions</source>
        <translation>All sessions</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="137" />
        <source>Only sessions with the staff and departments ticked below</source>
        <translation>Only sessions with the staff and departments ticked below</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="139" />
        <source>Filter by name, id or department</source>
        <translation>Filter by name, id or department</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="142" />
        <location filename="../../app/ui/auth/accounts_dialog.py" line="171" />
        <source>Departments</source>
        <translation>Departments</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="144" />
        <location filename="../../app/ui/auth/accounts_dialog.py" line="172" />
        <source>Staff</source>
        <translation>Staff</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="161" />
        <source>userids not in the directory, separated by commas</source>
        <translation>userids not in the directory, separated by commas</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="162" />
        <source>Other staff userids</source>
        <translation>Other staff userids</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="163" />
        <source>A session is in scope if one of these staff took part in it. A change applies at the account's next login.</source>
        <translation>A session is in scope if one of these staff took part in it. A change applies at the account's next login.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="167" />
        <source>The directory has no staff names yet (they come with a sync or `wecom-auditor import-names`): type userids below.</source>
        <translation>The directory has no staff names yet (they come with a sync or `wecom-auditor import-names`): type userids below.</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="178" />
        <source>Other staff userids:</source>
        <translation>Other staff userids:</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="226" />
        <source>Tick at least one staff member or department, or choose All sessions.</source>
        <translation>Tick at least one staff member or department, or choose All sessions.</translation>
    </message>
</context>
<context>
    <name>SearchPanel</name>
    <message>
        <location filename="../../app/ui/search/panel.py" line="140" />
        <source>Search, e.g. 合同 OR 发票 -取消</source>
        <translation>Search, e.g. 合同 OR 发票 -取消</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="142" />
        <location filename="../../app/ui/search/panel.py" line="369" />
        <source>Query</source>
        <translation>Query</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="143" />
        <source>Words, "phrases", OR, -exclude, from:, type:, date: …
F1 or ? for the syntax; ↓ for recent searches.</source>
        <translation>Words, "phrases", OR, -exclude, from:, type:, date: …
F1 or ? for the syntax; ↓ for recent searches.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="147" />
        <location filename="../../app/ui/search/panel.py" line="148" />
        <source>Search syntax</source>
        <translation>Search syntax</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="149" />
        <source>Search</source>
        <translation>Search</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="160" />
        <source>From</source>
        <translation>From</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="162" />
        <source>To</source>
        <translation>To</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="165" />
        <source>Anyone (name or id)</source>
        <translation>Anyone (name or id)</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="168" />
        <source>Any type</source>
        <translation>Any type</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="172" />
        <source>Any session</source>
        <translation>Any session</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="176" />
        <source>Newest first</source>
        <translation>Newest first</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="177" />
        <source>Oldest first</source>
        <translation>Oldest first</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="178" />
        <source>By session</source>
        <translation>By session</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="179" />
        <source>Order of results</source>
        <translation>Order of results</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="185" />
        <source>All corps</source>
        <translation>All corps</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="188" />
        <source>Corp</source>
        <translation>Corp</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="198" />
        <source>Query with filters</source>
        <translation>Query with filters</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="199" />
        <source>(empty)</source>
        <translation>(empty)</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="225" />
        <source>Search results</source>
        <translation>Search results</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="291" />
        <location filename="../../app/ui/search/panel.py" line="529" />
        <source>Searching…</source>
        <translation>Searching…</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="305" />
        <source>Type a query, or choose a sender, date or type to search.</source>
        <translation>Type a query, or choose a sender, date or type to search.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="317" />
        <source>The end date is before the start date.</source>
        <translation>The end date is before the start date.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="355" />
        <source>Sender</source>
        <translation>Sender</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="359" />
        <source>Type</source>
        <translation>Type</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="363" />
        <source>Session</source>
        <translation>Session</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="478" />
        <source>“{text}” matches {n} people: choose one from the list.</source>
        <translation>“{text}” matches {n} people: choose one from the list.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="218" />
        <location filename="../../app/ui/search/panel.py" line="501" />
        <source>The query has a mistake at character {position}: {message}</source>
        <translation>The query has a mistake at character {position}: {message}</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="525" />
        <source>The search failed: {reason}</source>
        <translation>The search failed: {reason}</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="529" />
        <source>Counting…</source>
        <translation>Counting…</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="531" />
        <source>No messages found.</source>
        <translation>No messages found.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="533" />
        <source>1 result</source>
        <translation>1 result</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="535" />
        <source>{count} results</source>
        <translation>{count} results</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="56" />
        <source>合同 发票              both words (every term must match)
合同 OR 发票           either
-取消  or  NOT 取消     without
"退款 申请"             exactly this, spaces included (\" for a quote inside)
(合同 OR 协议) 盖章      group with parentheses
from:ID  to:ID  in:SESSION  room:ROOMID  type:image  session:internal|external|group
date:2025-01-01..2025-03-31  date:2025-03  after:2025-01-01  before:2025-04-01
has:media  is:recalled  type:image,video (either)
tag:违规  -tag:无问题  status:unreviewed  reviewed:me  alert:open  policy:NAME  has:note
Any text is found as written, case- and width-insensitive: 1 character, digits, emoji, %, _ and \.</source>
        <translation>合同 发票              both words (every term must match)
合同 OR 发票           either
-取消  or  NOT 取消     without
"退款 申请"             exactly this, spaces included (\" for a quote inside)
(合同 OR 协议) 盖章      group with parentheses
from:ID  to:ID  in:SESSION  room:ROOMID  type:image  session:internal|external|group
date:2025-01-01..2025-03-31  date:2025-03  after:2025-01-01  before:2025-04-01
has:media  is:recalled  type:image,video (either)
tag:违规  -tag:无问题  status:unreviewed  reviewed:me  alert:open  policy:NAME  has:note
Any text is found as written, case- and width-insensitive: 1 character, digits, emoji, %, _ and \.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="71" />
        <source>from: sender id   to: a recipient's id   in: session id   room: group id
type: message type   session: session type   has:media with a file   is:recalled recalled
date:A..B both days included   after:D from D on   before:D until D (not included)
tag: a review tag (on the message or its session)   status: unreviewed|in_review|reviewed
reviewed: me or a user name   alert: open|dismissed|escalated|any   policy: a policy's hits
has:note|tag|alert   Dates are in this computer's time zone.</source>
        <translation>from: sender id   to: a recipient's id   in: session id   room: group id
type: message type   session: session type   has:media with a file   is:recalled recalled
date:A..B both days included   after:D from D on   before:D until D (not included)
tag: a review tag (on the message or its session)   status: unreviewed|in_review|reviewed
reviewed: me or a user name   alert: open|dismissed|escalated|any   policy: a policy's hits
has:note|tag|alert   Dates are in this computer's time zone.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="134" />
        <source>This quote is never closed: add a closing " (write \" for a quote inside a phrase).</source>
        <translation>This quote is never closed: add a closing " (write \" for a quote inside a phrase).</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="137" />
        <source>Empty phrase: put the text to find between the quotes.</source>
        <translation>Empty phrase: put the text to find between the quotes.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="139" />
        <source>Unknown field “{field}:”. Fields are {fields}; to find the text itself, put it in quotes.</source>
        <translation>Unknown field “{field}:”. Fields are {fields}; to find the text itself, put it in quotes.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="142" />
        <source>“{field}:” needs a value.</source>
        <translation>“{field}:” needs a value.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="144" />
        <source>“-” must be followed by what to exclude (to find a dash, write "-").</source>
        <translation>“-” must be followed by what to exclude (to find a dash, write "-").</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="146" />
        <source>“{op}” must be followed by what to exclude.</source>
        <translation>“{op}” must be followed by what to exclude.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="148" />
        <source>This “)” closes nothing: remove it or add a “(” before it.</source>
        <translation>This “)” closes nothing: remove it or add a “(” before it.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="150" />
        <source>This “(” is never closed: add a “)”.</source>
        <translation>This “(” is never closed: add a “)”.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="152" />
        <source>Empty parentheses: put something to find between them.</source>
        <translation>Empty parentheses: put something to find between them.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="154" />
        <source>{op} needs something to match on both sides.</source>
        <translation>{op} needs something to match on both sides.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="156" />
        <source>Something to find is missing here.</source>
        <translation>Something to find is missing here.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="158" />
        <source>session: is one of {values}.</source>
        <translation>session: is one of {values}.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="160" />
        <source>{field}: can only be {values}.</source>
        <translation>{field}: can only be {values}.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="162" />
        <source>date: needs a date before or after “..”.</source>
        <translation>date: needs a date before or after “..”.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="164" />
        <source>This date range is empty: the first date is after the second.</source>
        <translation>This date range is empty: the first date is after the second.</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="166" />
        <source>“{text}” is not a date: write YYYY-MM-DD (or YYYY-MM, YYYY, YYYY-MM-DDTHH:MM).</source>
        <translation>“{text}” is not a date: write YYYY-MM-DD (or YYYY-MM, YYYY, YYYY-MM-DDTHH:MM).</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="169" />
        <source>“{text}” is not a valid date.</source>
        <translation>“{text}” is not a valid date.</translation>
    </message>
</context>
<context>
    <name>SearchResultsModel</name>
    <message>
        <location filename="../../app/ui/search/model.py" line="268" />
        <source> → </source>
        <translation> → </translation>
    </message>
</context>
<context>
    <name>SecretsDialog</name>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="92" />
        <source>Directory secrets of %1</source>
        <translation>Directory secrets of %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="95" />
        <source>Contacts secret (通讯录 Secret):</source>
        <translation>Contacts secret (通讯录 Secret):</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="96" />
        <source>Customer-contact secret (客户联系 Secret):</source>
        <translation>Customer-contact secret (客户联系 Secret):</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="100" />
        <source>kept — type to replace</source>
        <translation>kept — type to replace</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="101" />
        <source>not set: the chat-archive secret is used</source>
        <translation>not set: the chat-archive secret is used</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="104" />
        <source>WeCom lets each secret call some APIs only: the contacts secret user/ and department/, the customer-contact secret externalcontact/. Without them those calls use the chat-archive secret, which WeCom usually refuses (48002).</source>
        <translation>WeCom lets each secret call some APIs only: the contacts secret user/ and department/, the customer-contact secret externalcontact/. Without them those calls use the chat-archive secret, which WeCom usually refuses (48002).</translation>
    </message>
</context>
<context>
    <name>SenderModel</name>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="52" />
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="52" />
        <source>Id</source>
        <translation>Id</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="52" />
        <source>Kind</source>
        <translation>Kind</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="52" />
        <source>Department or corp</source>
        <translation>Department or corp</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="52" />
        <source>Messages</source>
        <translation>Messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="56" />
        <source>Staff</source>
        <translation>Staff</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="56" />
        <source>External contact</source>
        <translation>External contact</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="56" />
        <source>Other</source>
        <translation>Other</translation>
    </message>
</context>
<context>
    <name>ServerPanel</name>
    <message>
        <location filename="../../app/ui/server_panel.py" line="183" />
        <source>Refresh</source>
        <translation>Refresh</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="184" />
        <source>Back up now…</source>
        <translation>Back up now…</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="193" />
        <source>Servers</source>
        <translation>Servers</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="195" />
        <source>Last sync of each corp</source>
        <translation>Last sync of each corp</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="210" />
        <source>Reading…</source>
        <translation>Reading…</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="234" />
        <source>1 server is running.</source>
        <translation>1 server is running.</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="236" />
        <source>%1 servers are running.</source>
        <translation>%1 servers are running.</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="238" />
        <source>No server is running: none has sent a heartbeat in the last minute.</source>
        <translation>No server is running: none has sent a heartbeat in the last minute.</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="240" />
        <source>No server (wecom-auditor serve) has reported to this archive: syncs run from workstations.</source>
        <translation>No server (wecom-auditor serve) has reported to this archive: syncs run from workstations.</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="243" />
        <source>Updated %1; read again every %2 seconds while shown.</source>
        <translation>Updated %1; read again every %2 seconds while shown.</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="248" />
        <source>Queue: does not answer (the background jobs cannot run).</source>
        <translation>Queue: does not answer (the background jobs cannot run).</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="249" />
        <source>scheduled</source>
        <translation>scheduled</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="249" />
        <source>ready</source>
        <translation>ready</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="249" />
        <source>running</source>
        <translation>running</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="250" />
        <source>given up</source>
        <translation>given up</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="252" />
        <source>Queue: %1</source>
        <translation>Queue: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="256" />
        <source>The server status cannot be read: %1</source>
        <translation>The server status cannot be read: %1</translation>
    </message>
</context>
<context>
    <name>ServersModel</name>
    <message>
        <location filename="../../app/ui/server_panel.py" line="92" />
        <source>Host</source>
        <translation>Host</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="92" />
        <source>Address</source>
        <translation>Address</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="92" />
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="92" />
        <source>Started</source>
        <translation>Started</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="93" />
        <source>Last heartbeat</source>
        <translation>Last heartbeat</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="93" />
        <source>State</source>
        <translation>State</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="102" />
        <source>%1 s ago</source>
        <translation>%1 s ago</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="104" />
        <source>%1 min ago</source>
        <translation>%1 min ago</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="105" />
        <source>%1 h ago</source>
        <translation>%1 h ago</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="111" />
        <source>Running</source>
        <translation>Running</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="111" />
        <source>Not running</source>
        <translation>Not running</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="120" />
        <source>Instance %1, process %2 on %3</source>
        <translation>Instance %1, process %2 on %3</translation>
    </message>
</context>
<context>
    <name>SessionBadges</name>
    <message>
        <location filename="../../app/ui/review/badges.py" line="42" />
        <source>%1 new</source>
        <translation>%1 new</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/badges.py" line="55" />
        <source>1 message new since your last review</source>
        <translation>1 message new since your last review</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/badges.py" line="56" />
        <source>%1 messages new since your last review</source>
        <translation>%1 messages new since your last review</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/badges.py" line="58" />
        <source>1 open alert</source>
        <translation>1 open alert</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/badges.py" line="58" />
        <source>%1 open alerts</source>
        <translation>%1 open alerts</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/badges.py" line="60" />
        <source>Reviewed</source>
        <translation>Reviewed</translation>
    </message>
</context>
<context>
    <name>SessionPanel</name>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="50" />
        <source>Filter by participant name or id</source>
        <translation>Filter by participant name or id</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="52" />
        <source>Session filter</source>
        <translation>Session filter</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="53" />
        <source>Only customers who refused archiving</source>
        <translation>Only customers who refused archiving</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="54" />
        <source>Only chats with customers who refused archiving: their consent as WeCom reported it at the last directory sync, and the archive's disagree entries</source>
        <translation>Only chats with customers who refused archiving: their consent as WeCom reported it at the last directory sync, and the archive's disagree entries</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="61" />
        <source>Review tag filter</source>
        <translation>Review tag filter</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="80" />
        <source>Sessions</source>
        <translation>Sessions</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="172" />
        <source>Any review tag</source>
        <translation>Any review tag</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="274" />
        <source>No chat with a customer who refused archiving (as of the last directory sync).</source>
        <translation>No chat with a customer who refused archiving (as of the last directory sync).</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="276" />
        <source>No such chat has a participant matching “{text}”.</source>
        <translation>No such chat has a participant matching “{text}”.</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="279" />
        <source>No session carries the tag “{tag}”.</source>
        <translation>No session carries the tag “{tag}”.</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="281" />
        <source>No such session has a participant matching “{text}”.</source>
        <translation>No such session has a participant matching “{text}”.</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="284" />
        <source>No session has a participant matching “{text}”.</source>
        <translation>No session has a participant matching “{text}”.</translation>
    </message>
</context>
<context>
    <name>SessionTreeModel</name>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="68" />
        <source>Internal</source>
        <translation>Internal</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="70" />
        <source>External contacts</source>
        <translation>External contacts</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="72" />
        <source>Groups</source>
        <translation>Groups</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="74" />
        <source>Up/downstream</source>
        <translation>Up/downstream</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="76" />
        <source>System records</source>
        <translation>System records</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="547" />
        <source>, </source>
        <extracomment>(column, Qt.SortOrder) -&gt; app.core.archive's session order; the names column has none (names come from the directory, the archive pages by what it stores)</extracomment>
        <translation>, </translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="547" />
        <source>{names} +{more}</source>
        <translation>{names} +{more}</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="778" />
        <source>Session</source>
        <translation>Session</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="778" />
        <source>Msgs</source>
        <translation>Msgs</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="778" />
        <source>Last</source>
        <translation>Last</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="780" />
        <source>Participants or group name</source>
        <translation>Participants or group name</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="780" />
        <source>Messages in the session</source>
        <translation>Messages in the session</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="849" />
        <source>{label} · {shown} of {total} sessions</source>
        <translation>{label} · {shown} of {total} sessions</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="852" />
        <source>{label} · 1 session</source>
        <translation>{label} · 1 session</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="853" />
        <source>{label} · {count} sessions</source>
        <translation>{label} · {count} sessions</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="781" />
        <source>Last activity</source>
        <translation>Last activity</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="64" />
        <source>Settings</source>
        <translation>Settings</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="73" />
        <source>Corp</source>
        <translation>Corp</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="74" />
        <source>Archive</source>
        <translation>Archive</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="75" />
        <source>Media</source>
        <translation>Media</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="76" />
        <source>Background jobs</source>
        <translation>Background jobs</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="77" />
        <source>Language</source>
        <translation>Language</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="135" />
        <source>Cannot read the keyring: %1</source>
        <translation>Cannot read the keyring: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="237" />
        <source>Not saved: this computer has no usable keyring (Secret Service, KWallet, Keychain or Credential Manager), so secrets cannot be stored. Clear the secret fields, and give the secrets to the app as environment variables instead: %1, %2 (PEM text or @/path/to/key.pem), %3, and %4 for the database password.</source>
        <translation>Not saved: this computer has no usable keyring (Secret Service, KWallet, Keychain or Credential Manager), so secrets cannot be stored. Clear the secret fields, and give the secrets to the app as environment variables instead: %1, %2 (PEM text or @/path/to/key.pem), %3, and %4 for the database password.</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="266" />
        <source>Not saved: %1</source>
        <translation>Not saved: %1</translation>
    </message>
</context>
<context>
    <name>StartUp</name>
    <message>
        <location filename="../../app/ui/app.py" line="160" />
        <source>WeCom Archive Auditor</source>
        <translation>WeCom Archive Auditor</translation>
    </message>
    <message>
        <location filename="../../app/ui/app.py" line="166" />
        <source>The archive cannot be opened: %1</source>
        <translation>The archive cannot be opened: %1</translation>
    </message>
</context>
<context>
    <name>StatisticsPanel</name>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="80" />
        <source>Refresh</source>
        <translation>Refresh</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="113" />
        <source>Charts</source>
        <translation>Charts</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="114" />
        <source>Senders</source>
        <translation>Senders</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="141" />
        <source>The archive holds no corp yet.</source>
        <translation>The archive holds no corp yet.</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="144" />
        <source>Counting…</source>
        <translation>Counting…</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="150" />
        <source>The statistics cannot be read: %1</source>
        <translation>The statistics cannot be read: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="158" />
        <source>%1 from %2 to %3: %4 staff members sent %5; %6 external contacts of %7 corps sent %8.</source>
        <translation>%1 from %2 to %3: %4 staff members sent %5; %6 external contacts of %7 corps sent %8.</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="160" />
        <location filename="../../app/ui/statistics_panel.py" line="170" />
        <location filename="../../app/ui/statistics_panel.py" line="195" />
        <source>1 message</source>
        <translation>1 message</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="160" />
        <location filename="../../app/ui/statistics_panel.py" line="170" />
        <location filename="../../app/ui/statistics_panel.py" line="195" />
        <source>%1 messages</source>
        <translation>%1 messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="168" />
        <source>No messages in this range (or none in your scope).</source>
        <translation>No messages in this range (or none in your scope).</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="169" />
        <location filename="../../app/ui/statistics_panel.py" line="207" />
        <source>No messages</source>
        <translation>No messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="173" />
        <source>Messages per day</source>
        <translation>Messages per day</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="181" />
        <source>Messages per month</source>
        <translation>Messages per month</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="206" />
        <source>and %1 more: %2</source>
        <translation>and %1 more: %2</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="184" />
        <source>Per message type</source>
        <translation>Per message type</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="187" />
        <source>Sent per staff member</source>
        <translation>Sent per staff member</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="191" />
        <source>(corp not known)</source>
        <translation>(corp not known)</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="192" />
        <source>Sent by external contacts, per their corp</source>
        <translation>Sent by external contacts, per their corp</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="194" />
        <source>%1: %2 sent by %3 contacts</source>
        <translation>%1: %2 sent by %3 contacts</translation>
    </message>
</context>
<context>
    <name>SyncHistoryDialog</name>
    <message>
        <location filename="../../app/ui/sync/history.py" line="115" />
        <source>Sync history</source>
        <translation>Sync history</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="129" />
        <source>Refresh</source>
        <translation>Refresh</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="142" />
        <source>Loading…</source>
        <translation>Loading…</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="156" />
        <source>No sync has run yet.</source>
        <translation>No sync has run yet.</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="157" />
        <source>%1 runs, newest first.</source>
        <translation>%1 runs, newest first.</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="157" />
        <source>1 run.</source>
        <translation>1 run.</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="162" />
        <source>Cannot read the sync history: %1</source>
        <translation>Cannot read the sync history: %1</translation>
    </message>
</context>
<context>
    <name>SyncProgressPanel</name>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="101" />
        <location filename="../../app/ui/sync/panel.py" line="246" />
        <source>Cancel</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="102" />
        <source>Stop after the current batch; nothing stored is lost</source>
        <translation>Stop after the current batch; nothing stored is lost</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="107" />
        <source>Hide</source>
        <translation>Hide</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="142" />
        <location filename="../../app/ui/sync/panel.py" line="199" />
        <source>Starting…</source>
        <translation>Starting…</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="154" />
        <source>%1 retries after temporary errors</source>
        <translation>%1 retries after temporary errors</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="169" />
        <source>Cancelling after the current batch…</source>
        <translation>Cancelling after the current batch…</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="174" />
        <location filename="../../app/ui/sync/panel.py" line="200" />
        <source>Done</source>
        <translation>Done</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="174" />
        <source>Cancelled</source>
        <translation>Cancelled</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="180" />
        <location filename="../../app/ui/sync/panel.py" line="184" />
        <source>Sync failed</source>
        <translation>Sync failed</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="181" />
        <source>The sync stopped; everything stored before the error is kept.</source>
        <translation>The sync stopped; everything stored before the error is kept.</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="199" />
        <source>Fetching messages</source>
        <translation>Fetching messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="200" />
        <source>Downloading media</source>
        <translation>Downloading media</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="203" />
        <source>unknown</source>
        <translation>unknown</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="206" />
        <source>%1 of %2 files · %6 files/s · ETA %7 · stored %3 · failed %4 · expired %5</source>
        <translation>%1 of %2 files · %6 files/s · ETA %7 · stored %3 · failed %4 · expired %5</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="209" />
        <source>%6/s · ETA %7 · seq %1 · fetched %2 · stored %3 · quarantined %4 · duplicates %5</source>
        <translation>%6/s · ETA %7 · seq %1 · fetched %2 · stored %3 · quarantined %4 · duplicates %5</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="214" />
        <source>Messages: seq %1, fetched %2, stored %3, quarantined %4, duplicates %5</source>
        <translation>Messages: seq %1, fetched %2, stored %3, quarantined %4, duplicates %5</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="216" />
        <source>Media: %1 of %2 done, stored %3, failed %4, expired %5</source>
        <translation>Media: %1 of %2 done, stored %3, failed %4, expired %5</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="225" />
        <source>Cancelled after %1: %2 new messages stored; the next sync continues from seq %3.</source>
        <translation>Cancelled after %1: %2 new messages stored; the next sync continues from seq %3.</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="227" />
        <source>Finished in %1: %2 fetched, %3 new, %4 quarantined, %5 duplicates; media %6 stored, %7 failed, %8 expired, %9 pending.</source>
        <translation>Finished in %1: %2 fetched, %3 new, %4 quarantined, %5 duplicates; media %6 stored, %7 failed, %8 expired, %9 pending.</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="236" />
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="238" />
        <source>%1 min %2 s</source>
        <translation>%1 min %2 s</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="239" />
        <source>%1 h %2 min</source>
        <translation>%1 h %2 min</translation>
    </message>
</context>
<context>
    <name>SyncRunsModel</name>
    <message>
        <location filename="../../app/ui/sync/history.py" line="59" />
        <source>Corp</source>
        <translation>Corp</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="59" />
        <source>Started</source>
        <translation>Started</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="59" />
        <source>Ended</source>
        <translation>Ended</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="59" />
        <source>Outcome</source>
        <translation>Outcome</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="60" />
        <source>Seq range</source>
        <translation>Seq range</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="60" />
        <source>Fetched</source>
        <translation>Fetched</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="60" />
        <source>Stored</source>
        <translation>Stored</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="60" />
        <source>Duplicates</source>
        <translation>Duplicates</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="61" />
        <source>Quarantined</source>
        <translation>Quarantined</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="61" />
        <source>Media stored / failed / expired</source>
        <translation>Media stored / failed / expired</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="61" />
        <source>Retries</source>
        <translation>Retries</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="62" />
        <source>Error</source>
        <translation>Error</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="54" />
        <source>Succeeded</source>
        <translation>Succeeded</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="54" />
        <source>Failed</source>
        <translation>Failed</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="55" />
        <source>Cancelled</source>
        <translation>Cancelled</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="55" />
        <source>Running</source>
        <translation>Running</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="56" />
        <source>Interrupted</source>
        <translation>Interrupted</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="82" />
        <source>Workstation: %1</source>
        <translation>Workstation: %1</translation>
    </message>
</context>
<context>
    <name>SyncsModel</name>
    <message>
        <location filename="../../app/ui/server_panel.py" line="129" />
        <source>Corp</source>
        <translation>Corp</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="129" />
        <source>Started</source>
        <translation>Started</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="129" />
        <source>Finished</source>
        <translation>Finished</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="129" />
        <source>Outcome</source>
        <translation>Outcome</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="129" />
        <source>Stored</source>
        <translation>Stored</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="130" />
        <source>Run by</source>
        <translation>Run by</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="130" />
        <source>Error</source>
        <translation>Error</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="133" />
        <source>Running</source>
        <translation>Running</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="133" />
        <source>Succeeded</source>
        <translation>Succeeded</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="133" />
        <source>Failed</source>
        <translation>Failed</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="134" />
        <source>Cancelled</source>
        <translation>Cancelled</translation>
    </message>
</context>
<context>
    <name>SyntaxHelpDialog</name>
    <message>
        <location filename="../../app/ui/search/panel.py" line="86" />
        <location filename="../../app/ui/search/panel.py" line="97" />
        <source>Search syntax</source>
        <translation>Search syntax</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="87" />
        <source>Type a query in the search box. The filters below it add the same fields to the query.</source>
        <translation>Type a query in the search box. The filters below it add the same fields to the query.</translation>
    </message>
</context>
<context>
    <name>TagDialog</name>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="102" />
        <source>New tag</source>
        <translation>New tag</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="102" />
        <source>Edit tag</source>
        <translation>Edit tag</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="104" />
        <source>e.g. 需关注</source>
        <translation>e.g. 需关注</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="106" />
        <source>e.g. Needs attention</source>
        <translation>e.g. Needs attention</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="114" />
        <source>Chinese name:</source>
        <translation>Chinese name:</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="115" />
        <source>English name:</source>
        <translation>English name:</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="119" />
        <source>Colour:</source>
        <translation>Colour:</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="121" />
        <source>Reviewers see the name in the language of their window; a search finds the tag by either (tag:违规, tag:Violation).</source>
        <translation>Reviewers see the name in the language of their window; a search finds the tag by either (tag:违规, tag:Violation).</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="133" />
        <source>Tag colour</source>
        <translation>Tag colour</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="142" />
        <source>Give the tag a Chinese and an English name.</source>
        <translation>Give the tag a Chinese and an English name.</translation>
    </message>
</context>
<context>
    <name>TagSetPage</name>
    <message>
        <location filename="../../app/ui/review/settings.py" line="157" />
        <source>The tags reviewers put on messages and conversations (keys 1–9 in the viewer, in this order). A retired tag stays on what it tagged and in searches, but is offered no more.</source>
        <translation>The tags reviewers put on messages and conversations (keys 1–9 in the viewer, in this order). A retired tag stays on what it tagged and in searches, but is offered no more.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="161" />
        <source>Chinese name</source>
        <translation>Chinese name</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="161" />
        <source>English name</source>
        <translation>English name</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="162" />
        <source>Colour</source>
        <translation>Colour</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="162" />
        <source>Key</source>
        <translation>Key</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="163" />
        <source>State</source>
        <translation>State</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="165" />
        <source>Add…</source>
        <translation>Add…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="166" />
        <source>Edit…</source>
        <translation>Edit…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="167" />
        <source>Colour…</source>
        <translation>Colour…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="168" />
        <source>Move up</source>
        <translation>Move up</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="169" />
        <source>Move down</source>
        <translation>Move down</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="170" />
        <location filename="../../app/ui/review/settings.py" line="195" />
        <source>Retire</source>
        <translation>Retire</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="185" />
        <source>Retired</source>
        <translation>Retired</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="185" />
        <source>In use</source>
        <translation>In use</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="195" />
        <source>Restore</source>
        <translation>Restore</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="202" />
        <source>Tag “%1” added.</source>
        <translation>Tag “%1” added.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="209" />
        <source>Tag “%1” changed.</source>
        <translation>Tag “%1” changed.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="217" />
        <source>Colour of “%1”</source>
        <translation>Colour of “%1”</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="224" />
        <source>“%1” is now %2.</source>
        <translation>“%1” is now %2.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="235" />
        <source>“%1” moved to place %2.</source>
        <translation>“%1” moved to place %2.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="243" />
        <source>“%1” is in use again.</source>
        <translation>“%1” is in use again.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="244" />
        <source>“%1” is retired: it stays on what it tagged.</source>
        <translation>“%1” is retired: it stays on what it tagged.</translation>
    </message>
</context>
<context>
    <name>TimelineModel</name>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="58" />
        <source>Conversation</source>
        <translation>Conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="58" />
        <source>Type</source>
        <translation>Type</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="58" />
        <source>First message</source>
        <translation>First message</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="58" />
        <source>Last message</source>
        <translation>Last message</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="59" />
        <source>Messages</source>
        <translation>Messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="59" />
        <source>Sent by them</source>
        <translation>Sent by them</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="59" />
        <source>Their first</source>
        <translation>Their first</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="59" />
        <source>Their last</source>
        <translation>Their last</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="64" />
        <source>Group</source>
        <translation>Group</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="64" />
        <source>With a customer</source>
        <translation>With a customer</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="65" />
        <source>Internal</source>
        <translation>Internal</translation>
    </message>
</context>
<context>
    <name>TimelinePanel</name>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="100" />
        <source>Name or userid</source>
        <translation>Name or userid</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="106" />
        <source>Show</source>
        <translation>Show</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="128" />
        <source>Open conversation</source>
        <translation>Open conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="129" />
        <source>Open their first message</source>
        <translation>Open their first message</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="134" />
        <source>Staff member:</source>
        <translation>Staff member:</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="161" />
        <source>Choose a staff member to see their conversations by time.</source>
        <translation>Choose a staff member to see their conversations by time.</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="240" />
        <source>%1 staff members match “%2”: choose one in the list.</source>
        <translation>%1 staff members match “%2”: choose one in the list.</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="246" />
        <source>Reading…</source>
        <translation>Reading…</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="259" />
        <source>The timeline cannot be read: %1</source>
        <translation>The timeline cannot be read: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="273" />
        <source>%1: no conversations in this range (or none in your scope).</source>
        <translation>%1: no conversations in this range (or none in your scope).</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="275" />
        <source>%1: %2; sent %3 in them.</source>
        <translation>%1: %2; sent %3 in them.</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="276" />
        <source>1 conversation</source>
        <translation>1 conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="276" />
        <source>%1 conversations</source>
        <translation>%1 conversations</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="277" />
        <location filename="../../app/ui/timeline_panel.py" line="278" />
        <source>1 message</source>
        <translation>1 message</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="277" />
        <location filename="../../app/ui/timeline_panel.py" line="278" />
        <source>%1 messages</source>
        <translation>%1 messages</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="283" />
        <source>Messages they sent per month</source>
        <translation>Messages they sent per month</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="285" />
        <source>No messages sent by them</source>
        <translation>No messages sent by them</translation>
    </message>
</context>
<context>
    <name>VerifyDialog</name>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="46" />
        <source>Verify evidence package</source>
        <translation>Verify evidence package</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="49" />
        <source>A package folder or .zip file</source>
        <translation>A package folder or .zip file</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="50" />
        <source>Folder…</source>
        <translation>Folder…</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="51" />
        <source>Zip file…</source>
        <translation>Zip file…</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="68" />
        <source>Verify</source>
        <translation>Verify</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="70" />
        <source>Cancel</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="72" />
        <source>Close</source>
        <translation>Close</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="91" />
        <source>Package folder</source>
        <translation>Package folder</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="96" />
        <source>Package zip file</source>
        <translation>Package zip file</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="97" />
        <source>Zip files (*.zip)</source>
        <translation>Zip files (*.zip)</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="107" />
        <source>Choose an existing package folder or .zip file.</source>
        <translation>Choose an existing package folder or .zip file.</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="111" />
        <source>Checking every file and the signature…</source>
        <translation>Checking every file and the signature…</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="130" />
        <source>Cancelling…</source>
        <translation>Cancelling…</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="150" />
        <source>Checking every file and the signature… %1 of %2</source>
        <translation>Checking every file and the signature… %1 of %2</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="155" />
        <source>The check was cancelled; nothing was concluded about the package.</source>
        <translation>The check was cancelled; nothing was concluded about the package.</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="168" />
        <source>Recorded in this archive: exported by %1 on %2.</source>
        <translation>Recorded in this archive: exported by %1 on %2.</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="172" />
        <source>OK: 1 file matches; fingerprint %2; signed by key %3.</source>
        <translation>OK: 1 file matches; fingerprint %2; signed by key %3.</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="173" />
        <source>OK: %1 files match; fingerprint %2; signed by key %3.</source>
        <translation>OK: %1 files match; fingerprint %2; signed by key %3.</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="177" />
        <source>FAILED: 1 problem (below).</source>
        <translation>FAILED: 1 problem (below).</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="178" />
        <source>FAILED: %1 problems (listed below).</source>
        <translation>FAILED: %1 problems (listed below).</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="186" />
        <source>Not verified: %1</source>
        <translation>Not verified: %1</translation>
    </message>
</context>
<context>
    <name>ViewerReview</name>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="141" />
        <source>1 note</source>
        <translation>1 note</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="141" />
        <source>%1 notes</source>
        <translation>%1 notes</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="143" />
        <source>New</source>
        <translation>New</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="189" />
        <source>Your account may read the review but not tag.</source>
        <translation>Your account may read the review but not tag.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="193" />
        <source>“%1” is on the whole conversation: take it off there (the conversation's menu in the tree).</source>
        <translation>“%1” is on the whole conversation: take it off there (the conversation's menu in the tree).</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="199" />
        <source>Tagged 1 message “%2”.</source>
        <translation>Tagged 1 message “%2”.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="199" />
        <source>Tagged %1 messages “%2”.</source>
        <translation>Tagged %1 messages “%2”.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="200" />
        <source>Took “%2” off 1 message.</source>
        <translation>Took “%2” off 1 message.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="201" />
        <source>Took “%2” off %1 messages.</source>
        <translation>Took “%2” off %1 messages.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="219" />
        <source>Reviewed up to this message.</source>
        <translation>Reviewed up to this message.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="220" />
        <source>1 message after it is not reviewed yet.</source>
        <translation>1 message after it is not reviewed yet.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="221" />
        <source>%1 messages after it are not reviewed yet.</source>
        <translation>%1 messages after it are not reviewed yet.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="245" />
        <source>No earlier message is unreviewed.</source>
        <translation>No earlier message is unreviewed.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="246" />
        <source>No later message is unreviewed.</source>
        <translation>No later message is unreviewed.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="277" />
        <source>Tag</source>
        <translation>Tag</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="285" />
        <source>Mark reviewed up to here</source>
        <translation>Mark reviewed up to here</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="287" />
        <source>Next unreviewed</source>
        <translation>Next unreviewed</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="288" />
        <source>Previous unreviewed</source>
        <translation>Previous unreviewed</translation>
    </message>
</context>
<context>
    <name>WelcomeWidget</name>
    <message>
        <location filename="../../app/ui/welcome.py" line="30" />
        <source>Welcome to WeCom Archive Auditor</source>
        <translation>Welcome to WeCom Archive Auditor</translation>
    </message>
    <message>
        <location filename="../../app/ui/welcome.py" line="37" />
        <source>This app keeps your company's WeCom chat archive (会话内容存档) on your own computer or server, exactly as WeCom delivered it, and lets compliance officers review, search and export it. Tencent keeps the archive for only about five days, so sync regularly.

No corp is configured yet. Try the app with a demo archive of generated conversations, or enter your corp's ID, chat-archive secret and private keys.</source>
        <translation>This app keeps your company's WeCom chat archive (会话内容存档) on your own computer or server, exactly as WeCom delivered it, and lets compliance officers review, search and export it. Tencent keeps the archive for only about five days, so sync regularly.

No corp is configured yet. Try the app with a demo archive of generated conversations, or enter your corp's ID, chat-archive secret and private keys.</translation>
    </message>
    <message>
        <location filename="../../app/ui/welcome.py" line="48" />
        <source>Open the demo archive</source>
        <translation>Open the demo archive</translation>
    </message>
    <message>
        <location filename="../../app/ui/welcome.py" line="46" />
        <source>Generated conversations served by the built-in WeCom SDK simulator</source>
        <translation>Generated conversations served by the built-in WeCom SDK simulator</translation>
    </message>
    <message>
        <location filename="../../app/ui/welcome.py" line="49" />
        <source>Configure my corp</source>
        <translation>Configure my corp</translation>
    </message>
    <message>
        <location filename="../../app/ui/welcome.py" line="47" />
        <source>Corp ID, chat-archive secret, private keys and the SDK library</source>
        <translation>Corp ID, chat-archive secret, private keys and the SDK library</translation>
    </message>
    <message>
        <location filename="../../app/ui/welcome.py" line="55" />
        <source>Only an administrator can set up the archive: ask one to open the demo archive or to configure the corp, then log in again.</source>
        <translation>Only an administrator can set up the archive: ask one to open the demo archive or to configure the corp, then log in again.</translation>
    </message>
</context>
<context>
    <name>WindowReview</name>
    <message>
        <location filename="../../app/ui/review/window.py" line="53" />
        <source>Open alerts</source>
        <translation>Open alerts</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="77" />
        <source>Notes</source>
        <translation>Notes</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="96" />
        <source>Tag conversation</source>
        <translation>Tag conversation</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="98" />
        <source>Mark conversation reviewed</source>
        <translation>Mark conversation reviewed</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="103" />
        <source>Tag all results</source>
        <translation>Tag all results</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="104" />
        <source>Take a tag off all results</source>
        <translation>Take a tag off all results</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="105" />
        <source>Save this search…</source>
        <translation>Save this search…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="152" />
        <source>1 open alert</source>
        <translation>1 open alert</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="152" />
        <source>%1 open alerts</source>
        <translation>%1 open alerts</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="154" />
        <source>(%1 mine)</source>
        <translation>(%1 mine)</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="157" />
        <source>Open alerts of conversations in your scope: %1 assigned to you, %2 to nobody. The Review panel (Ctrl+Shift+R) lists them.</source>
        <translation>Open alerts of conversations in your scope: %1 assigned to you, %2 to nobody. The Review panel (Ctrl+Shift+R) lists them.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="186" />
        <location filename="../../app/ui/review/window.py" line="204" />
        <source>Choose a conversation first.</source>
        <translation>Choose a conversation first.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="196" />
        <source>Took “%1” off the conversation.</source>
        <translation>Took “%1” off the conversation.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="196" />
        <source>Tagged the conversation “%1”.</source>
        <translation>Tagged the conversation “%1”.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="208" />
        <source>The conversation is reviewed up to its newest message.</source>
        <translation>The conversation is reviewed up to its newest message.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="213" />
        <source>Review</source>
        <translation>Review</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="224" />
        <source>No search to use: %1</source>
        <translation>No search to use: %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="234" />
        <source>Take “%1” off every message this search finds?

%2</source>
        <translation>Take “%1” off every message this search finds?

%2</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="235" />
        <source>Tag every message this search finds “%1”?

%2</source>
        <translation>Tag every message this search finds “%1”?

%2</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="241" />
        <source>Took “%2” off 1 message.</source>
        <translation>Took “%2” off 1 message.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="241" />
        <source>Took “%2” off %1 messages.</source>
        <translation>Took “%2” off %1 messages.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="242" />
        <source>Tagged 1 message “%2”.</source>
        <translation>Tagged 1 message “%2”.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="243" />
        <source>Tagged %1 messages “%2”.</source>
        <translation>Tagged %1 messages “%2”.</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="255" />
        <source>Save search</source>
        <translation>Save search</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="256" />
        <source>Name of the search (the Review panel lists it):</source>
        <translation>Name of the search (the Review panel lists it):</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="261" />
        <source>Saved the search “%1”.</source>
        <translation>Saved the search “%1”.</translation>
    </message>
</context>
</TS>