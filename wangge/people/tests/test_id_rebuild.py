"""Trying the rebuild: from exactly what each masked output shows a role that may not reveal
(the API, the export file, the registry page), list every ID number consistent with it — a valid
check character, the region the address gives, a birth date that fits the age (or the date
shown), a sequence whose parity fits the gender — and require many of them. The same attempt on
what the registry used to show (the birth date beside 4114**********2473) finds the one true
number: that is what the test would see on the old code.

A Chinese ID number (GB 11643): 6 region digits, 8 of birth date, a 3-digit sequence (odd for
men) and an ISO 7064 MOD 11-2 check character."""

import csv
import io
import re
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from wangge.accounts.models import ApiToken
from wangge.audit.models import PersonalDataAccess
from wangge.lib.masking import mask_phone
from wangge.people.models import Gender, Household, Resident

# Fewer candidates than this and calling or trying each one is practical.
ENOUGH = 100
# Counting stops here: enough to show the rebuild fails, and the test stays fast.
CAP = 2000
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
BORN = date(1946, 3, 7)


def check_character(first17: str) -> str:
    return CHECK[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def true_id(region: str) -> str:
    first17 = f"{region}{BORN:%Y%m%d}247"  # sequence 247: odd, a man
    return first17 + check_character(first17)


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def dates_of_age(age: int, today: date) -> list[date]:
    start, end = date(today.year - age - 1, 1, 1), date(today.year - age, 12, 31)
    days = (start + timedelta(n) for n in range((end - start).days + 1))
    return [d for d in days if age_on(d, today) == age]


def candidates(shown: str, *, region: str, births: list[date], gender: str | None) -> int:
    """How many valid ID numbers agree with everything shown (counted up to CAP)."""
    assert len(shown) == 18, shown
    fixed = {i: c for i, c in enumerate(shown) if c != "*"}
    parities = {Gender.MALE: (1,), Gender.FEMALE: (0,)}.get(gender, (0, 1))
    sequences = [
        f"{n:03d}"
        for n in range(1000)
        if n % 2 in parities and all(f"{n:03d}"[i - 14] == fixed.get(i, f"{n:03d}"[i - 14])
                                     for i in range(14, 17))
    ]  # fmt: skip
    found = 0
    for born in births:
        head = f"{region}{born:%Y%m%d}"
        if any(head[i] != c for i, c in fixed.items() if i < 14):
            continue
        for sequence in sequences:
            if fixed.get(17, "*") in ("*", check_character(head + sequence)):
                found += 1
                if found >= CAP:
                    return found
    return found


@pytest.fixture
def man(world):
    home = Household.objects.create(cell=world.grid_a1, address="幸福路8号3栋", door="101")
    return Resident.objects.create(
        household=home,
        name="王建国",
        gender=Gender.MALE,
        birth_date=BORN,
        id_number=true_id(world.grid_a1.code[:6]),
        phone="13812345678",
    )


def api(user) -> Client:
    _, raw = ApiToken.issue(user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rebuild_from_json(answer: dict, *, today: date) -> int:
    """What the API shows: masked ID, gender, the grid (its region), and the age — or, as it
    did before, the birth date."""
    births = (
        [date.fromisoformat(answer["birth_date"])]
        if answer.get("birth_date")
        else dates_of_age(answer["age"], today)
    )
    return candidates(
        answer["id_number"], region=answer["grid"][:6], births=births, gender=answer["gender"]
    )


def rebuild_from_export(body: str, name: str, *, today: date) -> int:
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    header = rows[0]
    cell = next(
        c for c in (dict(zip(header, r, strict=True)) for r in rows[1:]) if c["姓名"] == name
    )
    births = (
        [date.fromisoformat(cell["出生日期"])]
        if "出生日期" in cell
        else dates_of_age(int(cell["年龄"]), today)
    )
    gender = {"男": Gender.MALE, "女": Gender.FEMALE}.get(cell["性别"])
    return candidates(cell["身份证号"], region=cell["网格编码"][:6], births=births, gender=gender)


def rebuild_from_page(html: str, resident: Resident, region: str, *, today: date) -> int:
    """The registry page shows no gender; before, it showed the year of birth."""
    row = re.search(rf'<tr data-resident="{resident.pk}">(.*?)</tr>', html, re.S).group(1)
    cells = [
        re.sub(r"<[^>]+>", " ", c).split() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]
    born, shown = cells[2], cells[3][0]
    if len(born) > 1:  # the age and, for those who may reveal, the birth date
        births = [date.fromisoformat(born[1])]
    elif len(born[0]) == 4:  # a year of birth, as the page showed it before
        year = int(born[0])
        births = [date(year, 1, 1) + timedelta(n) for n in range(366 if year % 4 == 0 else 365)]
    else:
        births = dates_of_age(int(born[0]), today)
    return candidates(shown, region=region, births=births, gender=None)


def test_no_masked_output_to_a_dispatcher_gives_the_id_number_back(world, man):
    today, region = timezone.localdate(), world.grid_a1.code[:6]
    # The dispatcher may see the registry (context for an urgent case) but not reveal.
    answer = api(world.dispatcher).get(f"/api/v1/residents/{man.pk}").json()
    listed = api(world.dispatcher).get("/api/v1/residents", {"q": "王建国"}).json()["items"]
    export = browser(world.dispatcher).get(f"/registry/export/?grid={world.grid_a1.code}")
    page = browser(world.dispatcher).get(f"/registry/?grid={world.grid_a1.code}")

    assert rebuild_from_json(answer, today=today) >= ENOUGH
    assert rebuild_from_json(listed[0], today=today) >= ENOUGH
    assert rebuild_from_export(export.content.decode("utf-8"), "王建国", today=today) >= ENOUGH
    assert rebuild_from_page(page.content.decode(), man, region, today=today) >= ENOUGH
    assert (answer["birth_date"], answer["age"]) == (None, age_on(BORN, today))
    # Nothing of it was a read of the clear number.
    assert PersonalDataAccess.objects.count() == 0


def test_the_birth_date_those_who_may_reveal_see_still_leaves_the_number_hidden(world, man):
    today, region = timezone.localdate(), world.grid_a1.code[:6]
    answer = api(world.grid_worker_a1).get(f"/api/v1/residents/{man.pk}").json()
    page = browser(world.grid_worker_a1).get(f"/registry/?grid={world.grid_a1.code}")
    assert answer["birth_date"] == BORN.isoformat()
    assert rebuild_from_json(answer, today=today) >= ENOUGH
    assert rebuild_from_page(page.content.decode(), man, region, today=today) >= ENOUGH
    # The clear number comes only through the logged reveal.
    revealed = api(world.grid_worker_a1).post(
        f"/api/v1/residents/{man.pk}/reveal",
        {"field": "id_number", "purpose": "办理高龄津贴"},
        content_type="application/json",
    )
    assert revealed.json()["value"] == man.id_number
    assert PersonalDataAccess.objects.get().field == "id_number"


def test_what_the_registry_showed_before_gives_the_number_back(world, man):
    """The attempt is sound: on the old output (first four and last four digits beside the birth
    date; the year of birth on the page) it finds the true number, or a handful."""
    today, region, number = timezone.localdate(), world.grid_a1.code[:6], man.id_number
    old_mask = f"{number[:4]}{'*' * 10}{number[-4:]}"
    old_answer = {"id_number": old_mask, "birth_date": BORN.isoformat(), "grid": world.grid_a1.code,
                  "gender": Gender.MALE}  # fmt: skip
    assert rebuild_from_json(old_answer, today=today) == 1
    old_export = "\n".join(
        [
            "网格编码,地址,门牌号,姓名,性别,出生日期,身份证号,联系电话,标签",
            f"{world.grid_a1.code},幸福路8号3栋,101,王建国,男,{BORN},{old_mask},138****5678,",
        ]
    )
    assert rebuild_from_export(old_export, "王建国", today=today) == 1
    old_row = (
        f'<tr data-resident="{man.pk}"><td>幸福路8号3栋 101</td><td>王建国</td><td>{BORN.year}</td>'
        f'<td class="code">{old_mask}</td><td class="code">138****5678</td><td></td></tr>'
    )
    assert rebuild_from_page(old_row, man, region, today=today) < ENOUGH


def test_the_phone_mask_shows_nothing_of_the_carrier_or_the_block_the_address_narrows(world):
    """A mobile number's first seven digits (carrier prefix and HLR block) follow from the city
    it was issued in, which the address beside it names; only the last four may show."""
    for phone in ("13812345678", "+8613812345678", "0370-8123456"):
        shown = mask_phone(phone)
        assert len(shown) == len(phone) and shown[-4:] == phone[-4:]
        assert set(shown[:-4]) == {"*"}
