<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>AccountsDialog</name>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="385" />
        <location filename="../../app/ui/auth/accounts_dialog.py" line="399" />
        <source>Accounts</source>
        <translation>账号管理</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="402" />
        <source>New account…</source>
        <translation>新建账号…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="403" />
        <source>Roles…</source>
        <translation>角色…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="404" />
        <source>Scope…</source>
        <translation>查看范围…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="405" />
        <source>Reset password…</source>
        <translation>重置密码…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="406" />
        <location filename="../../app/ui/auth/accounts_dialog.py" line="483" />
        <location filename="../../app/ui/auth/accounts_dialog.py" line="554" />
        <source>Disable</source>
        <translation>停用</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="407" />
        <source>Unlock</source>
        <translation>解锁</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="408" />
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="468" />
        <source>Cannot read the accounts: %1</source>
        <translation>无法读取账号：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="483" />
        <source>Enable</source>
        <translation>启用</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="505" />
        <source>Account %1 created.</source>
        <translation>已创建账号 %1。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="515" />
        <source>Roles of %1 changed.</source>
        <translation>已修改 %1 的角色。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="526" />
        <source>Scope of %1 changed.</source>
        <translation>已修改 %1 的查看范围。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="536" />
        <source>Password of %1 reset.</source>
        <translation>已重置 %1 的密码。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="546" />
        <source>Account %1 enabled.</source>
        <translation>已启用账号 %1。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="549" />
        <source>Disable account</source>
        <translation>停用账号</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="550" />
        <source>Disable the account %1? It can no longer log in, and its command-line tokens stop working. Its audit entries stay.</source>
        <translation>要停用账号 %1 吗？停用后它将无法登录，其命令行令牌也随即失效。它的审计记录会保留。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="558" />
        <source>Account %1 disabled.</source>
        <translation>已停用账号 %1。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="565" />
        <source>Account %1 unlocked.</source>
        <translation>已解锁账号 %1。</translation>
    </message>
</context>
<context>
    <name>AccountsModel</name>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="53" />
        <source>All sessions</source>
        <translation>全部会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="57" />
        <source>Staff: %1</source>
        <translation>员工：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="59" />
        <source>Departments: %1</source>
        <translation>部门：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="60" />
        <source>; </source>
        <translation>；</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="75" />
        <source>User name</source>
        <translation>用户名</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="75" />
        <source>Roles</source>
        <translation>角色</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="75" />
        <source>Scope</source>
        <translation>查看范围</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="75" />
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="76" />
        <source>Last login</source>
        <translation>上次登录</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="76" />
        <source>Created</source>
        <translation>创建时间</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="97" />
        <source>Disabled</source>
        <translation>已停用</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="99" />
        <source>Locked until %1</source>
        <translation>锁定至 %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="101" />
        <source>Active</source>
        <translation>正常</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="103" />
        <source>; must change password</source>
        <translation>；须修改密码</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="116" />
        <source>never</source>
        <translation>从未登录</translation>
    </message>
</context>
<context>
    <name>ApiCallsModel</name>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="64" />
        <source>API</source>
        <translation>接口</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="64" />
        <source>Calls</source>
        <translation>调用次数</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="64" />
        <source>Errcodes (count)</source>
        <translation>错误码（次数）</translation>
    </message>
</context>
<context>
    <name>ArchivePage</name>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="49" />
        <source>SQLite file on this computer (one workstation)</source>
        <translation>本机 SQLite 文件（单台工作站）</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="50" />
        <source>MySQL / MariaDB server (a team)</source>
        <translation>MySQL / MariaDB 服务器（团队共用）</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="54" />
        <source>Archive database file</source>
        <translation>存档数据库文件</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="55" />
        <source>SQLite databases (*.db *.sqlite);;All files (*)</source>
        <translation>SQLite 数据库 (*.db *.sqlite);;所有文件 (*)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="61" />
        <source>Type to replace the stored password</source>
        <translation>输入新密码以替换已保存的密码</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="66" />
        <source>Test connection</source>
        <translation>测试连接</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="67" />
        <source>Opens the database off the main window. An empty database gets the archive's tables.</source>
        <translation>在后台打开数据库，不会卡住主窗口。空数据库会被创建存档所需的表。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="78" />
        <source>File:</source>
        <translation>文件：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="80" />
        <source>URL:</source>
        <translation>URL：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="81" />
        <source>Password:</source>
        <translation>密码：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="87" />
        <source>The app uses a new database after a restart. The password is kept in the keyring, never in the settings file.</source>
        <translation>更换数据库后需重启应用才会生效。密码保存在系统钥匙串中，绝不写入设置文件。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="128" />
        <source>The database setting has a value to fix.</source>
        <translation>数据库设置中有需要修正的值。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="134" />
        <source>Enter the server's URL: mysql+pymysql://user@host:3306/dbname</source>
        <translation>请输入服务器 URL：mysql+pymysql://user@host:3306/dbname</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="137" />
        <source>This is not a database URL; write it as mysql+pymysql://user@host:3306/dbname</source>
        <translation>这不是数据库 URL，请写成 mysql+pymysql://user@host:3306/dbname</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="139" />
        <source>Only MySQL or MariaDB servers: the URL starts with mysql+pymysql://</source>
        <translation>仅支持 MySQL 或 MariaDB 服务器：URL 以 mysql+pymysql:// 开头</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="141" />
        <source>Leave the password out of the URL (the URL is saved in the settings file); type it in the Password field, which is kept in the keyring.</source>
        <translation>请不要把密码写在 URL 里（URL 会保存到设置文件中）；请在“密码”栏中输入，密码将保存在系统钥匙串中。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="144" />
        <source>The URL needs a host and a database name: mysql+pymysql://user@host:3306/dbname</source>
        <translation>URL 需要包含主机和数据库名：mysql+pymysql://user@host:3306/dbname</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="150" />
        <source>This is a folder; choose or type a file name, e.g. archive.db.</source>
        <translation>这是一个文件夹；请选择或输入文件名，例如 archive.db。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="152" />
        <source>Give the full path of the database file.</source>
        <translation>请填写数据库文件的完整路径。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="166" />
        <source>Stored in the keyring when you click OK.</source>
        <translation>点击“确定”后保存到系统钥匙串。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="168" />
        <source>Stored in the keyring.</source>
        <translation>已保存在系统钥匙串中。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="170" />
        <source>Not set.</source>
        <translation>未设置。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="184" />
        <source>Connecting…</source>
        <translation>正在连接…</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="191" />
        <source>Connected: %1</source>
        <translation>连接成功：%1</translation>
    </message>
</context>
<context>
    <name>ArchiveText</name>
    <message>
        <location filename="../../app/ui/archive_text.py" line="19" />
        <source>an in-memory database</source>
        <translation>内存数据库</translation>
    </message>
    <message>
        <location filename="../../app/ui/archive_text.py" line="22" />
        <source>%1 database %2 on %3</source>
        <translation>%3 上的 %1 数据库 %2</translation>
    </message>
</context>
<context>
    <name>ArchivedStaffModel</name>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="119" />
        <source>Archived</source>
        <translation>已存档</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="119" />
        <source>On the list, no chats</source>
        <translation>在名单中，无会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="120" />
        <source>Chats archived, never on the list</source>
        <translation>有存档会话，从未在名单中</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="121" />
        <source>Chats archived, taken off the list</source>
        <translation>有存档会话，已移出名单</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="124" />
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="124" />
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="124" />
        <source>Userid</source>
        <translation>账号</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="124" />
        <source>Department</source>
        <translation>部门</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="125" />
        <source>On the list</source>
        <translation>存档名单</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="125" />
        <source>Messages sent</source>
        <translation>发送消息数</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="125" />
        <source>Last message</source>
        <translation>最近消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="130" />
        <source>since %1</source>
        <translation>自 %1 起</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="131" />
        <source>off since %1</source>
        <translation>自 %1 起不在名单中</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="131" />
        <source>never</source>
        <translation>从未</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="145" />
        <source>on the list %1 – %2</source>
        <translation>在名单中 %1 – %2</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="146" />
        <source>now</source>
        <translation>至今</translation>
    </message>
</context>
<context>
    <name>ArchivedStaffPanel</name>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="161" />
        <source>Only chats archived without being on the list</source>
        <translation>只看不在名单中却有存档会话的成员</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="163" />
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="179" />
        <source>The archive holds no corp yet.</source>
        <translation>存档中还没有企业。</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="197" />
        <source>The permit list has not been read from WeCom yet (Directory → Sync from WeCom). Staff who send messages in the archive are listed.</source>
        <translation>尚未从企业微信读取存档成员名单（通讯录 → 从企业微信同步）。下面列出在存档中发过消息的成员。</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="201" />
        <source>%1 staff under archiving (permit list read %2); %3 with chats archived without being on the list.</source>
        <translation>%1 名成员在存档名单中（名单读取于 %2）；%3 名成员不在名单中却有存档会话。</translation>
    </message>
</context>
<context>
    <name>AuditLogModel</name>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="166" />
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="166" />
        <source>Account</source>
        <translation>账号</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="166" />
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="166" />
        <source>Object</source>
        <translation>对象</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="167" />
        <source>Outcome</source>
        <translation>结果</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="167" />
        <source>Workstation</source>
        <translation>工作站</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="258" />
        <source>%1 — double-click or "Go to" to open it</source>
        <translation>%1 — 双击或点“转到”打开</translation>
    </message>
</context>
<context>
    <name>AuditPanel</name>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="300" />
        <source>Audit log</source>
        <translation>审计日志</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="304" />
        <source>Any account (exact user name)</source>
        <translation>任意账号（完整用户名）</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="306" />
        <source>Account</source>
        <translation>账号</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="308" />
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="309" />
        <source>Any action</source>
        <translation>任意操作</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="313" />
        <source>Outcome</source>
        <translation>结果</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="314" />
        <source>Any outcome</source>
        <translation>任意结果</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="318" />
        <source>From</source>
        <translation>从</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="320" />
        <source>To</source>
        <translation>到</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="323" />
        <source>Text in the object (session, query, file, setting…)</source>
        <translation>对象中包含的文字（会话、搜索词、文件、设置…）</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="325" />
        <source>Object contains</source>
        <translation>对象包含</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="326" />
        <source>Apply</source>
        <translation>应用</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="328" />
        <source>Clear filters</source>
        <translation>清除筛选</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="335" />
        <source>Account:</source>
        <translation>账号：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="337" />
        <source>Action:</source>
        <translation>操作：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="339" />
        <source>Outcome:</source>
        <translation>结果：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="345" />
        <source>Object:</source>
        <translation>对象：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="367" />
        <source>Audit entries</source>
        <translation>审计记录</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="379" />
        <source>Select an entry to see all its fields.</source>
        <translation>选择一条记录以查看其全部字段。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="380" />
        <source>Entry details</source>
        <translation>记录详情</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="390" />
        <source>Verify chain</source>
        <translation>校验哈希链</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="391" />
        <source>Check every entry's hash and link: an edited, deleted, inserted or reordered entry is named</source>
        <translation>校验每条记录的哈希及其链接：被修改、删除、插入或调换顺序的记录都会被指出</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="393" />
        <source>Export CSV…</source>
        <translation>导出 CSV…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="394" />
        <source>Write the entries that match the filters, oldest first</source>
        <translation>导出符合筛选条件的记录，按时间从早到晚</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="398" />
        <source>Chain head</source>
        <translation>链头</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="399" />
        <source>The last entry's number and hash: keep a copy outside the app to prove later that the log was not rewritten up to here</source>
        <translation>最后一条记录的序号和哈希：请在应用之外留存一份，以便日后证明截至此处的日志未被改写</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="401" />
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="402" />
        <source>Go to</source>
        <translation>转到</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="403" />
        <source>Open the conversation or the message of the selected entry (double-click does the same)</source>
        <translation>打开所选记录涉及的会话或消息（双击亦可）</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="409" />
        <source>Chain head:</source>
        <translation>链头：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="466" />
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="502" />
        <source>No entry matches the filters.</source>
        <translation>没有符合筛选条件的记录。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="506" />
        <source>%1 entries match; the newest %2 are listed (scroll for more).</source>
        <translation>共 %1 条记录符合条件；已列出最新的 %2 条（向下滚动加载更多）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="509" />
        <source>1 entry matches.</source>
        <translation>共 1 条记录符合条件。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="510" />
        <source>%1 entries match, newest first.</source>
        <translation>共 %1 条记录符合条件，最新的在前。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="513" />
        <source>Cannot read the audit log: %1</source>
        <translation>无法读取审计日志：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="537" />
        <source>Entry #%1</source>
        <translation>记录 #%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="538" />
        <source>Time: %1 (UTC %2)</source>
        <translation>时间：%1（UTC %2）</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="539" />
        <source>Account: %1</source>
        <translation>账号：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="541" />
        <source>Action: %1 (%2)</source>
        <translation>操作：%1（%2）</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="542" />
        <source>Object: %1</source>
        <translation>对象：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="546" />
        <source>Outcome: %1</source>
        <translation>结果：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="547" />
        <source>Workstation: %1</source>
        <translation>工作站：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="548" />
        <source>Login: %1</source>
        <translation>登录会话：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="549" />
        <source>Detail: %1</source>
        <translation>详情：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="550" />
        <source>Previous hash: %1</source>
        <translation>前一条哈希：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="551" />
        <source>Entry hash: %1</source>
        <translation>本条哈希：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="572" />
        <source>Chain head copied: keep it outside the app (a printout, a note in the case file) to prove later that the log up to it was not rewritten.</source>
        <translation>链头已复制：请在应用之外保存（打印件、案卷备注），以便日后证明截至此处的日志未被改写。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="578" />
        <source>Verifying the chain…</source>
        <translation>正在校验哈希链…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="585" />
        <source>The chain is intact: %1 entries checked, up to %2.</source>
        <translation>哈希链完好：已校验 %1 条记录，截至 %2。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="590" />
        <source>The chain is BROKEN at entry #%1 (%2): %3</source>
        <translation>哈希链在记录 #%1 处断裂（%2）：%3</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="594" />
        <source>This check could not be recorded in the audit log, which cannot be appended to in this state.</source>
        <translation>本次校验无法记入审计日志：日志处于此状态时无法追加记录。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="609" />
        <source>Cannot verify the chain: %1</source>
        <translation>无法校验哈希链：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="617" />
        <source>Export the audit log</source>
        <translation>导出审计日志</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="618" />
        <source>CSV files (*.csv)</source>
        <translation>CSV 文件 (*.csv)</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="625" />
        <source>Exporting…</source>
        <translation>正在导出…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="633" />
        <source>%1 entries written to %2.</source>
        <translation>已将 %1 条记录写入 %2。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="633" />
        <source>1 entry written to %2.</source>
        <translation>已将 1 条记录写入 %2。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="639" />
        <source>Cannot export the audit log: %1</source>
        <translation>无法导出审计日志：%1</translation>
    </message>
</context>
<context>
    <name>AuditText</name>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="70" />
        <source>Login</source>
        <translation>登录</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="71" />
        <source>Logout</source>
        <translation>退出登录</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="72" />
        <source>Failed login</source>
        <translation>登录失败</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="73" />
        <source>Session opened</source>
        <translation>打开会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="74" />
        <source>Message details viewed</source>
        <translation>查看消息详情</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="75" />
        <source>Raw JSON viewed</source>
        <translation>查看原始 JSON</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="76" />
        <source>Media file opened</source>
        <translation>打开媒体文件</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="77" />
        <source>Media file saved</source>
        <translation>保存媒体文件</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="78" />
        <source>Search</source>
        <translation>搜索</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="79" />
        <source>Evidence export started</source>
        <translation>开始导出证据</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="80" />
        <source>Evidence export</source>
        <translation>导出证据</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="81" />
        <source>Package verified</source>
        <translation>校验证据包</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="82" />
        <source>Sync run</source>
        <translation>同步</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="83" />
        <source>Settings changed</source>
        <translation>修改设置</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="84" />
        <source>Account created</source>
        <translation>创建账号</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="85" />
        <source>Account changed</source>
        <translation>修改账号</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="86" />
        <source>Roles changed</source>
        <translation>修改角色</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="87" />
        <source>Scope changed</source>
        <translation>修改查看范围</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="88" />
        <source>Account disabled</source>
        <translation>停用账号</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="89" />
        <source>Account enabled</source>
        <translation>启用账号</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="90" />
        <source>Account unlocked</source>
        <translation>解锁账号</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="91" />
        <source>Accounts listed</source>
        <translation>查看账号列表</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="92" />
        <source>Password changed</source>
        <translation>修改密码</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="93" />
        <source>Password reset</source>
        <translation>重置密码</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="94" />
        <source>Login token issued</source>
        <translation>签发登录令牌</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="95" />
        <source>Login token revoked</source>
        <translation>吊销登录令牌</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="96" />
        <source>Audit log viewed</source>
        <translation>查看审计日志</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="97" />
        <source>Audit log exported</source>
        <translation>导出审计日志</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="98" />
        <source>Audit chain verified</source>
        <translation>校验审计哈希链</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="99" />
        <source>Archive read</source>
        <translation>读取存档</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="100" />
        <source>Search index rebuilt</source>
        <translation>重建搜索索引</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="101" />
        <source>Directory imported</source>
        <translation>导入通讯录</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="102" />
        <source>Directory synced</source>
        <translation>同步通讯录</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="103" />
        <source>Backup made</source>
        <translation>已备份</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="104" />
        <source>Backup verified</source>
        <translation>已校验备份</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="105" />
        <source>Archive restored</source>
        <translation>已恢复存档</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="106" />
        <source>Retention policy changed</source>
        <translation>修改保留策略</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="107" />
        <source>Deletion proposed</source>
        <translation>提出删除计划</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="108" />
        <source>Deletion approved</source>
        <translation>批准删除</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="109" />
        <source>Deleted under retention</source>
        <translation>按保留策略删除</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="110" />
        <source>Legal hold placed</source>
        <translation>设置法律保全</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="111" />
        <source>Legal hold released</source>
        <translation>解除法律保全</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="112" />
        <source>Read through the API</source>
        <translation>通过 API 读取</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="113" />
        <source>Tags changed</source>
        <translation>修改标签</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="114" />
        <source>Review status set</source>
        <translation>设置审阅状态</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="115" />
        <source>Note written</source>
        <translation>撰写备注</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="116" />
        <source>Tag set changed</source>
        <translation>修改标签集</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="117" />
        <source>Saved search changed</source>
        <translation>修改已存搜索</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="118" />
        <source>Policy changed</source>
        <translation>修改规则</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="119" />
        <source>Policies evaluated</source>
        <translation>执行规则检查</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="120" />
        <source>Alert handled</source>
        <translation>处理告警</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="121" />
        <source>Sampling rule changed</source>
        <translation>修改抽样规则</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="122" />
        <source>Sample drawn</source>
        <translation>抽取样本</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="123" />
        <source>Review work read</source>
        <translation>读取审阅工作</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="128" />
        <source>OK</source>
        <translation>成功</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="128" />
        <source>Denied</source>
        <translation>拒绝</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="129" />
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="133" />
        <source>edited</source>
        <translation>被修改</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="133" />
        <source>deleted</source>
        <translation>被删除</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="134" />
        <source>reordered</source>
        <translation>顺序被改动</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="134" />
        <source>inserted</source>
        <translation>被插入</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/audit_panel.py" line="135" />
        <source>chain head</source>
        <translation>链头</translation>
    </message>
</context>
<context>
    <name>AuthText</name>
    <message>
        <location filename="../../app/ui/auth/services.py" line="112" />
        <source>Administrator</source>
        <translation>管理员</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="113" />
        <source>Reviewer</source>
        <translation>审阅员</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="114" />
        <source>Exporter</source>
        <translation>导出员</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="115" />
        <source>Auditor</source>
        <translation>审计员</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="121" />
        <source>settings, sync and accounts; reads no message content unless also a reviewer</source>
        <translation>设置、同步和账号管理；除非同时是审阅员，否则不能阅读消息内容</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="123" />
        <source>browse sessions, read messages, search, open media (within the account's scope)</source>
        <translation>浏览会话、阅读消息、搜索、打开媒体文件（限于账号的查看范围）</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="125" />
        <source>create evidence packages (within the account's scope)</source>
        <translation>创建证据包（限于账号的查看范围）</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="126" />
        <source>read the audit log and verify evidence packages; read-only</source>
        <translation>查看审计日志、校验证据包；只读</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="132" />
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="138" />
        <source>no role</source>
        <translation>无角色</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="142" />
        <source>At least %1 characters; not the user name; not one character repeated.</source>
        <translation>至少 %1 个字符；不能与用户名相同；不能由同一个字符重复组成。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="154" />
        <source>Too many wrong passwords: this account is locked until %1. Try again then, or ask an administrator to unlock it.</source>
        <translation>密码错误次数过多：此账号已锁定至 %1。请届时再试，或请管理员解锁。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="162" />
        <source>The password must have at least %1 characters.</source>
        <translation>密码至少需要 %1 个字符。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="164" />
        <source>The password must not be the user name.</source>
        <translation>密码不能与用户名相同。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="166" />
        <source>The password must not be one character repeated.</source>
        <translation>密码不能由同一个字符重复组成。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="168" />
        <source>The new password must differ from the current one.</source>
        <translation>新密码必须与当前密码不同。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="174" />
        <source>Enter a user name.</source>
        <translation>请输入用户名。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="176" />
        <source>The user name must have at most 64 characters.</source>
        <translation>用户名最多 64 个字符。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="178" />
        <source>The user name must not contain spaces, control characters or ':'.</source>
        <translation>用户名不能包含空格、控制字符或“:”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="199" />
        <source>This account is disabled. Ask an administrator to enable it.</source>
        <translation>此账号已停用。请联系管理员启用。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="202" />
        <source>The current password is wrong.</source>
        <translation>当前密码不正确。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="204" />
        <source>Wrong user name or password.</source>
        <translation>用户名或密码错误。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="210" />
        <source>Not allowed: %1</source>
        <translation>无权操作：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/services.py" line="217" />
        <source>Something went wrong.</source>
        <translation>操作失败。</translation>
    </message>
</context>
<context>
    <name>BackendForm</name>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="63" />
        <source>Folder for media files</source>
        <translation>媒体文件夹</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="77" />
        <source>Type to replace the stored secret key</source>
        <translation>输入以替换已保存的密钥</translation>
    </message>
</context>
<context>
    <name>BackgroundDialog</name>
    <message>
        <location filename="../../app/ui/auth/login.py" line="116" />
        <source>Checking…</source>
        <translation>正在验证…</translation>
    </message>
</context>
<context>
    <name>BackupDialog</name>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="129" />
        <source>Back up the archive</source>
        <translation>备份存档</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="133" />
        <source>A backup holds a consistent copy of the archive database, the media files, the settings (no secrets) and a manifest with SHA-256s and the audit trail's head, signed with the export key. Keep the folder on another disk or a mounted share. The search index is not backed up: it is rebuilt after a restore.</source>
        <translation>备份包含存档数据库的一致副本、媒体文件、设置（不含任何密钥）以及一份清单：其中记有各文件的 SHA-256 和审计日志的链头，并用导出密钥签名。请把备份文件夹放在另一块磁盘或已挂载的网络共享上。搜索索引不备份：恢复后会重新建立。</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="138" />
        <source>A folder on another disk or a mounted share</source>
        <translation>另一块磁盘或已挂载网络共享上的文件夹</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="139" />
        <location filename="../../app/ui/backup_dialog.py" line="247" />
        <source>Backup folder</source>
        <translation>备份文件夹</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="140" />
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="146" />
        <source>Incremental: continue the folder's chain (only new media files are copied)</source>
        <translation>增量：接续该文件夹中的备份链（只复制新的媒体文件）</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="148" />
        <source>Full: copy every media file and start a new chain</source>
        <translation>完整：复制全部媒体文件，开始新的备份链</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="158" />
        <source>Folder:</source>
        <translation>文件夹：</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="160" />
        <location filename="../../app/ui/backup_dialog.py" line="181" />
        <source>Kind:</source>
        <translation>类型：</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="161" />
        <source>Scheduled:</source>
        <translation>定时备份：</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="179" />
        <source>Backup:</source>
        <translation>备份：</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="180" />
        <source>Saved in:</source>
        <translation>保存位置：</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="182" />
        <source>Contents:</source>
        <translation>内容：</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="183" />
        <source>Manifest SHA-256:</source>
        <translation>清单 SHA-256：</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="184" />
        <source>Audit trail head:</source>
        <translation>审计日志链头：</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="190" />
        <source>Back up</source>
        <translation>备份</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="193" />
        <source>Verify a backup…</source>
        <translation>校验备份…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="194" />
        <source>Check a backup and every backup it continues without restoring it: signatures, files, media, every message's SHA-256 and the audit trail</source>
        <translation>不恢复即检查一个备份及其接续的全部备份：签名、文件、媒体、每条消息的 SHA-256 和审计日志</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="197" />
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="199" />
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="242" />
        <source>Every %1 h into %2 (this computer; change it in Settings → Background jobs).</source>
        <translation>每 %1 小时备份到 %2（本机；在“设置 → 后台任务”中修改）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="244" />
        <source>Off (set an interval and a folder in Settings → Background jobs).</source>
        <translation>关闭（在“设置 → 后台任务”中设置间隔和文件夹）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="261" />
        <source>Choose the folder the backups are kept in.</source>
        <translation>请选择存放备份的文件夹。</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="273" />
        <source>It holds 1 backup (%2); an incremental one continues it.</source>
        <translation>其中有 1 个备份（%2）；增量备份将接续它。</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="274" />
        <source>It holds %1 backups, the newest %2; an incremental one continues its chain.</source>
        <translation>其中有 %1 个备份，最新的是 %2；增量备份将接续其备份链。</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="277" />
        <source>It holds no backup yet: the first one is full.</source>
        <translation>其中还没有备份：第一个备份为完整备份。</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="298" />
        <source>Choose the backup folder.</source>
        <translation>请选择备份文件夹。</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="306" />
        <source>Starting the backup…</source>
        <translation>正在开始备份…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="317" />
        <source>Backup folder, or one backup in it</source>
        <translation>备份文件夹，或其中的某个备份</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="323" />
        <source>Checking the backup…</source>
        <translation>正在检查备份…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="351" />
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="358" />
        <source>Copying the database…</source>
        <translation>正在复制数据库…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="359" />
        <source>Checking every message's SHA-256…</source>
        <translation>正在核对每条消息的 SHA-256…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="360" />
        <source>Copying media files…</source>
        <translation>正在复制媒体文件…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="361" />
        <source>Checking media files…</source>
        <translation>正在核对媒体文件…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="362" />
        <source>Writing and signing the manifest…</source>
        <translation>正在写入清单并签名…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="363" />
        <source>Writing the backup to disk…</source>
        <translation>正在将备份写入磁盘…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="364" />
        <source>Checking the signatures and files…</source>
        <translation>正在核对签名和文件…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="365" />
        <source>Checking the audit trail's hash chain…</source>
        <translation>正在核对审计日志的哈希链…</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="375" />
        <source>%1 %2 of %3</source>
        <translation>%1 %2 / %3</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="402" />
        <source>The backup was cancelled: nothing was left in the folder, and the backups already there are unchanged.</source>
        <translation>备份已取消：文件夹中没有留下任何内容，已有的备份保持不变。</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="406" />
        <source>The verification was cancelled.</source>
        <translation>校验已取消。</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="411" />
        <source>The backup failed: %1</source>
        <translation>备份失败：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="414" />
        <source>The backup cannot be verified: %1</source>
        <translation>无法校验备份：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="426" />
        <source>Incremental, continuing %1</source>
        <translation>增量，接续 %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="428" />
        <source>Full (the folder held no backup of this archive to continue)</source>
        <translation>完整（该文件夹中没有此存档可接续的备份）</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="430" />
        <source>Full, starting a new chain</source>
        <translation>完整，开始新的备份链</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="431" />
        <source>%1; %2 (%3) added</source>
        <translation>%1；新增 %2（%3）</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="432" />
        <location filename="../../app/ui/backup_dialog.py" line="456" />
        <source>1 message</source>
        <translation>1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="432" />
        <location filename="../../app/ui/backup_dialog.py" line="456" />
        <source>%1 messages</source>
        <translation>%1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="433" />
        <location filename="../../app/ui/backup_dialog.py" line="457" />
        <source>1 media file</source>
        <translation>1 个媒体文件</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="433" />
        <location filename="../../app/ui/backup_dialog.py" line="457" />
        <source>%1 media files</source>
        <translation>%1 个媒体文件</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="440" />
        <source>The backup is written, but 1 media file could not be backed up (below).</source>
        <translation>备份已写入，但有 1 个媒体文件未能备份（见下）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="442" />
        <source>The backup is written, but %1 media files could not be backed up (below).</source>
        <translation>备份已写入，但有 %1 个媒体文件未能备份（见下）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="447" />
        <source>The backup is written and signed.</source>
        <translation>备份已写入并签名。</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="452" />
        <source>Intact: backup %1 and its chain of %2; %3, %4, audit trail of %5 entries; signed by key %6.</source>
        <translation>完好：备份 %1 及其备份链（共 %2）；%3，%4，审计日志 %5 条；签名密钥 %6。</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="455" />
        <source>1 backup</source>
        <translation>1 个备份</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="455" />
        <source>%1 backups</source>
        <translation>%1 个备份</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="460" />
        <source>Backup %2 FAILED: 1 problem (below).</source>
        <translation>备份 %2 校验失败：1 个问题（见下）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/backup_dialog.py" line="461" />
        <source>Backup %2 FAILED: %1 problems (listed below).</source>
        <translation>备份 %2 校验失败：%1 个问题（列于下方）。</translation>
    </message>
</context>
<context>
    <name>ChangePasswordDialog</name>
    <message>
        <location filename="../../app/ui/auth/login.py" line="295" />
        <location filename="../../app/ui/auth/login.py" line="296" />
        <source>Change password</source>
        <translation>修改密码</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="298" />
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="299" />
        <source>Account: %1</source>
        <translation>账号：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="301" />
        <source>An administrator set the password of the account %1. Choose your own password before you continue.</source>
        <translation>账号 %1 的密码由管理员设置。请先设置您自己的密码再继续。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="304" />
        <source>Current password</source>
        <translation>当前密码</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="307" />
        <source>Current password:</source>
        <translation>当前密码：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="305" />
        <source>New password:</source>
        <translation>新密码：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="305" />
        <source>Repeat new password:</source>
        <translation>再次输入新密码：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="322" />
        <source>Enter your current password.</source>
        <translation>请输入当前密码。</translation>
    </message>
</context>
<context>
    <name>CompliancePanels</name>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="105" />
        <source>This view cannot be read: %1</source>
        <translation>无法读取此视图：%1</translation>
    </message>
</context>
<context>
    <name>ConsentModel</name>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="214" />
        <source>Agreed</source>
        <translation>已同意</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="214" />
        <source>Refused</source>
        <translation>已拒绝</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="215" />
        <source>Agreed by default</source>
        <translation>默认同意</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="218" />
        <source>Consent</source>
        <translation>同意情况</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="218" />
        <source>Customer</source>
        <translation>客户</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="218" />
        <source>With</source>
        <translation>对象</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="218" />
        <source>Decided</source>
        <translation>决定时间</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="219" />
        <source>Checked with WeCom</source>
        <translation>企业微信核对时间</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="219" />
        <source>Archive entries</source>
        <translation>存档记录</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="238" />
        <source>group %1</source>
        <translation>群 %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="239" />
        <source>(archive entries only)</source>
        <translation>（仅有存档记录）</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="243" />
        <source>not reported by WeCom</source>
        <translation>企业微信未报告</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="259" />
        <source>%1 on %2 (seen %3)</source>
        <translation>%1，%2（于 %3 获知）</translation>
    </message>
</context>
<context>
    <name>ConsentPanel</name>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="294" />
        <source>Only customers who refused</source>
        <translation>只看拒绝存档的客户</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="296" />
        <source>Open conversation</source>
        <translation>打开会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="297" />
        <source>Open entry</source>
        <translation>打开记录</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="305" />
        <source>Agree/disagree entries of this customer in the archive:</source>
        <translation>此客户在存档中的同意/拒绝记录：</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="326" />
        <source>The archive holds no corp yet.</source>
        <translation>存档中还没有企业。</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="346" />
        <source>No consent is known yet: WeCom reports it at a directory sync (Directory → Sync from WeCom), and agree/disagree entries come with the archive.</source>
        <translation>尚无同意情况：企业微信在通讯录同步时报告（通讯录 → 从企业微信同步），同意/拒绝记录随存档而来。</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="349" />
        <source>%1 customers; %2 refused archiving (%3 chats or groups).</source>
        <translation>客户 %1 人；%2 人拒绝存档（涉及 %3 个会话或群）。</translation>
    </message>
</context>
<context>
    <name>ContentNotice</name>
    <message>
        <location filename="../../app/ui/auth/notice.py" line="28" />
        <source>Message content is not available to this account</source>
        <translation>此账号无权查看消息内容</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/notice.py" line="34" />
        <source>You are logged in as %1 with the roles: %2. Reading sessions, messages, media and search results needs the Reviewer role; administrators read no message content unless they are also reviewers. Ask an administrator to give you the Reviewer role if your work needs it.</source>
        <translation>您以 %1 登录，角色：%2。浏览会话、消息、媒体文件和搜索结果需要“审阅员”角色；管理员除非同时是审阅员，否则不能阅读消息内容。如工作需要，请联系管理员为您添加“审阅员”角色。</translation>
    </message>
</context>
<context>
    <name>CorpPage</name>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="120" />
        <source>Add corp</source>
        <translation>添加企业</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="121" />
        <source>Remove corp…</source>
        <translation>移除企业…</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="123" />
        <source>Corp:</source>
        <translation>企业：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="131" />
        <source>No corp is configured. Click “Add corp” to enter yours.</source>
        <translation>尚未配置企业。请点击“添加企业”填写贵企业的信息。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="137" />
        <source>ww0123456789abcdef (Admin console &gt; My company)</source>
        <translation>ww0123456789abcdef（管理后台 &gt; 我的企业）</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="140" />
        <source>Shown in the session tree and in exports</source>
        <translation>显示在会话树和导出文件中</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="143" />
        <source>Type to replace the stored secret</source>
        <translation>输入新 Secret 以替换已保存的 Secret</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="147" />
        <source>Version</source>
        <translation>版本</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="147" />
        <source>Where the key is kept</source>
        <translation>私钥保存位置</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="155" />
        <source>Import PEM…</source>
        <translation>导入 PEM…</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="156" />
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="163" />
        <source>Use the built-in simulator (demo and tests)</source>
        <translation>使用内置模拟器（演示和测试）</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="164" />
        <source>Use Tencent's SDK library</source>
        <translation>使用腾讯的 SDK 库</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="168" />
        <source>Choose the simulator corpus folder</source>
        <translation>选择模拟器语料文件夹</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="169" />
        <source>Corpus folder (holds corpus.json)</source>
        <translation>语料文件夹（包含 corpus.json）</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="170" />
        <source>Choose libWeWorkFinanceSdk_C.so</source>
        <translation>选择 libWeWorkFinanceSdk_C.so</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="171" />
        <source>Shared libraries (*.so *.so.*);;All files (*)</source>
        <translation>共享库 (*.so *.so.*);;所有文件 (*)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="176" />
        <source>Optional: socks5://host:port or http://host:port</source>
        <translation>可选：socks5://host:port 或 http://host:port</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="180" />
        <source>user:password, if the proxy needs one</source>
        <translation>user:password（代理需要认证时填写）</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="184" />
        <source> s</source>
        <translation> 秒</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="185" />
        <source>Choose the CA certificate (PEM)</source>
        <translation>选择 CA 证书（PEM）</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="186" />
        <source>Certificates (*.pem *.crt *.cer);;All files (*)</source>
        <translation>证书 (*.pem *.crt *.cer);;所有文件 (*)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="187" />
        <source>Only for a company proxy that inspects TLS: its CA (PEM)</source>
        <translation>仅当公司代理会检查 TLS 时填写：该代理的 CA 证书（PEM）</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="189" />
        <source>Test connection</source>
        <translation>测试连接</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="200" />
        <source>Corp ID:</source>
        <translation>企业 ID：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="202" />
        <source>Name:</source>
        <translation>名称：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="203" />
        <source>Chat-archive secret:</source>
        <translation>会话存档 Secret：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="205" />
        <source>Private keys:</source>
        <translation>私钥：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="208" />
        <source>SDK:</source>
        <translation>SDK：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="213" />
        <source>Proxy:</source>
        <translation>代理：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="215" />
        <source>Proxy password:</source>
        <translation>代理密码：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="217" />
        <source>Timeout per SDK call:</source>
        <translation>每次 SDK 调用超时：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="218" />
        <source>Trusted CA:</source>
        <translation>信任的 CA：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="291" />
        <source>Remove corp</source>
        <translation>移除企业</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="292" />
        <source>Remove %1 from the settings? When you click OK its secret and private keys are deleted from the keyring. Its archived messages stay in the archive.</source>
        <translation>要从设置中移除 %1 吗？点击“确定”后，其 Secret 和私钥将从系统钥匙串中删除。已存档的消息仍保留在存档中。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="303" />
        <location filename="../../app/ui/settings/corp_page.py" line="367" />
        <location filename="../../app/ui/settings/corp_page.py" line="519" />
        <source>New corp</source>
        <translation>新企业</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="331" />
        <source>The corp ID of a saved corp cannot change: the archive refers to it. Remove the corp and add it again instead.</source>
        <translation>已保存企业的企业 ID 不能修改：存档数据引用了它。如需更改，请移除该企业后重新添加。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="382" />
        <source>This computer has no usable keyring (Secret Service, KWallet, Keychain or Credential Manager), so secrets cannot be saved here. Set them as environment variables of the app instead: %1 (the chat-archive secret), %2 (each private key: the PEM text, or @/path/to/key.pem) and %3 (the proxy password).</source>
        <translation>本机没有可用的系统钥匙串（Secret Service、KWallet、钥匙串访问或凭据管理器），因此无法在此保存密钥信息。请改用应用的环境变量：%1（会话存档 Secret）、%2（每个版本的私钥：PEM 文本，或 @/path/to/key.pem）以及 %3（代理密码）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="390" />
        <location filename="../../app/ui/settings/corp_page.py" line="398" />
        <source>Stored in the keyring when you click OK.</source>
        <translation>点击“确定”后保存到系统钥匙串。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="392" />
        <location filename="../../app/ui/settings/corp_page.py" line="400" />
        <location filename="../../app/ui/settings/corp_page.py" line="411" />
        <source>Checking the keyring…</source>
        <translation>正在读取系统钥匙串…</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="402" />
        <location filename="../../app/ui/settings/corp_page.py" line="423" />
        <source>Stored in the keyring.</source>
        <translation>已保存在系统钥匙串中。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="402" />
        <location filename="../../app/ui/settings/corp_page.py" line="428" />
        <source>Not set.</source>
        <translation>未设置。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="409" />
        <source>New: stored in the keyring when you click OK.</source>
        <translation>新导入：点击“确定”后保存到系统钥匙串。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="414" />
        <source>Missing: import it again.</source>
        <translation>缺失：请重新导入。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="425" />
        <source>Read from the environment variable %1.</source>
        <translation>从环境变量 %1 读取。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="427" />
        <source>Read from the demo corpus folder (demo data).</source>
        <translation>从演示语料文件夹读取（演示数据）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="466" />
        <source>Remove private key</source>
        <translation>移除私钥</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="467" />
        <source>Remove the private key of version %1? Messages encrypted with it can no longer be decrypted (they go to quarantine) until you import it again.</source>
        <translation>要移除版本 %1 的私钥吗？在重新导入之前，用它加密的消息将无法解密（会进入隔离区）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="480" />
        <source>Fix the values marked above first.</source>
        <translation>请先修正上面标出的值。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="486" />
        <source>Connecting… (this can take up to a minute)</source>
        <translation>正在连接…（最多可能需要一分钟）</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="519" />
        <source>Corp “%1” has a value to fix.</source>
        <translation>企业“%1”中有需要修正的值。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="527" />
        <source>Enter the corp ID (Admin console &gt; My company &gt; Corp ID).</source>
        <translation>请输入企业 ID（管理后台 &gt; 我的企业 &gt; 企业 ID）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="529" />
        <source>The corp ID cannot contain spaces.</source>
        <translation>企业 ID 不能包含空格。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="531" />
        <source>The corp ID is at most 64 characters long.</source>
        <translation>企业 ID 最长 64 个字符。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="533" />
        <source>Another corp already has this corp ID.</source>
        <translation>已有其他企业使用此企业 ID。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="538" />
        <source>%1 is not a file: choose the PEM file of your company's CA, or leave the field empty.</source>
        <translation>%1 不是文件：请选择贵公司 CA 的 PEM 文件，或留空。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="541" />
        <source>Write the proxy as socks5://host:port or http://host:port (user and password go in the proxy password field).</source>
        <translation>代理请写成 socks5://host:port 或 http://host:port（用户名和密码请填在“代理密码”栏中）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="547" />
        <source>Choose the simulator's corpus folder.</source>
        <translation>请选择模拟器的语料文件夹。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="549" />
        <source>%1 is not a simulator corpus (it has no corpus.json).</source>
        <translation>%1 不是模拟器语料文件夹（其中没有 corpus.json）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="554" />
        <source>Choose Tencent's SDK library file (libWeWorkFinanceSdk_C.so).</source>
        <translation>请选择腾讯的 SDK 库文件（libWeWorkFinanceSdk_C.so）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="577" />
        <source>The SDK library could not be checked: %1</source>
        <translation>无法检查 SDK 库：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/corp_page.py" line="582" />
        <source>Checking the SDK library…</source>
        <translation>正在检查 SDK 库…</translation>
    </message>
</context>
<context>
    <name>DateRange</name>
    <message>
        <location filename="../../app/ui/insight_common.py" line="113" />
        <source>From</source>
        <translation>从</translation>
    </message>
    <message>
        <location filename="../../app/ui/insight_common.py" line="114" />
        <source>To</source>
        <translation>到</translation>
    </message>
</context>
<context>
    <name>DirectoryPanel</name>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="135" />
        <source>Sync from WeCom</source>
        <translation>从企业微信同步</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="136" />
        <source>Staff, departments, external contacts, groups, the permit list and consent from WeCom's server API</source>
        <translation>通过企业微信服务端接口获取成员、部门、外部联系人、群、存档成员名单和客户同意情况</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="138" />
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="140" />
        <source>Import names file…</source>
        <translation>导入名称文件…</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="141" />
        <source>Secrets…</source>
        <translation>Secret…</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="144" />
        <source>off</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="145" />
        <source> h</source>
        <translation> 小时</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="147" />
        <source>Sync the directory every so many hours in the background (0: off)</source>
        <translation>后台每隔若干小时同步一次通讯录（0：关闭）</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="165" />
        <source>Problems of the last directory sync</source>
        <translation>最近一次通讯录同步的问题</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="176" />
        <source>Every:</source>
        <translation>间隔：</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="186" />
        <source>Problems:</source>
        <translation>问题：</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="193" />
        <source>The directory sync failed: %1</source>
        <translation>通讯录同步失败：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="195" />
        <location filename="../../app/ui/directory_panel.py" line="325" />
        <source>The directory sync was cancelled.</source>
        <translation>通讯录同步已取消。</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="242" />
        <source>The directory has not been synced from WeCom yet. Names come from WeCom's server API (Sync from WeCom), or from a names file.</source>
        <translation>尚未从企业微信同步通讯录。名称来自企业微信服务端接口（从企业微信同步）或名称文件。</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="248" />
        <source>succeeded</source>
        <translation>成功</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="248" />
        <source>done with refusals</source>
        <translation>完成（部分调用被拒绝）</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="249" />
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="249" />
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="249" />
        <source>running</source>
        <translation>进行中</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="250" />
        <source>names file import</source>
        <translation>名称文件导入</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="250" />
        <source>sync from WeCom</source>
        <translation>企业微信同步</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="251" />
        <source>Last %1: %2, %3 by %4.</source>
        <translation>最近一次%1：%2，%3（操作人 %4）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="255" />
        <source>%1 staff, %2 departments, %3 external contacts, %4 groups, %5 on the permit list, %6 consent states, %7 avatars; %8 names new, %9 changed.</source>
        <translation>成员 %1 人，部门 %2 个，外部联系人 %3 人，群 %4 个，存档名单 %5 人，同意情况 %6 条，头像 %7 个；新增名称 %8 个，变更 %9 个。</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="259" />
        <location filename="../../app/ui/directory_panel.py" line="360" />
        <source>%1 names imported.</source>
        <translation>已导入 %1 个名称。</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="268" />
        <source>(%1×: %2)</source>
        <translation>（%1 次：%2）</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="268" />
        <source>(%1×)</source>
        <translation>（%1 次）</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="274" />
        <source>The directory cannot be read: %1</source>
        <translation>无法读取通讯录：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="281" />
        <source>No corp is configured on this computer.</source>
        <translation>本机尚未配置企业。</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="286" />
        <source>Corp %1 is not configured on this computer: %2</source>
        <translation>企业 %1 未在本机配置：%2</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="303" />
        <source>Asking WeCom…</source>
        <translation>正在请求企业微信…</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="309" />
        <source>departments</source>
        <translation>部门</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="309" />
        <source>staff</source>
        <translation>成员</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="310" />
        <source>external contacts</source>
        <translation>外部联系人</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="310" />
        <source>groups</source>
        <translation>群</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="311" />
        <source>permit list</source>
        <translation>存档成员名单</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="311" />
        <source>consent</source>
        <translation>同意情况</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="311" />
        <source>avatars</source>
        <translation>头像</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="318" />
        <source>Step %1 of %2: %3…</source>
        <translation>第 %1 步，共 %2 步：%3…</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="322" />
        <source>The directory is synced.</source>
        <translation>通讯录已同步。</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="323" />
        <source>The directory is synced; WeCom refused some calls (see Problems).</source>
        <translation>通讯录已同步；企业微信拒绝了部分调用（见“问题”）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="324" />
        <source>The directory sync failed (see Problems).</source>
        <translation>通讯录同步失败（见“问题”）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="343" />
        <source>Import names file</source>
        <translation>导入名称文件</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="344" />
        <source>Names files (*.json);;All files (*)</source>
        <translation>名称文件 (*.json);;所有文件 (*)</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="365" />
        <source>The names file was not imported: %1</source>
        <translation>名称文件未导入：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="389" />
        <source>The secrets were not saved: %1</source>
        <translation>Secret 未保存：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="391" />
        <source>The secrets are kept in the OS keyring.</source>
        <translation>Secret 已保存在系统钥匙串中。</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="400" />
        <source>The schedule was not saved: %1</source>
        <translation>计划未保存：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="403" />
        <source>The directory is synced every %1 hours while background jobs run.</source>
        <translation>后台任务运行时，每 %1 小时同步一次通讯录。</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="404" />
        <source>Scheduled directory syncs are off.</source>
        <translation>定时通讯录同步已关闭。</translation>
    </message>
</context>
<context>
    <name>DrawDialog</name>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="430" />
        <source>Draw “%1” now</source>
        <translation>立即抽取“%1”</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="431" />
        <source>Draw</source>
        <translation>抽取</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="437" />
        <source>The week holding:</source>
        <translation>包含此日的一周：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="439" />
        <source>The week runs from Monday 00:00 to the next Monday, local time. A week is drawn once per rule; the sample goes to the reviewers' queue (My sample).</source>
        <translation>一周为本地时间周一 00:00 至下周一。每条规则每周只抽取一次；样本进入审阅人员的队列（我的抽样）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="448" />
        <source>Drawing…</source>
        <translation>正在抽取…</translation>
    </message>
</context>
<context>
    <name>EvidenceModel</name>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="271" />
        <source>Entry</source>
        <translation>记录</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="271" />
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="271" />
        <source>Decision time</source>
        <translation>决定时间</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="271" />
        <source>Msgid</source>
        <translation>消息 ID</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="274" />
        <source>Agreed to archiving</source>
        <translation>同意存档</translation>
    </message>
    <message>
        <location filename="../../app/ui/compliance_panels.py" line="274" />
        <source>Refused archiving</source>
        <translation>拒绝存档</translation>
    </message>
</context>
<context>
    <name>ExportDialog</name>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="119" />
        <source>Export evidence</source>
        <translation>导出证据</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="124" />
        <source>Export:</source>
        <translation>导出内容：</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="126" />
        <source>From</source>
        <translation>从</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="127" />
        <source>To</source>
        <translation>到</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="134" />
        <source> h</source>
        <translation> 小时</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="136" />
        <source>The conversation around each message that is also exported</source>
        <translation>每条消息前后一并导出的会话范围</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="144" />
        <source>Dates:</source>
        <translation>日期：</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="150" />
        <source>Context (±hours):</source>
        <translation>上下文（± 小时）：</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="153" />
        <location filename="../../app/ui/export_dialog.py" line="263" />
        <source>Output folder</source>
        <translation>输出文件夹</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="154" />
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="158" />
        <source>Output folder:</source>
        <translation>输出文件夹：</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="159" />
        <source>As a single zip file</source>
        <translation>打包为单个 zip 文件</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="160" />
        <source>One .zip file holding the package folder, easy to send; `wecom-auditor verify` checks it without unzipping</source>
        <translation>一个包含证据包文件夹的 .zip 文件，便于传送；`wecom-auditor verify` 无需解压即可校验</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="162" />
        <source>PDF transcripts</source>
        <translation>PDF 会话记录</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="164" />
        <source>A PDF per conversation besides the HTML transcript (slower for large exports)</source>
        <translation>除 HTML 会话记录外，每个会话另生成一份 PDF（大批量导出时较慢）</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="170" />
        <source>Package:</source>
        <translation>证据包：</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="67" />
        <source>Export signing key</source>
        <translation>导出签名密钥</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="71" />
        <source>Passphrase of the export signing key:</source>
        <translation>导出签名密钥的口令：</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="74" />
        <source>This computer has no keyring: the export signing key is kept encrypted under a passphrase. Choose it (asked for at each export):</source>
        <translation>本机没有系统钥匙串：导出签名密钥将用口令加密保存。请设置口令（每次导出时都会询问）：</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="78" />
        <source>The same passphrase again:</source>
        <translation>再次输入同一口令：</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="82" />
        <source>The two passphrases differ.</source>
        <translation>两次输入的口令不一致。</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="398" />
        <source>1 message</source>
        <translation>1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="399" />
        <source>1 conversation</source>
        <translation>1 个会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="399" />
        <source>%1 conversations</source>
        <translation>%1 个会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="400" />
        <source>1 media file</source>
        <translation>1 个媒体文件</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="400" />
        <source>%1 media files</source>
        <translation>%1 个媒体文件</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="402" />
        <source>1 hit</source>
        <translation>1 处命中</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="402" />
        <source>%1 hits</source>
        <translation>%1 处命中</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="404" />
        <source>1 PDF transcript</source>
        <translation>1 份 PDF 会话记录</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="404" />
        <source>%1 PDF transcripts</source>
        <translation>%1 份 PDF 会话记录</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="405" />
        <source>, </source>
        <translation>，</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="407" />
        <source>; %1 media not stored in the archive (listed in the load file)</source>
        <translation>；%1 个媒体未存档（已列入载入文件）</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="192" />
        <source>Contents:</source>
        <translation>内容：</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="195" />
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="197" />
        <source>Cancel export</source>
        <translation>取消导出</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="199" />
        <source>Open folder</source>
        <translation>打开文件夹</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="201" />
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="282" />
        <source>The end date is before the start date.</source>
        <translation>结束日期早于开始日期。</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="290" />
        <source>Choose an output folder.</source>
        <translation>请选择输出文件夹。</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="296" />
        <source>The output folder cannot be created: %1</source>
        <translation>无法创建输出文件夹：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="331" />
        <location filename="../../app/ui/export_dialog.py" line="360" />
        <source>Preparing the export…</source>
        <translation>正在准备导出…</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="343" />
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="398" />
        <source>%1 messages</source>
        <translation>%1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="190" />
        <source>Saved as:</source>
        <translation>保存位置：</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="191" />
        <source>Package fingerprint:</source>
        <translation>证据包指纹：</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="356" />
        <source>Copying messages and media…</source>
        <translation>正在复制消息和媒体…</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="356" />
        <source>Writing transcripts…</source>
        <translation>正在生成会话记录…</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="357" />
        <source>%1 (%2%)</source>
        <translation>%1（%2%）</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="375" />
        <source>The export was cancelled; nothing was written.</source>
        <translation>导出已取消，未写入任何内容。</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="379" />
        <source>The export failed: %1</source>
        <translation>导出失败：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/export_dialog.py" line="385" />
        <source>The evidence package is ready.</source>
        <translation>证据包已生成。</translation>
    </message>
</context>
<context>
    <name>FindBar</name>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="58" />
        <source>Find in this conversation</source>
        <extracomment>a hit to show: (corp id, session id, message id) the terms to mark in the bubbles changed (a tuple of normalised texts; () when closed)</extracomment>
        <translation>在本会话中查找</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="60" />
        <source>Words or a query as in the search panel; Enter: next hit, Shift+Enter: previous hit (F3 / Shift+F3 anywhere in the window)</source>
        <translation>词语或与搜索面板相同的查询语句；Enter：下一处，Shift+Enter：上一处（在窗口任意位置按 F3 / Shift+F3）</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="64" />
        <source>Previous hit (Shift+F3)</source>
        <translation>上一处（Shift+F3）</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="67" />
        <source>Next hit (F3)</source>
        <translation>下一处（F3）</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="72" />
        <source>Close (Esc): no more marks</source>
        <translation>关闭（Esc）：不再标出</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="145" />
        <source>1 hit in this conversation</source>
        <translation>本会话中 1 处</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="146" />
        <source>%1 hits in this conversation</source>
        <translation>本会话中 %1 处</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="147" />
        <location filename="../../app/ui/viewer/find.py" line="187" />
        <source>No hits in this conversation</source>
        <translation>本会话中没有匹配</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="189" />
        <source>from the first hit again</source>
        <translation>已从第一处重新开始</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/find.py" line="189" />
        <source>from the last hit again</source>
        <translation>已从最后一处重新开始</translation>
    </message>
</context>
<context>
    <name>FirstRunDialog</name>
    <message>
        <location filename="../../app/ui/auth/login.py" line="196" />
        <source>Create the first administrator — WeCom Archive Auditor</source>
        <translation>创建首个管理员 — 会话存档审计台</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="197" />
        <source>Create and open</source>
        <translation>创建并打开</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="198" />
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="199" />
        <source>Welcome to WeCom Archive Auditor</source>
        <translation>欢迎使用会话存档审计台</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="201" />
        <source>This archive has no accounts yet. Create the first administrator: it manages the settings, the syncs and the other accounts. Everything done in the app is recorded under an account in the audit log.</source>
        <translation>此存档还没有任何账号。请创建首个管理员：由它管理设置、同步和其他账号。在本应用中的每一项操作都会以账号的名义记入审计日志。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="205" />
        <source>Archive: %1</source>
        <translation>存档：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="207" />
        <source>User name</source>
        <translation>用户名</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="212" />
        <source>Roles of this account. On a workstation used by one person, keep them all; in a team, keep only Administrator and create an account for each reviewer.</source>
        <translation>此账号的角色。如果这台工作站只有一个人使用，请全部保留；如果是团队使用，只保留“管理员”，并为每位审阅人员分别创建账号。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="215" />
        <source>Open without login on this workstation (only while the archive has this single account)</source>
        <translation>在此工作站上免登录打开（仅限存档只有这一个账号时）</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="210" />
        <source>User name:</source>
        <translation>用户名：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="243" />
        <source>Creating the account…</source>
        <translation>正在创建账号…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="272" />
        <source>Another workstation has just created the first account of this archive: log in with an account an administrator gives you.</source>
        <translation>另一台工作站刚刚创建了此存档的首个账号：请使用管理员为您分配的账号登录。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="275" />
        <source>Log in instead</source>
        <translation>改为登录</translation>
    </message>
</context>
<context>
    <name>GroupMembersPanel</name>
    <message>
        <location filename="../../app/ui/members_panel.py" line="111" />
        <source>Open conversation</source>
        <translation>打开会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="132" />
        <source>Group:</source>
        <translation>群：</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="154" />
        <source>The archive holds no corp yet.</source>
        <translation>存档中还没有企业。</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="169" />
        <source>Group %1</source>
        <translation>群 %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="177" />
        <source>No group conversations (or none in your scope).</source>
        <translation>没有群聊（或没有您权限范围内的群聊）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="221" />
        <source>The member list cannot be read: %1</source>
        <translation>无法读取成员列表：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="236" />
        <source>This group is not in the archive (or not in your scope).</source>
        <translation>此群不在存档中（或不在您的权限范围内）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="241" />
        <source>internal group</source>
        <translation>内部群</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="241" />
        <source>customer group</source>
        <translation>客户群</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="246" />
        <source>owner %1</source>
        <translation>群主 %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="248" />
        <source>created %1</source>
        <translation>创建于 %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="250" />
        <source>%1 as WeCom listed them on %2</source>
        <translation>企业微信于 %2 列出的 %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="251" />
        <source>1 member</source>
        <translation>1 名成员</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="251" />
        <source>%1 members</source>
        <translation>%1 名成员</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="254" />
        <source>WeCom has not described this group (Directory → Sync from WeCom): the people seen in its messages are listed</source>
        <translation>企业微信尚未提供此群的信息（通讯录 → 从企业微信同步）：列出的是在其消息中出现过的人</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="257" />
        <source>1 has left</source>
        <translation>1 人已退出</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="257" />
        <source>%1 have left</source>
        <translation>%1 人已退出</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="259" />
        <source>1 more seen in the archive only</source>
        <translation>另有 1 人仅见于存档</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="260" />
        <source>%1 more seen in the archive only</source>
        <translation>另有 %1 人仅见于存档</translation>
    </message>
</context>
<context>
    <name>ImageViewDialog</name>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="134" />
        <source>Image</source>
        <translation>图片</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="141" />
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="145" />
        <source>Actual size</source>
        <translation>实际大小</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="149" />
        <source>Save as…</source>
        <translation>另存为…</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="171" />
        <source>This image cannot be shown: {error}</source>
        <translation>无法显示此图片：{error}</translation>
    </message>
</context>
<context>
    <name>Insights</name>
    <message>
        <location filename="../../app/ui/insight_common.py" line="44" />
        <source>Group %1</source>
        <translation>群 %1</translation>
    </message>
</context>
<context>
    <name>JobsModel</name>
    <message>
        <location filename="../../app/ui/queue/model.py" line="37" />
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="37" />
        <source>Job</source>
        <translation>任务</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="37" />
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="37" />
        <source>Attempts</source>
        <translation>尝试次数</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="37" />
        <source>When</source>
        <translation>时间</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="38" />
        <source>Worker</source>
        <translation>执行者</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="38" />
        <source>Last error</source>
        <translation>最近错误</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="32" />
        <source>Scheduled</source>
        <translation>已排期</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="32" />
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="32" />
        <source>Running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="33" />
        <source>Dead</source>
        <translation>已失败</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="34" />
        <source>Media download</source>
        <translation>媒体下载</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="34" />
        <source>Scheduled sync</source>
        <translation>定时同步</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/model.py" line="75" />
        <source>lease until %1</source>
        <translation>租约至 %1</translation>
    </message>
</context>
<context>
    <name>LanguagePage</name>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="213" />
        <source>Follow the system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/pages.py" line="221" />
        <source>The new language takes effect after you restart the app.</source>
        <translation>新的界面语言将在重启应用后生效。</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <location filename="../../app/ui/auth/login.py" line="130" />
        <source>Log in — WeCom Archive Auditor</source>
        <translation>登录 — 会话存档审计台</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="131" />
        <source>Log in</source>
        <translation>登录</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="132" />
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="133" />
        <source>WeCom Archive Auditor</source>
        <translation>会话存档审计台</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="134" />
        <source>Archive: %1</source>
        <translation>存档：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="139" />
        <source>User name</source>
        <translation>用户名</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="142" />
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="144" />
        <source>User name:</source>
        <translation>用户名：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="145" />
        <source>Password:</source>
        <translation>密码：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="162" />
        <source>Enter your user name.</source>
        <translation>请输入用户名。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/login.py" line="164" />
        <source>Enter your password.</source>
        <translation>请输入密码。</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../app/ui/main_window.py" line="85" />
        <location filename="../../app/ui/main_window.py" line="279" />
        <source>WeCom Archive Auditor</source>
        <translation>会话存档审计台</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="139" />
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="140" />
        <source>&amp;Settings…</source>
        <translation>设置(&amp;S)…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="141" />
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="142" />
        <source>&amp;Export evidence…</source>
        <translation>导出证据(&amp;E)…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="143" />
        <source>Export search &amp;results…</source>
        <translation>导出搜索结果(&amp;R)…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="144" />
        <source>Export &amp;selected messages…</source>
        <translation>导出所选消息(&amp;S)…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="145" />
        <source>&amp;Verify evidence package…</source>
        <translation>校验证据包(&amp;V)…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="149" />
        <source>&amp;Print conversation…</source>
        <translation>打印会话(&amp;P)…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="158" />
        <source>S&amp;ync</source>
        <translation>同步(&amp;Y)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="159" />
        <source>&amp;Sync now</source>
        <translation>立即同步(&amp;S)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="160" />
        <source>Sync every configured corp, one after the other</source>
        <translation>依次同步所有已配置的企业</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="161" />
        <source>Sync &amp;one corp</source>
        <translation>同步单个企业(&amp;O)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="163" />
        <source>&amp;Cancel sync</source>
        <translation>取消同步(&amp;C)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="164" />
        <source>Sync &amp;history…</source>
        <translation>同步记录(&amp;H)…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="165" />
        <source>Background &amp;jobs…</source>
        <translation>后台任务(&amp;J)…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="171" />
        <source>&amp;View</source>
        <translation>查看(&amp;V)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="172" />
        <source>&amp;Search messages</source>
        <translation>搜索消息(&amp;S)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="173" />
        <source>&amp;Copy selected messages</source>
        <translation>复制所选消息(&amp;C)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="174" />
        <source>&amp;Jump to date…</source>
        <translation>跳转到日期(&amp;J)…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="175" />
        <source>&amp;Find in this conversation…</source>
        <translation>在本会话中查找(&amp;F)…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="176" />
        <source>&amp;Next hit</source>
        <translation>下一处(&amp;N)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="177" />
        <source>&amp;Previous hit</source>
        <translation>上一处(&amp;P)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="183" />
        <source>&amp;Account</source>
        <translation>账号(&amp;A)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="184" />
        <source>Change &amp;password…</source>
        <translation>修改密码(&amp;P)…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="185" />
        <source>&amp;Accounts…</source>
        <translation>账号管理(&amp;A)…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="186" />
        <source>Audit &amp;log…</source>
        <translation>审计日志(&amp;L)…</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="187" />
        <source>Open &amp;without login on this workstation</source>
        <translation>在此工作站上免登录打开(&amp;W)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="188" />
        <source>Log &amp;out</source>
        <translation>退出登录(&amp;O)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="195" />
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="196" />
        <source>&amp;About</source>
        <translation>关于(&amp;A)</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="343" />
        <source>Preparing the demo archive… (about ten seconds the first time)</source>
        <translation>正在准备演示存档…（首次约需十秒）</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="499" />
        <source>Open a conversation to print.</source>
        <translation>请先打开要打印的会话。</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="570" />
        <source>Logged in: %1</source>
        <translation>已登录：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="570" />
        <source>Acting as: %1</source>
        <translation>当前身份：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="572" />
        <source>Roles: %1</source>
        <translation>角色：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="292" />
        <source>Search index updated: 1 message</source>
        <translation>搜索索引已更新：1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="293" />
        <source>Search index updated: %1 messages</source>
        <translation>搜索索引已更新：%1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="355" />
        <source>Demo archive</source>
        <translation>演示存档</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="408" />
        <source>last synced %1 (%2)</source>
        <translation>上次同步 %1（%2）</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="409" />
        <source>never synced</source>
        <translation>从未同步</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="416" />
        <source>finished</source>
        <translation>完成</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="416" />
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="416" />
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="417" />
        <source>interrupted</source>
        <translation>已中断</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="446" />
        <source>1 new message</source>
        <translation>新增 1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="446" />
        <source>%1 new messages</source>
        <translation>新增 %1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="447" />
        <source>1 quarantined</source>
        <translation>隔离 1 条</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="447" />
        <source>%1 quarantined</source>
        <translation>隔离 %1 条</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="448" />
        <source>1 media file stored</source>
        <translation>保存媒体文件 1 个</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="448" />
        <source>%1 media files stored</source>
        <translation>保存媒体文件 %1 个</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="451" />
        <source>Sync %1: %2</source>
        <translation>同步%1：%2</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="452" />
        <source>, </source>
        <translation>，</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="484" />
        <source>Choose a session to export.</source>
        <translation>请先选择要导出的会话。</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="489" />
        <source>Session %1</source>
        <translation>会话 %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="512" />
        <source>Nothing to export: %1</source>
        <translation>没有可导出的内容：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="515" />
        <source>Search: %1</source>
        <translation>搜索：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="524" />
        <source>Select the messages to export first.</source>
        <translation>请先选择要导出的消息。</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="528" />
        <source>1 selected message</source>
        <translation>所选 1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="529" />
        <source>%1 selected messages</source>
        <translation>所选 %1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="593" />
        <source>Open without login</source>
        <translation>免登录打开</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="599" />
        <source>This workstation opens without login from now on.</source>
        <translation>此工作站今后将免登录打开。</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="600" />
        <source>This workstation asks for the password from now on.</source>
        <translation>此工作站今后将要求输入密码。</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="607" />
        <source>Password changed.</source>
        <translation>密码已修改。</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="630" />
        <source>The roles or the scope of your account changed: the window was reopened with them.</source>
        <translation>您账号的角色或查看范围已变更：窗口已按新的设置重新打开。</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="660" />
        <source>About</source>
        <translation>关于</translation>
    </message>
    <message>
        <location filename="../../app/ui/main_window.py" line="661" />
        <source>WeCom Archive Auditor
Archive and review WeCom chats for compliance.</source>
        <translation>会话存档审计台
为合规审查存档并审阅企业微信会话。</translation>
    </message>
</context>
<context>
    <name>MediaActions</name>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="223" />
        <source>Save voice message</source>
        <translation>保存语音</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="223" />
        <source>Save as</source>
        <translation>另存为</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="240" />
        <location filename="../../app/ui/viewer/media_view.py" line="274" />
        <source>Open file</source>
        <translation>打开文件</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="241" />
        <source>Programs and scripts from messages are never opened. Use "Save as…" to keep a copy.</source>
        <translation>来自消息的程序和脚本不会被打开。请使用“另存为…”保存副本。</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="271" />
        <source>No program on this computer opens .{ext} files.</source>
        <translation>本机没有可打开 .{ext} 文件的程序。</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="272" />
        <source>No program on this computer opens files of this type.</source>
        <translation>本机没有可打开此类文件的程序。</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="275" />
        <source>Nothing was opened, and nothing is recorded as opened. Use "Save as…" to keep a copy, or install a program for this type.</source>
        <translation>未打开任何文件，也未记录为已打开。可用“另存为…”保存副本，或安装能打开此类文件的程序。</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="280" />
        <location filename="../../app/ui/viewer/media_view.py" line="286" />
        <source>Media</source>
        <translation>媒体</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="281" />
        <source>The file was opened, but this could not be recorded: {error}</source>
        <translation>文件已打开，但未能记入审计日志：{error}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/media_view.py" line="287" />
        <source>The file could not be copied: {error}</source>
        <translation>无法复制文件：{error}</translation>
    </message>
</context>
<context>
    <name>MediaStoragePage</name>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="142" />
        <source>Test connection</source>
        <translation>测试连接</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="143" />
        <source>Writes, reads back and deletes a small test object (for a folder: checks it can be written), off the main window.</source>
        <translation>在后台写入、读回并删除一个小的测试对象（文件夹则检查能否写入），不阻塞主窗口。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="154" />
        <source>Images, voice, video and files are downloaded, verified against WeCom's checksum and stored under their SHA-256. Choose where:</source>
        <translation>图片、语音、视频和文件下载后，会用企业微信给出的校验值核对，并按其 SHA-256 存储。请选择存储位置：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="160" />
        <source>Secret keys are kept in the keyring, never in the settings file. Files already stored stay where they are and remain readable; to move them, run: wecom-auditor media migrate --to oss (or cos, local). A new choice takes effect after a restart.</source>
        <translation>密钥保存在系统钥匙串中，绝不写入设置文件。已存储的文件保留在原处，仍可读取；如需迁移，请运行：wecom-auditor media migrate --to oss（或 cos、local）。新的选择在重启后生效。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="228" />
        <source>The media folder has a value to fix.</source>
        <translation>媒体文件夹有需要修改的值。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="229" />
        <source>The media storage has a value to fix.</source>
        <translation>媒体存储有需要修改的值。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="237" />
        <source>Give the full path of the folder.</source>
        <translation>请填写文件夹的完整路径。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="239" />
        <source>This is a file; choose a folder.</source>
        <translation>这是一个文件，请选择文件夹。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="255" />
        <source>Enter the secret key (it is kept in the keyring).</source>
        <translation>请输入密钥（将保存在系统钥匙串中）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="283" />
        <source>Cannot read the keyring: %1</source>
        <translation>无法读取系统钥匙串：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="292" />
        <source>No keyring on this computer: give the secret key in the environment variable %1.</source>
        <translation>本机没有可用的钥匙串：请通过环境变量 %1 提供密钥。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="295" />
        <source>Stored in the keyring when you click OK.</source>
        <translation>点击“确定”后保存到系统钥匙串。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="299" />
        <source>Stored in the keyring.</source>
        <translation>已保存在系统钥匙串中。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="301" />
        <source>Read from the environment variable %1.</source>
        <translation>从环境变量 %1 读取。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="303" />
        <source>Not set.</source>
        <translation>未设置。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/storage_page.py" line="332" />
        <source>Connecting…</source>
        <translation>正在连接…</translation>
    </message>
</context>
<context>
    <name>MemberModel</name>
    <message>
        <location filename="../../app/ui/members_panel.py" line="52" />
        <source>Invited by a member</source>
        <translation>成员邀请</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="52" />
        <source>Through a link</source>
        <translation>通过链接</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="53" />
        <source>Scanned a QR code</source>
        <translation>扫描二维码</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="56" />
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="56" />
        <source>Id</source>
        <translation>ID</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="56" />
        <source>Staff or corp</source>
        <translation>员工或企业</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="56" />
        <source>Joined</source>
        <translation>入群时间</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="56" />
        <source>How</source>
        <translation>入群方式</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="57" />
        <source>Invited by</source>
        <translation>邀请人</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="57" />
        <source>Messages here</source>
        <translation>群内消息数</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="57" />
        <source>Last message here</source>
        <translation>群内最近消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="57" />
        <source>Membership</source>
        <translation>成员状态</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="62" />
        <source>%1 (owner)</source>
        <translation>%1（群主）</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="67" />
        <source>External %1</source>
        <translation>外部 %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="67" />
        <source>External</source>
        <translation>外部</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="69" />
        <source>Staff, %1</source>
        <translation>员工，%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="69" />
        <source>Staff</source>
        <translation>员工</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="83" />
        <source>Left (not listed since %1)</source>
        <translation>已退出（自 %1 起不在名单中）</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="84" />
        <source>Member</source>
        <translation>成员</translation>
    </message>
    <message>
        <location filename="../../app/ui/members_panel.py" line="84" />
        <source>Seen in the archive only</source>
        <translation>仅见于存档</translation>
    </message>
</context>
<context>
    <name>MessageDelegate</name>
    <message>
        <location filename="../../app/ui/viewer/delegate.py" line="264" />
        <source>[Cannot show this part]</source>
        <translation>[无法显示此部分]</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/delegate.py" line="301" />
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/delegate.py" line="303" />
        <source>Save voice…</source>
        <translation>保存语音…</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/delegate.py" line="304" />
        <source>Save as…</source>
        <translation>另存为…</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/delegate.py" line="307" />
        <source>View</source>
        <translation>查看</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/delegate.py" line="573" />
        <source>Recalled at {time}</source>
        <translation>已撤回（{time}）</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/delegate.py" line="678" />
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
</context>
<context>
    <name>MessageDetailsDialog</name>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="121" />
        <source>Message details</source>
        <translation>消息详情</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="124" />
        <source>This message is not in the archive.</source>
        <translation>存档中没有这条消息。</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="129" />
        <source>This message cannot be shown to your account: {reason}</source>
        <translation>此消息不能向您的账号显示：{reason}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="132" />
        <source>This message cannot be shown: {reason}</source>
        <translation>无法显示此消息：{reason}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="144" />
        <source>Fields</source>
        <translation>字段</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="148" />
        <source>Raw JSON (formatted)</source>
        <translation>原始 JSON（格式化）</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="149" />
        <source>Raw JSON (exact bytes)</source>
        <translation>原始 JSON（原始字节）</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="150" />
        <source>Hex</source>
        <translation>十六进制</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="151" />
        <source>Media ({n})</source>
        <translation>媒体（{n}）</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="156" />
        <source>SHA-256:</source>
        <translation>SHA-256：</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="160" />
        <source>Verify</source>
        <translation>校验</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="168" />
        <source>Copy raw JSON</source>
        <translation>复制原始 JSON</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="195" />
        <source>msgid</source>
        <translation>消息 ID (msgid)</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="196" />
        <source>seq</source>
        <translation>序号 (seq)</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="197" />
        <source>Public key version</source>
        <translation>公钥版本</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="198" />
        <source>action</source>
        <translation>动作 (action)</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="199" />
        <source>From</source>
        <translation>发送者</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="200" />
        <source>To</source>
        <translation>接收者</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="201" />
        <source>roomid</source>
        <translation>群聊 ID (roomid)</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="202" />
        <source>msgtime</source>
        <translation>消息时间 (msgtime)</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="203" />
        <source>msgtype</source>
        <translation>消息类型 (msgtype)</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="203" />
        <source>(not supported)</source>
        <translation>（不支持）</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="204" />
        <source>Session</source>
        <translation>会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="206" />
        <source>Recalled</source>
        <translation>撤回</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="206" />
        <source>Recalled at {time}</source>
        <translation>撤回于 {time}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="208" />
        <source>Recalls message</source>
        <translation>撤回的消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="209" />
        <source>Stored size</source>
        <translation>存储大小</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="209" />
        <source>{n} bytes</source>
        <translation>{n} 字节</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="214" />
        <location filename="../../app/ui/viewer/details.py" line="217" />
        <source>Parse problems</source>
        <translation>解析问题</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="224" />
        <source>Content</source>
        <translation>内容</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="228" />
        <source>Where</source>
        <translation>位置</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="228" />
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="228" />
        <source>File name</source>
        <translation>文件名</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="228" />
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="228" />
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="229" />
        <source>MD5 matched</source>
        <translation>MD5 一致</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="229" />
        <source>SHA-256</source>
        <translation>SHA-256</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="229" />
        <source>Last error</source>
        <translation>最近错误</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="235" />
        <source>yes</source>
        <translation>是</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="235" />
        <source>no</source>
        <translation>否</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="254" />
        <source>Match: the stored JSON has the SHA-256 recorded when it was archived.</source>
        <translation>一致：存储的 JSON 与存档时记录的 SHA-256 相符。</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/details.py" line="256" />
        <source>MISMATCH: the stored JSON now hashes to {sha}</source>
        <translation>不一致：存储的 JSON 现在的 SHA-256 为 {sha}</translation>
    </message>
</context>
<context>
    <name>MessageListModel</name>
    <message>
        <location filename="../../app/ui/viewer/model.py" line="344" />
        <source>[recalled at {time}]</source>
        <extracomment>a new window is shown; the id of the row to bring into view (-1: the newest, at the bottom) the session a person opened (``record_open``), as ArchiveService.open_session returned it (a SessionRow, or None if the archive has no such session); emitted before window_opened the core refused to open the session (the reason, one sentence); the window is now empty the media rows of these messages changed (a download finished): their bubbles must be drawn anew a prefetched page is staged beyond one end of the window ("older" or "newer"): see staged_facts</extracomment>
        <translation>[已于 {time} 撤回]</translation>
    </message>
</context>
<context>
    <name>MessageRenderer</name>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="166" />
        <source>{amount} yuan</source>
        <translation>{amount} 元</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="357" />
        <source>[This message could not be read: {type}]</source>
        <translation>[无法读取此消息：{type}]</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="358" />
        <location filename="../../app/ui/viewer/render.py" line="707" />
        <source>Show raw JSON</source>
        <translation>显示原始 JSON</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="402" />
        <source>{who} recalled a message</source>
        <translation>{who} 撤回了一条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="407" />
        <source>{who} agreed to have chats archived</source>
        <translation>{who} 同意存档会话内容</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="413" />
        <source>{who} declined to have chats archived</source>
        <translation>{who} 拒绝存档会话内容</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="616" />
        <source>{who} switched enterprise</source>
        <translation>{who} 切换了企业</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="471" />
        <source>{n} forwarded messages</source>
        <translation>共 {n} 条聊天记录</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="625" />
        <source>Collapse</source>
        <translation>收起</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="626" />
        <source>Show all {n} items</source>
        <translation>展开全部 {n} 项</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="422" />
        <source>Voice message</source>
        <translation>语音</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="576" />
        <source>Ended {time}</source>
        <translation>结束于 {time}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="578" />
        <source>Shared file: {name} ({who})</source>
        <translation>共享文件：{name}（{who}）</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="581" />
        <source>Shared screen: {who}</source>
        <translation>共享屏幕：{who}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="582" />
        <source>Call recording</source>
        <translation>通话录音</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="522" />
        <location filename="../../app/ui/viewer/render.py" line="552" />
        <source>Place: {place}</source>
        <translation>地点：{place}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="554" />
        <source>Attendees: {names}</source>
        <translation>参与人：{names}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="532" />
        <location filename="../../app/ui/viewer/render.py" line="557" />
        <source>Created by {who}</source>
        <translation>创建人：{who}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="424" />
        <source>AMR audio cannot be played inside this app: "Open" plays it with a program of this computer that can.</source>
        <translation>本程序内无法播放 AMR 语音：点“打开”可用本机能播放它的程序播放。</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="494" />
        <source>Started a vote</source>
        <translation>发起投票</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="495" />
        <source>Voted</source>
        <translation>参与投票</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="510" />
        <source>Amount: {amount}</source>
        <translation>金额：{amount}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="512" />
        <source>Packets: {n}</source>
        <translation>个数：{n}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="603" />
        <source>Call</source>
        <translation>通话</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="604" />
        <source>Duration {d}</source>
        <translation>时长 {d}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="629" />
        <source>Attended</source>
        <translation>已参加</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="630" />
        <source>Declined</source>
        <translation>已拒绝</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="631" />
        <source>Not answered yet</source>
        <translation>待定</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="632" />
        <source>Cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="633" />
        <source>Expired</source>
        <translation>已过期</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="634" />
        <source>Normal red packet</source>
        <translation>普通红包</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="635" />
        <source>Lucky red packet</source>
        <translation>拼手气红包</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="636" />
        <source>Incentive red packet</source>
        <translation>激励红包</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="637" />
        <source>Picture post</source>
        <translation>图片动态</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="638" />
        <source>Video post</source>
        <translation>视频动态</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="639" />
        <source>Live stream</source>
        <translation>直播</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="640" />
        <source>Voice call</source>
        <translation>语音通话</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="641" />
        <source>Video call</source>
        <translation>视频通话</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="642" />
        <source>Group voice call</source>
        <translation>多人语音通话</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="643" />
        <source>Group video call</source>
        <translation>多人视频通话</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="654" />
        <source>({n} more characters: open Details to read the whole message)</source>
        <translation>（还有 {n} 个字符：打开“详情”阅读完整消息）</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="679" />
        <source>Not archived (no media reference)</source>
        <translation>未存档（消息中没有媒体引用）</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="683" />
        <source>Download pending</source>
        <translation>等待下载</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="685" />
        <source>Expired: WeCom no longer holds this file</source>
        <translation>已过期：企业微信已不再保存此文件</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="688" />
        <source>Download failed: {reason}</source>
        <translation>下载失败：{reason}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="689" />
        <source>Download failed</source>
        <translation>下载失败</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/render.py" line="706" />
        <source>[Unsupported message type: {type}]</source>
        <translation>[不支持的消息类型：{type}]</translation>
    </message>
</context>
<context>
    <name>MessageViewer</name>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="185" />
        <source>Jump to date…</source>
        <extracomment>a message id, on double-click (declared qint64: ids are 64-bit snowflakes, beyond Qt's int) the target of show_message / jump_to_date is selected and scrolled into view</extracomment>
        <translation>跳转到日期…</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="186" />
        <source>Show the first message of a day (Ctrl+G)</source>
        <translation>显示某一天的第一条消息 (Ctrl+G)</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="189" />
        <source>Newest</source>
        <translation>最新</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="190" />
        <source>Go to the newest message</source>
        <translation>转到最新消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="193" />
        <source>Oldest</source>
        <translation>最早</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="194" />
        <source>Go to the first message of the conversation</source>
        <translation>转到本会话的第一条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="197" />
        <location filename="../../app/ui/viewer/widget.py" line="718" />
        <source>Details…</source>
        <translation>详情…</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="198" />
        <source>Fields, raw JSON and SHA-256 of the selected message</source>
        <translation>所选消息的字段、原始 JSON 和 SHA-256</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="225" />
        <source>Choose a session to read its messages.</source>
        <translation>请选择一个会话以查看其消息。</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="475" />
        <source>This conversation cannot be shown to your account.
{reason}</source>
        <translation>此会话不能向您的账号显示。
{reason}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="657" />
        <source>1 participant</source>
        <translation>1 位成员</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="658" />
        <source>%1 participants</source>
        <translation>%1 位成员</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="659" />
        <source>1 message</source>
        <translation>1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="659" />
        <source>%1 messages</source>
        <translation>%1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="670" />
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="673" />
        <source>Could not load messages: {error}</source>
        <translation>无法加载消息：{error}</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="716" />
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <location filename="../../app/ui/viewer/widget.py" line="720" />
        <source>Export selected messages…</source>
        <translation>导出所选消息…</translation>
    </message>
</context>
<context>
    <name>NewAccountDialog</name>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="253" />
        <source>New account</source>
        <translation>新建账号</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="254" />
        <source>Create</source>
        <translation>创建</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="256" />
        <source>User name</source>
        <translation>用户名</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="258" />
        <source>Initial password:</source>
        <translation>初始密码：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="258" />
        <source>Repeat password:</source>
        <translation>再次输入密码：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="260" />
        <source>The owner must choose a new password at the first login</source>
        <translation>账号持有人首次登录时必须设置新密码</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="264" />
        <source>Change…</source>
        <translation>修改…</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="269" />
        <source>User name:</source>
        <translation>用户名：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="271" />
        <source>Roles:</source>
        <translation>角色：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="272" />
        <source>Scope:</source>
        <translation>查看范围：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="296" />
        <source>Give the account at least one role.</source>
        <translation>请为账号至少分配一个角色。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="300" />
        <source>Creating the account…</source>
        <translation>正在创建账号…</translation>
    </message>
</context>
<context>
    <name>NewPasswordFields</name>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="97" />
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="98" />
        <source>Repeat password</source>
        <translation>再次输入密码</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="102" />
        <source>Show</source>
        <translation>显示</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="106" />
        <source>Generate</source>
        <translation>生成</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="107" />
        <source>Fill in a random password and show it, to hand it over</source>
        <translation>填入一个随机密码并显示出来，以便转交给账号持有人</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="117" />
        <source>Password:</source>
        <translation>密码：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="118" />
        <source>Repeat password:</source>
        <translation>再次输入密码：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="140" />
        <source>Enter the new password.</source>
        <translation>请输入新密码。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/widgets.py" line="142" />
        <source>The two passwords differ.</source>
        <translation>两次输入的密码不一致。</translation>
    </message>
</context>
<context>
    <name>NotesPane</name>
    <message>
        <location filename="../../app/ui/review/notes.py" line="45" />
        <source>Notes</source>
        <translation>备注</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="57" />
        <source>Earlier versions</source>
        <translation>早期版本</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="60" />
        <source>Write a note…</source>
        <translation>写一条备注…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="62" />
        <source>Add to message</source>
        <translation>添加到消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="63" />
        <source>Add to conversation</source>
        <translation>添加到会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="64" />
        <source>Edit</source>
        <translation>编辑</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="65" />
        <source>Save new version</source>
        <translation>保存为新版本</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="113" />
        <source>Choose a conversation to read and write notes.</source>
        <translation>选择一个会话以查看和撰写备注。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="115" />
        <source>Notes on this conversation</source>
        <translation>本会话的备注</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="117" />
        <source>Notes on the selected message and its conversation</source>
        <translation>所选消息及其会话的备注</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="123" />
        <source>Only its author may change a note.</source>
        <translation>只有作者本人可以修改备注。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="126" />
        <source>No notes yet.</source>
        <translation>暂无备注。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="131" />
        <source>on the message</source>
        <translation>针对消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="131" />
        <source>on the conversation</source>
        <translation>针对会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="134" />
        <source>edited %1 (version %2)</source>
        <translation>%1 修改（第 %2 版）</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="137" />
        <location filename="../../app/ui/review/notes.py" line="199" />
        <source>(The text is hidden: your account sees who wrote a note and when, not what.)</source>
        <translation>（内容已隐藏：您的账号只能看到谁在何时写了备注，看不到内容。）</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="169" />
        <source>edited · 1 earlier version</source>
        <translation>已修改 · 1 个早期版本</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="170" />
        <source>edited · %1 earlier versions</source>
        <translation>已修改 · %1 个早期版本</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="196" />
        <source>Version %1 · %2 · %3</source>
        <translation>第 %1 版 · %2 · %3</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="211" />
        <source>Note added.</source>
        <translation>已添加备注。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/notes.py" line="229" />
        <source>Saved as version %1; the earlier versions are kept.</source>
        <translation>已保存为第 %1 版；之前的版本均保留。</translation>
    </message>
</context>
<context>
    <name>Panels</name>
    <message>
        <location filename="../../app/ui/panel_list.py" line="19" />
        <source>Quarantine</source>
        <translation>隔离区</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="41" />
        <source>Directory</source>
        <translation>通讯录</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="43" />
        <source>Archived staff</source>
        <translation>存档成员</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="45" />
        <source>Consent</source>
        <translation>客户同意</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="55" />
        <source>Server</source>
        <translation>服务器</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="64" />
        <source>Review</source>
        <translation>审阅</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="91" />
        <source>Statistics</source>
        <translation>统计</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="93" />
        <source>Person timeline</source>
        <translation>个人时间线</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="95" />
        <source>Group members</source>
        <translation>群成员</translation>
    </message>
    <message>
        <location filename="../../app/ui/panel_list.py" line="97" />
        <source>Print conversation</source>
        <translation>打印会话</translation>
    </message>
</context>
<context>
    <name>PathField</name>
    <message>
        <location filename="../../app/ui/settings/fields.py" line="45" />
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
</context>
<context>
    <name>PoliciesPage</name>
    <message>
        <location filename="../../app/ui/review/settings.py" line="254" />
        <source>A policy is a saved query that raises an alert in the reviewers' queue for each conversation and day with new matches.</source>
        <translation>策略是一个保存的查询：每个会话每天出现新的匹配时，在审阅人员的队列中产生一条告警。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="257" />
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="257" />
        <source>Query</source>
        <translation>查询</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="258" />
        <source>Runs</source>
        <translation>运行</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="258" />
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="259" />
        <source>Assignee</source>
        <translation>处理人</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="259" />
        <source>Alerts</source>
        <translation>告警</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="260" />
        <source>Last run</source>
        <translation>上次运行</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="263" />
        <source>New…</source>
        <translation>新建…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="264" />
        <source>Edit…</source>
        <translation>编辑…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="265" />
        <location filename="../../app/ui/review/settings.py" line="300" />
        <source>Disable</source>
        <translation>停用</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="266" />
        <source>Run now…</source>
        <translation>立即运行…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="283" />
        <source>%1 (%2 open)</source>
        <translation>%1（%2 条未处理）</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="285" />
        <source>Enabled</source>
        <translation>已启用</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="285" />
        <source>Disabled</source>
        <translation>已停用</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="286" />
        <source>never</source>
        <translation>从未</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="299" />
        <source>Enable</source>
        <translation>启用</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="304" />
        <source>Policy “%1” created: it looks at what arrives from now on.</source>
        <translation>已创建策略“%1”：它检查从现在起到达的消息。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="312" />
        <source>Policy “%1” saved.</source>
        <translation>已保存策略“%1”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="319" />
        <source>“%1” is disabled: it raises no alerts.</source>
        <translation>“%1”已停用：不再产生告警。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="320" />
        <source>“%1” is enabled: it looks at what arrives from now on.</source>
        <translation>“%1”已启用：检查从现在起到达的消息。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="334" />
        <source>“%1” ran on %2: %3; %4 raised, %5 given new hits.</source>
        <translation>“%1”已检查%2：%3；新产生%4，%5 条告警有新命中。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="336" />
        <source>1 message</source>
        <translation> 1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="336" />
        <source>%1 messages</source>
        <translation> %1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="337" />
        <source>1 new hit</source>
        <translation>新命中 1 条</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="337" />
        <source>%1 new hits</source>
        <translation>新命中 %1 条</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="338" />
        <source>1 alert</source>
        <translation> 1 条告警</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="338" />
        <source>%1 alerts</source>
        <translation> %1 条告警</translation>
    </message>
</context>
<context>
    <name>PolicyDialog</name>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="169" />
        <source>New policy</source>
        <translation>新建策略</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="169" />
        <source>Edit policy</source>
        <translation>编辑策略</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="174" />
        <source>e.g. 返现 OR 回扣 OR "私下转账"</source>
        <translation>例如：返现 OR 回扣 OR "私下转账"</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="184" />
        <source>user name of a reviewer; empty: nobody</source>
        <translation>审阅人员的用户名；留空：不指定</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="186" />
        <source>Enabled: raises alerts</source>
        <translation>启用：产生告警</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="190" />
        <source>Name:</source>
        <translation>名称：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="191" />
        <source>Query:</source>
        <translation>查询：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="193" />
        <source>Runs:</source>
        <translation>运行：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="194" />
        <source>Assign alerts to:</source>
        <translation>告警指派给：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="195" />
        <source>Description:</source>
        <translation>说明：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="198" />
        <source>The query is written as in the search box. Each new match raises an alert: one per conversation and day. A new policy looks at what arrives from now on; Run now… can look back.</source>
        <translation>查询的写法与搜索框相同。新的匹配会产生告警：每个会话每天一条。新策略检查从现在起到达的消息；“立即运行…”可以回溯。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="236" />
        <source>Give the policy a name.</source>
        <translation>请为策略命名。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="238" />
        <source>Write the policy's query.</source>
        <translation>请填写策略的查询。</translation>
    </message>
</context>
<context>
    <name>PrintPanel</name>
    <message>
        <location filename="../../app/ui/print_panel.py" line="72" />
        <source>The transcript could not be made: %1</source>
        <translation>无法生成记录：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="74" />
        <source>Cancelled; nothing was kept.</source>
        <translation>已取消，未保留任何文件。</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="80" />
        <source>Make PDF and open it</source>
        <translation>生成 PDF 并打开</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="81" />
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="91" />
        <source>Open PDF</source>
        <translation>打开 PDF</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="92" />
        <source>Show folder</source>
        <translation>显示文件夹</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="96" />
        <source>The transcript is the PDF of an evidence package of this conversation (recorded in the audit trail as an export). Print it from the PDF viewer. The package is kept in a private temporary folder until the window closes.</source>
        <translation>此记录是该会话证据包中的 PDF（作为一次导出记入审计日志）。请在 PDF 阅读器中打印。证据包保存在私有临时文件夹中，窗口关闭时删除。</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="103" />
        <source>Conversation:</source>
        <translation>会话：</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="106" />
        <source>Only messages</source>
        <translation>仅限消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="136" />
        <source>Printing a conversation needs an account that may read it (the reviewer role) besides the exporter role.</source>
        <translation>打印会话需要账户既有导出角色，也能读取该会话（审阅角色）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="180" />
        <source>%1 from %2 to %3.</source>
        <translation>%1，从 %2 到 %3。</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="180" />
        <source>1 message</source>
        <translation>1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="181" />
        <source>%1 messages</source>
        <translation>%1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="238" />
        <source>Making the transcript…</source>
        <translation>正在生成记录…</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="257" />
        <source>Transcript made (package %1): %2 PDF file(s), %3 messages.</source>
        <translation>记录已生成（证据包 %1）：%2 个 PDF 文件，%3 条消息。</translation>
    </message>
    <message>
        <location filename="../../app/ui/print_panel.py" line="278" />
        <source>No program on this computer opens PDF files; the transcript is at %1</source>
        <translation>此电脑上没有可打开 PDF 文件的程序；记录位于 %1</translation>
    </message>
</context>
<context>
    <name>PrivateKeyImportDialog</name>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="26" />
        <source>Import private key</source>
        <translation>导入私钥</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="32" />
        <source>Choose the private key (PEM)</source>
        <translation>选择私钥（PEM）</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="33" />
        <source>PEM files (*.pem *.key);;All files (*)</source>
        <translation>PEM 文件 (*.pem *.key);;所有文件 (*)</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="34" />
        <source>private_key_v2.pem</source>
        <translation>private_key_v2.pem</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="38" />
        <source>The private key that matches the public key of this version in the WeCom admin console (Chat archive &gt; publickey_ver) for corp %1. Keep every old version: older messages need it.</source>
        <translation>与企业 %1 在企业微信管理后台（会话内容存档 &gt; publickey_ver）中该版本公钥相对应的私钥。请保留所有旧版本私钥：较早的消息需要用它们解密。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="40" />
        <source>(new corp)</source>
        <translation>（新企业）</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="42" />
        <source>Key version (publickey_ver):</source>
        <translation>密钥版本（publickey_ver）：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="44" />
        <source>PEM file:</source>
        <translation>PEM 文件：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="73" />
        <source>Version %1 is installed: importing replaces its key.</source>
        <translation>版本 %1 已安装：导入将替换其私钥。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="89" />
        <source>%1 is not a file.</source>
        <translation>%1 不是文件。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="92" />
        <source>This file is far too big to be a private key; choose the .pem file.</source>
        <translation>此文件太大，不可能是私钥；请选择 .pem 文件。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="95" />
        <source>This file cannot be read as a PEM text file; choose the .pem file.</source>
        <translation>无法将此文件读取为 PEM 文本文件；请选择 .pem 文件。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/keys.py" line="100" />
        <source>This file is not a usable private key: an unencrypted PEM RSA key is needed (-----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----).</source>
        <translation>此文件不是可用的私钥：需要未加密的 PEM 格式 RSA 私钥（-----BEGIN RSA PRIVATE KEY----- 或 -----BEGIN PRIVATE KEY-----）。</translation>
    </message>
</context>
<context>
    <name>QuarantineModel</name>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="53" />
        <source>Key</source>
        <translation>密钥</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="53" />
        <source>Decrypt</source>
        <translation>解密</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="53" />
        <source>Parse</source>
        <translation>解析</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="54" />
        <source>Store</source>
        <translation>保存</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="54" />
        <source>Conflict</source>
        <translation>冲突</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="57" />
        <source>Seq</source>
        <translation>Seq</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="57" />
        <source>Msgid</source>
        <translation>消息 ID</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="57" />
        <source>Key version</source>
        <translation>密钥版本</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="57" />
        <source>Stage</source>
        <translation>阶段</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="57" />
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="58" />
        <source>Tries</source>
        <translation>尝试次数</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="58" />
        <source>First seen</source>
        <translation>首次出现</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="58" />
        <source>Last tried</source>
        <translation>最近尝试</translation>
    </message>
</context>
<context>
    <name>QuarantinePanel</name>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="98" />
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="99" />
        <source>Retry with the keys installed now</source>
        <translation>用当前已导入的私钥重试</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="105" />
        <source>Corp:</source>
        <translation>企业：</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="116" />
        <source>The retry failed: %1</source>
        <translation>重试失败：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="145" />
        <location filename="../../app/ui/quarantine_panel.py" line="155" />
        <source>Nothing is in quarantine.</source>
        <translation>隔离区为空。</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="158" />
        <source>%1 entries are kept here as WeCom delivered them, with the reason they are not in the archive yet. After importing a missing private key, retry them.</source>
        <translation>%1 条数据按企业微信下发的原样保存在这里，并注明尚未入档的原因。导入缺少的私钥后，请重试。</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="160" />
        <source>1 entry is kept here as WeCom delivered it, with the reason it is not in the archive yet. After importing a missing private key, retry it.</source>
        <translation>1 条数据按企业微信下发的原样保存在这里，并注明尚未入档的原因。导入缺少的私钥后，请重试。</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="164" />
        <source>The quarantine cannot be read: %1</source>
        <translation>无法读取隔离区：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="175" />
        <source>Corp %1 is not configured on this computer: %2</source>
        <translation>企业 %1 未在本机配置：%2</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="179" />
        <source>Retrying…</source>
        <translation>正在重试…</translation>
    </message>
    <message>
        <location filename="../../app/ui/quarantine_panel.py" line="184" />
        <source>Retried %1: %2 now archived, %3 still in quarantine.</source>
        <translation>已重试 %1 条：%2 条已入档，%3 条仍在隔离区。</translation>
    </message>
</context>
<context>
    <name>QueueDialog</name>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="45" />
        <source>Background jobs</source>
        <translation>后台任务</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="57" />
        <source>All jobs</source>
        <translation>全部任务</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="74" />
        <source>&amp;Retry now</source>
        <translation>立即重试(&amp;R)</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="75" />
        <source>Run the selected dead or waiting job again now</source>
        <translation>立即重新运行所选的失败或等待中的任务</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="76" />
        <source>&amp;Delete</source>
        <translation>删除(&amp;D)</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="77" />
        <source>Re-enqueue &amp;pending media</source>
        <translation>重新排队待下载媒体(&amp;P)</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="78" />
        <source>Add a download job for every pending media file that has none</source>
        <translation>为每个尚无任务的待下载媒体文件添加下载任务</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="79" />
        <source>Re&amp;fresh</source>
        <translation>刷新(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="85" />
        <source>Show:</source>
        <translation>显示：</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="100" />
        <source>Queue: %1</source>
        <translation>队列：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="101" />
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="134" />
        <source>Scheduled: %1   Ready: %2   Running: %3   Dead: %4</source>
        <translation>已排期：%1   就绪：%2   运行中：%3   已失败：%4</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="149" />
        <source>The job queue cannot be read: %1</source>
        <translation>无法读取任务队列：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="183" />
        <source>Job %1 will run again now.</source>
        <translation>任务 %1 将立即重新运行。</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="184" />
        <source>Job %1 cannot be retried now (it is running or gone).</source>
        <translation>任务 %1 现在无法重试（正在运行或已不存在）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="192" />
        <source>Job %1 deleted.</source>
        <translation>任务 %1 已删除。</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="192" />
        <source>Job %1 was gone already.</source>
        <translation>任务 %1 已不存在。</translation>
    </message>
    <message>
        <location filename="../../app/ui/queue/dialog.py" line="198" />
        <source>%1 job(s) added for pending media.</source>
        <translation>已为待下载媒体添加 %1 个任务。</translation>
    </message>
</context>
<context>
    <name>QueuePage</name>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="76" />
        <source>Embedded, in the archive database (no server needed)</source>
        <translation>内置：存放在存档数据库中（无需服务器）</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="77" />
        <source>A Redis server (a team's workstations and servers share it)</source>
        <translation>Redis 服务器（团队的各工作站和服务器共用）</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="87" />
        <source>Type to replace the stored password</source>
        <translation>输入以替换已保存的密码</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="93" />
        <source>Test connection</source>
        <translation>测试连接</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="94" />
        <source>Opens the job queue off the main window and counts its jobs (the embedded queue: in the archive database in use now).</source>
        <translation>在后台打开任务队列并统计其中的任务，不阻塞主窗口（内置队列：使用当前的存档数据库）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="106" />
        <source> min</source>
        <translation> 分钟</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="107" />
        <location filename="../../app/ui/settings/queue_page.py" line="111" />
        <source>Off</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="110" />
        <source> h</source>
        <translation> 小时</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="113" />
        <source>A folder on another disk or a mounted share</source>
        <translation>另一块磁盘或已挂载网络共享上的文件夹</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="114" />
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="120" />
        <source>Redis URL:</source>
        <translation>Redis 地址：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="121" />
        <source>Redis password:</source>
        <translation>Redis 密码：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="125" />
        <source>Sync every:</source>
        <translation>同步间隔：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="130" />
        <source>Back up every:</source>
        <translation>备份间隔：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="131" />
        <source>Backup folder:</source>
        <translation>备份文件夹：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="136" />
        <source>Failed media downloads and scheduled syncs run as background jobs on a delay queue, while the window is open or on a server running: wecom-auditor worker. Where the jobs wait:</source>
        <translation>下载失败的媒体文件和定时同步作为后台任务在延迟队列中运行：在窗口打开期间运行，或在运行 wecom-auditor worker 的服务器上运行。任务存放位置：</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="141" />
        <source>The embedded queue suits one workstation, or a team sharing a MySQL archive. Redis URL: redis://host:6379/0 (rediss:// for TLS); add ?prefix=NAME to keep two archives apart on one Redis. The password is kept in the keyring, never in the settings file or the URL. A new queue takes effect after a restart; jobs waiting in the old one stay there, and pending media is queued again from the archive.</source>
        <translation>内置队列适用于单个工作站，或共用一个 MySQL 存档的团队。Redis 地址：redis://host:6379/0（TLS 用 rediss://）；加上 ?prefix=名称 可在同一个 Redis 上区分两个存档。密码保存在系统钥匙串中，绝不写入设置文件或地址。新的队列在重启后生效；旧队列中等待的任务留在原处，待下载的媒体会根据存档重新加入队列。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="149" />
        <source>Syncs every corp in the background every so many minutes (Off: only when you sync). WeCom keeps chats for about 5 days, so keep it well below that. A new interval takes effect within 5 minutes.</source>
        <translation>每隔指定的分钟数在后台同步所有企业（关闭：仅在您手动同步时）。企业微信只保留约 5 天的聊天数据，间隔应远小于此。新的间隔在 5 分钟内生效。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="155" />
        <source>Backs up the archive every so many hours into a folder of this computer, as "Back up now…" does (incremental, continuing the folder's chain; the first one is full). Off: only when you back up. On a computer without a keyring, set WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE for the signing key.</source>
        <translation>每隔设定的小时数把存档备份到本机的一个文件夹，与“立即备份…”相同（增量备份，接续该文件夹的备份链；第一个为完整备份）。关闭：只在您手动备份时备份。在没有系统钥匙串的电脑上，请为签名密钥设置 WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="221" />
        <source>The background jobs setting has a value to fix.</source>
        <translation>后台任务设置有需要修改的值。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="225" />
        <source>Choose the folder the scheduled backups go into.</source>
        <translation>请选择定时备份存放的文件夹。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="229" />
        <source>Backup folder</source>
        <translation>备份文件夹</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="238" />
        <source>Enter the Redis server's URL: redis://host:6379/0</source>
        <translation>请输入 Redis 服务器地址：redis://host:6379/0</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="243" />
        <location filename="../../app/ui/settings/queue_page.py" line="259" />
        <source>This is not a Redis URL; write it as redis://host:6379/0</source>
        <translation>这不是 Redis 地址，请写成 redis://host:6379/0</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="245" />
        <source>A Redis URL starts with redis:// (rediss:// for TLS, unix:// for a socket).</source>
        <translation>Redis 地址以 redis:// 开头（TLS 用 rediss://，套接字用 unix://）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="247" />
        <source>Leave the password out of the URL (the URL is saved in the settings file); type it in the Redis password field, which is kept in the keyring.</source>
        <translation>请不要在地址中写密码（地址会保存在设置文件中）；请在“Redis 密码”栏输入，密码将保存在系统钥匙串中。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="251" />
        <source>Give the socket's path: unix:///run/redis/redis.sock</source>
        <translation>请填写套接字路径：unix:///run/redis/redis.sock</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="254" />
        <source>The URL needs the server's host: redis://host:6379/0</source>
        <translation>地址需要包含服务器主机：redis://host:6379/0</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="257" />
        <source>After the host comes the database number: redis://host:6379/0</source>
        <translation>主机之后应为数据库编号：redis://host:6379/0</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="287" />
        <source>Cannot read the keyring: %1</source>
        <translation>无法读取系统钥匙串：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="302" />
        <source>No keyring on this computer: give the password in the environment variable %1.</source>
        <translation>本机没有可用的钥匙串：请通过环境变量 %1 提供密码。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="305" />
        <source>Stored in the keyring when you click OK.</source>
        <translation>点击“确定”后保存到系统钥匙串。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="309" />
        <source>Stored in the keyring.</source>
        <translation>已保存在系统钥匙串中。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="311" />
        <source>Read from the environment variable %1.</source>
        <translation>从环境变量 %1 读取。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="313" />
        <source>Not set (fine if the server asks for none).</source>
        <translation>未设置（服务器不要求密码时无需设置）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="341" />
        <source>Connecting…</source>
        <translation>正在连接…</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="352" />
        <source>OK: %1. Jobs: %2 scheduled, %3 ready, %4 running, %5 dead.</source>
        <translation>正常：%1。任务：已排期 %2，就绪 %3，运行中 %4，已失败 %5。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/queue_page.py" line="358" />
        <source>Failed: %1</source>
        <translation>失败：%1</translation>
    </message>
</context>
<context>
    <name>ResetPasswordDialog</name>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="345" />
        <source>Reset the password of %1</source>
        <translation>重置 %1 的密码</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="346" />
        <source>New password:</source>
        <translation>新密码：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="346" />
        <source>Repeat password:</source>
        <translation>再次输入密码：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="348" />
        <source>The owner must choose a new password at the next login</source>
        <translation>账号持有人下次登录时必须设置新密码</translation>
    </message>
</context>
<context>
    <name>ReviewEditor</name>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="78" />
        <source>Saving…</source>
        <translation>正在保存…</translation>
    </message>
</context>
<context>
    <name>ReviewPanel</name>
    <message>
        <location filename="../../app/ui/review/panel.py" line="61" />
        <source>My alerts</source>
        <translation>我的告警</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="62" />
        <source>My sample</source>
        <translation>我的抽样</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="63" />
        <source>Saved searches</source>
        <translation>已保存的搜索</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="65" />
        <source>Review settings…</source>
        <translation>审阅设置…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="89" />
        <source>Open: mine and unassigned</source>
        <translation>未处理：我的和未分配的</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="89" />
        <source>Open: all in my scope</source>
        <translation>未处理：我范围内的全部</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="90" />
        <source>Open: assigned to me</source>
        <translation>未处理：分配给我的</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="90" />
        <location filename="../../app/ui/review/panel.py" line="260" />
        <source>Dismissed</source>
        <translation>已驳回</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="91" />
        <location filename="../../app/ui/review/panel.py" line="260" />
        <source>Escalated</source>
        <translation>已上报</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="95" />
        <source>Policy</source>
        <translation>策略</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="95" />
        <location filename="../../app/ui/review/panel.py" line="130" />
        <source>Conversation</source>
        <translation>会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="95" />
        <source>Day</source>
        <translation>日期</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="96" />
        <source>Hits</source>
        <translation>命中</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="96" />
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="96" />
        <source>Assignee</source>
        <translation>处理人</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="97" />
        <source>Reason</source>
        <translation>理由</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="98" />
        <location filename="../../app/ui/review/panel.py" line="132" />
        <source>Open conversation</source>
        <translation>打开会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="99" />
        <source>Assign to me</source>
        <translation>分配给我</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="100" />
        <source>Assign…</source>
        <translation>分配…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="101" />
        <source>Dismiss…</source>
        <translation>驳回…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="102" />
        <source>Escalate…</source>
        <translation>上报…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="103" />
        <source>Reopen</source>
        <translation>重新打开</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="126" />
        <source>Sample</source>
        <translation>抽样</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="130" />
        <source>Reviewed</source>
        <translation>已审阅</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="130" />
        <source>By</source>
        <translation>审阅人</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="131" />
        <source>When</source>
        <translation>时间</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="133" />
        <source>Mark reviewed</source>
        <translation>标记为已审阅</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="135" />
        <source>Sampling rule</source>
        <translation>抽样规则</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="136" />
        <source>Draw this week's sample</source>
        <translation>抽取本周样本</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="155" />
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="155" />
        <source>Owner</source>
        <translation>所有者</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="155" />
        <source>Shared</source>
        <translation>共享</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="156" />
        <source>Hits now</source>
        <translation>当前命中</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="156" />
        <source>New since my last run</source>
        <translation>自我上次运行以来新增</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="157" />
        <source>Query</source>
        <translation>查询</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="159" />
        <source>Run in the search panel</source>
        <translation>在搜索面板中运行</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="160" />
        <location filename="../../app/ui/review/panel.py" line="387" />
        <source>Share</source>
        <translation>共享</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="161" />
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="162" />
        <source>Save a search from the search results' menu (right-click).</source>
        <translation>在搜索结果的右键菜单中保存搜索。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="247" />
        <source>(hidden)</source>
        <translation>（已隐藏）</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="253" />
        <location filename="../../app/ui/review/panel.py" line="432" />
        <source>1 alert</source>
        <translation>1 条告警</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="253" />
        <location filename="../../app/ui/review/panel.py" line="432" />
        <source>%1 alerts</source>
        <translation>%1 条告警</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="260" />
        <source>Open</source>
        <translation>未处理</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="278" />
        <source>%1 — week of %2 (%3 of %4 reviewed)</source>
        <translation>%1 —— %2 当周（已审阅 %3 / %4）</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="297" />
        <source>No sample drawn yet.</source>
        <translation>尚未抽样。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="315" />
        <location filename="../../app/ui/review/panel.py" line="353" />
        <source>Yes</source>
        <translation>是</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="315" />
        <source>Not yet</source>
        <translation>尚未</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="322" />
        <source>%1 of %2 conversations reviewed. Drawn by %3 on %4 among %5 candidates without alerts; seed %6 (an auditor reproduces the draw with it).</source>
        <translation>已审阅 %1 / %2 个会话。由 %3 于 %4 从 %5 个无告警的候选会话中抽取；种子 %6（审计员可据此复现抽样）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="353" />
        <source>No</source>
        <translation>否</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="387" />
        <source>Stop sharing</source>
        <translation>停止共享</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="416" />
        <source>Dismiss alerts</source>
        <translation>驳回告警</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="416" />
        <source>Escalate alerts</source>
        <translation>上报告警</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="417" />
        <source>Why? (kept with the alert; the audit trail keeps its fingerprint)</source>
        <translation>理由？（随告警保存；审计日志保存其指纹）</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="422" />
        <source>Assign alerts</source>
        <translation>分配告警</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="423" />
        <source>User name of the reviewer (empty: nobody):</source>
        <translation>审阅人的用户名（留空：不分配）：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="430" />
        <source>Assigned %1.</source>
        <translation>已分配 %1。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="430" />
        <source>Dismissed %1.</source>
        <translation>已驳回 %1。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="431" />
        <source>Escalated %1.</source>
        <translation>已上报 %1。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="431" />
        <source>Reopened %1.</source>
        <translation>已重新打开 %1。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="460" />
        <source>1 conversation marked reviewed.</source>
        <translation>已将 1 个会话标记为已审阅。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="461" />
        <source>%1 conversations marked reviewed.</source>
        <translation>已将 %1 个会话标记为已审阅。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="474" />
        <source>Drew %1 of %2 conversations.</source>
        <translation>从 %2 个会话中抽取了 %1 个。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="493" />
        <source>“%1”: %2.</source>
        <translation>“%1”：%2。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="494" />
        <source>1 hit</source>
        <translation>1 条命中</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="494" />
        <source>%1 hits</source>
        <translation>%1 条命中</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="506" />
        <source>“%1” is shared with the other reviewers.</source>
        <translation>“%1”已与其他审阅人共享。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="507" />
        <source>“%1” is yours alone again.</source>
        <translation>“%1”已恢复为仅自己可见。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/panel.py" line="520" />
        <source>Deleted “%1”.</source>
        <translation>已删除“%1”。</translation>
    </message>
</context>
<context>
    <name>ReviewSettings</name>
    <message>
        <location filename="../../app/ui/review/settings.py" line="495" />
        <source>Review se&amp;ttings…</source>
        <translation>审阅设置(&amp;T)…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="496" />
        <source>Tags, policies and sampling rules of the review</source>
        <translation>审阅的标签、策略和抽样规则</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="157" />
        <source>After every sync</source>
        <translation>每次同步后</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="158" />
        <source>Daily</source>
        <translation>每天</translation>
    </message>
</context>
<context>
    <name>ReviewSettingsDialog</name>
    <message>
        <location filename="../../app/ui/review/settings.py" line="453" />
        <source>Review settings</source>
        <translation>审阅设置</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="458" />
        <source>Tags</source>
        <translation>标签</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="459" />
        <source>Policies</source>
        <translation>策略</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="460" />
        <source>Sampling rules</source>
        <translation>抽样规则</translation>
    </message>
</context>
<context>
    <name>ReviewText</name>
    <message>
        <location filename="../../app/ui/review/common.py" line="66" />
        <source>Refused: this is outside the scope of your account, so nothing was changed.</source>
        <translation>已拒绝：超出您账号的范围，未做任何更改。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/common.py" line="68" />
        <source>Refused: %1</source>
        <translation>已拒绝：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/common.py" line="71" />
        <source>This could not be done: %1</source>
        <translation>无法完成：%1</translation>
    </message>
</context>
<context>
    <name>RolesDialog</name>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="319" />
        <source>Roles of %1</source>
        <translation>%1 的角色</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="321" />
        <source>A change applies at the account's next login.</source>
        <translation>修改在该账号下次登录时生效。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="332" />
        <source>Give the account at least one role (or disable it).</source>
        <translation>请为账号至少保留一个角色（或者停用该账号）。</translation>
    </message>
</context>
<context>
    <name>RuleDialog</name>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="349" />
        <source>New sampling rule</source>
        <translation>新建抽样规则</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="349" />
        <source>Edit sampling rule</source>
        <translation>编辑抽样规则</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="353" />
        <source>staff userids, separated by commas</source>
        <translation>员工 userid，以逗号分隔</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="355" />
        <source>departments, separated by commas</source>
        <translation>部门，以逗号分隔</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="361" />
        <source>A percentage of the week's conversations:</source>
        <translation>本周会话的百分比：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="362" />
        <source>A number of conversations:</source>
        <translation>会话数：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="379" />
        <source>Name:</source>
        <translation>名称：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="380" />
        <source>Staff:</source>
        <translation>员工：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="381" />
        <source>Departments:</source>
        <translation>部门：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="382" />
        <source>Each week:</source>
        <translation>每周：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="384" />
        <source>Each week's sample is chosen at random among the conversations a member of the group took part in that week and that raised no alert. The seed of each draw is kept, so that an auditor can reproduce it.</source>
        <translation>每周的样本从该组成员当周参与且未产生告警的会话中随机抽取。每次抽取的种子都会保留，审计员可据此复现。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="401" />
        <source>Give the rule a name.</source>
        <translation>请为规则命名。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="403" />
        <source>Name the staff or the departments whose conversations are sampled.</source>
        <translation>请填写要抽样其会话的员工或部门。</translation>
    </message>
</context>
<context>
    <name>RunPolicyDialog</name>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="269" />
        <source>Run “%1” now</source>
        <translation>立即运行“%1”</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="270" />
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="271" />
        <source>On the messages stored since it last ran</source>
        <translation>检查上次运行以来保存的消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="272" />
        <source>On every message since:</source>
        <translation>检查此日期以来的全部消息：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="285" />
        <source>Alerts are raised as after a sync; a message already a hit of this policy raises nothing again. Looking back reads the search index: a long period takes a while.</source>
        <translation>告警的产生方式与同步后相同；已被本策略命中的消息不会再次产生告警。回溯读取搜索索引：时间段较长时需要一些时间。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="298" />
        <source>Running the policy…</source>
        <translation>正在运行策略…</translation>
    </message>
</context>
<context>
    <name>SamplingPage</name>
    <message>
        <location filename="../../app/ui/review/settings.py" line="346" />
        <source>A sampling rule gives the reviewers a weekly sample of a staff group's conversations without alerts.</source>
        <translation>抽样规则每周从一组员工未产生告警的会话中抽取样本，交给审阅人员。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="349" />
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="349" />
        <source>Staff group</source>
        <translation>员工范围</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="350" />
        <source>Each week</source>
        <translation>每周</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="350" />
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="351" />
        <source>Created</source>
        <translation>创建</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="356" />
        <source>New…</source>
        <translation>新建…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="357" />
        <source>Edit…</source>
        <translation>编辑…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="358" />
        <location filename="../../app/ui/review/settings.py" line="403" />
        <source>Disable</source>
        <translation>停用</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="359" />
        <source>Draw now…</source>
        <translation>立即抽取…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="361" />
        <source>Drawing a sample is review work: it needs the reviewer role.</source>
        <translation>抽取样本属于审阅工作：需要审阅员角色。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="379" />
        <source>Disabled</source>
        <translation>已停用</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="379" />
        <source>Enabled</source>
        <translation>已启用</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="388" />
        <source>Staff: %1</source>
        <translation>员工：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="390" />
        <source>Departments: %1</source>
        <translation>部门：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="396" />
        <location filename="../../app/ui/review/settings.py" line="436" />
        <source>1 conversation</source>
        <translation>1 个会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="396" />
        <location filename="../../app/ui/review/settings.py" line="436" />
        <source>%1 conversations</source>
        <translation>%1 个会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="403" />
        <source>Enable</source>
        <translation>启用</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="407" />
        <source>Sampling rule “%1” created.</source>
        <translation>已创建抽样规则“%1”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="414" />
        <source>Sampling rule “%1” saved.</source>
        <translation>已保存抽样规则“%1”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="421" />
        <source>“%1” is enabled.</source>
        <translation>“%1”已启用。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="421" />
        <source>“%1” is disabled: it is drawn no more.</source>
        <translation>“%1”已停用：不再抽取。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="434" />
        <source>Drew %1 of %2 for the week of %3. Seed: %4 — an auditor reproduces the draw with it (sample reproduce %5).</source>
        <translation>已从 %2 个候选中抽取 %1（%3 所在周）。种子：%4 —— 审计员可据此复现抽取（sample reproduce %5）。</translation>
    </message>
</context>
<context>
    <name>ScopeDialog</name>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="134" />
        <source>Scope of %1</source>
        <translation>%1 的查看范围</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="135" />
        <source>Scope of the new account</source>
        <translation>新账号的查看范围</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="136" />
        <source>All sessions</source>
        <translation>全部会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="137" />
        <source>Only sessions with the staff and departments ticked below</source>
        <translation>仅限下面勾选的员工和部门参与的会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="139" />
        <source>Filter by name, id or department</source>
        <translation>按姓名、ID 或部门筛选</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="142" />
        <location filename="../../app/ui/auth/accounts_dialog.py" line="171" />
        <source>Departments</source>
        <translation>部门</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="144" />
        <location filename="../../app/ui/auth/accounts_dialog.py" line="172" />
        <source>Staff</source>
        <translation>员工</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="161" />
        <source>userids not in the directory, separated by commas</source>
        <translation>不在通讯录中的 userid，用逗号分隔</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="162" />
        <source>Other staff userids</source>
        <translation>其他员工 userid</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="163" />
        <source>A session is in scope if one of these staff took part in it. A change applies at the account's next login.</source>
        <translation>只要这些员工之一参与了某个会话，该会话即在查看范围内。修改在该账号下次登录时生效。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="167" />
        <source>The directory has no staff names yet (they come with a sync or `wecom-auditor import-names`): type userids below.</source>
        <translation>通讯录中还没有员工姓名（同步或 `wecom-auditor import-names` 后才会有）：请在下面输入 userid。</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="178" />
        <source>Other staff userids:</source>
        <translation>其他员工 userid：</translation>
    </message>
    <message>
        <location filename="../../app/ui/auth/accounts_dialog.py" line="226" />
        <source>Tick at least one staff member or department, or choose All sessions.</source>
        <translation>请至少勾选一名员工或一个部门，或者选择“全部会话”。</translation>
    </message>
</context>
<context>
    <name>SearchPanel</name>
    <message>
        <location filename="../../app/ui/search/panel.py" line="140" />
        <source>Search, e.g. 合同 OR 发票 -取消</source>
        <translation>搜索，例如：合同 OR 发票 -取消</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="142" />
        <location filename="../../app/ui/search/panel.py" line="369" />
        <source>Query</source>
        <translation>查询</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="143" />
        <source>Words, "phrases", OR, -exclude, from:, type:, date: …
F1 or ? for the syntax; ↓ for recent searches.</source>
        <translation>词、"短语"、OR、-排除、from:、type:、date: …
按 F1 或 ? 查看语法；按 ↓ 查看最近的搜索。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="147" />
        <location filename="../../app/ui/search/panel.py" line="148" />
        <source>Search syntax</source>
        <translation>搜索语法</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="149" />
        <source>Search</source>
        <translation>搜索</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="160" />
        <source>From</source>
        <translation>起始</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="162" />
        <source>To</source>
        <translation>截止</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="165" />
        <source>Anyone (name or id)</source>
        <translation>任何人（姓名或 ID）</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="168" />
        <source>Any type</source>
        <translation>全部类型</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="172" />
        <source>Any session</source>
        <translation>全部会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="176" />
        <source>Newest first</source>
        <translation>最新在前</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="177" />
        <source>Oldest first</source>
        <translation>最早在前</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="178" />
        <source>By session</source>
        <translation>按会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="179" />
        <source>Order of results</source>
        <translation>结果排序</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="185" />
        <source>All corps</source>
        <translation>全部企业</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="188" />
        <source>Corp</source>
        <translation>企业</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="198" />
        <source>Query with filters</source>
        <translation>含筛选条件的查询</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="199" />
        <source>(empty)</source>
        <translation>（空）</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="225" />
        <source>Search results</source>
        <translation>搜索结果</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="291" />
        <location filename="../../app/ui/search/panel.py" line="529" />
        <source>Searching…</source>
        <translation>正在搜索…</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="305" />
        <source>Type a query, or choose a sender, date or type to search.</source>
        <translation>请输入查询，或选择发送人、日期或类型后再搜索。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="317" />
        <source>The end date is before the start date.</source>
        <translation>截止日期早于起始日期。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="355" />
        <source>Sender</source>
        <translation>发送人</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="359" />
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="363" />
        <source>Session</source>
        <translation>会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="478" />
        <source>“{text}” matches {n} people: choose one from the list.</source>
        <translation>“{text}”匹配到 {n} 个人，请从列表中选择一位。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="218" />
        <location filename="../../app/ui/search/panel.py" line="501" />
        <source>The query has a mistake at character {position}: {message}</source>
        <translation>查询第 {position} 个字符处有误：{message}</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="525" />
        <source>The search failed: {reason}</source>
        <translation>搜索失败：{reason}</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="529" />
        <source>Counting…</source>
        <translation>正在统计…</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="531" />
        <source>No messages found.</source>
        <translation>没有找到消息。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="533" />
        <source>1 result</source>
        <translation>1 条结果</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="535" />
        <source>{count} results</source>
        <translation>{count} 条结果</translation>
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
        <translation>合同 发票              两个词都要有（每个词都必须匹配）
合同 OR 发票           任一个词
-取消  或  NOT 取消     不含这个词
"退款 申请"             按原样匹配，包括空格（短语里的引号写作 \"）
(合同 OR 协议) 盖章      用括号分组
from:ID  to:ID  in:SESSION  room:ROOMID  type:image  session:internal|external|group
date:2025-01-01..2025-03-31  date:2025-03  after:2025-01-01  before:2025-04-01
has:media  is:recalled  type:image,video（任一类型）
tag:违规  -tag:无问题  status:unreviewed  reviewed:me  alert:open  policy:NAME  has:note
任何文字都按原样查找，不区分大小写和全角/半角：单个字、数字、表情、%、_ 和 \ 都行。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="71" />
        <source>from: sender id   to: a recipient's id   in: session id   room: group id
type: message type   session: session type   has:media with a file   is:recalled recalled
date:A..B both days included   after:D from D on   before:D until D (not included)
tag: a review tag (on the message or its session)   status: unreviewed|in_review|reviewed
reviewed: me or a user name   alert: open|dismissed|escalated|any   policy: a policy's hits
has:note|tag|alert   Dates are in this computer's time zone.</source>
        <translation>from: 发送人 ID   to: 某个接收人的 ID   in: 会话 ID   room: 群 ID
type: 消息类型   session: 会话类型   has:media 带文件   is:recalled 已撤回
date:A..B 含首尾两天   after:D 从 D 起   before:D 到 D 为止（不含 D）
tag: 审阅标签（在消息或其会话上）   status: 未审阅 unreviewed|审阅中 in_review|已审阅 reviewed
reviewed: me（我）或用户名   alert: open|dismissed|escalated|any 告警状态   policy: 策略的命中
has:note|tag|alert 有备注/标签/告警   日期按本机时区计算。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="134" />
        <source>This quote is never closed: add a closing " (write \" for a quote inside a phrase).</source>
        <translation>这个引号没有闭合：请补上结尾的 "（短语里的引号写作 \"）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="137" />
        <source>Empty phrase: put the text to find between the quotes.</source>
        <translation>空短语：请在引号之间写上要查找的文字。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="139" />
        <source>Unknown field “{field}:”. Fields are {fields}; to find the text itself, put it in quotes.</source>
        <translation>未知字段“{field}:”。可用字段：{fields}；如果要查找这段文字本身，请加上引号。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="142" />
        <source>“{field}:” needs a value.</source>
        <translation>“{field}:”后面需要一个值。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="144" />
        <source>“-” must be followed by what to exclude (to find a dash, write "-").</source>
        <translation>“-”后面要紧跟要排除的内容（要查找减号本身，请写作 "-"）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="146" />
        <source>“{op}” must be followed by what to exclude.</source>
        <translation>“{op}”后面要跟要排除的内容。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="148" />
        <source>This “)” closes nothing: remove it or add a “(” before it.</source>
        <translation>这个“)”没有对应的“(”：请删除它，或在前面补上“(”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="150" />
        <source>This “(” is never closed: add a “)”.</source>
        <translation>这个“(”没有闭合：请补上“)”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="152" />
        <source>Empty parentheses: put something to find between them.</source>
        <translation>空括号：请在括号之间写上要查找的内容。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="154" />
        <source>{op} needs something to match on both sides.</source>
        <translation>{op} 两边都需要有查询内容。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="156" />
        <source>Something to find is missing here.</source>
        <translation>这里缺少要查找的内容。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="158" />
        <source>session: is one of {values}.</source>
        <translation>session: 只能是 {values} 之一。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="160" />
        <source>{field}: can only be {values}.</source>
        <translation>{field}: 只能是 {values}。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="162" />
        <source>date: needs a date before or after “..”.</source>
        <translation>date: 在“..”前后至少要有一个日期。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="164" />
        <source>This date range is empty: the first date is after the second.</source>
        <translation>这个日期范围是空的：开始日期晚于结束日期。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="166" />
        <source>“{text}” is not a date: write YYYY-MM-DD (or YYYY-MM, YYYY, YYYY-MM-DDTHH:MM).</source>
        <translation>“{text}”不是日期：请写作 YYYY-MM-DD（或 YYYY-MM、YYYY、YYYY-MM-DDTHH:MM）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/syntax.py" line="169" />
        <source>“{text}” is not a valid date.</source>
        <translation>“{text}”不是有效的日期。</translation>
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
        <translation>%1 的通讯录 Secret</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="95" />
        <source>Contacts secret (通讯录 Secret):</source>
        <translation>通讯录 Secret：</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="96" />
        <source>Customer-contact secret (客户联系 Secret):</source>
        <translation>客户联系 Secret：</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="100" />
        <source>kept — type to replace</source>
        <translation>已保存——输入以替换</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="101" />
        <source>not set: the chat-archive secret is used</source>
        <translation>未设置：将使用会话存档 Secret</translation>
    </message>
    <message>
        <location filename="../../app/ui/directory_panel.py" line="104" />
        <source>WeCom lets each secret call some APIs only: the contacts secret user/ and department/, the customer-contact secret externalcontact/. Without them those calls use the chat-archive secret, which WeCom usually refuses (48002).</source>
        <translation>企业微信只允许每个 Secret 调用部分接口：通讯录 Secret 可调用 user/ 与 department/，客户联系 Secret 可调用 externalcontact/。未设置时这些调用改用会话存档 Secret，企业微信通常会拒绝（48002）。</translation>
    </message>
</context>
<context>
    <name>SenderModel</name>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="52" />
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="52" />
        <source>Id</source>
        <translation>ID</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="52" />
        <source>Kind</source>
        <translation>类别</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="52" />
        <source>Department or corp</source>
        <translation>部门或企业</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="52" />
        <source>Messages</source>
        <translation>消息数</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="56" />
        <source>Staff</source>
        <translation>员工</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="56" />
        <source>External contact</source>
        <translation>外部联系人</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="56" />
        <source>Other</source>
        <translation>其他</translation>
    </message>
</context>
<context>
    <name>ServerPanel</name>
    <message>
        <location filename="../../app/ui/server_panel.py" line="183" />
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="184" />
        <source>Back up now…</source>
        <translation>立即备份…</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="193" />
        <source>Servers</source>
        <translation>服务器</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="195" />
        <source>Last sync of each corp</source>
        <translation>各企业的最近一次同步</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="210" />
        <source>Reading…</source>
        <translation>正在读取…</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="234" />
        <source>1 server is running.</source>
        <translation>1 台服务器正在运行。</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="236" />
        <source>%1 servers are running.</source>
        <translation>%1 台服务器正在运行。</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="238" />
        <source>No server is running: none has sent a heartbeat in the last minute.</source>
        <translation>没有服务器在运行：最近一分钟内没有任何服务器发送心跳。</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="240" />
        <source>No server (wecom-auditor serve) has reported to this archive: syncs run from workstations.</source>
        <translation>尚无服务器（wecom-auditor serve）向此存档报到：同步由工作站执行。</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="243" />
        <source>Updated %1; read again every %2 seconds while shown.</source>
        <translation>更新于 %1；显示期间每 %2 秒重新读取。</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="248" />
        <source>Queue: does not answer (the background jobs cannot run).</source>
        <translation>队列：无响应（后台任务无法运行）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="249" />
        <source>scheduled</source>
        <translation>已排期</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="249" />
        <source>ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="249" />
        <source>running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="250" />
        <source>given up</source>
        <translation>已放弃</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="252" />
        <source>Queue: %1</source>
        <translation>队列：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="256" />
        <source>The server status cannot be read: %1</source>
        <translation>无法读取服务器状态：%1</translation>
    </message>
</context>
<context>
    <name>ServersModel</name>
    <message>
        <location filename="../../app/ui/server_panel.py" line="92" />
        <source>Host</source>
        <translation>主机</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="92" />
        <source>Address</source>
        <translation>地址</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="92" />
        <source>Version</source>
        <translation>版本</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="92" />
        <source>Started</source>
        <translation>启动时间</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="93" />
        <source>Last heartbeat</source>
        <translation>最近心跳</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="93" />
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="102" />
        <source>%1 s ago</source>
        <translation>%1 秒前</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="104" />
        <source>%1 min ago</source>
        <translation>%1 分钟前</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="105" />
        <source>%1 h ago</source>
        <translation>%1 小时前</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="111" />
        <source>Running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="111" />
        <source>Not running</source>
        <translation>未运行</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="120" />
        <source>Instance %1, process %2 on %3</source>
        <translation>实例 %1，%3 上的进程 %2</translation>
    </message>
</context>
<context>
    <name>SessionBadges</name>
    <message>
        <location filename="../../app/ui/review/badges.py" line="42" />
        <source>%1 new</source>
        <translation>新 %1</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/badges.py" line="55" />
        <source>1 message new since your last review</source>
        <translation>自您上次审阅以来新增 1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/badges.py" line="56" />
        <source>%1 messages new since your last review</source>
        <translation>自您上次审阅以来新增 %1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/badges.py" line="58" />
        <source>1 open alert</source>
        <translation>1 条未处理告警</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/badges.py" line="58" />
        <source>%1 open alerts</source>
        <translation>%1 条未处理告警</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/badges.py" line="60" />
        <source>Reviewed</source>
        <translation>已审阅</translation>
    </message>
</context>
<context>
    <name>SessionPanel</name>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="50" />
        <source>Filter by participant name or id</source>
        <translation>按参与人姓名或 ID 筛选</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="52" />
        <source>Session filter</source>
        <translation>会话筛选</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="53" />
        <source>Only customers who refused archiving</source>
        <translation>只看拒绝存档的客户</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="54" />
        <source>Only chats with customers who refused archiving: their consent as WeCom reported it at the last directory sync, and the archive's disagree entries</source>
        <translation>只显示与拒绝存档客户的会话：依据最近一次通讯录同步时企业微信报告的同意情况，以及存档中的拒绝记录</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="61" />
        <source>Review tag filter</source>
        <translation>审阅标签筛选</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="80" />
        <source>Sessions</source>
        <translation>会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="172" />
        <source>Any review tag</source>
        <translation>任意审阅标签</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="274" />
        <source>No chat with a customer who refused archiving (as of the last directory sync).</source>
        <translation>没有与拒绝存档客户的会话（以最近一次通讯录同步为准）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="276" />
        <source>No such chat has a participant matching “{text}”.</source>
        <translation>这些会话中没有参与人匹配“{text}”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="279" />
        <source>No session carries the tag “{tag}”.</source>
        <translation>没有会话带有标签“{tag}”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="281" />
        <source>No such session has a participant matching “{text}”.</source>
        <translation>这些会话中没有成员匹配“{text}”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/panel.py" line="284" />
        <source>No session has a participant matching “{text}”.</source>
        <translation>没有参与人匹配“{text}”的会话。</translation>
    </message>
</context>
<context>
    <name>SessionTreeModel</name>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="68" />
        <source>Internal</source>
        <translation>单聊(内部)</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="70" />
        <source>External contacts</source>
        <translation>外部联系人</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="72" />
        <source>Groups</source>
        <translation>群聊</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="74" />
        <source>Up/downstream</source>
        <translation>上下游</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="76" />
        <source>System records</source>
        <translation>系统记录</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="547" />
        <source>, </source>
        <extracomment>(column, Qt.SortOrder) -&gt; app.core.archive's session order; the names column has none (names come from the directory, the archive pages by what it stores)</extracomment>
        <translation>、</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="547" />
        <source>{names} +{more}</source>
        <translation>{names} +{more}</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="778" />
        <source>Session</source>
        <translation>会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="778" />
        <source>Msgs</source>
        <translation>条数</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="778" />
        <source>Last</source>
        <translation>最近</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="780" />
        <source>Participants or group name</source>
        <translation>成员或群名</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="780" />
        <source>Messages in the session</source>
        <translation>会话中的消息数</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="849" />
        <source>{label} · {shown} of {total} sessions</source>
        <translation>{label} · {total} 个会话中的 {shown} 个</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="852" />
        <source>{label} · 1 session</source>
        <translation>{label} · 1 个会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="853" />
        <source>{label} · {count} sessions</source>
        <translation>{label} · {count} 个会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/sessions/model.py" line="781" />
        <source>Last activity</source>
        <translation>最近活动</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="64" />
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="73" />
        <source>Corp</source>
        <translation>企业</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="74" />
        <source>Archive</source>
        <translation>存档</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="75" />
        <source>Media</source>
        <translation>媒体</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="76" />
        <source>Background jobs</source>
        <translation>后台任务</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="77" />
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="135" />
        <source>Cannot read the keyring: %1</source>
        <translation>无法读取系统钥匙串：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="237" />
        <source>Not saved: this computer has no usable keyring (Secret Service, KWallet, Keychain or Credential Manager), so secrets cannot be stored. Clear the secret fields, and give the secrets to the app as environment variables instead: %1, %2 (PEM text or @/path/to/key.pem), %3, and %4 for the database password.</source>
        <translation>未保存：本机没有可用的系统钥匙串（Secret Service、KWallet、钥匙串访问或凭据管理器），无法保存密钥信息。请清空密钥相关输入框，改用环境变量向应用提供：%1、%2（PEM 文本或 @/path/to/key.pem）、%3，数据库密码使用 %4。</translation>
    </message>
    <message>
        <location filename="../../app/ui/settings/dialog.py" line="266" />
        <source>Not saved: %1</source>
        <translation>未保存：%1</translation>
    </message>
</context>
<context>
    <name>StartUp</name>
    <message>
        <location filename="../../app/ui/app.py" line="160" />
        <source>WeCom Archive Auditor</source>
        <translation>会话存档审计台</translation>
    </message>
    <message>
        <location filename="../../app/ui/app.py" line="166" />
        <source>The archive cannot be opened: %1</source>
        <translation>无法打开存档：%1</translation>
    </message>
</context>
<context>
    <name>StatisticsPanel</name>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="80" />
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="113" />
        <source>Charts</source>
        <translation>图表</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="114" />
        <source>Senders</source>
        <translation>发送者</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="141" />
        <source>The archive holds no corp yet.</source>
        <translation>存档中还没有企业。</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="144" />
        <source>Counting…</source>
        <translation>正在统计…</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="150" />
        <source>The statistics cannot be read: %1</source>
        <translation>无法读取统计：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="158" />
        <source>%1 from %2 to %3: %4 staff members sent %5; %6 external contacts of %7 corps sent %8.</source>
        <translation>%2 至 %3 共 %1：%4 名员工发送 %5 条；%7 家企业的 %6 位外部联系人发送 %8 条。</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="160" />
        <location filename="../../app/ui/statistics_panel.py" line="170" />
        <location filename="../../app/ui/statistics_panel.py" line="195" />
        <source>1 message</source>
        <translation>1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="160" />
        <location filename="../../app/ui/statistics_panel.py" line="170" />
        <location filename="../../app/ui/statistics_panel.py" line="195" />
        <source>%1 messages</source>
        <translation>%1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="168" />
        <source>No messages in this range (or none in your scope).</source>
        <translation>此范围内没有消息（或没有您权限范围内的消息）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="169" />
        <location filename="../../app/ui/statistics_panel.py" line="207" />
        <source>No messages</source>
        <translation>没有消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="173" />
        <source>Messages per day</source>
        <translation>每日消息数</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="181" />
        <source>Messages per month</source>
        <translation>每月消息数</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="206" />
        <source>and %1 more: %2</source>
        <translation>另有 %1 项：%2</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="184" />
        <source>Per message type</source>
        <translation>按消息类型</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="187" />
        <source>Sent per staff member</source>
        <translation>按员工（发送）</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="191" />
        <source>(corp not known)</source>
        <translation>（企业未知）</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="192" />
        <source>Sent by external contacts, per their corp</source>
        <translation>外部联系人发送，按其企业</translation>
    </message>
    <message>
        <location filename="../../app/ui/statistics_panel.py" line="194" />
        <source>%1: %2 sent by %3 contacts</source>
        <translation>%1：%3 位联系人发送 %2</translation>
    </message>
</context>
<context>
    <name>SyncHistoryDialog</name>
    <message>
        <location filename="../../app/ui/sync/history.py" line="115" />
        <source>Sync history</source>
        <translation>同步记录</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="129" />
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="142" />
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="156" />
        <source>No sync has run yet.</source>
        <translation>尚未进行过同步。</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="157" />
        <source>%1 runs, newest first.</source>
        <translation>共 %1 次同步，最新的在前。</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="157" />
        <source>1 run.</source>
        <translation>共 1 次同步。</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="162" />
        <source>Cannot read the sync history: %1</source>
        <translation>无法读取同步记录：%1</translation>
    </message>
</context>
<context>
    <name>SyncProgressPanel</name>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="101" />
        <location filename="../../app/ui/sync/panel.py" line="246" />
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="102" />
        <source>Stop after the current batch; nothing stored is lost</source>
        <translation>在当前批次完成后停止；已保存的内容不会丢失</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="107" />
        <source>Hide</source>
        <translation>隐藏</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="142" />
        <location filename="../../app/ui/sync/panel.py" line="199" />
        <source>Starting…</source>
        <translation>正在开始…</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="154" />
        <source>%1 retries after temporary errors</source>
        <translation>临时错误后已重试 %1 次</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="169" />
        <source>Cancelling after the current batch…</source>
        <translation>将在当前批次完成后取消…</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="174" />
        <location filename="../../app/ui/sync/panel.py" line="200" />
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="174" />
        <source>Cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="180" />
        <location filename="../../app/ui/sync/panel.py" line="184" />
        <source>Sync failed</source>
        <translation>同步失败</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="181" />
        <source>The sync stopped; everything stored before the error is kept.</source>
        <translation>同步已停止；出错前已保存的内容全部保留。</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="199" />
        <source>Fetching messages</source>
        <translation>正在拉取消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="200" />
        <source>Downloading media</source>
        <translation>正在下载媒体文件</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="203" />
        <source>unknown</source>
        <translation>未知</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="206" />
        <source>%1 of %2 files · %6 files/s · ETA %7 · stored %3 · failed %4 · expired %5</source>
        <translation>%1 / %2 个文件 · %6 个/秒 · 预计剩余 %7 · 已保存 %3 · 失败 %4 · 已过期 %5</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="209" />
        <source>%6/s · ETA %7 · seq %1 · fetched %2 · stored %3 · quarantined %4 · duplicates %5</source>
        <translation>%6 条/秒 · 预计剩余 %7 · seq %1 · 已拉取 %2 · 已保存 %3 · 已隔离 %4 · 重复 %5</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="214" />
        <source>Messages: seq %1, fetched %2, stored %3, quarantined %4, duplicates %5</source>
        <translation>消息：seq %1，已拉取 %2，已保存 %3，已隔离 %4，重复 %5</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="216" />
        <source>Media: %1 of %2 done, stored %3, failed %4, expired %5</source>
        <translation>媒体：已完成 %1 / %2，已保存 %3，失败 %4，已过期 %5</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="225" />
        <source>Cancelled after %1: %2 new messages stored; the next sync continues from seq %3.</source>
        <translation>用时 %1 后已取消：新保存 %2 条消息；下次同步将从 seq %3 继续。</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="227" />
        <source>Finished in %1: %2 fetched, %3 new, %4 quarantined, %5 duplicates; media %6 stored, %7 failed, %8 expired, %9 pending.</source>
        <translation>用时 %1 完成：拉取 %2 条，新增 %3 条，隔离 %4 条，重复 %5 条；媒体已保存 %6 个，失败 %7 个，已过期 %8 个，待下载 %9 个。</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="236" />
        <source>%1 s</source>
        <translation>%1 秒</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="238" />
        <source>%1 min %2 s</source>
        <translation>%1 分 %2 秒</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/panel.py" line="239" />
        <source>%1 h %2 min</source>
        <translation>%1 小时 %2 分</translation>
    </message>
</context>
<context>
    <name>SyncRunsModel</name>
    <message>
        <location filename="../../app/ui/sync/history.py" line="59" />
        <source>Corp</source>
        <translation>企业</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="59" />
        <source>Started</source>
        <translation>开始时间</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="59" />
        <source>Ended</source>
        <translation>结束时间</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="59" />
        <source>Outcome</source>
        <translation>结果</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="60" />
        <source>Seq range</source>
        <translation>seq 范围</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="60" />
        <source>Fetched</source>
        <translation>拉取</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="60" />
        <source>Stored</source>
        <translation>保存</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="60" />
        <source>Duplicates</source>
        <translation>重复</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="61" />
        <source>Quarantined</source>
        <translation>隔离</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="61" />
        <source>Media stored / failed / expired</source>
        <translation>媒体 保存 / 失败 / 过期</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="61" />
        <source>Retries</source>
        <translation>重试</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="62" />
        <source>Error</source>
        <translation>错误</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="54" />
        <source>Succeeded</source>
        <translation>成功</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="54" />
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="55" />
        <source>Cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="55" />
        <source>Running</source>
        <translation>进行中</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="56" />
        <source>Interrupted</source>
        <translation>已中断</translation>
    </message>
    <message>
        <location filename="../../app/ui/sync/history.py" line="82" />
        <source>Workstation: %1</source>
        <translation>工作站：%1</translation>
    </message>
</context>
<context>
    <name>SyncsModel</name>
    <message>
        <location filename="../../app/ui/server_panel.py" line="129" />
        <source>Corp</source>
        <translation>企业</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="129" />
        <source>Started</source>
        <translation>开始时间</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="129" />
        <source>Finished</source>
        <translation>结束时间</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="129" />
        <source>Outcome</source>
        <translation>结果</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="129" />
        <source>Stored</source>
        <translation>已保存</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="130" />
        <source>Run by</source>
        <translation>执行者</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="130" />
        <source>Error</source>
        <translation>错误</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="133" />
        <source>Running</source>
        <translation>进行中</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="133" />
        <source>Succeeded</source>
        <translation>成功</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="133" />
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../../app/ui/server_panel.py" line="134" />
        <source>Cancelled</source>
        <translation>已取消</translation>
    </message>
</context>
<context>
    <name>SyntaxHelpDialog</name>
    <message>
        <location filename="../../app/ui/search/panel.py" line="86" />
        <location filename="../../app/ui/search/panel.py" line="97" />
        <source>Search syntax</source>
        <translation>搜索语法</translation>
    </message>
    <message>
        <location filename="../../app/ui/search/panel.py" line="87" />
        <source>Type a query in the search box. The filters below it add the same fields to the query.</source>
        <translation>在搜索框里输入查询。搜索框下方的筛选条件会把同样的字段加进查询。</translation>
    </message>
</context>
<context>
    <name>TagDialog</name>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="102" />
        <source>New tag</source>
        <translation>新建标签</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="102" />
        <source>Edit tag</source>
        <translation>编辑标签</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="104" />
        <source>e.g. 需关注</source>
        <translation>例如：需关注</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="106" />
        <source>e.g. Needs attention</source>
        <translation>例如：Needs attention</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="114" />
        <source>Chinese name:</source>
        <translation>中文名称：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="115" />
        <source>English name:</source>
        <translation>英文名称：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="119" />
        <source>Colour:</source>
        <translation>颜色：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="121" />
        <source>Reviewers see the name in the language of their window; a search finds the tag by either (tag:违规, tag:Violation).</source>
        <translation>审阅人员看到与其界面语言相同的名称；搜索时两个名称均可使用（tag:违规、tag:Violation）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="133" />
        <source>Tag colour</source>
        <translation>标签颜色</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings_editors.py" line="142" />
        <source>Give the tag a Chinese and an English name.</source>
        <translation>请填写标签的中文和英文名称。</translation>
    </message>
</context>
<context>
    <name>TagSetPage</name>
    <message>
        <location filename="../../app/ui/review/settings.py" line="157" />
        <source>The tags reviewers put on messages and conversations (keys 1–9 in the viewer, in this order). A retired tag stays on what it tagged and in searches, but is offered no more.</source>
        <translation>审阅人员给消息和会话加的标签（按此顺序对应查看器中的 1–9 键）。已停用的标签仍保留在已标记的内容上并可搜索，但不再提供选用。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="161" />
        <source>Chinese name</source>
        <translation>中文名称</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="161" />
        <source>English name</source>
        <translation>英文名称</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="162" />
        <source>Colour</source>
        <translation>颜色</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="162" />
        <source>Key</source>
        <translation>标识</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="163" />
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="165" />
        <source>Add…</source>
        <translation>添加…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="166" />
        <source>Edit…</source>
        <translation>编辑…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="167" />
        <source>Colour…</source>
        <translation>颜色…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="168" />
        <source>Move up</source>
        <translation>上移</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="169" />
        <source>Move down</source>
        <translation>下移</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="170" />
        <location filename="../../app/ui/review/settings.py" line="195" />
        <source>Retire</source>
        <translation>停用</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="185" />
        <source>Retired</source>
        <translation>已停用</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="185" />
        <source>In use</source>
        <translation>使用中</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="195" />
        <source>Restore</source>
        <translation>恢复使用</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="202" />
        <source>Tag “%1” added.</source>
        <translation>已添加标签“%1”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="209" />
        <source>Tag “%1” changed.</source>
        <translation>已修改标签“%1”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="217" />
        <source>Colour of “%1”</source>
        <translation>“%1”的颜色</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="224" />
        <source>“%1” is now %2.</source>
        <translation>“%1”的颜色已改为 %2。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="235" />
        <source>“%1” moved to place %2.</source>
        <translation>“%1”已移到第 %2 位。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="243" />
        <source>“%1” is in use again.</source>
        <translation>“%1”已恢复使用。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/settings.py" line="244" />
        <source>“%1” is retired: it stays on what it tagged.</source>
        <translation>“%1”已停用：已标记的内容保留此标签。</translation>
    </message>
</context>
<context>
    <name>TimelineModel</name>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="58" />
        <source>Conversation</source>
        <translation>会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="58" />
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="58" />
        <source>First message</source>
        <translation>首条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="58" />
        <source>Last message</source>
        <translation>最近消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="59" />
        <source>Messages</source>
        <translation>消息数</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="59" />
        <source>Sent by them</source>
        <translation>其发送</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="59" />
        <source>Their first</source>
        <translation>其首条</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="59" />
        <source>Their last</source>
        <translation>其最近</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="64" />
        <source>Group</source>
        <translation>群聊</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="64" />
        <source>With a customer</source>
        <translation>与客户</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="65" />
        <source>Internal</source>
        <translation>内部单聊</translation>
    </message>
</context>
<context>
    <name>TimelinePanel</name>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="100" />
        <source>Name or userid</source>
        <translation>姓名或 userid</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="106" />
        <source>Show</source>
        <translation>显示</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="128" />
        <source>Open conversation</source>
        <translation>打开会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="129" />
        <source>Open their first message</source>
        <translation>打开其首条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="134" />
        <source>Staff member:</source>
        <translation>员工：</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="161" />
        <source>Choose a staff member to see their conversations by time.</source>
        <translation>选择一名员工，按时间查看其全部会话。</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="240" />
        <source>%1 staff members match “%2”: choose one in the list.</source>
        <translation>有 %1 名员工与“%2”匹配：请在列表中选择一位。</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="246" />
        <source>Reading…</source>
        <translation>正在读取…</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="259" />
        <source>The timeline cannot be read: %1</source>
        <translation>无法读取时间线：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="273" />
        <source>%1: no conversations in this range (or none in your scope).</source>
        <translation>%1：此范围内没有会话（或没有您权限范围内的会话）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="275" />
        <source>%1: %2; sent %3 in them.</source>
        <translation>%1：%2，其中发送了 %3。</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="276" />
        <source>1 conversation</source>
        <translation>1 个会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="276" />
        <source>%1 conversations</source>
        <translation>%1 个会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="277" />
        <location filename="../../app/ui/timeline_panel.py" line="278" />
        <source>1 message</source>
        <translation>1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="277" />
        <location filename="../../app/ui/timeline_panel.py" line="278" />
        <source>%1 messages</source>
        <translation>%1 条消息</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="283" />
        <source>Messages they sent per month</source>
        <translation>其每月发送的消息数</translation>
    </message>
    <message>
        <location filename="../../app/ui/timeline_panel.py" line="285" />
        <source>No messages sent by them</source>
        <translation>其未发送消息</translation>
    </message>
</context>
<context>
    <name>VerifyDialog</name>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="46" />
        <source>Verify evidence package</source>
        <translation>校验证据包</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="49" />
        <source>A package folder or .zip file</source>
        <translation>证据包文件夹或 .zip 文件</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="50" />
        <source>Folder…</source>
        <translation>文件夹…</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="51" />
        <source>Zip file…</source>
        <translation>Zip 文件…</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="68" />
        <source>Verify</source>
        <translation>校验</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="70" />
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="72" />
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="91" />
        <source>Package folder</source>
        <translation>证据包文件夹</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="96" />
        <source>Package zip file</source>
        <translation>证据包 zip 文件</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="97" />
        <source>Zip files (*.zip)</source>
        <translation>Zip 文件 (*.zip)</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="107" />
        <source>Choose an existing package folder or .zip file.</source>
        <translation>请选择已存在的证据包文件夹或 .zip 文件。</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="111" />
        <source>Checking every file and the signature…</source>
        <translation>正在校验每个文件和签名…</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="130" />
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="150" />
        <source>Checking every file and the signature… %1 of %2</source>
        <translation>正在校验每个文件和签名…已完成 %1 / 共 %2</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="155" />
        <source>The check was cancelled; nothing was concluded about the package.</source>
        <translation>校验已取消；未对证据包得出任何结论。</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="168" />
        <source>Recorded in this archive: exported by %1 on %2.</source>
        <translation>本存档有记录：由 %1 在 %2 上导出。</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="172" />
        <source>OK: 1 file matches; fingerprint %2; signed by key %3.</source>
        <translation>完好：1 个文件一致；指纹 %2；签名密钥 %3。</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="173" />
        <source>OK: %1 files match; fingerprint %2; signed by key %3.</source>
        <translation>完好：%1 个文件全部一致；指纹 %2；签名密钥 %3。</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="177" />
        <source>FAILED: 1 problem (below).</source>
        <translation>校验失败：1 处问题（见下方）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="178" />
        <source>FAILED: %1 problems (listed below).</source>
        <translation>校验失败：%1 处问题（见下方列表）。</translation>
    </message>
    <message>
        <location filename="../../app/ui/verify_dialog.py" line="186" />
        <source>Not verified: %1</source>
        <translation>未能校验：%1</translation>
    </message>
</context>
<context>
    <name>ViewerReview</name>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="141" />
        <source>1 note</source>
        <translation>1 条备注</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="141" />
        <source>%1 notes</source>
        <translation>%1 条备注</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="143" />
        <source>New</source>
        <translation>新</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="189" />
        <source>Your account may read the review but not tag.</source>
        <translation>您的账号可以查看审阅信息，但不能打标签。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="193" />
        <source>“%1” is on the whole conversation: take it off there (the conversation's menu in the tree).</source>
        <translation>“%1”标在整个会话上：请在会话树中该会话的菜单里移除。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="199" />
        <source>Tagged 1 message “%2”.</source>
        <translation>已为 1 条消息打上“%2”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="199" />
        <source>Tagged %1 messages “%2”.</source>
        <translation>已为 %1 条消息打上“%2”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="200" />
        <source>Took “%2” off 1 message.</source>
        <translation>已从 1 条消息移除“%2”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="201" />
        <source>Took “%2” off %1 messages.</source>
        <translation>已从 %1 条消息移除“%2”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="219" />
        <source>Reviewed up to this message.</source>
        <translation>已审阅至此消息。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="220" />
        <source>1 message after it is not reviewed yet.</source>
        <translation>其后还有 1 条消息未审阅。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="221" />
        <source>%1 messages after it are not reviewed yet.</source>
        <translation>其后还有 %1 条消息未审阅。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="245" />
        <source>No earlier message is unreviewed.</source>
        <translation>之前没有未审阅的消息。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="246" />
        <source>No later message is unreviewed.</source>
        <translation>之后没有未审阅的消息。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="277" />
        <source>Tag</source>
        <translation>标签</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="285" />
        <source>Mark reviewed up to here</source>
        <translation>标记为已审阅至此</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="287" />
        <source>Next unreviewed</source>
        <translation>下一条未审阅</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/viewer_review.py" line="288" />
        <source>Previous unreviewed</source>
        <translation>上一条未审阅</translation>
    </message>
</context>
<context>
    <name>WelcomeWidget</name>
    <message>
        <location filename="../../app/ui/welcome.py" line="30" />
        <source>Welcome to WeCom Archive Auditor</source>
        <translation>欢迎使用会话存档审计台</translation>
    </message>
    <message>
        <location filename="../../app/ui/welcome.py" line="37" />
        <source>This app keeps your company's WeCom chat archive (会话内容存档) on your own computer or server, exactly as WeCom delivered it, and lets compliance officers review, search and export it. Tencent keeps the archive for only about five days, so sync regularly.

No corp is configured yet. Try the app with a demo archive of generated conversations, or enter your corp's ID, chat-archive secret and private keys.</source>
        <translation>本应用将贵企业的企业微信会话内容存档按企业微信下发的原样保存在您自己的电脑或服务器上，供合规人员审阅、搜索和导出。腾讯仅保留约五天的存档数据，请定期同步。

尚未配置任何企业。您可以先用一个由生成的会话组成的演示存档试用本应用，或填写贵企业的企业 ID、会话存档 Secret 和私钥。</translation>
    </message>
    <message>
        <location filename="../../app/ui/welcome.py" line="48" />
        <source>Open the demo archive</source>
        <translation>打开演示存档</translation>
    </message>
    <message>
        <location filename="../../app/ui/welcome.py" line="46" />
        <source>Generated conversations served by the built-in WeCom SDK simulator</source>
        <translation>由内置企业微信 SDK 模拟器提供的生成会话</translation>
    </message>
    <message>
        <location filename="../../app/ui/welcome.py" line="49" />
        <source>Configure my corp</source>
        <translation>配置我的企业</translation>
    </message>
    <message>
        <location filename="../../app/ui/welcome.py" line="47" />
        <source>Corp ID, chat-archive secret, private keys and the SDK library</source>
        <translation>企业 ID、会话存档 Secret、私钥和 SDK 库</translation>
    </message>
    <message>
        <location filename="../../app/ui/welcome.py" line="55" />
        <source>Only an administrator can set up the archive: ask one to open the demo archive or to configure the corp, then log in again.</source>
        <translation>只有管理员才能设置存档：请管理员打开演示存档或配置企业，然后重新登录。</translation>
    </message>
</context>
<context>
    <name>WindowReview</name>
    <message>
        <location filename="../../app/ui/review/window.py" line="53" />
        <source>Open alerts</source>
        <translation>未处理告警</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="77" />
        <source>Notes</source>
        <translation>备注</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="96" />
        <source>Tag conversation</source>
        <translation>为会话打标签</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="98" />
        <source>Mark conversation reviewed</source>
        <translation>将会话标记为已审阅</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="103" />
        <source>Tag all results</source>
        <translation>为全部结果打标签</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="104" />
        <source>Take a tag off all results</source>
        <translation>从全部结果移除标签</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="105" />
        <source>Save this search…</source>
        <translation>保存此搜索…</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="152" />
        <source>1 open alert</source>
        <translation>1 条未处理告警</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="152" />
        <source>%1 open alerts</source>
        <translation>%1 条未处理告警</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="154" />
        <source>(%1 mine)</source>
        <translation>（我的 %1 条）</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="157" />
        <source>Open alerts of conversations in your scope: %1 assigned to you, %2 to nobody. The Review panel (Ctrl+Shift+R) lists them.</source>
        <translation>您范围内会话的未处理告警：%1 条分配给您，%2 条未分配。审阅面板（Ctrl+Shift+R）列出了它们。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="186" />
        <location filename="../../app/ui/review/window.py" line="204" />
        <source>Choose a conversation first.</source>
        <translation>请先选择一个会话。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="196" />
        <source>Took “%1” off the conversation.</source>
        <translation>已从会话移除“%1”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="196" />
        <source>Tagged the conversation “%1”.</source>
        <translation>已为会话打上“%1”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="208" />
        <source>The conversation is reviewed up to its newest message.</source>
        <translation>该会话已审阅至最新消息。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="213" />
        <source>Review</source>
        <translation>审阅</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="224" />
        <source>No search to use: %1</source>
        <translation>没有可用的搜索：%1</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="234" />
        <source>Take “%1” off every message this search finds?

%2</source>
        <translation>从此搜索找到的所有消息中移除“%1”？

%2</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="235" />
        <source>Tag every message this search finds “%1”?

%2</source>
        <translation>为此搜索找到的所有消息打上“%1”？

%2</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="241" />
        <source>Took “%2” off 1 message.</source>
        <translation>已从 1 条消息移除“%2”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="241" />
        <source>Took “%2” off %1 messages.</source>
        <translation>已从 %1 条消息移除“%2”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="242" />
        <source>Tagged 1 message “%2”.</source>
        <translation>已为 1 条消息打上“%2”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="243" />
        <source>Tagged %1 messages “%2”.</source>
        <translation>已为 %1 条消息打上“%2”。</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="255" />
        <source>Save search</source>
        <translation>保存搜索</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="256" />
        <source>Name of the search (the Review panel lists it):</source>
        <translation>搜索名称（审阅面板中会列出）：</translation>
    </message>
    <message>
        <location filename="../../app/ui/review/window.py" line="261" />
        <source>Saved the search “%1”.</source>
        <translation>已保存搜索“%1”。</translation>
    </message>
</context>
</TS>