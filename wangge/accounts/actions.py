"""State changes for staff accounts."""

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from wangge.accounts.models import ApiToken, Assignment, Role, Unit, User
from wangge.audit.actions import record_audit


def system_user(name: str = "system") -> User:
    """A named user for background jobs, so every history row still says who."""
    user, _ = User.objects.get_or_create(
        username=f"system:{name}",
        defaults={"display_name": f"系统({name})", "is_system": True, "is_active": False},
    )
    return user


def resident_user() -> User:
    """The named account a resident acts under when they hold a tracking code but no login (a
    rating from the tracking page): the timeline says a resident did it, not who."""
    with translation.override(settings.LANGUAGE_CODE):
        display = gettext("Resident (by tracking code)")
    user, _ = User.objects.get_or_create(
        username="system:resident",
        defaults={"display_name": display, "is_system": True, "is_active": False},
    )
    return user


@transaction.atomic
def grant_role(
    user: User,
    role: Role,
    *,
    actor: User | None,
    cell=None,
    unit: Unit | None = None,
    is_deputy: bool = False,
) -> Assignment:
    assignment, _ = Assignment.objects.update_or_create(
        user=user,
        role=role,
        cell=cell,
        unit=unit,
        defaults={"is_active": True, "is_deputy": is_deputy},
    )
    record_audit(
        actor=actor,
        action="grant_role",
        obj=assignment,
        detail={
            "user": user.username,
            "role": role,
            "cell": getattr(cell, "code", None),
            "unit": getattr(unit, "code", None),
            "deputy": is_deputy,
        },
    )
    return assignment


@transaction.atomic
def issue_token(user: User, *, name: str = "", actor: User | None = None) -> str:
    token, raw = ApiToken.issue(user, name)
    record_audit(actor=actor, action="issue_token", obj=token, detail={"user": user.username})
    return raw
