"""The people of the simulated company: staff, external contacts, robots, group chats, sessions.

Everything here is built from one ``random.Random`` so a seed gives the same directory whatever
the corpus size. The real archive carries ids only; the Chinese display names exist so that
``truth.json`` can offer a directory to the demo and to tests.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

OUR_CORP = "星河智能设备有限公司"
OUR_SHORT = "星河智能"
OUR_ADDRESS = "上海市徐汇区宜山路700号B2栋15楼"

# userid, name, department. Deliberately mixed id styles, as WeCom admins create them: pinyin,
# CamelCase, digits, a dot, a phone-number-like id, and two people who share a Chinese name.
STAFF: tuple[tuple[str, str, str], ...] = (
    ("lichao", "李超", "总经理办公室"),
    ("zhangwei", "张伟", "销售一部"),
    ("LiNa", "李娜", "销售一部"),
    ("wangfang01", "王芳", "销售一部"),
    ("liuyang", "刘洋", "销售一部"),
    ("18002520162", "蒋磊", "销售一部"),
    ("ChenJing", "陈静", "销售二部"),
    ("yangfan", "杨帆", "销售二部"),
    ("zhaolei", "赵磊", "销售二部"),
    ("HuangMin", "黄敏", "销售二部"),
    ("LuYao", "陆瑶", "销售二部"),
    ("zhoujie", "周杰", "华南销售部"),
    ("wuqian", "吴倩", "华南销售部"),
    ("xuming", "徐明", "华南销售部"),
    ("sunli", "孙丽", "客服部"),
    ("maxiaoyu", "马晓宇", "客服部"),
    ("zhuting", "朱婷", "客服部"),
    ("huyan", "胡燕", "客服部"),
    ("wangfang02", "王芳", "客服部"),
    ("guoqiang", "郭强", "售后技术部"),
    ("linhao", "林浩", "售后技术部"),
    ("heyong", "何勇", "售后技术部"),
    ("gaopeng", "高鹏", "售后技术部"),
    ("luojun", "罗军", "售后技术部"),
    ("liangchen", "梁晨", "商务部"),
    ("songjia", "宋佳", "商务部"),
    ("zhengshuang", "郑爽", "财务部"),
    ("xiewen", "谢雯", "财务部"),
    ("hanxue", "韩雪", "财务部"),
    ("tangjian", "唐健", "物流部"),
    ("fengbo", "冯波", "物流部"),
    ("dengtao", "邓涛", "物流部"),
    ("caoyu", "曹宇", "市场部"),
    ("pengli", "彭莉", "市场部"),
    ("ZengXiang", "曾翔", "市场部"),
    ("XiaoYue", "肖月", "人事行政部"),
    ("tianye", "田野", "人事行政部"),
    ("dongjian", "董健", "信息技术部"),
    ("yuan.hui", "袁慧", "信息技术部"),
    ("qinlan", "秦岚", "采购部"),
)

MANAGERS = {"lichao", "zhangwei", "ChenJing", "zhoujie", "sunli", "guoqiang", "zhengshuang", "liangchen"}
SALES_DEPTS = {"销售一部", "销售二部", "华南销售部"}
SERVICE_DEPTS = {"客服部", "售后技术部"}

ROBOTS: tuple[str, ...] = ("CRM提醒助手", "工单机器人", "日报小助手")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建国红梅飞鑫波斌宇浩凯健俊帆帅旭宁龙林欣颖晨琳雪璐思彤博文轩雨泽子涵一诺可馨佳怡浩然梓萱"
TITLES = ("总", "经理", "工", "老师", "主任", "姐", "哥", "总监", "主管", "科长")
WECHAT_NICKS = (
    "A-阳光", "Lily", "🍀小雨", "大海", "Jason", "木子李", "向日葵🌻", "老张", "Tina王", "静待花开",
    "一帆风顺", "Kevin", "平安是福", "🐱喵喵", "Amy", "追梦人", "晴天", "福星高照",
)
# Customer companies. One carries a supplementary-plane character (𠮷, U+20BB7), as real names do.
COMPANIES = (
    "海川物业管理有限公司", "明德实验学校", "锦江之星（徐汇店）", "蓝鲸科技有限公司", "华东建工集团",
    "𠮷祥贸易有限公司", "仁和医院后勤处", "绿地商业管理", "万达影城（五角场店）", "新世纪幼儿园",
    "苏州工业园区管委会", "杭州云栖大酒店", "南京金陵饭店", "成都天府软件园", "武汉光谷生物城",
    "宁波港物流", "合肥京东方后勤中心", "西安高新一中", "深圳前海微众", "广州白云机场物业",
    "博世汽车部件（苏州）", "中石化加油站华东片区", "美年大健康体检中心", "海底捞（静安店）",
    "顺丰产业园", "复旦大学后勤服务中心", "星巴克华东区", "丽思卡尔顿酒店", "晨光文具", "恒瑞医药",
)
EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "foxmail.com", "outlook.com", "sina.com")

ID_CHARS = string.ascii_letters + string.digits + "_-"

GROUP_PLANS = (
    # name, kind, staff selector, number of externals from one company (0 = internal group)
    ("星河全员群", "internal", "all", 0),
    ("销售一部", "internal", "dept:销售一部", 0),
    ("销售二部", "internal", "dept:销售二部", 0),
    ("华南销售部工作群", "internal", "dept:华南销售部", 0),
    ("客服售后协同群", "internal", "service", 0),
    ("管理层周会", "internal", "managers", 0),
    ("合同审批通知群", "internal", "contracts", 0),
    ("【{company}】项目交付群", "customer", "project", 4),
    ("【{company}】项目交付群", "customer", "project", 3),
    ("【{company}】采购对接群", "customer", "project", 5),
    ("{company}售后服务群", "customer", "project", 2),
    ("星河VIP客户服务群", "vip", "service", 18),
)
GROUP_ROBOTS = {
    "销售一部": "CRM提醒助手",
    "销售二部": "CRM提醒助手",
    "客服售后协同群": "工单机器人",
    "管理层周会": "日报小助手",
    "星河VIP客户服务群": "工单机器人",
}


@dataclass(slots=True)
class Person:
    userid: str
    name: str
    kind: str  # "staff", "external", "robot"
    dept: str = ""  # staff: department; external: company ("微信" for personal WeChat users)
    title: str = ""  # how the other side addresses them: 王总, 李经理, 小张

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"


@dataclass(slots=True)
class Session:
    """A conversation: one-to-one (external or internal) or a group chat."""

    kind: str  # "external", "internal", "group"
    members: list[Person]
    roomid: str = ""
    name: str = ""
    owner: str = ""
    robot: Person | None = None
    company: str = ""
    weight: float = 1.0
    index: int = 0
    # consent state of an external one-to-one session: None (not asked yet), "agree", "disagree"
    consent: str | None = None
    consent_until: int = 0
    consent_at: int = 0  # ms of the agree/disagree entry that set ``consent`` (0: before the corpus)
    recent: list = field(default_factory=list)  # [(msgid, sender, msgtime_ms)] newest last

    @property
    def has_external(self) -> bool:
        return any(p.kind == "external" for p in self.members)


@dataclass(slots=True)
class Directory:
    staff: list[Person]
    externals: list[Person]
    robots: list[Person]
    sessions: list[Session]
    corp_tag: str

    @property
    def groups(self) -> list[Session]:
        return [s for s in self.sessions if s.kind == "group"]

    def names(self) -> dict[str, str]:
        return {p.userid: p.name for p in (*self.staff, *self.externals, *self.robots)}


def _rand_id(rng: random.Random, prefix: str, tag: str, n: int = 22) -> str:
    # Real ids look like "wmGAgeDQAAvQeaTQWVOqTxrrsAsTc6LA": prefix, a corp-specific part, "AA",
    # then random characters; 32 characters in all.
    return prefix + tag + "AA" + "".join(rng.choice(ID_CHARS) for _ in range(n))


def _person_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) if rng.random() < 0.35 else rng.choice(GIVEN) + rng.choice(GIVEN)
    return rng.choice(SURNAMES) + given


def build_directory(seed: int) -> Directory:
    rng = random.Random(f"wecom-corpus/directory/{seed}")
    corp_tag = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(6))

    staff = [Person(uid, name, "staff", dept) for uid, name, dept in STAFF]
    for p in staff:
        surname = p.name[0]
        if p.userid in MANAGERS:
            p.title = surname + ("总" if p.userid == "lichao" else "经理")
        elif p.dept == "售后技术部":
            p.title = surname + "工"
        else:
            p.title = rng.choice(("小", "")) + (p.name if len(p.name) == 2 and rng.random() < 0.3 else surname)
            if not p.title.startswith("小") and len(p.title) == 1:
                p.title = "小" + p.title
    by_id = {p.userid: p for p in staff}

    seen: set[str] = set()
    externals: list[Person] = []
    companies = list(COMPANIES)
    while len(externals) < 150:
        if rng.random() < 0.3:
            prefix, corp = "wm", "微信"
            name = rng.choice(WECHAT_NICKS) if rng.random() < 0.5 else _person_name(rng)
        else:
            prefix, corp = "wo", rng.choice(companies)
            name = _person_name(rng)
        uid = _rand_id(rng, prefix, corp_tag)
        if uid in seen:
            continue
        seen.add(uid)
        surname = name[0] if name[0] in SURNAMES else rng.choice(SURNAMES)
        externals.append(Person(uid, name, "external", corp, surname + rng.choice(TITLES)))

    robots = [Person(_rand_id(rng, "wb", corp_tag), name, "robot", OUR_SHORT, name) for name in ROBOTS]
    robot_by_name = {r.name: r for r in robots}

    sessions: list[Session] = []
    sales = [p for p in staff if p.dept in SALES_DEPTS]
    service = [p for p in staff if p.dept in SERVICE_DEPTS]

    # External one-to-one: every contact has an owner in sales (or service for some), a third
    # also talk to after-sales or finance.
    for ext in externals:
        owner = rng.choice(sales) if rng.random() < 0.8 else rng.choice(service)
        # Most customers agreed to archiving before the corpus's window; newer ones agree on first contact.
        old_customer = "agree" if rng.random() < 0.7 else None
        sessions.append(Session("external", [owner, ext], weight=min(8.0, rng.paretovariate(1.6)),
                                consent=old_customer))
        if rng.random() < 0.33:
            other = rng.choice(service + [by_id["xiewen"], by_id["songjia"]])
            if other is not owner:
                sessions.append(Session("external", [other, ext], weight=0.5 * min(8.0, rng.paretovariate(1.8)),
                                        consent=old_customer))

    # Internal one-to-one: colleagues in a department, managers with their people, cross-team pairs.
    pairs: set[tuple[str, str]] = set()
    by_dept: dict[str, list[Person]] = {}
    for p in staff:
        by_dept.setdefault(p.dept, []).append(p)
    finance = by_dept["财务部"] + by_dept["商务部"] + by_dept["物流部"]
    while len(pairs) < 70:
        a = rng.choice(staff)
        r = rng.random()
        if r < 0.45:
            b = rng.choice(by_dept[a.dept])
        elif r < 0.75:
            b = rng.choice(finance if a.dept in SALES_DEPTS else sales)
        else:
            b = rng.choice(staff)
        if a is b:
            continue
        key = tuple(sorted((a.userid, b.userid)))
        if key in pairs:
            continue
        pairs.add(key)
        sessions.append(Session("internal", [a, b], weight=min(8.0, rng.paretovariate(1.5))))

    used_companies: set[str] = set()
    for name, kind, selector, n_ext in GROUP_PLANS:
        if selector == "all":
            members = list(staff)
        elif selector.startswith("dept:"):
            dept = selector[5:]
            members = by_dept[dept] + [by_id["lichao"]]
        elif selector == "service":
            members = list(service) + [by_id["sunli"]] if kind == "internal" else service[:4]
        elif selector == "managers":
            members = [by_id[u] for u in sorted(MANAGERS)]
        elif selector == "contracts":
            members = by_dept["商务部"] + by_dept["财务部"] + [by_id[u] for u in ("zhangwei", "ChenJing", "zhoujie")]
        else:  # project group: a sales owner, after-sales, contracts
            members = [rng.choice(sales), rng.choice(by_dept["售后技术部"]), rng.choice(by_dept["商务部"])]
        company = ""
        if n_ext:
            if kind == "vip":
                pool = [e for e in externals]
                exts = rng.sample(pool, n_ext)
            else:
                candidates = sorted({e.dept for e in externals if e.dept != "微信"} - used_companies)
                company = rng.choice(candidates)
                used_companies.add(company)
                exts = [e for e in externals if e.dept == company][:n_ext]
                if len(exts) < 2:
                    exts += rng.sample([e for e in externals if e.dept == "微信"], 2)
            members = members + exts
        # de-duplicate, keep order
        uniq: dict[str, Person] = {}
        for m in members:
            uniq.setdefault(m.userid, m)
        members = list(uniq.values())
        robot = robot_by_name.get(GROUP_ROBOTS.get(name, ""))
        weight = {"internal": 6.0, "customer": 4.0, "vip": 5.0}[kind]
        if selector == "all":
            weight = 3.0
        sessions.append(
            Session(
                "group",
                members,
                roomid=_rand_id(rng, "wr", corp_tag),
                name=name.format(company=company),
                owner=members[0].userid,
                robot=robot,
                company=company,
                weight=weight,
            )
        )

    for i, s in enumerate(sessions):
        s.index = i
    return Directory(staff, externals, robots, sessions, corp_tag)
