"""Demo data: the whole of 睢县 with its 20 real townships, its grid workers and party
organisations, and some hundreds of cases in every state.

Every case is moved through the real actions of `wangge.cases.actions` with `now=` in the past,
so the demo proves the loop the tests prove. Loading is idempotent: cases carry intake keys
(`demo-0001`, …), so a second run finds them and changes nothing. A seeded random per case makes
the data the same on every machine; only the clock is today's.
"""

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as time_of_day

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from wangge.accounts.actions import grant_role, system_user
from wangge.accounts.models import Assignment, Role, Unit, User
from wangge.care.actions import enrol
from wangge.care.models import Device, DeviceKind, Enrolment
from wangge.cases import actions as ca
from wangge.cases import deadlines
from wangge.cases.models import (
    Case,
    CaseEvent,
    CaseState,
    Channel,
    Outcome,
    Priority,
    Satisfaction,
    SupervisionLevel,
)
from wangge.deliberation import actions as dl
from wangge.grids.models import GridCell, GridLevel
from wangge.participation import actions as pa
from wangge.people.actions import add_party_member, create_party_org
from wangge.people.models import Household, PartyOrg, PartyOrgLevel, Resident, Tag
from wangge.projects import actions as pj
from wangge.timebank import actions as tb
from wangge.timebank.models import Member as TimebankMember
from wangge.world import DEMO_PASSWORD, World, build_world

KEY_PREFIX = "demo-"

ROADS = [
    "建设路", "北湖路", "襄邑路", "凤城大道", "人民路", "文化路", "胜利路", "团结路",
    "中山路", "滨湖路", "商丘路", "工业路", "府前街", "长安路", "兴业路", "育才路",
]  # fmt: skip
ESTATES = [
    "阳光小区", "幸福家园", "北湖花园", "凤城佳苑", "建业桂园", "锦绣华庭", "金色家园", "书香苑",
    "世纪花园", "和谐家园", "湖畔人家", "教育局家属院", "供电局家属院", "老粮站小区",
]  # fmt: skip

# Per category: (title, description, what the handler did). {road} {estate} {b} {u} {n} fill in.
TEXTS: dict[str, list[tuple[str, str, str]]] = {
    "0101": [
        (
            "{estate}物业不作为，电梯经常停运",
            "{estate}{b}号楼电梯本月已停运三次，老人上下楼困难，物业一直推脱。",
            "约谈物业公司，已维修电梯并承诺每周巡检",
        ),
        (
            "{estate}物业乱收停车费",
            "物业未经业主大会同意对小区内停车收费每月150元，居民有意见。",
            "已责令物业暂停收费，待业主大会表决",
        ),
        (
            "{estate}{b}号楼单元门坏了",
            "{b}号楼{u}单元门禁损坏一周多，陌生人随意进出，不安全。",
            "物业已更换门禁锁",
        ),
    ],
    "0102": [
        (
            "{estate}顶楼私搭乱建",
            "{b}号楼顶层住户在楼顶搭建彩钢房，存在安全隐患。",
            "已下达限期拆除通知书，当事人已自行拆除",
        ),
        (
            "{road}沿街商铺违建雨棚",
            "{road}{n}号附近商户私自加建雨棚占用人行道。",
            "执法队员现场督促拆除雨棚",
        ),
    ],
    "0201": [
        (
            "{road}路灯不亮",
            "{road}{n}号附近一排路灯连续多天晚上不亮，夜里行人看不清路。",
            "已更换灯泡和镇流器，路灯恢复照明",
        ),
        ("{estate}门口路灯损坏", "{estate}南门口路灯灯杆被撞歪，灯不亮。", "已扶正灯杆并更换灯具"),
        ("{road}路灯白天一直亮着", "{road}与{road2}交叉口路灯白天也亮，浪费电。", "已调整时控开关"),
    ],
    "0202": [
        (
            "{estate}垃圾未清运",
            "{estate}{b}号楼旁垃圾桶已满三天无人清运，气味很大。",
            "环卫已清运并增加清运频次",
        ),
        (
            "{road}垃圾堆放成山",
            "{road}{n}号附近空地有人倾倒建筑垃圾和生活垃圾。",
            "已组织清理，并设置禁止倾倒标识",
        ),
        ("{road}垃圾桶破损", "{road}人行道上的分类垃圾桶破损，垃圾散落一地。", "已更换新垃圾桶"),
    ],
    "0203": [
        (
            "{road}占道经营",
            "{road}{n}号附近早市摊贩占用机动车道，早高峰严重拥堵。",
            "已劝导摊贩进入便民市场经营",
        ),
        (
            "{road}夜市烧烤占道",
            "{road}夜间烧烤摊占用人行道摆桌，油烟和垃圾多。",
            "已规范经营时间和范围，督促清理",
        ),
        (
            "{estate}门口流动摊贩",
            "{estate}大门口流动商贩聚集，影响居民出入。",
            "已劝离并纳入日常巡查",
        ),
    ],
    "0301": [
        (
            "{estate}邻里纠纷",
            "{b}号楼{u}单元上下楼邻居因漏水问题发生争执，双方情绪激动。",
            "网格员上门调解，双方达成维修协议",
        ),
        (
            "{estate}因停车位发生纠纷",
            "两户居民为小区门前车位多次争吵，需要调解。",
            "网格员组织双方协商，划定车位",
        ),
        (
            "{estate}宠物狗扰邻",
            "邻居养的狗夜间吠叫、随地便溺，沟通无果。",
            "网格员上门劝导，养犬户承诺拴绳并清理",
        ),
    ],
    "0302": [
        (
            "{estate}楼道堆放杂物",
            "{b}号楼{u}单元楼道堆满纸箱和旧家具，堵塞消防通道。",
            "网格员督促住户清理，楼道已畅通",
        ),
        (
            "{estate}电动车楼道充电",
            "{b}号楼一楼楼道有人飞线给电动车充电，存在火灾隐患。",
            "已劝导住户到集中充电桩充电",
        ),
    ],
    "0401": [
        (
            "{estate}停水",
            "{estate}从早上开始停水，没有任何通知，居民做饭都困难。",
            "管网抢修完毕，已恢复供水",
        ),
        (
            "{road}水管爆裂",
            "{road}{n}号门前自来水管爆裂，路面大量积水。",
            "已关阀抢修，更换破损管段",
        ),
        (
            "{estate}水压低，高层上不去水",
            "{b}号楼五楼以上水压太低，晚上基本没水。",
            "已检修二次供水泵房",
        ),
    ],
    "0402": [
        ("{estate}频繁停电", "{estate}本周停电四次，冰箱里东西都坏了。", "已更换老化变压器接头"),
        ("{road}电线杆倾斜", "{road}{n}号旁电线杆倾斜，电线下垂，很危险。", "已加固电杆并调整线路"),
    ],
    "0403": [
        (
            "{estate}闻到燃气味",
            "{b}号楼{u}单元楼道有明显燃气味，担心泄漏。",
            "已排查并更换漏气阀门",
        ),
        ("{estate}燃气表不走字", "燃气表不计量，怕以后被一次性补收。", "已上门更换燃气表"),
    ],
    "0501": [
        (
            "{road}噪音扰民",
            "{road}{n}号附近工地夜间施工到凌晨，严重影响休息。",
            "已责令工地夜间停工，违规施工已立案",
        ),
        (
            "{estate}广场舞噪音太大",
            "{estate}广场舞音响声音太大，每天晚上九点多还在跳。",
            "已协调降低音量并限定时间",
        ),
        ("{road}商铺音响扰民", "{road}商铺门口大音响循环播放促销广告。", "已责令商户关闭外放音响"),
    ],
    "0502": [
        (
            "{road}饭店油烟扰民",
            "{road}{n}号饭店油烟直排，楼上住户不敢开窗。",
            "已督促安装油烟净化设备",
        ),
    ],
    "0601": [
        (
            "{road}道路坑洼",
            "{road}{n}号附近路面塌陷坑洼，雨天积水，电动车容易摔倒。",
            "已修补路面坑槽",
        ),
        ("{road}井盖缺失", "{road}人行道上井盖丢失，有行人差点掉下去。", "已补装井盖并设置警示"),
        ("{road}公交站牌损坏", "{road}公交站牌被风刮倒，乘客不知道在哪等车。", "已重新安装站牌"),
    ],
    "0701": [
        (
            "拖欠工资",
            "在{road}某工地干了三个月，包工头拖欠工资一万二不给。",
            "已约谈施工单位，工资已足额支付",
        ),
        (
            "{road}饭店拖欠员工工资",
            "{road}一家饭店关门，老板欠两个月工资联系不上。",
            "已立案调查，协调支付部分工资",
        ),
    ],
    "08": [
        (
            "{estate}附近校外培训机构违规",
            "{estate}附近一家培训机构周末违规开展学科培训。",
            "已责令停止违规培训",
        ),
    ],
    "09": [
        ("{road}诊所环境脏乱", "{road}一家诊所医疗垃圾随意堆放。", "已督促规范处置医疗废物"),
    ],
    "1001": [
        (
            "{road}小吃店卫生差",
            "{road}{n}号小吃店后厨卫生差，吃完闹肚子。",
            "已现场检查，责令停业整改",
        ),
        ("{estate}超市卖过期食品", "在{estate}门口超市买到过期牛奶。", "已查处并下架过期食品"),
    ],
}
# How often each category comes up, roughly like a county hotline's mix.
CATEGORY_WEIGHTS = {
    "0201": 9, "0202": 10, "0203": 8, "0301": 9, "0302": 7, "0401": 7, "0402": 4, "0403": 3,
    "0501": 8, "0502": 3, "0601": 8, "0701": 5, "0101": 6, "0102": 3, "08": 1, "09": 1,
    "1001": 4,
}  # fmt: skip
# Units that share the work (联动处置) and the unit a case is first sent to by mistake.
HELPERS = {
    "0203": "market", "0501": "police", "0701": "justice", "0401": "housing",
    "0102": "land", "1001": "health", "0502": "market", "0601": "urban",
}  # fmt: skip
WRONG_UNIT = {
    "urban": "housing", "water": "water_res", "ecology": "urban", "transport": "urban",
    "hrss": "justice", "housing": "urban", "power": "urban", "gas": "emergency",
    "market": "commerce", "education": "civil", "health": "medical",
}  # fmt: skip
CHANNEL_WEIGHTS = {
    Channel.HOTLINE: 40, Channel.WEB: 18, Channel.QR: 10, Channel.PATROL: 22,
    Channel.SENSOR: 3, Channel.IMPORT: 5, Channel.OPEN311: 2,
}  # fmt: skip
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国红梅志强海燕春花"
SATISFIED_NOTES = ["处理及时，很满意", "工作人员态度很好", "问题解决了，谢谢", ""]
BASIC_NOTES = ["基本解决，希望以后多巡查", "解决了，就是有点慢"]
UNSATISFIED_NOTES = ["问题没有解决，还是老样子", "只是敷衍了事，没有根本解决", "没人联系我就办结了"]

# Final state of each scenario; some scenarios are listed first so that even a small demo
# shows every state and every deadline colour.
S = CaseState
SCENARIO_STATE = {
    "new": S.NEW,
    "escalated_new": S.NEW,
    "invalid": S.CLOSED,
    "dispatched": S.DISPATCHED,
    "accepted": S.ACCEPTED,
    "in_progress": S.IN_PROGRESS,
    "paused": S.PAUSED,
    "returned": S.RETURNED,
    "resolved": S.RESOLVED,
    "rated": S.RATED,
    "reopened": S.REOPENED,
    "closed": S.CLOSED,
    "reopened_closed": S.CLOSED,
    "unrated_closed": S.CLOSED,
}
SCENARIO_WEIGHTS = {
    "new": 4, "escalated_new": 2, "invalid": 2, "dispatched": 6, "accepted": 7,
    "in_progress": 9, "paused": 3, "returned": 3, "resolved": 8, "rated": 7, "reopened": 4,
    "closed": 35, "reopened_closed": 4, "unrated_closed": 6,
}  # fmt: skip
# Problems a sensor or camera can report (智能感知).
SENSED = {"0201", "0202", "0401", "0402", "0403", "0601"}
COLOURED = {"dispatched", "accepted", "in_progress", "reopened"}
FIRST = [
    ("new", None), ("escalated_new", None), ("dispatched", "red"), ("accepted", "yellow"),
    ("in_progress", "green"), ("paused", None), ("returned", None), ("resolved", None),
    ("rated", None), ("reopened", "green"), ("closed", None), ("reopened_closed", None),
    ("invalid", None), ("in_progress", "red"), ("dispatched", "yellow"), ("accepted", "green"),
    ("unrated_closed", None), ("dispatched", "green"),
]  # fmt: skip


def _rng(key: str) -> random.Random:
    # Seeded from a string: the same data on every machine (string seeds do not depend on
    # PYTHONHASHSEED). Not for secrets.
    return random.Random(key)  # noqa: S311


def _weighted(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _phone(rng: random.Random) -> str:
    return rng.choice(("138", "139", "135", "137", "150", "158", "186", "187", "177")) + "".join(
        str(rng.randrange(10)) for _ in range(8)
    )


# --- staff ------------------------------------------------------------------------------------


@dataclass
class Staff:
    grid_workers: dict[str, User] = field(default_factory=dict)  # grid code → on-duty worker
    handlers: dict[str, User] = field(default_factory=dict)  # unit code → handler
    township_dispatchers: dict[str, User] = field(default_factory=dict)  # township code → user


def _demo_users(specs: list[tuple[str, str]]) -> dict[str, User]:
    """Find or create users by username; new ones share one password hash (hashing is slow)."""
    names = [u for u, _ in specs]
    found = {u.username: u for u in User.objects.filter(username__in=names)}
    missing = [(u, d) for u, d in specs if u not in found]
    if missing:
        hashed = make_password(DEMO_PASSWORD)
        User.objects.bulk_create(
            [User(username=u, display_name=d, password=hashed) for u, d in missing]
        )
        found.update({u.username: u for u in User.objects.filter(username__in=names)})
    return found


def _grant_once(held: set, user: User, role: str, *, cell=None, unit=None, deputy=False):
    key = (user.pk, role, cell.pk if cell else None, unit.pk if unit else None)
    if key not in held:
        grant_role(user, role, actor=None, cell=cell, unit=unit, is_deputy=deputy)
        held.add(key)


def _load_staff(world: World) -> Staff:
    """A grid worker on every grid (a deputy on every third), a handler in every unit and a
    dispatcher in every township office."""
    staff = Staff()
    held = set(Assignment.objects.values_list("user_id", "role", "cell_id", "unit_id"))
    roles = list(Assignment.objects.filter(is_active=True).select_related("user", "cell", "unit"))
    for a in roles:
        if a.role == Role.GRID_WORKER and not a.is_deputy and a.cell:
            staff.grid_workers.setdefault(a.cell.code, a.user)
        if a.role == Role.UNIT_HANDLER and a.unit:
            staff.handlers.setdefault(a.unit.code, a.user)
        if a.role == Role.DISPATCHER and a.cell and a.cell.level == GridLevel.TOWNSHIP:
            staff.township_dispatchers.setdefault(a.cell.code, a.user)

    specs, plan = [], []
    for i, grid in enumerate(world.grids):
        if grid.code in staff.grid_workers:
            continue
        rng = _rng(f"gw-{grid.code}")
        specs.append((f"gw_{grid.code}", f"{grid.name}网格员{_person(rng)}"))
        plan.append((f"gw_{grid.code}", Role.GRID_WORKER, grid, None, False))
        if i % 3 == 0:
            specs.append((f"gwd_{grid.code}", f"{grid.name}副网格员{_person(rng)}"))
            plan.append((f"gwd_{grid.code}", Role.GRID_WORKER, grid, None, True))
    units = list(Unit.objects.filter(code__in=list(world.units)).select_related("cell"))
    for unit in units:
        if unit.code not in staff.handlers and unit.code != "centre":
            rng = _rng(f"h-{unit.code}")
            specs.append((f"h_{unit.code}", f"{unit.name}承办人{_person(rng)}"))
            plan.append((f"h_{unit.code}", Role.UNIT_HANDLER, None, unit, False))
    for town in world.townships:
        if town.code not in staff.township_dispatchers:
            rng = _rng(f"td-{town.code}")
            specs.append((f"td_{town.code}", f"{town.name}派单员{_person(rng)}"))
            plan.append((f"td_{town.code}", Role.DISPATCHER, town, world.units[town.code], False))

    users = _demo_users(specs)
    for username, role, cell, unit, deputy in plan:
        user = users[username]
        _grant_once(held, user, role, cell=cell, unit=unit, deputy=deputy)
        if role == Role.GRID_WORKER and not deputy:
            staff.grid_workers[cell.code] = user
        elif role == Role.UNIT_HANDLER:
            staff.handlers[unit.code] = user
        elif role == Role.DISPATCHER:
            staff.township_dispatchers[cell.code] = user
    return staff


# --- party organisations ----------------------------------------------------------------------


# --- registry and care ------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_number(rng: random.Random, born: date) -> str:
    """A made-up ID number of the county (411422) that passes the GB 11643 check."""
    body = f"411422{born:%Y%m%d}{rng.randrange(1000):03d}"
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def _load_registry(world: World, staff: Staff, *, now: datetime, per_building: int = 4) -> int:
    """Households in every building, their residents with tags, the elderly living alone enrolled
    in 窗帘之约 with a family carer and their grid worker, and their door sensors and emergency
    buttons; a smoke alarm per building. A building that has households is left as it is."""
    tags = {t.code: t for t in Tag.objects.all()}
    added = 0
    buildings = GridCell.objects.filter(
        level=GridLevel.BUILDING, path__startswith=world.county.path
    ).order_by("path")
    filled = set(Household.objects.values_list("cell_id", flat=True).distinct())
    for building in buildings:
        if building.pk in filled:
            continue
        rng = _rng(f"registry:{building.code}")
        grid_code = building.path.strip("/").split("/")[GridLevel.GRID - 1]
        worker = staff.grid_workers.get(grid_code)
        address = f"{building.parent.name}{building.name}"
        stairs = Household.objects.create(cell=building, address=address, door="公共区域")
        Device.objects.create(
            serial=f"SMK-{building.code}", kind=DeviceKind.SMOKE, household=stairs,
            last_seen_at=now, battery=rng.randrange(40, 100),
        )  # fmt: skip
        for n in range(1, per_building + 1):
            home = Household.objects.create(cell=building, address=address, door=f"{n}01")
            alone = rng.random() < 0.35
            people = 1 if alone else rng.choice((2, 3, 4))
            for i in range(people):
                old = alone or (i == 0 and rng.random() < 0.4)
                born = date(rng.randrange(1935, 1955) if old else rng.randrange(1960, 2018),
                            rng.randrange(1, 13), rng.randrange(1, 29))  # fmt: skip
                resident = Resident.objects.create(
                    household=home,
                    name=_person(rng),
                    gender=rng.choice("mf"),
                    birth_date=born,
                    id_number=_id_number(rng, born),
                    phone=_phone(rng),
                )
                added += 1
                marks = []
                if alone and old:
                    marks.append(tags["living_alone"])
                if born.year < 1946:
                    marks.append(tags["aged_80"])
                if rng.random() < 0.05:
                    marks.append(tags["disabled"])
                if rng.random() < 0.04:
                    marks.append(tags["subsistence"])
                if marks:
                    resident.tags.set(marks)
                if alone and old:
                    carers = [{"kind": "family", "name": _person(rng), "phone": _phone(rng),
                               "wait_minutes": 20}]  # fmt: skip
                    if worker is not None:
                        carers.append({"kind": "grid_worker", "name": str(worker), "user": worker})
                    enrol(resident, window_start=time_of_day(7), window_end=time_of_day(9),
                          actor=None, carers=carers)  # fmt: skip
                    for kind, prefix in ((DeviceKind.DOOR, "DR"), (DeviceKind.BUTTON, "BTN")):
                        Device.objects.create(
                            serial=f"{prefix}-{building.code}-{n}01", kind=kind, household=home,
                            resident=resident, last_seen_at=now, battery=rng.randrange(30, 100),
                        )  # fmt: skip
    return added


# --- community life --------------------------------------------------------------------------


def _load_community_life(world: World, staff: Staff, *, now: datetime) -> int:
    """In the first community: a time bank with a confirmed volunteer task, points and a
    catalogue; lists and micro-wishes; a livelihood project tree with progress; a village matter
    half-way through 四议两公开 and a finance disclosure that adds up. Once: a community that has
    time-bank members is left as it is. Returns how many communities were filled."""
    community = world.grid_a1.parent
    if TimebankMember.objects.filter(community=community).exists():
        return 0
    secretary = world.secretary_a
    rng = _rng(f"community:{community.code}")
    tb.set_policy(community, actor=secretary, points_per_hour=10)
    members = [
        tb.enrol_member(community, name=_person(rng), phone=_phone(rng), actor=secretary)
        for _ in range(6)
    ]
    task = tb.create_task(
        community, title="重阳节敬老院陪护", hours="3", organiser=secretary,
        description="陪老人聊天、理发、打扫房间", volunteers=members[:3],
    )  # fmt: skip
    tb.confirm_task(task, actor=secretary, now=now)
    rule = tb.create_rule(community, name="参加志愿服务", points=20, actor=secretary, cap=100)
    for member in members[:3]:
        tb.approve_claim(
            tb.claim_points(member, rule, done_on=now.date(), actor=secretary), actor=secretary
        )
    items = [
        tb.add_item(community, name=name, points=points, stock=stock, actor=secretary)
        for name, points, stock in (("洗衣液", 15, 20), ("食用油", 30, 10), ("理发券", 10, 50))
    ]
    tb.redeem(members[0], items[0], actor=secretary, idempotency_key="demo-redeem-1", now=now)

    urban = world.unit("urban")
    pa.add_item(kind="need", community=community, title="独居老人助餐", actor=secretary,
                description="辖区独居老人午餐不便，需要送餐服务", tags=["助老"])  # fmt: skip
    pa.add_item(kind="service", community=community, title="社区食堂送餐上门", actor=secretary,
                description="每天中午为老人送餐", tags=["助老", "送餐"], provider_kind="partner",
                provider_name="幸福里社区食堂")  # fmt: skip
    pa.add_item(kind="resource", community=community, title="志愿理发服务", actor=secretary,
                tags=["助老"], provider_kind="volunteer", provider_name=_person(rng))  # fmt: skip
    wishes = [
        pa.post_wish(community, title=title, wisher_name=_person(rng), actor=secretary, text=text)[
            0
        ]
        for title, text in (
            ("想要一套儿童绘本", "孩子喜欢看书，希望有一套绘本"),
            ("需要一台收音机", "老人眼睛不好，想听广播"),
            ("希望有人帮忙修自行车", "上学用的自行车坏了"),
        )
    ]
    pa.claim_wish(wishes[1], claimant_kind="party_member", claimant_name=_person(rng),
                  actor=secretary, now=now)  # fmt: skip

    parent = pj.create_project(
        actor=secretary, title="老旧小区改造", cell=community, owner_unit=urban,
        budget="1200000", description="楼道照明、雨污分流和加装电梯",
        start_date=now.date() - timedelta(days=90), planned_end=now.date() + timedelta(days=120),
    )  # fmt: skip
    lights = pj.create_project(actor=secretary, title="楼道照明改造", cell=community,
                               owner_unit=urban, budget="200000", parent=parent)  # fmt: skip
    drains = pj.create_project(actor=secretary, title="雨污分流", cell=community,
                               owner_unit=urban, budget="1000000", parent=parent)  # fmt: skip
    pj.report_progress(lights, progress=100, note="全部楼道已换装感应灯", actor=secretary, now=now)
    pj.report_progress(drains, progress=35, note="主管网已完成三分之一", actor=secretary, now=now)

    matter = dl.create_matter(
        community, title="村集体机动地对外发包", summary="三十亩机动地公开发包", actor=secretary
    )
    held = now.date() - timedelta(days=20)
    dl.record_step(matter, kind="propose", version=matter.version, held_on=held,
                            actor=secretary, body="branch_committee", expected=5, present=5,
                            votes_for=5, votes_against=0, votes_abstain=0,
                            minutes="支委会提议对外发包")  # fmt: skip
    matter.refresh_from_db()
    dl.record_step(matter, kind="discuss", version=matter.version,
                   held_on=held + timedelta(days=3), actor=secretary, body="two_committees",
                   expected=9, present=8, votes_for=8, votes_against=0, votes_abstain=0,
                   minutes="两委会商议同意")  # fmt: skip
    report = dl.create_disclosure(
        community, kind="finance", period=f"{now.year}-Q3", title="第三季度财务收支",
        actor=secretary, opening_balance="120000", total_income="45000",
        total_expense="30500", closing_balance="134500",
        lines=[
            {"direction": "income", "label": "机动地承包费", "amount": "45000"},
            {"direction": "expense", "label": "道路维修", "amount": "18000"},
            {"direction": "expense", "label": "环境整治", "amount": "12500"},
        ],
    )  # fmt: skip
    dl.publish_disclosure(report, version=report.version, actor=secretary)
    return 1


def _load_party(world: World, staff: Staff) -> int:
    """社区党委 → 小区党支部 per grid → 楼栋党小组 per building → 党员中心户, with members.
    A community that already has its committee is left as it is."""
    communities = {g.parent_id for g in world.grids}
    done = set(
        PartyOrg.objects.filter(
            level=PartyOrgLevel.COMMUNITY_COMMITTEE, cell_id__in=communities
        ).values_list("cell_id", flat=True)
    )
    cells = GridCell.objects.filter(pk__in=communities - done).order_by("path")
    buildings: dict[str, list[GridCell]] = {}
    for b in GridCell.objects.filter(level=GridLevel.BUILDING, path__startswith=world.county.path):
        grid_code = b.path.strip("/").split("/")[GridLevel.GRID - 1]
        buildings.setdefault(grid_code, []).append(b)
    grids_of: dict[int, list[GridCell]] = {}
    for g in world.grids:
        grids_of.setdefault(g.parent_id, []).append(g)
    made = 0
    for community in cells:
        rng = _rng(f"party-{community.code}")
        with transaction.atomic():
            committee = create_party_org(
                name=f"{community.name}党委",
                level=PartyOrgLevel.COMMUNITY_COMMITTEE,
                cell=community,
                actor=None,
            )
            add_party_member(org=committee, name=_person(rng), phone=_phone(rng), actor=None)
            for grid in grids_of[community.pk]:
                estate = ESTATES[int(grid.code[-2:]) % len(ESTATES)]
                branch = create_party_org(
                    name=f"{grid.name}{estate}党支部",
                    level=PartyOrgLevel.BRANCH,
                    cell=grid,
                    parent=committee,
                    secretary=staff.grid_workers.get(grid.code),
                    actor=None,
                )
                add_party_member(org=branch, name=_person(rng), phone=_phone(rng), actor=None)
                for n, building in enumerate(sorted(buildings[grid.code], key=lambda c: c.code)):
                    group = create_party_org(
                        name=f"{estate}{building.name}党小组",
                        level=PartyOrgLevel.GROUP,
                        cell=building,
                        parent=branch,
                        actor=None,
                    )
                    for _ in range(2):
                        add_party_member(
                            org=group,
                            name=_person(rng),
                            phone=_phone(rng) if rng.random() < 0.7 else "",
                            cell=building,
                            actor=None,
                        )
                    if n == 0:
                        host = _person(rng)
                        household = create_party_org(
                            name=f"{estate}{building.name}{host}党员中心户",
                            level=PartyOrgLevel.CENTRAL_HOUSEHOLD,
                            cell=building,
                            parent=group,
                            actor=None,
                        )
                        add_party_member(
                            org=household,
                            name=host,
                            phone=_phone(rng),
                            cell=building,
                            is_central_household=True,
                            actor=None,
                        )
        made += 1
    return made


# --- cases ------------------------------------------------------------------------------------


class Clock:
    """Anchor times for a deadline colour: dispatching (or reopening) at `now - h hours` gives
    that colour today, with a margin so it still holds when someone looks an hour later."""

    MARGIN = timedelta(hours=2)

    def __init__(self, now: datetime):
        self.now = now
        self.cache: dict = {}

    def options(self, limits: deadlines.Limits) -> dict[str, list[datetime]]:
        if limits not in self.cache:
            opts: dict[str, list[datetime]] = {"red": [], "yellow": [], "green": []}
            for h in range(1, 24 * 30):
                t = self.now - timedelta(hours=h)
                warn, due = deadlines.resolve_clock(t, limits)
                if due <= self.now - self.MARGIN:
                    opts["red"].append(t)
                elif warn <= self.now and due > self.now + self.MARGIN:
                    opts["yellow"].append(t)
                elif warn > self.now + self.MARGIN:
                    opts["green"].append(t)
            self.cache[limits] = opts
        return self.cache[limits]


@dataclass
class Plan:
    index: int
    rng: random.Random
    scenario: str
    colour: str | None
    category: str
    channel: str
    grid: GridCell
    joint: bool = False
    misrouted: bool = False
    escalated: bool = False
    paused_once: bool = False
    supervised: str | None = None
    anchor: int | None = None
    title: str = ""
    description: str = ""
    address: str = ""
    resolution: str = ""
    priority: str = Priority.NORMAL


def _plan(i: int, seed: int, world: World) -> Plan:
    rng = _rng(f"{seed}:{i}")
    if i < len(FIRST):
        scenario, colour = FIRST[i]
    else:
        scenario = _weighted(rng, SCENARIO_WEIGHTS)
        colour = None
        if scenario in COLOURED:
            colour = _weighted(rng, {"green": 65, "yellow": 15, "red": 20})
    category = _weighted(rng, CATEGORY_WEIGHTS)
    if scenario == "escalated_new":
        category = rng.choice(("0301", "0302"))
    grid_level = category.startswith("03")
    channel = (
        Channel.PATROL if grid_level and rng.random() < 0.6 else _weighted(rng, CHANNEL_WEIGHTS)
    )
    if channel == Channel.SENSOR and category not in SENSED:
        channel = Channel.HOTLINE
    plan = Plan(
        index=i,
        rng=rng,
        scenario=scenario,
        colour=colour,
        category=category,
        channel=channel,
        grid=rng.choice(world.grids),
    )
    title, desc, plan.resolution = rng.choice(TEXTS[category])
    road, road2 = rng.sample(ROADS, 2)
    fill = {
        "road": road,
        "road2": road2,
        "estate": rng.choice(ESTATES),
        "b": rng.randint(1, 24),
        "u": rng.randint(1, 4),
        "n": rng.randint(1, 399),
    }
    plan.title, plan.description = title.format(**fill), desc.format(**fill)
    place = fill["estate"] if "{estate}" in title else f"{road}{fill['n']}号"
    plan.address = f"{plan.grid.name.split('第')[0]}{place}"
    if category in ("0401", "0402", "0403") and rng.random() < 0.35:
        plan.priority = Priority.URGENT
    if category == "0403" and plan.title.endswith("燃气味"):
        plan.priority = Priority.EMERGENCY
    handled = scenario not in ("new", "invalid", "returned", "escalated_new")
    if handled:
        plan.joint = category in HELPERS and rng.random() < 0.3
        plan.misrouted = not grid_level and not plan.joint and rng.random() < 0.12
        plan.escalated = grid_level and rng.random() < 0.3
        # A pause moves the deadline, so not where the colour is planned.
        plan.paused_once = scenario not in COLOURED - {"reopened"} and rng.random() < 0.1
    if colour == "red" and rng.random() < 0.7:
        plan.supervised = rng.choice(
            (SupervisionLevel.COMMAND_CENTRE,) * 3 + (SupervisionLevel.DISCIPLINE,)
        )
    return plan


def _steps(plan: Plan) -> tuple[list[str], int | None]:
    """The moves of a scenario, and the index of the one that starts today's clock."""
    sc = plan.scenario
    if sc == "new":
        return ["report"], None
    if sc == "escalated_new":
        return ["report", "dispatch", "accept", "escalate"], None
    if sc == "invalid":
        return ["report", "close_invalid"], None
    if sc == "returned":
        return ["report", "dispatch_wrong", "return"], None
    if sc == "paused":
        return ["report", "dispatch", "accept", "start", "pause"], None
    head = ["report"]
    if plan.misrouted:
        head += ["dispatch_wrong", "return"]
    if plan.escalated:
        head += ["dispatch", "accept", "escalate"]
    head.append("dispatch")
    anchor = len(head) - 1
    if sc == "dispatched":
        return head, anchor
    if sc == "accepted":
        return [*head, "accept"], anchor
    work = [*head, "accept", "start"]
    if plan.paused_once:
        work += ["pause", "resume"]
    if sc == "in_progress":
        return work, anchor
    if plan.joint:
        work.append("finish_task")
    done = [*work, "resolve"]
    if sc == "resolved":
        return done, None
    if sc == "rated":
        return [*done, "rate_ok"], None
    if sc == "unrated_closed":
        return [*done, "close"], None
    if sc == "closed":
        return [*done, "rate_ok", "close"], None
    if sc == "reopened":
        return [*done, "rate_bad"], len(done)
    # reopened_closed
    return [*done, "rate_bad", "accept", "start", "resolve", "rate_ok", "close"], None


# Typical wait before each move, in hours (low, high).
GAPS = {
    "dispatch": (0.2, 6),
    "dispatch_wrong": (0.2, 4),
    "return": (0.5, 20),
    "accept": (0.2, 20),
    "escalate": (2, 30),
    "start": (0.5, 24),
    "pause": (2, 48),
    "resume": (8, 72),
    "finish_task": (4, 72),
    "resolve": (4, 96),
    "rate_ok": (2, 48),
    "rate_bad": (2, 48),
    "close": (8, 72),
    "close_invalid": (0.5, 24),
}
# How long ago the first report came in (days, low/high) for scenarios not tied to a colour.
AGE = {
    "new": (0.02, 0.8),
    "escalated_new": (0.3, 2),
    "invalid": (1, 55),
    "returned": (0.2, 3),
    "paused": (2, 15),
    "resolved": (1, 6),
    "rated": (2, 12),
    "closed": (6, 60),
    "reopened_closed": (12, 60),
    "unrated_closed": (8, 60),
}


def _times(plan: Plan, steps: list[str], anchor_at: datetime | None, now: datetime):
    """A strictly increasing time for each step, all before `now`."""
    rng = plan.rng
    gaps = [timedelta(hours=rng.uniform(*GAPS[s])) for s in steps[1:]]
    latest = now - timedelta(minutes=5)
    if anchor_at is None:
        low, high = AGE[plan.scenario]
        start = now - timedelta(days=rng.uniform(low, high))
        times = [start]
        for g in gaps:
            times.append(times[-1] + g)
        if times[-1] > latest:  # squeeze the story into the time there was
            scale = (latest - start) / (times[-1] - start)
            times = [start + (t - start) * scale for t in times]
        return times
    k = plan.anchor
    times = [anchor_at]
    for g in reversed(gaps[:k]):
        times.insert(0, times[0] - g)
    after = gaps[k:]
    room = latest - anchor_at
    total = sum(after, timedelta())
    if total > room * 0.9:
        after = [g * (room * 0.9 / total) for g in after]
    for g in after:
        times.append(times[-1] + g)
    return times


class Loader:
    """Tells each planned case's story through the case actions, at times in the past."""

    def __init__(self, world: World, staff: Staff, now: datetime):
        self.world, self.staff, self.now = world, staff, now
        self.clock = Clock(now)
        self.limits: dict = {}
        self.sensor = system_user("sensor")
        self.importer = system_user("import")

    def _limits(self, category, priority):
        key = (category.code, priority)
        if key not in self.limits:
            self.limits[key] = deadlines.limits_for(category, priority)
        return self.limits[key]

    def _report(self, plan: Plan, at: datetime, key: str) -> Case:
        rng, w = plan.rng, self.world
        x0, y0, x1, y1 = _bounds(plan.grid)
        kw = {
            "lon": round(rng.uniform(x0, x1), 6),
            "lat": round(rng.uniform(y0, y1), 6),
            "address": plan.address,
        }
        actor, anonymous = None, False
        ch = plan.channel
        if ch == Channel.PATROL:
            actor = self.staff.grid_workers[plan.grid.code]
        elif ch == Channel.SENSOR:
            actor = self.sensor
        elif ch == Channel.IMPORT:
            actor = self.importer
            kw["external_ref"] = f"XF{at:%Y%m%d}{plan.index:04d}"
        else:
            anonymous = rng.random() < 0.1
            if not anonymous:
                kw["reporter_name"] = rng.choice(SURNAMES) + rng.choice(("先生", "女士"))
                kw["reporter_phone"] = _phone(rng)
            if ch == Channel.HOTLINE:
                kw["external_ref"] = f"12345-{at:%Y%m%d}-{plan.index:04d}"
            if ch == Channel.WEB and not anonymous and rng.random() < 0.3:
                kw["reporter_user"] = actor = w.resident
        case, _created = ca.report_case(
            channel=ch,
            title=plan.title,
            description=plan.description,
            actor=actor,
            idempotency_key=key,
            cell=plan.grid,
            category=w.category(plan.category),
            priority=plan.priority,
            anonymous=anonymous,
            now=at,
            **kw,
        )
        return case

    def _handler(self, case: Case) -> User:
        if case.assignee_id:
            return case.assignee
        return self.staff.handlers.get(case.unit.code) or self.world.dispatcher

    def _dispatcher(self, case: Case, rng) -> User:
        if case.handling_cell.level == GridLevel.TOWNSHIP:
            return self.staff.township_dispatchers[case.handling_cell.code]
        return rng.choice((self.world.dispatcher, self.world.dispatcher_2))

    def _dispatch(self, plan: Plan, case: Case, at: datetime, *, wrong: bool = False) -> Case:
        w, rng = self.world, plan.rng
        category = w.category(plan.category)
        kw: dict = {}
        if case.handling_cell.level == GridLevel.TOWNSHIP:
            kw["unit"] = w.unit(case.handling_cell.code)
        elif category.grid_level:
            kw["assignee"] = self.staff.grid_workers[plan.grid.code]
        else:
            owner = category.owner or category.parent.owner
            if wrong:
                owner = w.unit(WRONG_UNIT.get(owner.code, "civil"))
            kw["unit"] = owner
            if plan.joint and not wrong:
                kw["helpers"] = [w.unit(HELPERS[plan.category])]
        return ca.dispatch_case(case, actor=self._dispatcher(case, rng), now=at, **kw)

    def run(self, plan: Plan, key: str) -> Case:
        rng = plan.rng
        steps, plan.anchor = _steps(plan)
        anchor_at = None
        if plan.anchor is not None:
            category = self.world.category(plan.category)
            opts = self.clock.options(self._limits(category, plan.priority))
            choices = opts[plan.colour] or opts["green"]
            if plan.colour == "red":
                choices = choices[: 24 * 12]  # overdue by days, not months
            # One draw whatever the length, so the rest of the case does not depend on the date.
            anchor_at = choices[int(rng.random() * len(choices))]
        times = _times(plan, steps, anchor_at, self.now)
        case = self._report(plan, times[0], key)
        for step, at in zip(steps[1:], times[1:], strict=True):
            case = self._step(plan, case, step, at)
        if plan.supervised and case.due_at and case.due_at < self.now:
            last = max(times[-1], case.due_at)
            at = last + (self.now - last) * rng.uniform(0.3, 0.7)
            order = ca.supervise_case(
                case,
                level=plan.supervised,
                demand=rng.choice(
                    ("已超期，请于两个工作日内办结并反馈", "群众反映强烈，请主要负责人督办落实")
                ),
                due_at=at + timedelta(days=2),
                actor=self.world.discipline
                if plan.supervised == SupervisionLevel.DISCIPLINE
                else self.world.supervisor,
                now=at,
            )
            if case.unit_id and rng.random() < 0.5:
                ca.answer_supervision(
                    order,
                    answer="已安排专人处理，预计本周内办结",
                    actor=self._handler(case),
                    now=at + (self.now - at) * 0.5,
                )
        return case

    def _step(self, plan: Plan, case: Case, step: str, at: datetime) -> Case:
        rng, w = plan.rng, self.world
        if step == "dispatch":
            return self._dispatch(plan, case, at)
        if step == "dispatch_wrong":
            return self._dispatch(plan, case, at, wrong=True)
        if step == "return":
            return ca.return_case(
                case,
                reason=rng.choice(("非本单位职责范围", "该事项属于其他部门管辖，请重新分派")),
                actor=self._handler(case),
                now=at,
            )
        if step == "accept":
            return ca.accept_case(case, actor=self._handler(case), now=at)
        if step == "start":
            case = ca.start_case(case, actor=self._handler(case), now=at)
            if case.channel == Channel.HOTLINE and rng.random() < 0.3:
                ca.reply_to_reporter(
                    case, text="已安排工作人员到现场处理", actor=self._handler(case), now=at
                )
            return case
        if step == "pause":
            return ca.pause_case(
                case,
                reason=rng.choice(("等待诉求人补充材料", "需协调产权单位，等待答复")),
                actor=self._handler(case),
                now=at,
            )
        if step == "resume":
            return ca.resume_case(case, actor=self._handler(case), now=at)
        if step == "escalate":
            return ca.escalate_case(
                case,
                reason=rng.choice(
                    ("网格内协调不成，需街道出面", "涉及多个部门，网格无法处置", "当事人拒不配合")
                ),
                actor=self._handler(case),
                now=at,
            )
        if step == "finish_task":
            helper = w.unit(HELPERS[plan.category])
            ca.finish_task(
                case,
                unit=helper,
                note="已配合完成现场处置",
                actor=self.staff.handlers.get(helper.code) or w.dispatcher,
                now=at,
            )
            return case
        if step == "resolve":
            outcome = _weighted(rng, {Outcome.SOLVED: 85, Outcome.PARTLY: 8, Outcome.EXPLAINED: 7})
            return ca.resolve_case(
                case, outcome=outcome, note=plan.resolution, actor=self._handler(case), now=at
            )
        if step in ("rate_ok", "rate_bad"):
            if step == "rate_bad":
                sat, note = Satisfaction.UNSATISFIED, rng.choice(UNSATISFIED_NOTES)
            elif rng.random() < 0.75:
                sat, note = Satisfaction.SATISFIED, rng.choice(SATISFIED_NOTES)
            else:
                sat, note = Satisfaction.BASICALLY, rng.choice(BASIC_NOTES)
            # A web reporter rates online; everyone else is asked on the 回访 call.
            actor = case.reporter_user or w.dispatcher_2
            return ca.rate_case(case, satisfaction=sat, comment=note, actor=actor, now=at)
        if step == "close":
            return ca.close_case(case, actor=w.dispatcher, now=at)
        if step == "close_invalid":
            return ca.close_case(
                case,
                actor=w.dispatcher,
                reason=rng.choice(
                    ("重复诉求，已合并处理", "诉求人无法联系且信息不全", "咨询类，已当场解答")
                ),
                now=at,
            )
        raise ValueError(step)


def _bounds(cell: GridCell) -> tuple[float, float, float, float]:
    ring = cell.geometry["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def _load_cases(world, staff, *, count: int, seed: int, now: datetime, out) -> int:
    keys = [f"{KEY_PREFIX}{i + 1:04d}" for i in range(count)]
    have = set(
        Case.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
    )
    loader = Loader(world, staff, now)
    todo = [(i, k) for i, k in enumerate(keys) if k not in have]
    batch = 50
    for start in range(0, len(todo), batch):
        # One transaction per batch: SQLite commits are the slow part; actions nest as savepoints.
        with transaction.atomic():
            for i, key in todo[start : start + batch]:
                loader.run(_plan(i, seed, world), key)
        out(f"  诉求 cases: {min(start + batch, len(todo))}/{len(todo)} loaded")
    return len(todo)


def load_demo(
    *,
    stdout=None,
    townships: int = 20,
    communities: int = 3,
    grids_per_community: int = 2,
    cases: int = 400,
    seed: int = 411422,
    now: datetime | None = None,
) -> str:
    """Build (or find) the demo county and fill it; returns a one-line summary."""
    began = time.monotonic()

    def out(line: str) -> None:
        if stdout is not None:
            stdout.write(f"{line}  ({time.monotonic() - began:.1f}s)\n")

    now = now or timezone.now()
    world = build_world(
        townships=townships, communities=communities, grids_per_community=grids_per_community
    )
    out(f"  网格 grid: {len(world.townships)} townships, {len(world.grids)} grids")
    with transaction.atomic():
        staff = _load_staff(world)
    out(f"  人员 staff: {len(staff.grid_workers)} grid workers, {len(staff.handlers)} handlers")
    with transaction.atomic():
        orgs = _load_party(world, staff)
    out(f"  党建 party: {orgs} community committees added")
    with transaction.atomic():
        residents = _load_registry(world, staff, now=now)
    out(f"  户籍 registry: {residents} residents added, {Enrolment.objects.count()} in 窗帘之约")
    with transaction.atomic():
        filled = _load_community_life(world, staff, now=now)
    out(
        f"  社区 community life: {filled} community filled (time bank, lists, projects, 四议两公开)"
    )
    added = _load_cases(world, staff, count=cases, seed=seed, now=now, out=out)
    by_state = Counter(Case.objects.values_list("state", flat=True))
    states = ", ".join(f"{s} {by_state.get(s, 0)}" for s in CaseState.values)
    out(f"  诉求 cases: {added} added; {states}")
    return (
        f"{len(world.townships)} townships, {len(world.grids)} grids, "
        f"{len(world.units)} units, {Case.objects.count()} cases, "
        f"{CaseEvent.objects.count()} events"
    )
