"""Staff, the units they work for, and the roles that scope what they may see and do."""

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person who logs in: staff of the command centre, units, grids; or a resident."""

    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    is_system = models.BooleanField(
        _("system user"), default=False, help_text=_("Named user for background jobs.")
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.display_name or self.username


class UnitKind(models.TextChoices):
    COMMAND_CENTRE = "command_centre", _("Command centre")
    DEPARTMENT = "department", _("Functional department")
    TOWNSHIP_OFFICE = "township_office", _("Township / street office")
    VILLAGE_OFFICE = "village_office", _("Village / community office")


class Unit(models.Model):
    """A unit that handles cases (职能部门, 乡镇街道, 村社区, 指挥中心)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.CharField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=UnitKind.choices)
    # The part of the grid this unit answers for (a township office → its township).
    cell = models.ForeignKey(
        "grids.GridCell", on_delete=models.PROTECT, null=True, blank=True, related_name="units"
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    DISPATCHER = "dispatcher", _("Dispatcher")
    UNIT_HANDLER = "unit_handler", _("Unit handler")
    GRID_WORKER = "grid_worker", _("Grid worker")
    COMMUNITY_SECRETARY = "community_secretary", _("Community secretary")
    SUPERVISOR = "supervisor", _("Supervisor (command centre)")
    DISCIPLINE_SUPERVISOR = "discipline_supervisor", _("Supervisor (discipline commission)")
    LEADER = "leader", _("Leader")
    # 人大代表: watches livelihood projects (comments, ratings, site visits) in their area.
    DEPUTY = "deputy", _("People's deputy")
    ADMIN = "admin", _("Administrator")


class Assignment(models.Model):
    """A role held by a user over a grid subtree and/or a unit. No assignment, no access."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments")
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    cell = models.ForeignKey(
        "grids.GridCell",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assignments",
        verbose_name=_("grid scope"),
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="assignments"
    )
    # Duty roster (专属网格): a grid worker is on duty for the cell; deputies stand in.
    is_deputy = models.BooleanField(_("deputy"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cell__isnull=False) | models.Q(unit__isnull=False),
                name="assignment_has_scope",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "cell", "unit"], name="assignment_unique"
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()}"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the JSON API; only its hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(max_length=8)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    @classmethod
    def issue(cls, user: User, name: str = "") -> tuple["ApiToken", str]:
        raw = "wg_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=raw[:8], token_hash=hash_token(raw))
        return token, raw

    @classmethod
    def user_for(cls, raw: str) -> User | None:
        """The token's user, with their active assignments loaded in the same query (every API
        call checks a permission next): one round trip instead of two."""
        token_hash = hash_token(raw)
        live = {
            "user__api_tokens__token_hash": token_hash,
            "user__api_tokens__revoked_at__isnull": True,
            "user__is_active": True,
        }
        assignments = list(
            Assignment.objects.filter(is_active=True, **live)
            .select_related("user", "cell", "unit")
            .defer("cell__geometry")  # scope needs the cell's path, not its boundary
        )
        if assignments:
            user = assignments[0].user
            for assignment in assignments:
                assignment.user = user
            user._wangge_assignments = assignments
            return user
        # A user without any role: still known (they get 403, not 401).
        token = (
            cls.objects.select_related("user")
            .filter(token_hash=token_hash, revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if token is None:
            return None
        token.user._wangge_assignments = []
        return token.user

    def revoke(self):
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])
