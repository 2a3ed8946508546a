"""The registry pages: a grid worker sees the residents of their grid masked, reveals one number
with a reason, imports a spreadsheet (a bad one is refused row by row), exports masked."""

import csv
import io

from django.test import Client

from wangge.audit.models import PersonalDataAccess
from wangge.people.models import Household, Resident

HEADER = ["网格编码", "地址", "门牌号", "姓名", "性别", "出生日期", "身份证号", "联系电话", "标签"]


def sheet(*rows) -> io.BytesIO:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    data = io.BytesIO(out.getvalue().encode("utf-8-sig"))
    data.name = "住户.csv"
    return data


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_import_refuses_a_bad_sheet_then_accepts_it_and_the_list_masks_numbers(world):
    worker = logged_in(world.grid_worker_a1)
    code = world.grid_a1.code
    good = [code, "幸福路8号", "101", "张桂英", "女", "1945-03-07", "41142219450307004X",
            "13812345678", "独居老人"]  # fmt: skip
    bad = [code, "幸福路8号", "102", "李四", "男", "", "411422194503070041", "", ""]
    r = worker.post("/registry/import/", {"grid": code, "file": sheet(good, bad)})
    assert r.status_code == 400
    page = r.content.decode()
    assert "未导入任何数据" in page  # Chinese by default
    assert "身份证号" in page and Resident.objects.count() == 0

    r = worker.post("/registry/import/", {"grid": code, "file": sheet(good)})
    assert r.status_code == 200 and Resident.objects.count() == 1

    page = worker.get(f"/registry/?grid={code}").content.decode()
    assert "张桂英" in page and "4114**************" in page and "*******5678" in page
    assert "41142219450307004X" not in page and "13812345678" not in page


def test_a_reveal_needs_a_reason_and_is_recorded(world):
    home = Household.objects.create(cell=world.grid_a1, address="幸福路8号", door="101")
    person = Resident.objects.create(household=home, name="张桂英", phone="13812345678")
    worker = logged_in(world.grid_worker_a1)
    url = f"/registry/residents/{person.pk}/reveal/"
    assert worker.post(url, {"field": "phone", "purpose": ""}).status_code == 400
    r = worker.post(url, {"field": "phone", "purpose": "通知体检"})
    assert "13812345678" in r.content.decode()
    assert PersonalDataAccess.objects.get().purpose == "通知体检"
    # Another grid's worker finds nothing there.
    assert (
        logged_in(world.grid_worker_b1).post(url, {"field": "phone", "purpose": "x y"}).status_code
        == 404
    )


def test_the_export_is_masked_and_a_leader_may_not_open_the_registry(world):
    home = Household.objects.create(cell=world.grid_a1, address="幸福路8号", door="101")
    Resident.objects.create(household=home, name="张桂英", phone="13812345678")
    worker = logged_in(world.grid_worker_a1)
    r = worker.get(f"/registry/export/?grid={world.grid_a1.code}")
    body = r.content.decode("utf-8-sig")
    assert "*******5678" in body and "13812345678" not in body
    assert logged_in(world.leader).get("/registry/").status_code == 403
