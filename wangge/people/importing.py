"""Reading a registry spreadsheet (CSV or Excel) into checked rows, without touching the database
beyond lookups. `actions.import_registry` writes what this accepts.

Columns (Chinese or English headers, any order): 网格编码/grid, 地址/address, 门牌号/door,
姓名/name, 性别/gender, 出生日期/birth_date, 身份证号/id_number, 联系电话/phone, 标签/tags (several
separated by 、 , ; or spaces), 备注/note. Every problem is reported with its row number (as the
spreadsheet shows it: the header is row 1) and the column's name.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from django.utils.translation import gettext as _

COLUMNS = {
    "grid": ("网格编码", "grid"),
    "address": ("地址", "address"),
    "door": ("门牌号", "door"),
    "name": ("姓名", "name"),
    "gender": ("性别", "gender"),
    "birth_date": ("出生日期", "birth_date"),
    "id_number": ("身份证号", "id_number"),
    "phone": ("联系电话", "phone"),
    "tags": ("标签", "tags"),
    "note": ("备注", "note"),
}
REQUIRED = ("grid", "address", "door", "name")
GENDERS = {"男": "m", "m": "m", "male": "m", "女": "f", "f": "f", "female": "f", "": ""}
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass
class Row:
    number: int  # as the spreadsheet shows it
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)


def id_number_problem(number: str) -> str | None:
    """GB 11643: 17 digits, then a check character; the birth date in it must exist."""
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return _("An ID number has 18 characters: 17 digits and a digit or X.")
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != number[17]:
        return _("The ID number's check character does not match: a digit is wrong.")
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return _("The ID number holds no valid date of birth.")
    return None


def phone_problem(phone: str) -> str | None:
    digits = phone.replace("-", "").replace(" ", "")
    if not digits.isdigit() or not 7 <= len(digits) <= 12:
        return _("Not a phone number.")
    if len(digits) == 11 and digits[0] == "1" and digits[1] not in "3456789":
        return _("Not a mobile number.")
    return None


def parse_date(value: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"):
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            continue
    return None


def split_tags(value: str) -> list[str]:
    return [t for t in re.split(r"[、,，;；\s]+", value) if t]


def read_table(path: str | Path, data: bytes | None = None) -> list[list[str]]:
    """The sheet's cells as text, header first. CSV in UTF-8 (with or without BOM) or GB18030
    (what Excel in Chinese saves), or the first sheet of an .xlsx."""
    path = Path(path)
    raw = data if data is not None else path.read_bytes()
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(raw), read_only=True, data_only=True).worksheets[0]
        return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValueError(_("The file is neither UTF-8 nor GB18030 text."))
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def header_map(header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Column key → position, and the problems with the header (missing required columns)."""
    names = {alias.lower(): key for key, aliases in COLUMNS.items() for alias in aliases}
    positions = {}
    for i, title in enumerate(header):
        key = names.get(title.strip().lower())
        if key and key not in positions:
            positions[key] = i
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in positions]
    problems = [_("Missing column: %(name)s") % {"name": m} for m in missing]
    return positions, problems


def rows_of(table: list[list[str]], positions: dict[str, int]) -> list[Row]:
    rows = []
    for n, cells in enumerate(table[1:], start=2):
        if not any(c.strip() for c in cells):
            continue  # blank lines at the end of a sheet
        values = {k: (cells[i].strip() if i < len(cells) else "") for k, i in positions.items()}
        rows.append(Row(n, values))
    return rows


def check_row(row: Row, *, tags: dict[str, object]) -> None:
    """Field checks that need no database, plus tag names against the configured tags."""
    v = row.values
    for key in REQUIRED:
        if not v.get(key):
            row.errors.append(_("%(column)s is empty.") % {"column": COLUMNS[key][0]})
    if v.get("gender", "").lower() not in GENDERS:
        row.errors.append(_("%(column)s must be 男 or 女.") % {"column": COLUMNS["gender"][0]})
    if v.get("birth_date") and parse_date(v["birth_date"]) is None:
        row.errors.append(
            _("%(column)s is not a date (use 1950-03-07).") % {"column": COLUMNS["birth_date"][0]}
        )
    if v.get("id_number"):
        v["id_number"] = v["id_number"].upper()
        problem = id_number_problem(v["id_number"])
        if problem:
            row.errors.append(f"{COLUMNS['id_number'][0]}: {problem}")
    if v.get("phone"):
        problem = phone_problem(v["phone"])
        if problem:
            row.errors.append(f"{COLUMNS['phone'][0]}: {problem}")
    for name in split_tags(v.get("tags", "")):
        if name not in tags:
            row.errors.append(_("Unknown tag: %(tag)s") % {"tag": name})
    for key, limit in (("address", 200), ("door", 50), ("name", 50)):
        if len(v.get(key, "")) > limit:
            row.errors.append(
                _("%(column)s is longer than %(n)s characters.")
                % {"column": COLUMNS[key][0], "n": limit}
            )
