"""Open311 state changes: take a GeoReport request in as an ordinary case (located, dispatched),
record a partner's update, and issue or revoke API keys. Each is one transaction."""

import secrets
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.accounts.actions import system_user
from wangge.cases.actions import add_event, report_case
from wangge.cases.models import Audience, Case, Category, Channel, EventKind
from wangge.dispatch.actions import auto_dispatch
from wangge.lib.errors import Conflict, InvalidInput, NotFound
from wangge.open311.models import (
    Open311Key,
    Open311Submission,
    Open311Update,
    hash_key,
    new_raw_key,
)

# The named users the timeline shows: intake by the Open311 gateway, dispatch by the rules.
INTAKE_ACTOR = "open311"


@transaction.atomic
def create_key(*, name: str, channel: str = "") -> tuple[Open311Key, str]:
    """Issue a key for a partner system; returns the row and the clear key, shown only once."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput(fields={"name": _("A name is required.")})
    if Open311Key.objects.filter(name=name).exists():
        raise Conflict(_("A key with this name exists already."))
    raw = new_raw_key()
    key = Open311Key.objects.create(
        name=name, channel=(channel or name).strip()[:60], key_hash=hash_key(raw), prefix=raw[:8]
    )
    return key, raw


@transaction.atomic
def revoke_key(*, name: str, now: datetime | None = None) -> Open311Key:
    """Revoke a key: requests with it are refused from now on; its cases stay."""
    key = Open311Key.objects.filter(name=name).first()
    if key is None:
        raise NotFound(_("No such key."))
    if key.revoked_at is None:
        key.revoked_at = now or timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def active_key(raw: str) -> Open311Key | None:
    if not raw:
        return None
    return Open311Key.objects.filter(key_hash=hash_key(raw), revoked_at__isnull=True).first()


@transaction.atomic
def submit_request(
    *,
    key: Open311Key,
    category: Category,
    title: str,
    description: str = "",
    lon: float | None = None,
    lat: float | None = None,
    address: str = "",
    address_id: str = "",
    reporter_name: str = "",
    reporter_phone: str = "",
    email: str = "",
    device_id: str = "",
    account_id: str = "",
    media_url: str = "",
    attributes: dict | None = None,
    now: datetime | None = None,
) -> Case:
    """上报 through Open311: an ordinary case (located in the grid and dispatched by the rules
    when they are certain), plus the GeoReport fields a case has no place for."""
    case, _created = report_case(
        channel=Channel.OPEN311,
        title=title,
        description=description,
        lon=lon,
        lat=lat,
        address=address,
        category=category,
        reporter_name=reporter_name,
        reporter_phone=reporter_phone,
        external_ref=key.channel,
        actor=system_user(INTAKE_ACTOR),
        now=now,
    )
    Open311Submission.objects.create(
        case=case,
        key=key,
        token=secrets.token_hex(16),
        email=email,
        device_id=device_id,
        account_id=account_id,
        address_id=address_id,
        media_url=media_url,
        attributes=attributes or {},
    )
    return auto_dispatch(case)


@transaction.atomic
def record_partner_update(
    case: Case,
    *,
    key: Open311Key,
    remote_id: str,
    status: str,
    description: str,
    author: str = "",
    updated_at: datetime | None = None,
    media_url: str = "",
) -> tuple[Open311Update, bool]:
    """A partner's update on a case (mySociety servicerequestupdates) as a public note on the
    timeline. It never moves the case: the loop belongs to the handling unit. A repeated
    update id returns the first record; returns (update, created)."""
    existing = Open311Update.objects.filter(key=key, remote_id=remote_id).first()
    if existing:
        return existing, False
    event = add_event(
        case,
        EventKind.NOTE,
        actor=system_user(INTAKE_ACTOR),
        now=timezone.now(),
        reason=description,
        audience=Audience.PUBLIC,
        data={
            "open311_status": status,
            "source": key.channel,
            "remote_update_id": remote_id,
            "author": author,
            "updated_datetime": updated_at.isoformat() if updated_at else "",
            "media_url": media_url,
        },
    )
    try:
        with transaction.atomic():
            update = Open311Update.objects.create(key=key, remote_id=remote_id, event=event)
    except IntegrityError:  # a concurrent retry won; ours rolls back with the outer transaction
        raise Conflict() from None
    return update, True
