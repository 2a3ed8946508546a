"""The grid tree: a subtree is exactly the descendants; moving rewrites every path below."""

from wangge.audit.models import AuditEntry
from wangge.grids.actions import create_cell, move_cell
from wangge.grids.models import GridCell, GridLevel


def codes(cells):
    return [c.code for c in cells]


def test_a_subtree_is_the_cell_and_exactly_its_descendants(world):
    community = world.cell("411422001001")
    assert codes(community.subtree()) == [
        "411422001001",
        "41142200100101",
        "4114220010010101",
        "411422001001010101",
        "411422001001010102",
        "41142200100102",
        "4114220010010201",
        "411422001001020101",
        "411422001001020102",
    ]


def test_a_subtree_does_not_take_cells_whose_code_merely_starts_alike(world):
    community = world.cell("411422001001")
    create_cell(code="411422001001010", name="相似编码网格", level=GridLevel.GRID, parent=community)
    assert codes(world.cell("41142200100101").subtree()) == [
        "41142200100101",
        "4114220010010101",
        "411422001001010101",
        "411422001001010102",
    ]


def test_moving_a_grid_rewrites_the_paths_of_everything_under_it(world):
    others_before = dict(
        GridCell.objects.exclude(path__contains="/41142200100102/").values_list("code", "path")
    )
    grid = move_cell(
        world.cell("41142200100102"), new_parent=world.cell("411422001002"), actor=world.admin
    )
    assert (grid.parent.code, grid.path) == (
        "411422001002",
        "/411422/411422001/411422001002/41142200100102/",
    )
    assert list(grid.subtree().values_list("code", "path")) == [
        ("41142200100102", "/411422/411422001/411422001002/41142200100102/"),
        ("4114220010010201", "/411422/411422001/411422001002/41142200100102/4114220010010201/"),
        (
            "411422001001020101",
            "/411422/411422001/411422001002/41142200100102/4114220010010201/411422001001020101/",
        ),
        (
            "411422001001020102",
            "/411422/411422001/411422001002/41142200100102/4114220010010201/411422001001020102/",
        ),
    ]
    assert codes(world.cell("411422001001").subtree()) == [
        "411422001001",
        "41142200100101",
        "4114220010010101",
        "411422001001010101",
        "411422001001010102",
    ]
    others_after = dict(
        GridCell.objects.exclude(path__contains="/41142200100102/").values_list("code", "path")
    )
    assert others_after == others_before
    entry = AuditEntry.objects.filter(action="move_cell").latest("id")
    assert (entry.actor, entry.detail) == (
        world.admin,
        {
            "from": "/411422/411422001/411422001001/41142200100102/",
            "to": "/411422/411422001/411422001002/41142200100102/",
        },
    )
