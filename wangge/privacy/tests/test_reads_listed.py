"""我的数据 lists every read of a person's personal data by staff, whatever the path: the phone
on a case they reported, revealed on the case page or through the API; their registry record's
ID or phone number, revealed on the registry page or through the API, or exported in clear from
the page or the command line. Each read shows who, when and why; reads of other people do not
show."""

import io
import re

from django.core.management import call_command
from django.test import Client

from wangge.accounts.models import ApiToken
from wangge.cases.models import Notification
from wangge.cases.outbox import clear_payload
from wangge.people.models import Household, Resident

PHONE = "13812345678"


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user) -> Client:
    _, raw = ApiToken.issue(user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def my_data(phone: str) -> str:
    """The page a person sees after proving the phone with the code sent to it."""
    person = Client()
    assert person.post("/my-data/", {"phone": phone}).status_code == 302
    note = Notification.objects.filter(kind="phone_check").latest("id")
    assert (
        person.post("/my-data/", {"code": clear_payload(note.payload)["code"]}).status_code == 302
    )
    return person.get("/my-data/").content.decode()


def rows_of(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).strip() for r in body.split("</tr>")[:-1]
    ]


def test_every_read_of_a_persons_data_shows_on_their_page_with_who_and_why(world, report, tmp_path):
    # The person reported two cases, the number written two ways.
    on_web = report("楼道灯不亮", reporter_name="张桂英", reporter_phone="138-1234-5678")
    by_phone = report("噪音扰民", reporter_name="张桂英", reporter_phone="+8613812345678")
    other_case = report("井盖缺失", reporter_name="李四", reporter_phone="13900001111")
    home = Household.objects.create(cell=world.grid_a1, address="幸福路8号", door="101")
    me = Resident.objects.create(
        household=home, name="张桂英", phone=PHONE, id_number="41142219450307004X"
    )
    other = Resident.objects.create(household=home, name="李四", phone="13900001111")

    dispatcher, worker = browser(world.dispatcher), browser(world.grid_worker_a1)
    assert (
        dispatcher.post(f"/cases/{on_web.pk}/reveal/", {"purpose": "回访核实"}).status_code == 200
    )
    assert (
        dispatcher.post(f"/cases/{other_case.pk}/reveal/", {"purpose": "别人的"}).status_code == 200
    )
    revealed = api(world.dispatcher).post(
        f"/api/v1/cases/{by_phone.pk}/reveal-phone",
        {"purpose": "联系补充材料"},
        content_type="application/json",
    )
    assert revealed.json() == {"phone": "+8613812345678"}
    page = worker.post(
        f"/registry/residents/{me.pk}/reveal/", {"field": "id_number", "purpose": "办理高龄津贴"}
    )
    assert page.status_code == 200
    assert (
        worker.post(
            f"/registry/residents/{other.pk}/reveal/", {"field": "phone", "purpose": "别人的"}
        ).status_code
        == 200
    )
    assert api(world.grid_worker_a1).post(
        f"/api/v1/residents/{me.pk}/reveal",
        {"field": "phone", "purpose": "核对联系方式"},
        content_type="application/json",
    ).json() == {"field": "phone", "value": PHONE}
    export = worker.get(
        "/registry/export/", {"grid": world.grid_a1.code, "clear": "1", "purpose": "民政核对"}
    )
    assert PHONE in export.content.decode("utf-8")
    call_command(
        "registry", "export", "--grid", world.grid_a1.code, "--out", tmp_path / "out.csv",
        "--clear", "--purpose", "年度复核", "--user", world.secretary_a.username,
    )  # fmt: skip

    rows = rows_of(my_data(PHONE))
    dispatcher_name, worker_name = world.dispatcher.display_name, world.grid_worker_a1.display_name
    secretary_name = world.secretary_a.display_name
    expected = {
        (dispatcher_name, "您所提诉求上的电话号码", "回访核实"),
        (dispatcher_name, "您所提诉求上的电话号码", "联系补充材料"),
        (worker_name, "身份证号", "办理高龄津贴"),
        (worker_name, "电话号码", "核对联系方式"),
        (worker_name, "身份证号", "导出: 民政核对"),
        (worker_name, "电话号码", "导出: 民政核对"),
        (secretary_name, "身份证号", "导出: 年度复核"),
        (secretary_name, "电话号码", "导出: 年度复核"),
    }
    seen = set()
    for row in rows:
        when, rest = row[:16], row[17:]
        assert when[:4].isdigit() and when[10] == " ", row  # 2026-12-06 10:42
        seen |= {e for e in expected if rest == " ".join(e)}
        assert "别人的" not in row
    assert seen == expected and len(rows) == len(expected)


def test_the_reads_of_a_reporters_phone_are_still_found_after_a_key_rotation(
    world, report, settings
):
    settings.PII_KEY, settings.PII_OLD_KEYS = "old-pii-passphrase-2025", ()
    case = report("楼道灯不亮", reporter_phone="138-1234-5678")
    browser(world.dispatcher).post(f"/cases/{case.pk}/reveal/", {"purpose": "回访核实"})
    settings.PII_KEY, settings.PII_OLD_KEYS = (
        "new-pii-passphrase-2026",
        ("old-pii-passphrase-2025",),
    )
    call_command("pii", "rotate", stdout=io.StringIO())
    settings.PII_OLD_KEYS = ()

    assert [r[17:] for r in rows_of(my_data(PHONE))] == [
        f"{world.dispatcher.display_name} 您所提诉求上的电话号码 回访核实"
    ]
