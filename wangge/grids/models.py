"""The grid (网格): one tree from the county down to the building.

Each node keeps a materialised `path` of codes ("/411422/411422001/…/"), so "this node and
everything under it" is one indexed `path__startswith` query on either database.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class GridLevel(models.IntegerChoices):
    COUNTY = 1, _("County")
    TOWNSHIP = 2, _("Township / street")
    COMMUNITY = 3, _("Village / community")
    GRID = 4, _("Grid")
    MICRO_GRID = 5, _("Micro-grid")
    BUILDING = 6, _("Building")


class GridCell(models.Model):
    """A node of the grid tree (区县 → 街道 → 社区 → 网格 → 微网格 → 楼栋)."""

    level = models.PositiveSmallIntegerField(_("level"), choices=GridLevel.choices)
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=40, unique=True)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    # unique → indexed; on PostgreSQL Django adds a varchar_pattern_ops index for LIKE 'p%'.
    path = models.CharField(max_length=400, unique=True, editable=False)
    # GeoJSON geometry (Polygon or MultiPolygon) in WGS84 lon/lat; optional for buildings.
    geometry = models.JSONField(_("boundary"), null=True, blank=True)
    # A point for cells without a polygon (a building's door).
    centroid_lon = models.FloatField(null=True, blank=True)
    centroid_lat = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("grid cell")
        verbose_name_plural = _("grid cells")
        ordering = ["path"]
        indexes = [
            models.Index(fields=["level"], name="gridcell_level_idx"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.path = self.path_for(self.code, self.parent)
        super().save(*args, **kwargs)

    @staticmethod
    def path_for(code: str, parent: "GridCell | None") -> str:
        return f"{parent.path if parent else '/'}{code}/"

    def subtree(self):
        """This cell and every cell under it."""
        return GridCell.objects.filter(path__startswith=self.path)

    def ancestors(self):
        """From the county down to this cell's parent, in order."""
        codes = self.path.strip("/").split("/")[:-1]
        by_code = {c.code: c for c in GridCell.objects.filter(code__in=codes)}
        return [by_code[c] for c in codes if c in by_code]

    def is_within(self, other: "GridCell") -> bool:
        return self.path.startswith(other.path)

    @property
    def level_label(self) -> str:
        return GridLevel(self.level).label
