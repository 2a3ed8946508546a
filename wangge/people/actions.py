"""Changes to party organisations and their members (党建引领网格) and to the registry of
households and residents; each recorded in the audit log (never with a clear ID or phone number).

The organisation tree mirrors the grid: 社区党委 on a community, 小区党支部 on a grid, 楼栋党小组
and 党员中心户 on buildings. Each level hangs under the one above it, inside its grid node.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.audit.actions import record_audit, record_personal_data_access
from wangge.grids.models import GridCell
from wangge.lib.crypto import blind_index
from wangge.lib.errors import InvalidInput
from wangge.lib.masking import age_on, mask_id_number, mask_phone
from wangge.people import importing
from wangge.people.models import (
    Household,
    PartyMember,
    PartyOrg,
    PartyOrgLevel,
    Resident,
    Tag,
)

# Each level and the level its parent must have (None: the top of the tree).
PARENT_LEVEL = {
    PartyOrgLevel.COMMUNITY_COMMITTEE: None,
    PartyOrgLevel.BRANCH: PartyOrgLevel.COMMUNITY_COMMITTEE,
    PartyOrgLevel.GROUP: PartyOrgLevel.BRANCH,
    PartyOrgLevel.CENTRAL_HOUSEHOLD: PartyOrgLevel.GROUP,
}


def _clean_phone(phone: str) -> str:
    phone = (phone or "").strip()
    if phone and not (phone.replace("-", "").isdigit() and 5 <= len(phone) <= 20):
        raise InvalidInput(fields={"phone": str(_("Not a phone number."))})
    return phone


@transaction.atomic
def create_party_org(
    *,
    name: str,
    level: str,
    cell: GridCell,
    parent: PartyOrg | None = None,
    secretary=None,
    actor,
) -> PartyOrg:
    """建立党组织: a committee, branch, group or central household on a node of the grid,
    under the organisation one level up whose grid node contains it."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput(fields={"name": str(_("A name is required."))})
    if level not in PARENT_LEVEL:
        raise InvalidInput(fields={"level": str(_("Unknown party organisation level."))})
    wanted = PARENT_LEVEL[PartyOrgLevel(level)]
    if wanted is None and parent is not None:
        raise InvalidInput(
            fields={"parent": str(_("A community party committee has no parent organisation."))}
        )
    if wanted is not None and (parent is None or parent.level != wanted):
        raise InvalidInput(
            fields={
                "parent": str(_("Choose the organisation one level up: %(level)s."))
                % {"level": PartyOrgLevel(wanted).label}
            }
        )
    if parent is not None and not cell.is_within(parent.cell):
        raise InvalidInput(
            fields={"cell": str(_("The grid node must lie within the parent organisation's."))}
        )
    org = PartyOrg.objects.create(
        name=name[:100], level=level, cell=cell, parent=parent, secretary=secretary
    )
    record_audit(
        actor=actor,
        action="create_party_org",
        obj=org,
        detail={
            "name": org.name,
            "level": level,
            "cell": cell.code,
            "parent": parent.pk if parent else None,
            "secretary": secretary.username if secretary else None,
        },
    )
    return org


@transaction.atomic
def add_party_member(
    *,
    org: PartyOrg,
    name: str,
    actor,
    phone: str = "",
    cell: GridCell | None = None,
    is_central_household: bool = False,
) -> PartyMember:
    """党员报到: a party member joins an organisation, living at a node within its grid node.
    The phone is stored encrypted; the audit row keeps it masked."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput(fields={"name": str(_("A name is required."))})
    phone = _clean_phone(phone)
    cell = cell or org.cell
    if not cell.is_within(org.cell):
        raise InvalidInput(
            fields={"cell": str(_("The member's grid node must lie within the organisation's."))}
        )
    member = PartyMember.objects.create(
        name=name[:50],
        phone=phone,
        org=org,
        cell=cell,
        is_central_household=is_central_household,
    )
    record_audit(
        actor=actor,
        action="add_party_member",
        obj=member,
        detail={
            "name": member.name,
            "org": org.pk,
            "cell": cell.code,
            "phone": mask_phone(phone),
            "central_household": is_central_household,
        },
    )
    return member


# --- the registry --------------------------------------------------------------------------------


def _check_resident_fields(*, name: str, id_number: str, phone: str) -> dict:
    fields = {}
    if not (name or "").strip():
        fields["name"] = str(_("A name is required."))
    if id_number and (problem := importing.id_number_problem(id_number)):
        fields["id_number"] = str(problem)
    if phone and (problem := importing.phone_problem(phone)):
        fields["phone"] = str(problem)
    return fields


def _same_person(id_number: str, *, exclude: int | None = None) -> Resident | None:
    if not id_number:
        return None
    found = Resident.objects.filter(
        id_number_index=blind_index(id_number), moved_out_at__isnull=True
    )
    if exclude is not None:
        found = found.exclude(pk=exclude)
    return found.select_related("household").first()


@transaction.atomic
def register_resident(
    *,
    household: Household,
    name: str,
    actor,
    gender: str = "",
    birth_date=None,
    id_number: str = "",
    phone: str = "",
    tags: list[Tag] | None = None,
    note: str = "",
) -> Resident:
    """登记: a person in a household. ID and phone numbers are checked, stored encrypted and
    never written to the audit log; one living person is registered once (by ID number)."""
    id_number, phone = (id_number or "").strip().upper(), (phone or "").strip()
    fields = _check_resident_fields(name=name, id_number=id_number, phone=phone)
    if not fields and (other := _same_person(id_number)):
        fields["id_number"] = str(
            _("This person is already registered at %(home)s.") % {"home": other.household}
        )
    if fields:
        raise InvalidInput(fields=fields)
    resident = Resident.objects.create(
        household=household,
        name=name.strip()[:50],
        gender=gender,
        birth_date=birth_date,
        id_number=id_number,
        phone=phone,
        note=note,
    )
    if tags:
        resident.tags.set(tags)
    record_audit(
        actor=actor,
        action="register_resident",
        obj=resident,
        detail={"household": household.pk, "tags": [t.code for t in tags or []]},
    )
    return resident


@transaction.atomic
def reveal_resident_field(resident: Resident, *, field: str, purpose: str, actor) -> str:
    """查看明文: a resident's clear ID or phone number for a stated purpose; the read is logged
    (the resident can later see who read it and why)."""
    if field not in ("id_number", "phone"):
        raise InvalidInput(fields={"field": str(_("Only the ID or phone number can be revealed."))})
    purpose = (purpose or "").strip()
    if len(purpose) < 2:
        raise InvalidInput(fields={"purpose": str(_("Say why you need to see it."))})
    record_personal_data_access(actor=actor, obj=resident, field=field, purpose=purpose[:500])
    return getattr(resident, field)


@dataclass
class ImportReport:
    """What an import found and did. `problems`: (row number, message); row 0 is the file."""

    rows: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)
    households_created: int = 0
    residents_created: int = 0
    residents_updated: int = 0
    skipped: int = 0
    written: bool = False

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "problems": [{"row": n, "message": m} for n, m in self.problems],
            "households_created": self.households_created,
            "residents_created": self.residents_created,
            "residents_updated": self.residents_updated,
            "skipped": self.skipped,
            "written": self.written,
        }


def import_registry(
    table: list[list[str]], *, root: GridCell, actor, only_clean: bool = False, dry_run=False
) -> ImportReport:
    """导入: households and residents from a spreadsheet (see `importing.py`), all within `root`.
    Every bad row is reported by number; nothing is written while any row is bad, unless
    `only_clean` asks to write the good rows and skip the bad. A household is matched by
    (grid, door number); a resident by ID number (updated in place), else by name within the
    household; so importing the same file twice changes nothing."""
    report = ImportReport()
    if not table:
        report.problems.append((0, str(_("The file is empty."))))
        return report
    positions, header_problems = importing.header_map(table[0])
    if header_problems:
        report.problems.extend((1, str(p)) for p in header_problems)
        return report
    rows = importing.rows_of(table, positions)
    report.rows = len(rows)
    tags = {t.name: t for t in Tag.objects.all()}
    cells = {c.code: c for c in GridCell.objects.filter(path__startswith=root.path)}
    seen_ids: dict[str, int] = {}
    for row in rows:
        importing.check_row(row, tags=tags)
        code = row.values.get("grid", "")
        if code and code not in cells:
            row.errors.append(str(_("Grid %(code)s is not within %(root)s.")) % {
                "code": code, "root": root.name})  # fmt: skip
        number = row.values.get("id_number", "")
        if number and not row.errors:
            if number in seen_ids:
                row.errors.append(
                    str(_("Same ID number as row %(row)s.")) % {"row": seen_ids[number]}
                )
            seen_ids.setdefault(number, row.number)
        report.problems.extend((row.number, str(e)) for e in row.errors)
    bad = [r for r in rows if r.errors]
    if (bad and not only_clean) or dry_run:
        report.skipped = len(bad)
        return report
    with transaction.atomic():
        for row in rows:
            if row.errors:
                report.skipped += 1
                continue
            _import_row(row, cells=cells, tags=tags, report=report)
        record_audit(
            actor=actor,
            action="import_registry",
            obj=root,
            detail={k: v for k, v in report.as_dict().items() if k != "problems"},
        )
    report.written = True
    return report


def _import_row(row, *, cells, tags, report: ImportReport) -> None:
    v = row.values
    household, created = Household.objects.get_or_create(
        cell=cells[v["grid"]], door=v["door"], defaults={"address": v["address"]}
    )
    report.households_created += created
    wanted = {
        "name": v["name"],
        "gender": importing.GENDERS[v.get("gender", "").lower()],
        "birth_date": importing.parse_date(v["birth_date"]) if v.get("birth_date") else None,
        "id_number": v.get("id_number", ""),
        "phone": v.get("phone", ""),
        "note": v.get("note", ""),
    }
    resident = _same_person(wanted["id_number"]) if wanted["id_number"] else None
    if resident is None:
        resident = household.residents.filter(name=v["name"], moved_out_at__isnull=True).first()
    row_tags = [tags[n] for n in importing.split_tags(v.get("tags", ""))]
    if resident is None:
        resident = Resident.objects.create(household=household, **wanted)
        report.residents_created += 1
    else:
        changed = resident.household_id != household.pk or any(
            getattr(resident, k) != val for k, val in wanted.items()
        )
        if changed:
            resident.household = household
            for k, val in wanted.items():
                setattr(resident, k, val)
            resident.save()
            report.residents_updated += 1
    if {t.pk for t in resident.tags.all()} != {t.pk for t in row_tags}:
        resident.tags.set(row_tags)


EXPORT_COLUMNS = ("grid", "address", "door", "name", "gender", "birth_date", "id_number", "phone")
# A masked export shows the age where the birth date would be: beside the masked ID number the
# birth date narrows it down (see lib/masking.py).
AGE_COLUMN = "年龄"


def export_registry(residents, *, actor, clear: bool = False, purpose: str = "") -> list[list]:
    """导出: the residents as rows (header first), ID and phone numbers masked and the age instead
    of the birth date unless `clear`, which needs a purpose and logs a read of each clear number,
    as a reveal does. Every export is in the audit log with its size."""
    purpose = (purpose or "").strip()
    if clear and len(purpose) < 2:
        raise InvalidInput(fields={"purpose": str(_("Say why you need the clear numbers."))})
    residents = list(residents.prefetch_related("tags"))
    header = [
        importing.COLUMNS[k][0] if clear or k != "birth_date" else AGE_COLUMN
        for k in EXPORT_COLUMNS
    ] + [importing.COLUMNS["tags"][0]]
    rows = [header]
    today = timezone.localdate()
    with transaction.atomic():
        for r in residents:
            id_number, phone = r.id_number, r.phone
            born = r.birth_date.isoformat() if r.birth_date else ""
            if clear:
                for field_name in ("id_number", "phone"):
                    if getattr(r, field_name):
                        record_personal_data_access(
                            actor=actor, obj=r, field=field_name, purpose=f"导出: {purpose}"
                        )
            else:
                id_number, phone = mask_id_number(id_number), mask_phone(phone)
                age = age_on(r.birth_date, today)
                born = "" if age is None else str(age)
            rows.append(
                [
                    r.household.cell.code,
                    r.household.address,
                    r.household.door,
                    r.name,
                    {"m": "男", "f": "女"}.get(r.gender, ""),
                    born,
                    id_number,
                    phone,
                    "、".join(t.name for t in r.tags.all()),
                ]
            )
        record_audit(
            actor=actor,
            action="export_registry",
            obj=actor,
            detail={"residents": len(residents), "clear": clear},
            reason=purpose,
        )
    return rows
