"""The household registry: imports that name every bad row and write nothing until the file is
clean, numbers encrypted at rest and masked by default, reveals and exports logged, scope."""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from wangge.accounts.models import ApiToken
from wangge.audit.models import AuditEntry, PersonalDataAccess
from wangge.people.actions import export_registry, import_registry, register_resident
from wangge.people.importing import id_number_problem, read_table
from wangge.people.models import Household, Resident, Tag
from wangge.people.queries import visible_residents

# Valid by the GB 11643 check character (made-up people).
ID_ZHANG = "41142219450307004X"
ID_LI = "411422196011200011"
HEADER = ["网格编码", "地址", "门牌号", "姓名", "性别", "出生日期", "身份证号", "联系电话", "标签"]


def sheet(*rows) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode("utf-8-sig")


def table(*rows):
    return read_table("registry.csv", sheet(*rows))


def row(world, name="张桂英", number=ID_ZHANG, phone="13812345678", tags="独居老人、高龄", **kw):
    cell = kw.get("cell", world.grid_a1)
    door = kw.get("door", "3栋2单元101")
    return [cell.code, "凤城西社区幸福路8号", door, name, "女", "1945-03-07", number, phone, tags]


def test_the_check_character_of_an_id_number_is_verified():
    assert id_number_problem(ID_ZHANG) is None
    assert id_number_problem(ID_LI) is None
    assert "校验位" in id_number_problem("411422194503070041")  # one digit off
    assert "出生日期" in id_number_problem("411422194502300018")  # 30 February


def test_a_file_with_bad_rows_is_reported_row_by_row_and_nothing_is_written(world):
    rows = table(
        row(world),
        row(world, name="", number="411422194503070041", door="1"),
        row(world, name="李四", number=ID_LI, phone="12345", tags="独居老人、外星人", door="2"),
        ["999999", "某地", "3", "王五", "男", "", "", "", ""],
    )
    report = import_registry(rows, root=world.townships[0], actor=None)
    by_row = {}
    for n, message in report.problems:
        by_row.setdefault(n, []).append(message)
    assert sorted(by_row) == [3, 4, 5]
    assert any("姓名" in m for m in by_row[3]) and any("身份证号" in m for m in by_row[3])
    assert any("联系电话" in m for m in by_row[4]) and any("外星人" in m for m in by_row[4])
    assert any("999999" in m for m in by_row[5])
    assert (report.written, Resident.objects.count(), Household.objects.count()) == (False, 0, 0)


def test_only_clean_writes_the_good_rows_and_a_second_import_changes_nothing(world):
    rows = table(row(world), row(world, name="李四", number="bad", door="2"))
    first = import_registry(rows, root=world.townships[0], actor=None, only_clean=True)
    assert (first.written, first.residents_created, first.skipped) == (True, 1, 1)
    again = import_registry(rows, root=world.townships[0], actor=None, only_clean=True)
    assert (again.residents_created, again.residents_updated, again.households_created) == (0, 0, 0)
    zhang = Resident.objects.get()
    assert {t.name for t in zhang.tags.all()} == {"独居老人", "高龄"}
    assert AuditEntry.objects.filter(action="import_registry").count() == 2


def test_numbers_are_encrypted_at_rest_and_found_by_their_keyed_hash(world):
    import_registry(table(row(world)), root=world.townships[0], actor=None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone, id_number_index FROM people_resident")
        stored = cursor.fetchone()
    assert ID_ZHANG not in " ".join(stored) and "13812345678" not in " ".join(stored)
    assert Resident.objects.get().id_number == ID_ZHANG  # decrypted on read
    entries = json.dumps(list(AuditEntry.objects.values("detail")), ensure_ascii=False)
    assert ID_ZHANG not in entries and "13812345678" not in entries
    # The same person cannot be registered twice, found by the hash of the number.
    household = Household.objects.get()
    with pytest.raises(Exception) as refused:
        register_resident(household=household, name="张桂英", id_number=ID_ZHANG, actor=None)
    assert "id_number" in refused.value.fields


def api(user) -> Client:
    _, raw = ApiToken.issue(user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_a_grid_worker_sees_masked_residents_of_their_grid_only_and_reveals_with_a_reason(world):
    import_registry(
        table(row(world), row(world, name="李四", number=ID_LI, cell=world.grid_b1, door="9")),
        root=world.county,
        actor=None,
    )
    zhang, li = Resident.objects.get(name="张桂英"), Resident.objects.get(name="李四")
    worker = api(world.grid_worker_a1)
    listed = worker.get("/api/v1/residents").json()["items"]
    assert [(r["name"], r["phone"], r["id_number"]) for r in listed] == [
        ("张桂英", "*******5678", "4114**************")
    ]
    assert worker.get(f"/api/v1/residents/{li.pk}").status_code == 404
    assert (
        worker.post(
            f"/api/v1/residents/{li.pk}/reveal",
            json.dumps({"field": "phone", "purpose": "走访"}),
            content_type="application/json",
        ).status_code
        == 404
    )
    no_reason = worker.post(
        f"/api/v1/residents/{zhang.pk}/reveal",
        json.dumps({"field": "phone", "purpose": ""}),
        content_type="application/json",
    )
    assert (no_reason.status_code, list(no_reason.json()["fields"])) == (400, ["purpose"])
    r = worker.post(
        f"/api/v1/residents/{zhang.pk}/reveal",
        json.dumps({"field": "id_number", "purpose": "办理高龄津贴"}),
        content_type="application/json",
    )
    assert r.json() == {"field": "id_number", "value": ID_ZHANG}
    log = PersonalDataAccess.objects.get()
    assert (log.actor, log.object_id, log.field, log.purpose) == (
        world.grid_worker_a1,
        str(zhang.pk),
        "id_number",
        "办理高龄津贴",
    )
    # A leader watches numbers, not people.
    assert api(world.leader).get("/api/v1/residents").status_code == 403


def test_a_sensitive_tag_shows_only_to_those_who_may_reveal(world):
    import_registry(table(row(world, tags="重点人员、高龄")), root=world.county, actor=None)
    resident = Resident.objects.get()

    def tags_seen_by(user):
        answer = api(user).get(f"/api/v1/residents/{resident.pk}").json()
        return sorted(t["name"] for t in answer["tags"])

    assert tags_seen_by(world.grid_worker_a1) == ["重点人员", "高龄"]
    # A dispatcher may see the registry (masked) but not reveal: the sensitive tag stays hidden.
    assert tags_seen_by(world.dispatcher) == ["高龄"]
    assert Tag.objects.get(name="重点人员").sensitive


def test_an_export_is_masked_unless_clear_with_a_purpose_and_every_clear_read_is_logged(world):
    import_registry(table(row(world)), root=world.county, actor=None)
    residents = visible_residents(world.grid_worker_a1)
    masked = export_registry(residents, actor=world.grid_worker_a1)
    assert masked[1][6:8] == ["4114**************", "*******5678"]
    assert PersonalDataAccess.objects.count() == 0
    with pytest.raises(Exception) as refused:
        export_registry(residents, actor=world.grid_worker_a1, clear=True)
    assert "purpose" in refused.value.fields
    clear = export_registry(residents, actor=world.grid_worker_a1, clear=True, purpose="民政核对")
    assert clear[1][6:8] == [ID_ZHANG, "13812345678"]
    assert sorted(PersonalDataAccess.objects.values_list("field", flat=True)) == [
        "id_number",
        "phone",
    ]
    assert AuditEntry.objects.filter(action="export_registry").count() == 2


def test_the_command_refuses_a_bad_file_and_imports_an_excel_sheet(world, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(sheet(row(world, number="411422194503070041")))
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("registry", "import", str(bad), "--grid", world.county.code, stdout=out)
    assert "row 2:" in out.getvalue() and Resident.objects.count() == 0

    from openpyxl import Workbook

    book = Workbook()
    book.active.append(HEADER)
    book.active.append(row(world))
    good = tmp_path / "good.xlsx"
    book.save(good)
    out = io.StringIO()
    call_command("registry", "import", str(good), "--grid", world.county.code, stdout=out)
    assert "1 resident(s) added" in out.getvalue()
    assert Resident.objects.get().phone == "13812345678"
