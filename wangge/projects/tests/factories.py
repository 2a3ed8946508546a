"""Helpers for the projects tests: projects made through the actions, tiny valid photos."""

from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from wangge.projects.actions import create_project

# A real 2×2 PNG: photos are decoded and re-encoded without metadata before they are stored.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a73"
    "0000001649444154789c63d4eb0e6760606062606060606000000cc10114e1cda95c0000000049454e44ae426082"
)


def photo(name: str = "现场.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def project(world, title="老旧小区改造", *, actor=None, cell=None, parent=None, budget="0", **kw):
    """A project in community A (grid A1's community) owned by township A's office, created by
    community A's secretary unless told."""
    town_a = world.townships[0]
    return create_project(
        actor=actor or world.secretary_a,
        title=title,
        cell=cell or (parent.cell if parent else world.grid_a1.parent),
        owner_unit=kw.pop("owner_unit", world.unit(town_a.code)),
        budget=Decimal(budget),
        parent=parent,
        **kw,
    )
