"""Writing audit rows; called inside the caller's transaction."""

from wangge.audit.models import AuditEntry, PersonalDataAccess
from wangge.lib.middleware import current_request_id


def record_audit(*, actor, action: str, obj, detail: dict | None = None, reason: str = ""):
    return AuditEntry.objects.create(
        actor=actor if actor and actor.pk else None,
        actor_name=str(actor) if actor else "system",
        action=action,
        object_type=type(obj).__name__,
        object_id=str(getattr(obj, "pk", "") or ""),
        detail=detail or {},
        reason=reason,
        request_id=current_request_id(),
    )


def record_personal_data_access(*, actor, obj, field: str, purpose: str):
    return PersonalDataAccess.objects.create(
        actor=actor,
        actor_name=str(actor),
        object_type=type(obj).__name__,
        object_id=str(obj.pk),
        field=field,
        purpose=purpose,
        request_id=current_request_id(),
    )
