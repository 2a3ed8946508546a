"""The demo jurisdiction, built through actions: 睢县 (411422, 河南省商丘市) with its real
townships and codes (NBS 2023, see wangge/lib/data/README.md), generated polygons, communities,
grids, units, categories and staff.

Tests build the small world (two townships); `wangge demo` builds the whole county on the same
code, so what the tests prove is what the demo shows. Building twice changes nothing.
"""

import csv
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from wangge.accounts.actions import grant_role
from wangge.accounts.models import Role, Unit, UnitKind, User
from wangge.cases.models import Category, DeadlinePolicy, Priority, TimeUnit
from wangge.grids.actions import create_cell
from wangge.grids.models import GridCell, GridLevel

DATA = Path(__file__).parent / "lib" / "data"
COUNTY_CODE, COUNTY_NAME = "411422", "睢县"
# Generated, not surveyed: a rectangle around 睢县's real position, split into townships.
COUNTY_BOX = (114.95, 34.30, 115.25, 34.60)
DEMO_PASSWORD = "wangge-demo"  # noqa: S105 - demo logins are printed by `wangge demo`

DEPARTMENTS = [
    ("urban", "县城市管理局"),
    ("housing", "县住房和城乡建设局"),
    ("water_res", "县水利局"),
    ("transport", "县交通运输局"),
    ("ecology", "县生态环境分局"),
    ("market", "县市场监督管理局"),
    ("health", "县卫生健康委员会"),
    ("education", "县教育体育局"),
    ("hrss", "县人力资源和社会保障局"),
    ("civil", "县民政局"),
    ("police", "县公安局"),
    ("land", "县自然资源局"),
    ("agri", "县农业农村局"),
    ("culture", "县文化广电和旅游局"),
    ("emergency", "县应急管理局"),
    ("power", "县供电公司"),
    ("water", "县自来水公司"),
    ("gas", "县燃气公司"),
    ("petition", "县信访局"),
    ("justice", "县司法局"),
    ("medical", "县医疗保障局"),
    ("veterans", "县退役军人事务局"),
    ("commerce", "县商务局"),
    ("ndrc", "县发展和改革委员会"),
    ("finance", "县财政局"),
    ("tax", "县税务局"),
    ("fire", "县消防救援大队"),
    ("forestry", "县林业局"),
    ("disabled", "县残疾人联合会"),
    ("women", "县妇女联合会"),
    ("union", "县总工会"),
    ("housing_fund", "县住房公积金管理中心"),
]

# (code, name, parent code, owner department key or None, grid-level)
CATEGORIES = [
    ("01", "城乡建设", None, "housing", False),
    ("0101", "物业管理", "01", "housing", False),
    ("0102", "违章建筑", "01", "urban", False),
    ("02", "市容环境", None, "urban", False),
    ("0201", "路灯损坏", "02", "urban", False),
    ("0202", "垃圾清运", "02", "urban", False),
    ("0203", "占道经营", "02", "urban", False),
    ("03", "基层治理", None, None, True),
    ("0301", "邻里纠纷", "03", None, True),
    ("0302", "楼道杂物", "03", None, True),
    ("04", "水电气暖", None, "water", False),
    ("0401", "停水", "04", "water", False),
    ("0402", "停电", "04", "power", False),
    ("0403", "燃气", "04", "gas", False),
    ("05", "环境保护", None, "ecology", False),
    ("0501", "噪音扰民", "05", "ecology", False),
    ("0502", "油烟污染", "05", "ecology", False),
    ("06", "交通运输", None, "transport", False),
    ("0601", "道路破损", "06", "transport", False),
    ("07", "劳动和社会保障", None, "hrss", False),
    ("0701", "拖欠工资", "07", "hrss", False),
    ("08", "教育文体", None, "education", False),
    ("09", "卫生计生", None, "health", False),
    ("10", "商贸旅游", None, "market", False),
    ("1001", "食品安全", "10", "market", False),
    # 关爱服务: alarms and missed check-ins go to the grid worker on duty, in minutes.
    ("11", "关爱服务", None, None, True),
    ("1101", "老人紧急呼叫", "11", None, True),
    ("1102", "烟感报警", "11", None, True),
    ("1103", "未按时报平安", "11", None, True),
]
# Only devices and the care sweep raise these; reporters do not pick them.
RAISED_BY_SYSTEM = {"1101", "1102", "1103"}
# Care is never shown on public pages (their cases name the people cared for).
NOT_PUBLIC = {"11", *RAISED_BY_SYSTEM}


@dataclass
class World:
    county: GridCell
    townships: list[GridCell] = field(default_factory=list)
    grids: list[GridCell] = field(default_factory=list)
    units: dict[str, Unit] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    def __getattr__(self, name):
        users = self.__dict__.get("users", {})
        if name in users:
            return users[name]
        raise AttributeError(name)

    def unit(self, key: str) -> Unit:
        return self.units[key]

    def category(self, code: str) -> Category:
        return self.categories[code]

    def cell(self, code: str) -> GridCell:
        return GridCell.objects.get(code=code)

    @staticmethod
    def days_ahead(days: int, *, now: datetime | None = None) -> datetime:
        return (now or timezone.now()) + timedelta(days=days)


def _box(x0, y0, x1, y1) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
    }


def _split(box, n: int, *, vertical: bool) -> list[tuple]:
    """Split a box into n equal strips (columns when vertical)."""
    x0, y0, x1, y1 = box
    out = []
    for i in range(n):
        if vertical:
            w = (x1 - x0) / n
            out.append((round(x0 + i * w, 6), y0, round(x0 + (i + 1) * w, 6), y1))
        else:
            h = (y1 - y0) / n
            out.append((x0, round(y0 + i * h, 6), x1, round(y0 + (i + 1) * h, 6)))
    return out


def township_rows() -> list[dict]:
    with (DATA / "suixian.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def centre_of(cell: GridCell) -> tuple[float, float]:
    ring = cell.geometry["coordinates"][0]
    xs = [p[0] for p in ring[:-1]]
    ys = [p[1] for p in ring[:-1]]
    return (sum(xs) / len(xs), sum(ys) / len(ys))


def _cell(code, name, level, parent, box) -> GridCell:
    existing = GridCell.objects.filter(code=code).first()
    if existing:
        return existing
    return create_cell(
        code=code, name=name, level=level, parent=parent, geometry=_box(*box) if box else None
    )


def _user(username: str, display: str) -> User:
    user, created = User.objects.get_or_create(
        username=username, defaults={"display_name": display}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def build_world(*, townships: int = 2, communities: int = 2, grids_per_community: int = 2) -> World:
    """Build (or find) the jurisdiction: `townships` real townships of 睢县, each with
    generated communities, grids and one micro-grid with two buildings per grid."""
    county = _cell(COUNTY_CODE, COUNTY_NAME, GridLevel.COUNTY, None, COUNTY_BOX)
    world = World(county=county)
    rows = township_rows()[:townships]
    for row, tbox in zip(rows, _split(COUNTY_BOX, len(rows), vertical=True), strict=True):
        town = _cell(row["code"], row["name"], GridLevel.TOWNSHIP, county, tbox)
        world.townships.append(town)
        kind = "社区" if row["name"].endswith("街道") else "村"
        for c, cbox in enumerate(_split(tbox, communities, vertical=False), start=1):
            ccode = f"{row['code']}{c:03d}"
            comm = _cell(
                ccode,
                f"{row['name'][:2]}{'东西南北中'[c % 5]}{kind}"
                if c <= 5
                else f"{row['name'][:2]}第{c}{kind}",
                GridLevel.COMMUNITY,
                town,
                cbox,
            )
            for g, gbox in enumerate(_split(cbox, grids_per_community, vertical=True), start=1):
                grid = _cell(f"{ccode}{g:02d}", f"{comm.name}第{g}网格", GridLevel.GRID, comm, gbox)
                world.grids.append(grid)
                micro = _cell(
                    f"{grid.code}01", f"{grid.name}1号微网格", GridLevel.MICRO_GRID, grid, gbox
                )
                for b in (1, 2):
                    _cell(f"{micro.code}{b:02d}", f"{b}号楼", GridLevel.BUILDING, micro, None)

    centre, _ = Unit.objects.get_or_create(
        code="centre",
        defaults={"name": "县综治中心(指挥中心)", "kind": UnitKind.COMMAND_CENTRE, "cell": county},
    )
    world.units["centre"] = centre
    for key, name in DEPARTMENTS:
        world.units[key], _ = Unit.objects.get_or_create(
            code=key, defaults={"name": name, "kind": UnitKind.DEPARTMENT, "cell": county}
        )
    for town in world.townships:
        world.units[town.code], _ = Unit.objects.get_or_create(
            code=town.code,
            defaults={
                "name": f"{town.name}办事处"
                if town.name.endswith("街道")
                else f"{town.name}人民政府",
                "kind": UnitKind.TOWNSHIP_OFFICE,
                "cell": town,
            },
        )

    for code, name, parent, owner, grid_level in CATEGORIES:
        world.categories[code], _ = Category.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "parent": world.categories.get(parent),
                "owner": world.units.get(owner) if owner else None,
                "grid_level": grid_level,
                "raised_by_system": code in RAISED_BY_SYSTEM,
                "is_public": code not in NOT_PUBLIC,
            },
        )
    policies = [
        (None, Priority.NORMAL, 4, TimeUnit.WORK_HOURS, 5, TimeUnit.WORK_DAYS),
        (None, Priority.URGENT, 2, TimeUnit.WORK_HOURS, 2, TimeUnit.WORK_DAYS),
        (None, Priority.EMERGENCY, 1, TimeUnit.WORK_HOURS, 8, TimeUnit.WORK_HOURS),
        ("03", Priority.NORMAL, 2, TimeUnit.WORK_HOURS, 3, TimeUnit.WORK_DAYS),
        ("04", Priority.NORMAL, 2, TimeUnit.WORK_HOURS, 2, TimeUnit.WORK_DAYS),
        # 分钟级响应: round the clock, holidays included.
        ("11", Priority.EMERGENCY, 5, TimeUnit.MINUTES, 30, TimeUnit.MINUTES),
        ("11", Priority.URGENT, 15, TimeUnit.MINUTES, 120, TimeUnit.MINUTES),
    ]
    for cat, prio, al, au, rl, ru in policies:
        DeadlinePolicy.objects.get_or_create(
            category=world.categories.get(cat) if cat else None,
            priority=prio,
            defaults={
                "accept_limit": al,
                "accept_unit": au,
                "resolve_limit": rl,
                "resolve_unit": ru,
            },
        )

    _staff(world)
    return world


def _staff(world: World) -> None:
    admin = _user("admin", "系统管理员")
    if not admin.is_superuser:
        admin.is_superuser = admin.is_staff = True
        admin.save(update_fields=["is_superuser", "is_staff"])
    u = world.users
    town_a = world.townships[0]
    town_b = world.townships[1] if len(world.townships) > 1 else town_a
    grid_a1 = next(g for g in world.grids if g.path.startswith(town_a.path))
    grid_b1 = next(g for g in world.grids if g.path.startswith(town_b.path))
    plan = [
        ("admin", "系统管理员", Role.ADMIN, world.county, None, False),
        (
            "dispatcher",
            "指挥中心派单员王芳",
            Role.DISPATCHER,
            world.county,
            world.units["centre"],
            False,
        ),
        (
            "dispatcher_2",
            "指挥中心派单员李强",
            Role.DISPATCHER,
            world.county,
            world.units["centre"],
            False,
        ),
        (
            "township_dispatcher_a",
            f"{town_a.name}派单员",
            Role.DISPATCHER,
            town_a,
            world.units[town_a.code],
            False,
        ),
        ("urban_handler", "城管局承办人赵磊", Role.UNIT_HANDLER, None, world.units["urban"], False),
        (
            "water_handler",
            "自来水公司承办人孙丽",
            Role.UNIT_HANDLER,
            None,
            world.units["water"],
            False,
        ),
        (
            "township_handler_a",
            f"{town_a.name}承办人",
            Role.UNIT_HANDLER,
            None,
            world.units[town_a.code],
            False,
        ),
        ("grid_worker_a1", f"{grid_a1.name}网格员张敏", Role.GRID_WORKER, grid_a1, None, False),
        ("grid_deputy_a1", f"{grid_a1.name}副网格员陈刚", Role.GRID_WORKER, grid_a1, None, True),
        ("grid_worker_b1", f"{grid_b1.name}网格员刘洋", Role.GRID_WORKER, grid_b1, None, False),
        (
            "secretary_a",
            f"{grid_a1.parent.name}书记",
            Role.COMMUNITY_SECRETARY,
            grid_a1.parent,
            None,
            False,
        ),
        ("supervisor", "指挥中心督办员周平", Role.SUPERVISOR, world.county, None, False),
        ("discipline", "纪委督办员吴静", Role.DISCIPLINE_SUPERVISOR, world.county, None, False),
        ("leader", "县领导郑华", Role.LEADER, world.county, None, False),
        ("deputy", "县人大代表孙丽", Role.DEPUTY, world.townships[0], None, False),
    ]
    for username, display, role, cell, unit, deputy in plan:
        user = admin if username == "admin" else _user(username, display)
        u[username] = user
        if not user.assignments.filter(role=role, cell=cell, unit=unit).exists():
            grant_role(user, role, actor=None, cell=cell, unit=unit, is_deputy=deputy)
    u["resident"] = _user("resident", "居民")
    world.grid_a1, world.grid_b1 = grid_a1, grid_b1  # type: ignore[attr-defined]
