"""Locating a point: the deepest containing cell, "outside" → the county, "ambiguous" near a
sibling at any level of the containing chain, measured in metres."""

import math

from wangge.grids.actions import create_cell, move_cell
from wangge.grids.locate import locate
from wangge.grids.models import GridLevel
from wangge.grids.tests.helpers import collection, county_features, run, write
from wangge.world import centre_of

# The demo world (two townships of 睢县): 凤城街道 411422001 spans 114.95–115.10; its community
# 411422001001 spans 34.30–34.45 and holds grids …0101 (114.95–115.025) and …0102 (115.025–115.10),
# each with one micro-grid of the same polygon (code + "01").
A1_MICRO, A2_MICRO = "4114220010010101", "4114220010010201"
LAT = 34.375


def east(metres: float, lat: float = LAT) -> float:
    """Degrees of longitude for `metres` eastwards at this latitude."""
    return metres / (6_371_008.8 * math.pi / 180 * math.cos(math.radians(lat)))


def north(metres: float) -> float:
    return metres / (6_371_008.8 * math.pi / 180)


def summary(found):
    return (found.cell.code, found.flag, [c.code for c in found.candidates])


def test_a_point_inside_a_grid_finds_its_deepest_cell(world):
    assert summary(locate(*centre_of(world.grid_a1))) == (A1_MICRO, "ok", [])


def test_a_point_outside_every_grid_goes_to_the_county_flagged(world):
    assert summary(locate(114.0, 34.0)) == ("411422", "outside", [])


def test_near_the_county_edge_there_is_no_sibling_so_no_ambiguity(world):
    assert summary(locate(114.95 + east(5), LAT)) == (A1_MICRO, "ok", [])


def test_within_30_metres_of_a_neighbouring_grid_is_ambiguous_with_both(world):
    # 28 m west of the boundary between grids A1 and A2 (longitude scaled by cos(latitude))
    found = locate(115.025 - east(28), LAT)
    assert summary(found) == (A1_MICRO, "ambiguous", [A1_MICRO, A2_MICRO])
    assert found.candidates[0] == found.cell


def test_beyond_30_metres_of_the_neighbouring_grid_is_ok(world):
    assert summary(locate(115.025 - east(33), LAT)) == (A1_MICRO, "ok", [])


def test_the_distance_comes_from_the_setting_or_the_caller(world, settings):
    point = (115.025 - east(28), LAT)
    settings.WANGGE_AMBIGUOUS_METRES = 20
    assert summary(locate(*point)) == (A1_MICRO, "ok", [])
    assert summary(locate(*point, metres=40)) == (A1_MICRO, "ambiguous", [A1_MICRO, A2_MICRO])
    assert summary(locate(*point, metres=0)) == (A1_MICRO, "ok", [])


def test_near_another_community_is_ambiguous_at_community_level(world):
    # 20 m south of the line between communities 411422001001 and 411422001002
    found = locate(114.9875, 34.45 - north(20))
    assert summary(found) == (A1_MICRO, "ambiguous", [A1_MICRO, "4114220010020101"])


def test_near_another_township_is_ambiguous_at_township_level(world):
    # 10 m west of the line between 凤城街道 and 董店街道
    found = locate(115.10 - east(10), LAT)
    assert summary(found) == (A2_MICRO, "ambiguous", [A2_MICRO, "4114220020010101"])


def test_a_new_cell_is_found_at_once(world):
    lon, lat = centre_of(world.grid_a1)
    assert locate(lon, lat).cell.code == A1_MICRO  # the index is built now
    micro = world.cell(A1_MICRO)
    d = 0.001
    create_cell(
        code="411422001001010199",
        name="新楼栋",
        level=GridLevel.BUILDING,
        parent=micro,
        geometry={
            "type": "Polygon",
            "coordinates": [
                [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat - d]]
            ],
        },
    )
    assert summary(locate(lon, lat)) == ("411422001001010199", "ok", [])


def test_after_a_move_the_tree_is_read_again(world):
    point = (115.025 - east(28), LAT)
    assert summary(locate(*point)) == (A1_MICRO, "ambiguous", [A1_MICRO, A2_MICRO])
    # A2's micro-grid is re-hung under A1's: now the nearest cell of grid A2 is A2 itself
    move_cell(world.cell(A2_MICRO), new_parent=world.cell(A1_MICRO))
    assert summary(locate(*point)) == (A1_MICRO, "ambiguous", [A1_MICRO, "41142200100102"])


def test_imported_cells_are_found_at_once(world, tmp_path):
    assert locate(113.02, 34.05).flag == "outside"
    run("import", write(tmp_path, collection(*county_features())))
    assert summary(locate(113.02, 34.05)) == ("41999900100101", "ok", [])


def test_a_change_made_elsewhere_is_noticed_by_its_stamp(world, monkeypatch):
    # as if another process changed the table: no signal reaches this one
    from django.utils import timezone

    from wangge.grids import locate as locating
    from wangge.grids.models import GridCell

    lon, lat = centre_of(world.grid_a1)
    assert locate(lon, lat).cell.code == A1_MICRO
    d = 0.001
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat - d]]
    GridCell.objects.filter(code="411422001001010101").update(
        geometry={"type": "Polygon", "coordinates": [ring]}, updated_at=timezone.now()
    )
    assert locate(lon, lat).cell.code == A1_MICRO  # checked less than RECHECK_SECONDS ago
    monkeypatch.setattr(locating, "RECHECK_SECONDS", 0)
    assert locate(lon, lat).cell.code == "411422001001010101"
