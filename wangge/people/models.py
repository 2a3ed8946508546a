"""People attached to the grid: party organisations and party members (党建引领).

The household registry and the people who need care come with their own issue; party
organisations are here because they hang off the same grid tree as the duty roster.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.lib.crypto import EncryptedTextField, blind_index


class PartyOrgLevel(models.TextChoices):
    COMMUNITY_COMMITTEE = "committee", _("Community party committee")
    BRANCH = "branch", _("Residential-area party branch")
    GROUP = "group", _("Building party group")
    CENTRAL_HOUSEHOLD = "central_household", _("Party member central household")


class PartyOrg(models.Model):
    """社区党委 — 小区党支部 — 楼栋党小组 — 党员中心户, each on a node of the grid tree."""

    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=20, choices=PartyOrgLevel.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    cell = models.ForeignKey("grids.GridCell", on_delete=models.PROTECT, related_name="party_orgs")
    secretary = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("party organisation")
        verbose_name_plural = _("party organisations")

    def __str__(self):
        return self.name


class PartyMember(models.Model):
    """A party member, attached to an organisation and a grid node (在职党员到社区报到)."""

    name = models.CharField(_("name"), max_length=50)
    phone = EncryptedTextField(_("phone"), blank=True)
    org = models.ForeignKey(PartyOrg, on_delete=models.PROTECT, related_name="members")
    cell = models.ForeignKey("grids.GridCell", on_delete=models.PROTECT, related_name="+")
    is_central_household = models.BooleanField(_("central household"), default=False)

    class Meta:
        verbose_name = _("party member")
        verbose_name_plural = _("party members")

    def __str__(self):
        return self.name


# --- the registry: households and the people who live in them -----------------------------------


class Tag(models.Model):
    """A group that needs attention (独居老人, 高龄, 残疾, 低保, 留守儿童, 重点人员 …);
    configurable."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=50, unique=True)
    # Membership of a sensitive group (重点人员) is itself personal data: shown only to roles
    # that may reveal personal data.
    sensitive = models.BooleanField(_("sensitive"), default=False)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Household(models.Model):
    """一户: a home at an address, attached to the smallest grid cell that holds it (a building
    where the grid goes down that far)."""

    cell = models.ForeignKey(
        "grids.GridCell",
        on_delete=models.PROTECT,
        related_name="households",
        verbose_name=_("grid"),
    )
    address = models.CharField(_("address"), max_length=200)
    # The registry's own key for the home (门牌/房号), unique within its cell: imports match on it.
    door = models.CharField(_("door number"), max_length=50)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["cell__path", "door"]
        constraints = [
            models.UniqueConstraint(fields=["cell", "door"], name="household_unique_door"),
        ]

    def __str__(self):
        return f"{self.address} {self.door}"


class Gender(models.TextChoices):
    FEMALE = "f", _("Female")
    MALE = "m", _("Male")
    UNKNOWN = "", _("Not recorded")


class Resident(models.Model):
    """A person living in a household. ID and phone numbers are encrypted; a keyed hash of each
    finds a person by number without storing it in clear."""

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="residents", verbose_name=_("household")
    )
    name = models.CharField(_("name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    id_number = EncryptedTextField(_("ID number"), blank=True)
    id_number_index = models.CharField(max_length=32, blank=True, db_index=True, editable=False)
    phone = EncryptedTextField(_("phone"), blank=True)
    phone_index = models.CharField(max_length=32, blank=True, db_index=True, editable=False)
    tags = models.ManyToManyField(Tag, blank=True, related_name="residents", verbose_name=_("tags"))
    note = models.TextField(_("note"), blank=True)
    moved_out_at = models.DateField(_("moved out"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Keyed hashes beside encrypted fields (recomputed by `wangge pii rotate`).
    BLIND_INDEXES = {"id_number_index": "id_number", "phone_index": "phone"}

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["household", "name", "id"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # The hashes follow the numbers on every save, whoever saves.
        for index, field in self.BLIND_INDEXES.items():
            value = getattr(self, field)
            setattr(self, index, blind_index(value) if value else "")
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], *self.BLIND_INDEXES}
        super().save(*args, **kwargs)
