"""People attached to the grid: party organisations and party members (党建引领).

The household registry and the people who need care come with their own issue; party
organisations are here because they hang off the same grid tree as the duty roster.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.lib.crypto import EncryptedTextField


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
