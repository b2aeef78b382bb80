"""Phrase banks: the dialogue scripts of a sales/service company, and the slot values that fill them.

A script is a list of steps ``(role, templates, attachment)``. ``role`` says who speaks: ``"c"`` the
customer side (or the colleague who asks), ``"s"`` our staff (or the one who answers), ``"*"`` any
member of a group. ``templates`` are alternatives with ``{slot}`` fields filled per thread, so one
thread keeps one product, price and order number. ``attachment`` (instead of text) asks for a media
message: ``"file:quote"``, ``"image:photo"``, ``"video"``, ``"location"`` ...
"""

from __future__ import annotations

import random
from datetime import timedelta

from .names import COMPANIES, EMAIL_DOMAINS, OUR_ADDRESS, OUR_CORP

PRODUCTS = (
    # name, model, unit price range (yuan), family
    ("商用净水器", "XH-W500", 3800, 5200, "water"),
    ("直饮水机", "XH-D300", 2600, 3500, "water"),
    ("开水器", "XH-K30", 2200, 3200, "water"),
    ("滤芯套装", "PP+CTO+RO", 380, 680, "water"),
    ("RO反渗透膜", "RO-400G", 450, 880, "water"),
    ("空气净化器", "XH-A800", 2999, 4599, "air"),
    ("新风系统", "XH-F1200", 12800, 18800, "air"),
    ("智能门禁一体机", "XH-G20", 1680, 2380, "gate"),
    ("人脸识别闸机", "XH-T6", 6800, 9800, "gate"),
    ("年度维保套餐", "MS-Y1", 1200, 3600, "water"),
)
ISSUES = {
    "water": ("出水很慢", "滤芯指示灯一直闪红灯", "机器有异响，声音挺大的", "屏幕显示E3故障码", "底下漏水了", "水有点异味"),
    "air": ("开机没反应", "滤网指示灯一直亮", "风机噪音很大", "PM2.5读数一直不变", "遥控器失灵"),
    "gate": ("刷脸识别不了", "一直报警", "屏幕黑屏", "门打不开", "识别特别慢"),
}
PARTS = {
    "water": ("进水电磁阀", "增压泵", "滤芯", "主板", "水位探针"),
    "air": ("风机", "主板", "传感器", "电源适配器"),
    "gate": ("摄像头模组", "主板", "电磁锁", "电源适配器"),
}
HOLIDAYS_BY_MONTH = {
    1: ("元旦", "春节"), 2: ("春节", "元宵节"), 3: ("女神节", "春分"), 4: ("清明", "五一"), 5: ("五一", "端午节"),
    6: ("端午节", "618"), 7: ("暑假", "七夕"), 8: ("七夕", "中秋节"), 9: ("中秋节", "国庆"), 10: ("国庆", "重阳节"),
    11: ("双十一", "立冬"), 12: ("冬至", "元旦"),
}
CITIES = (
    ("上海市", ("徐汇区", "浦东新区", "静安区", "闵行区", "杨浦区"), ("漕溪北路", "张江路", "南京西路", "虹梅路", "国定路")),
    ("北京市", ("朝阳区", "海淀区", "东城区"), ("建国路", "中关村大街", "东直门内大街")),
    ("杭州市", ("西湖区", "滨江区", "余杭区"), ("文三路", "江南大道", "文一西路")),
    ("苏州市", ("工业园区", "姑苏区"), ("星湖街", "干将西路")),
    ("南京市", ("鼓楼区", "建邺区"), ("中山北路", "江东中路")),
    ("深圳市", ("南山区", "福田区"), ("科技园南路", "深南大道")),
    ("广州市", ("天河区", "白云区"), ("天河路", "机场路")),
    ("成都市", ("高新区", "锦江区"), ("天府大道", "春熙路")),
    ("武汉市", ("东湖高新区",), ("光谷大道",)),
    ("合肥市", ("蜀山区",), ("长江西路",)),
    ("宁波市", ("鄞州区",), ("𠮷祥路",)),
)
CITY_COORDS = {
    "上海市": (121.47, 31.23), "北京市": (116.40, 39.90), "杭州市": (120.16, 30.27), "苏州市": (120.62, 31.32),
    "南京市": (118.80, 32.06), "深圳市": (114.06, 22.54), "广州市": (113.26, 23.13), "成都市": (104.07, 30.57),
    "武汉市": (114.31, 30.59), "合肥市": (117.23, 31.82), "宁波市": (121.55, 29.87),
}
BUILDINGS = ("大厦", "广场", "中心", "科技园", "产业园", "写字楼")
EXPRESS = (("顺丰", "SF"), ("京东物流", "JDX"), ("德邦", "DPK"), ("中通", "ZT"))
BANKS = ("招商银行上海分行徐家汇支行", "中国工商银行杭州文三路支行", "建设银行南京鼓楼支行", "浦发银行深圳分行", "交通银行苏州园区支行")
ROOMS = ("3号会议室", "5楼大会议室", "腾讯会议", "二楼洽谈室", "线上")
DISCOUNTS = ("9折", "95折", "88折", "85折", "9.2折")
ENGLISH = ("OK", "PPT", "deadline", "ERP", "CRM", "follow up", "Excel", "case", "meeting", "KPI", "sample", "PO", "invoice", "check")
WECOM_EMOJI = ("[微笑]", "[强]", "[抱拳]", "[握手]", "[玫瑰]", "[OK]", "[捂脸]", "[呲牙]", "[愉快]", "[加油]", "[鼓掌]")
UNICODE_EMOJI = ("😊", "👍", "🙏", "👌", "😂", "💪", "🎉", "☕", "🤝", "😅")
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五")
RELDAYS = ("明天", "后天", "下周一", "下周二", "下周三", "这周五", "月底", "周四")
TIMES = ("上午9点", "上午10点", "上午10点半", "下午2点", "下午3点", "下午4点半", "14:00", "15:30", "9:30")


def _amount(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.5:
        return rng.randrange(500, 20000, 100)
    if r < 0.9:
        return rng.randrange(20000, 200000, 500)
    return rng.randrange(200000, 1500000, 1000)


def _yuan(v: int, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.45:
        return f"{v}元"
    if r < 0.65:
        return f"{v:,}元"
    if r < 0.8 and v >= 10000 and v % 100 == 0:
        return f"{v / 10000:g}万"
    if r < 0.9:
        return f"¥{v:,}"
    return f"{v}块"


def _phone(rng: random.Random) -> str:
    prefix = rng.choice(("138", "139", "135", "136", "137", "150", "151", "158", "186", "187", "189", "177", "199"))
    rest = f"{rng.randrange(10**8):08d}"
    r = rng.random()
    if r < 0.7:
        return prefix + rest
    if r < 0.85:
        return f"{prefix}-{rest[:4]}-{rest[4:]}"
    return f"{prefix} {rest[:4]} {rest[4:]}"


def address(rng: random.Random) -> tuple[str, str]:
    """A plausible street address and its city."""
    city, districts, roads = rng.choice(CITIES)
    return (
        f"{city}{rng.choice(districts)}{rng.choice(roads)}{rng.randint(1, 999)}号"
        f"{rng.choice(('', rng.choice(COMPANIES)[:2] + rng.choice(BUILDINGS)))}"
        f"{rng.choice(('', f'{rng.randint(1, 30)}楼', f'{rng.randint(1, 12)}栋{rng.randint(101, 2508)}室'))}",
        city,
    )


def tax_id(rng: random.Random) -> str:
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return "91" + f"{rng.randint(110000, 659999)}" + "".join(rng.choice(chars) for _ in range(10))


class Slots(dict):
    """Slot values of one thread, computed on first use and then kept (one thread, one price)."""

    __slots__ = ("rng", "ctx")
    VOLATILE = frozenset({"emoji", "ack", "en"})

    def __init__(self, rng: random.Random, ctx: dict):
        super().__init__()
        self.rng = rng
        self.ctx = ctx

    def __missing__(self, key: str) -> str:
        rng = self.rng
        ctx = self.ctx
        v: object
        if key in ("product", "model", "price", "family"):
            name, model, lo, hi, family = rng.choice(PRODUCTS)
            self["product"], self["model"], self["family"] = name, model, family
            self["price"] = str(rng.randrange(lo, hi + 1, 10 if hi < 5000 else 100))
            return self[key]
        if key == "qty":
            v = rng.choice((1, 2, 3, 5, 6, 8, 10, 12, 20, 30, 50, 100, rng.randint(2, 200)))
        elif key == "total":
            v = _yuan(int(self["price"]) * int(self["qty"]), rng)
        elif key == "deposit":
            v = _yuan(int(self["price"]) * int(self["qty"]) * 3 // 10, rng)
        elif key == "amount":
            v = _yuan(_amount(rng), rng)
        elif key == "discount":
            v = rng.choice(DISCOUNTS)
        elif key in ("phone", "phone2"):
            v = _phone(rng)
        elif key == "addr":
            v = address(rng)[0]
        elif key == "our_addr":
            v = OUR_ADDRESS
        elif key == "recipient":
            v = rng.choice("王李张刘陈杨黄赵吴周") + rng.choice(("先生", "女士", "工", "经理"))
        elif key in ("date", "date2"):
            if rng.random() < 0.6:
                v = rng.choice(RELDAYS)
            else:  # a day in the next two weeks
                d = ctx["day"] + timedelta(days=rng.randint(1, 14))
                v = f"{d.month}月{d.day}号"
        elif key == "weekday":
            v = rng.choice(WEEKDAYS)
        elif key == "time":
            v = rng.choice(TIMES)
        elif key == "order":
            v = f"XS{ctx['yyyymmdd']}{rng.randint(1, 999):03d}"
        elif key in ("express_co", "express"):
            co, p = rng.choice(EXPRESS)
            self["express_co"], self["express"] = co, p + str(rng.randrange(10**11, 10**12))
            return self[key]
        elif key == "contract":
            v = f"HT-{ctx['yyyymmdd'][:4]}-{rng.randint(1, 999):04d}"
        elif key == "invoice":
            v = f"{rng.randrange(10**7, 10**8)}"
        elif key == "taxid":
            v = tax_id(rng)
        elif key == "bank":
            v = rng.choice(BANKS)
        elif key == "account":
            v = "".join(rng.choice("0123456789") for _ in range(rng.choice((16, 19))))
        elif key == "email":
            v = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 9))) + "@" + rng.choice(EMAIL_DOMAINS)
        elif key == "days":
            v = str(rng.randint(2, 10))
        elif key in ("n", "n2"):
            v = str(rng.randint(2, 15))
        elif key == "pct":
            v = str(rng.choice((10, 20, 30, 40, 50, 60, 70)))
        elif key == "month":
            v = f"{ctx['month']}月"
        elif key == "issue":
            v = rng.choice(ISSUES[self["family"]])
        elif key == "part":
            v = rng.choice(PARTS[self["family"]])
        elif key == "room":
            v = rng.choice(ROOMS)
        elif key == "holiday":
            v = rng.choice(HOLIDAYS_BY_MONTH[int(ctx["month"])])
        elif key == "emoji":
            r = rng.random()
            v = "" if r < 0.55 else rng.choice(WECOM_EMOJI) if r < 0.85 else rng.choice(UNICODE_EMOJI)
        elif key == "en":
            v = rng.choice(ENGLISH)
        elif key == "our":
            v = OUR_CORP
        elif key in ctx:
            v = ctx[key]
        else:
            raise KeyError(key)
        if key not in self.VOLATILE:
            self[key] = v
        return v  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# Scripts. Keep steps short: a real chat is mostly short turns.

C, S, ANY = "c", "s", "*"

EXTERNAL_SCRIPTS: dict[str, list] = {
    "quote": [
        (C, ("你好，想咨询一下{product}的价格", "{sname}你好，我们公司想采购一批{product}，大概{qty}台，能报个价吗？",
             "请问{product}现在什么价格？我们这边需要{qty}台左右", "在吗？{product}{model}还有货吗，想了解下价格"), None),
        (S, ("您好{cname}！{product}{model}单价{price}元，{qty}台的话总价{total}，含税含安装{emoji}",
             "{cname}您好，{model}目前活动价{price}元/台，{qty}台合计{total}，量大还可以再谈",
             "在的{cname}，{product}现在是{price}一台，含三年质保和首年滤芯"), None),
        (C, ("能再便宜点吗？预算有点紧", "这个价格有点高啊，别家报的比你们低不少", "有没有{discount}的可能？",
             "含运费吗？", "安装费另算吗"), None),
        (S, ("我跟领导申请一下，最多能给到{discount}", "这已经是底价了{cname}，不过可以送一年维保{emoji}",
             "运费和安装都包含的，您放心", "我问下领导，稍等我回复您"), None),
        (S, None, "file:quote"),
        (S, ("报价单发您了，您看下{emoji}", "正式报价单在上面，有效期{days}天", "{cname}，报价单请查收"), None),
        (C, ("好的，我们内部走下流程", "收到，我发给老板看看", "OK，我们对比一下再回复你", "好的，有消息我联系你"), None),
        (S, ("好的，有问题随时联系我，我电话{phone}", "好嘞，等您消息{emoji}", "好的{cname}，不着急"), None),
    ],
    "order": [
        (C, ("{sname}，我们确定下单了，{product}{qty}台", "领导批了，按上次报价{total}下单", "合同没问题了，可以安排发货了"), None),
        (S, ("太好了，感谢{cname}支持！麻烦提供一下收货地址和联系人电话", "收到！感谢支持{emoji}，收货信息发我一下",
             "好的，我马上安排，收货地址还是原来那个吗？"), None),
        (C, ("{addr}，{recipient}，{phone}", "地址：{addr}\n收货人：{recipient}\n电话：{phone}", "还是原来的地址，联系人换成{recipient} {phone}"), None),
        (S, ("收到，订单号{order}，预计{date}发货", "已下单，订单号{order}，定金{deposit}麻烦安排一下", "好的，订单{order}已录入系统"), None),
        (C, ("好的，定金今天付", "什么时候能到？", "好的，谢谢"), None),
        (S, ("正常{days}天左右到，到之前师傅会电话联系您", "发货了我第一时间把单号发您", "好的{emoji}"), None),
    ],
    "delivery": [
        (C, ("{sname}，我们的货发了吗？", "订单{order}什么时候到啊？", "东西到哪了？我们这边等着用"), None),
        (S, ("已经发了，{express_co}单号{express}，预计{days}天内到", "我查一下，稍等", "今天下午发出，{express_co}，单号{express}"), None),
        (S, None, "image:photo"),
        (S, ("这是发货前拍的照片，包装都是完好的", "发货照片您看下", "{express_co}{express}，可以直接在小程序查"), None),
        (C, ("好的，到了我让仓库签收", "收到", "麻烦催一下，{date}之前一定要到", "行，谢谢{sname}"), None),
        (S, ("好的，我跟物流确认一下，有问题随时找我", "没问题，我盯着{emoji}"), None),
    ],
    "contract": [
        (S, ("{cname}，合同初稿发您，麻烦看下有没有问题", "{cname}好，采购合同拟好了，您过目一下"), None),
        (S, None, "file:contract"),
        (C, ("第{n}条付款方式我们这边要改一下，改成货到付款{pct}%", "违约金那条我们法务有意见", "质保期能写成三年吗？",
             "合同金额写{total}对吗？"), None),
        (S, ("我跟法务确认下，今天给您回复", "可以的，我改好再发您", "这个没问题，按您说的改"), None),
        (S, None, "file:contract"),
        (C, ("没问题了，我们盖章后寄回给你", "OK，走盖章流程了", "收到，我们这边用印需要{days}天"), None),
        (S, ("好的，寄到{our_addr}，收件人{me} {phone}", "好的，盖好章拍个照先发我一下，原件寄过来就行"), None),
    ],
    "invoice": [
        (C, ("{sname}，麻烦开一下发票，专票", "上个月那单的发票还没收到", "发票抬头要改一下"), None),
        (S, ("好的，麻烦发一下开票信息：抬头、税号、地址电话、开户行及账号", "好的，开票信息发我一下"), None),
        (C, ("抬头：{company}\n税号：{taxid}\n开户行：{bank}\n账号：{account}", "税号{taxid}，其他的跟上次一样"), None),
        (C, None, "file:txt"),
        (S, ("收到，发票{days}个工作日内开出，电子发票发您邮箱可以吗？", "好的，我转给财务"), None),
        (C, ("可以，邮箱{email}", "纸质的寄给我吧，地址{addr}", "好的"), None),
        (S, None, "file:invoice"),
        (S, ("发票已开，电子版在上面，请查收", "发票号{invoice}，已经发您邮箱了"), None),
    ],
    "aftersales": [
        (C, ("你好，我们上个月买的{product}，{issue}", "{sname}在吗，{product}{issue}", "机器又出问题了，{issue}"), None),
        (C, None, "image:photo"),
        (S, ("非常抱歉给您添麻烦了，能发个视频看看吗？", "收到，我马上报给售后", "您好，麻烦拍个铭牌照片，我查一下保修"), None),
        (C, None, "video"),
        (S, ("看了，应该是{part}的问题，我安排师傅{date}{time}上门", "初步判断是{part}坏了，在保修期内免费换",
             "师傅{date}{time}到，您看方便吗？"), None),
        (C, ("好的，师傅到了打这个电话{phone}", "可以，越快越好", "那天我不在，找{recipient}就行，{phone}"), None),
        (S, ("好的，已经安排了，工单号{order}", "收到{emoji}"), None),
        (C, ("修好了，谢谢", "师傅来看过了，还是不行", "好了，谢谢你们{emoji}"), None),
    ],
    "payment": [
        (S, ("{cname}您好，订单{order}的尾款{amount}，麻烦这周安排一下哈", "{cname}，上个月的货款{amount}还没到账，帮忙催一下财务"), None),
        (C, ("财务在走流程了，{date}前付", "我问一下财务", "这个月资金紧张，能不能分两次付？"), None),
        (S, ("好的谢谢{cname}，付完麻烦发个回单截图", "可以的，第一笔先付{pct}%", "好的，辛苦{cname}"), None),
        (C, None, "image:screenshot"),
        (C, ("已经付了，回单在上面", "款已经打过去了，你查一下"), None),
        (S, ("收到了，谢谢{cname}{emoji}", "财务确认到账了，感谢"), None),
    ],
    "visit": [
        (S, ("{cname}，{date}{time}方便吗？我过去拜访一下，顺便带样机给您看看", "{cname}，想约您{date}见个面，聊聊二期的事"), None),
        (C, ("可以，来之前给我打电话", "那天我在外面，改到{date2}吧", "好的，{time}我在办公室"), None),
        (C, None, "location"),
        (C, ("到了停地下车库，B2", "这是我们公司位置", "到前台说找我就行"), None),
        (S, ("好的，到时候见{emoji}", "收到，{date}见"), None),
    ],
    "greeting": [
        (S, ("{cname}，{holiday}快乐！感谢一直以来的支持🙏", "{cname}好，{holiday}快乐，祝您和家人身体健康{emoji}"), None),
        (C, ("同乐同乐", "谢谢，你也是{emoji}", "[抱拳]"), None),
    ],
    "chat": [
        (C, ("在吗？", "{sname}，问你个事", "你好"), None),
        (S, ("在的，您说", "在的{cname}", "您好，请讲"), None),
        (C, ("上次说的{product}说明书有电子版吗？", "你们{product}的滤芯多久换一次？", "{model}和上一代有什么区别？"), None),
        (S, None, "file:manual"),
        (S, ("说明书发您了，第{n}页有详细说明", "一般{n}个月换一次，看用水量", "主要是能效和噪音，参数对比我发您"), None),
        (C, ("好的，谢谢", "了解了", "OK"), None),
    ],
}

INTERNAL_SCRIPTS: dict[str, list] = {
    "approval": [
        (C, ("{sname}，{company}那单要申请{discount}，帮忙批一下", "{sname}，特价审批提交了，麻烦看下"), None),
        (S, ("审批我看到了，这个价格利润太低了", "为什么要给这么低？", "客户量多大？"), None),
        (C, ("客户量大，后续还有二期，大概{qty}台", "竞争对手报价比我们低，不降拿不下来", "老客户了，一直合作挺好的"), None),
        (S, ("行，先批了，下不为例", "最多{discount}，再低不行", "我跟李总汇报一下再说"), None),
        (C, ("好的，谢谢{sname}{emoji}", "收到"), None),
    ],
    "stock": [
        (C, ("{product}还有库存吗？客户要{qty}台", "{sname}，{model}仓库还有多少？"), None),
        (S, ("我查一下", "仓库还有{n}台，不够的话要等{days}天", "现货{n}台，剩下的下周到"), None),
        (C, ("先帮我锁{n}台", "客户比较急，能不能调一下苏州仓的", "好的"), None),
        (S, ("锁好了，订单号{order}", "我问下苏州仓", "OK"), None),
    ],
    "meeting": [
        (C, ("今天{time}开个会，过一下{month}的销售数据", "{sname}，{date}{time}有空吗，对一下{company}的项目"), None),
        (S, ("好的，在{room}吗？", "可以", "那个时间我有客户，晚一点行吗？"), None),
        (C, ("{room}，带上电脑", "那就{date2}吧", "好"), None),
        (C, None, "file:report"),
        (C, ("数据表先发你，提前看一下", "这是{month}的报表"), None),
    ],
    "handover": [
        (C, ("我{date}请假，{company}的单子麻烦你跟一下", "{sname}，我下周出差，客户{cname}有事你帮我处理下"), None),
        (S, ("没问题，有什么要注意的吗？", "好的，把资料发我"), None),
        (C, ("合同在走盖章，收到原件录一下系统就行", "他们{date}要货，记得催物流", "客户电话{phone}"), None),
        (S, ("OK，放心", "收到{emoji}"), None),
    ],
    "reimburse": [
        (C, ("{sname}，上个月的报销什么时候批？", "报销单提交了，金额{amount}，麻烦看下"), None),
        (S, ("发票原件周五前交财务", "已经批了，下周五发", "发票抬头不对，要重开"), None),
        (C, None, "image:screenshot"),
        (C, ("是这张吗？", "好的，我重新开"), None),
        (S, ("对的", "可以了"), None),
    ],
    "followup": [
        (C, ("{company}那边怎么样了？", "{sname}，{company}的单子{en}一下", "{company}的合同签了吗？"), None),
        (S, ("在谈，客户嫌贵", "下周签，金额{amount}", "客户说预算要等{month}底"), None),
        (C, ("抓紧，这个月KPI就靠它了", "需要支持就说", "有进展告诉我"), None),
        (S, ("好的{emoji}", "明白", "OK"), None),
    ],
    "smalltalk": [
        (C, ("中午吃什么？", "奶茶拼单吗", "楼下新开了家面馆，去试试？", "周末去爬山吗"), None),
        (S, ("都行", "我要一杯芋泥波波，少冰", "好啊", "有事去不了[捂脸]"), None),
        (C, ("12点楼下见", "下单了", "{emoji}"), None),
    ],
}

GROUP_SCRIPTS: dict[str, list] = {
    "announce": [
        (S, ("各位，{month}销售冲刺，目标{amount}，大家加油💪", "通知：{date}{time}系统升级，CRM暂停使用半小时",
             "请大家{date}前提交{month}的报销", "@所有人 {date}{time}在{room}开月度会，请准时参加"), None),
        (ANY, ("收到", "收到👌", "好的", "1", "收到[强]"), None),
        (ANY, ("收到", "好的", "OK", "明白"), None),
        (ANY, ("收到", "好"), None),
    ],
    "discuss": [
        (ANY, ("{company}的项目进度同步一下", "{product}最近投诉有点多，大家注意", "{month}的数据出来了，大家看下"), None),
        (ANY, ("安装完了{n}台，还剩{n2}台", "主要是{issue}，已经让工厂排查", "同比增长{pct}%"), None),
        (ANY, None, "image:screenshot"),
        (ANY, ("这个{en}谁来跟？", "客户那边要求{date}前全部完成", "华南那边情况怎么样？"), None),
        (ANY, ("我来跟", "我这边没问题", "需要售后支持一下"), None),
        (ANY, ("好的", "辛苦了", "👍"), None),
    ],
    "report": [
        (ANY, ("今日汇报：拜访客户{n}家，新签{n2}单，回款{amount}", "本周新签{n}单，回款{amount}", "{month}累计完成目标的{pct}%"), None),
        (ANY, None, "file:report"),
        (ANY, ("收到", "👍", "辛苦"), None),
    ],
    "project": [
        (S, ("师傅{date}{time}到现场安装，麻烦{cname}安排人对接", "设备已经到现场了，{date}开始安装"), None),
        (C, ("好的，我让物业配合", "收到，联系人{recipient} {phone}", "能不能提前到上午？"), None),
        (S, None, "image:photo"),
        (S, ("安装完成，麻烦验收一下", "现场照片，{n}台都装好了", "调试完毕，出水正常"), None),
        (C, ("好的，辛苦师傅了", "验收单签好了", "有一台水压不够，麻烦看下"), None),
        (C, None, "image:photo"),
        (S, ("收到，马上处理", "好的{cname}，下午过去看看"), None),
    ],
    "service": [
        (C, ("@客服 {product}{issue}，怎么处理？", "请问滤芯在哪里买？", "你们售后电话多少？"), None),
        (S, ("您好，麻烦私信发一下地址和电话，我们安排师傅上门", "滤芯可以直接在群里下单，{price}一套",
             "售后热线400-820-{n}{n2}，或者直接在群里@我们"), None),
        (C, ("好的", "谢谢", "已私信"), None),
    ],
}

ACKS = ("好的", "好的👌", "收到", "嗯嗯", "OK", "ok的", "没问题", "谢谢", "感谢", "辛苦了", "了解", "明白",
        "稍等", "我看一下", "好", "行", "[强]", "[抱拳]", "好的，谢谢", "收到，谢谢{cname}")

TOPICS_EXTERNAL_SALES = (("quote", 20), ("order", 12), ("delivery", 10), ("contract", 8), ("invoice", 7),
                         ("aftersales", 8), ("payment", 8), ("visit", 7), ("greeting", 3), ("chat", 10))
TOPICS_EXTERNAL_SERVICE = (("aftersales", 30), ("delivery", 15), ("invoice", 10), ("chat", 10), ("greeting", 2))
TOPICS_INTERNAL = (("approval", 10), ("stock", 10), ("meeting", 8), ("handover", 5), ("reimburse", 6),
                   ("followup", 12), ("smalltalk", 8))
TOPICS_GROUP_INTERNAL = (("announce", 6), ("discuss", 12), ("report", 6))
TOPICS_GROUP_CUSTOMER = (("project", 12), ("service", 6), ("discuss", 3))

# Long pasted text, rare: product specs and contract clauses.
LONG_TEXT_PARTS = (
    "第一条 产品名称、型号、数量及价格：详见附件报价单，报价有效期三十日。",
    "第二条 质量标准：符合国家标准GB/T 30307-2013及企业标准，出厂前逐台检验。",
    "第三条 交货时间及地点：乙方于合同生效后十五个工作日内送货至甲方指定地点，运输费用由乙方承担。",
    "第四条 付款方式：合同签订后甲方支付30%预付款，货到验收合格后支付60%，余款10%作为质保金一年后付清。",
    "第五条 售后服务：整机保修三年，核心部件保修五年，接到报修后24小时内响应，48小时内到场。",
    "第六条 违约责任：任何一方违约，应向守约方支付合同总额5%的违约金；逾期交货每日按0.1%计算。",
    "第七条 争议解决：双方协商解决，协商不成的，提交乙方所在地人民法院诉讼解决。",
    "技术参数：额定功率 120W；额定电压 220V~/50Hz；产水量 400G（约1.05L/min）；进水压力 0.1–0.4MPa；"
    "净重 18.5kg；外形尺寸 420×380×1150mm；适用水温 5–38℃。",
    "注意事项：1. 首次使用请先排水5分钟；2. 长时间不用请关闭进水阀；3. 滤芯更换周期请参考说明书第12页。",
)

# Text a viewer must show as plain text, never as markup (see docs/STYLE.md rule 9).
MARKUP_TEXTS = (
    '<img src=x onerror=alert(1)>这是什么？',
    '<b>重要</b>：请<a href="https://example.com/phish">点这里</a>确认收款信息',
    "<script>alert('xss')</script>",
    "&lt;不是标签&gt; &amp; 5 < 6 > 4",
)
ODD_TEXTS = (
    "路径是 D:\\共享\\报价\\2025\\最终版，直接去拿",
    'JSON样例：{"a": [1, 2], "b": "引号\\"和反斜杠\\\\"}',
    "表格列：\t名称\t数量\t单价",
    "第一行\u2028第二行（含 U+2028 行分隔符）",
    "零宽\u200b字符\u200d和全角空格\u3000在这里",
    "   ",
    "𠮷𠮷𠮷 𪚥 𠀀 𡈽",
)
