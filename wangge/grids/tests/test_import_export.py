"""导入/导出网格: `wangge grids import` checks everything before writing; export round-trips."""

import json

import pytest

from wangge.audit.models import AuditEntry
from wangge.grids.models import GridCell
from wangge.grids.tests.helpers import box, collection, county_features, refused, run, write


def tree(root_code="419999"):
    """(code, name, level, parent code, path, geometry, door) of every cell under the root."""
    return [
        (
            c.code,
            c.name,
            c.level,
            c.parent.code if c.parent else "",
            c.path,
            c.geometry,
            (c.centroid_lon, c.centroid_lat),
        )
        for c in GridCell.objects.filter(path__startswith=f"/{root_code}/").select_related("parent")
    ]


def snapshot():
    return (
        list(GridCell.objects.values_list("code", "name", "level", "path", "geometry")),
        AuditEntry.objects.count(),
    )


def test_a_valid_file_creates_the_tree_with_an_audit_row_per_cell(world, tmp_path):
    audits_before = AuditEntry.objects.count()
    out, err = run("import", write(tmp_path, collection(*county_features())))
    assert out == "Imported: 7 created, 0 updated, 0 moved, 0 unchanged.\n"
    assert err == ""
    door = (None, None)
    assert tree() == [
        ("419999", "测试县", 1, "", "/419999/", box(113.0, 34.0, 113.2, 34.2), door),
        (
            "419999001",
            "东街道",
            2,
            "419999",
            "/419999/419999001/",
            box(113.0, 34.0, 113.1, 34.2),
            door,
        ),
        (
            "419999001001",
            "东一社区",
            3,
            "419999001",
            "/419999/419999001/419999001001/",
            box(113.0, 34.0, 113.1, 34.1),
            door,
        ),
        (
            "41999900100101",
            "东一第1网格",
            4,
            "419999001001",
            "/419999/419999001/419999001001/41999900100101/",
            box(113.0, 34.0, 113.05, 34.1),
            door,
        ),
        (
            "4199990010010101",
            "1号楼",
            6,
            "41999900100101",
            "/419999/419999001/419999001001/41999900100101/4199990010010101/",
            None,
            (113.01, 34.01),
        ),
        (
            "41999900100102",
            "东一第2网格",
            4,
            "419999001001",
            "/419999/419999001/419999001001/41999900100102/",
            box(113.05, 34.0, 113.1, 34.1),
            door,
        ),
        (
            "419999002",
            "西镇",
            2,
            "419999",
            "/419999/419999002/",
            box(113.1, 34.0, 113.2, 34.2),
            door,
        ),
    ]
    # seven create_cell rows and one update_cell for the building's door
    assert AuditEntry.objects.count() - audits_before == 8


def test_importing_the_same_file_again_changes_nothing(world, tmp_path):
    path = write(tmp_path, collection(*county_features()))
    run("import", path)
    before = snapshot()
    stamps = list(GridCell.objects.values_list("updated_at", flat=True))
    out, _ = run("import", path)
    assert out == "Imported: 0 created, 0 updated, 0 moved, 7 unchanged.\n"
    assert snapshot() == before
    assert list(GridCell.objects.values_list("updated_at", flat=True)) == stamps


def test_reimport_renames_reshapes_and_moves_existing_cells(world, tmp_path):
    run("import", write(tmp_path, collection(*county_features())))
    changed = county_features()
    changed[4]["properties"]["name"] = "东一第一网格"
    changed[5]["geometry"] = box(113.05, 34.0, 113.09, 34.1)
    # the community moves from 东街道 to 西镇 (and its polygon with it, to stay inside)
    west = {
        "419999001001": box(113.1, 34.0, 113.2, 34.1),
        "41999900100101": box(113.1, 34.0, 113.15, 34.1),
        "41999900100102": box(113.15, 34.0, 113.19, 34.1),
    }
    changed[3]["properties"]["parent_code"] = "419999002"
    for f in changed:
        f["geometry"] = west.get(f["properties"]["code"], f["geometry"])
    changed[6]["geometry"]["coordinates"] = [113.11, 34.01]
    audits_before = AuditEntry.objects.count()
    out, err = run("import", write(tmp_path, collection(*changed)))
    assert (out, err) == ("Imported: 0 created, 4 updated, 1 moved, 3 unchanged.\n", "")
    grid = GridCell.objects.get(code="41999900100101")
    assert (grid.name, grid.path, grid.geometry) == (
        "东一第一网格",
        "/419999/419999002/419999001001/41999900100101/",
        box(113.1, 34.0, 113.15, 34.1),
    )
    building = GridCell.objects.get(code="4199990010010101")
    assert (building.path, building.centroid_lon) == (
        "/419999/419999002/419999001001/41999900100101/4199990010010101/",
        113.11,
    )
    actions = list(
        AuditEntry.objects.filter(pk__gt=0).order_by("id").values_list("action", flat=True)
    )[audits_before:]
    assert actions == ["move_cell", "update_cell", "update_cell", "update_cell", "update_cell"]


def test_export_then_import_into_an_empty_tree_gives_the_same_tree(world, tmp_path):
    run("import", write(tmp_path, collection(*county_features())))
    before = tree()
    exported = tmp_path / "export.geojson"
    run("export", str(exported), "--root", "419999")
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert [f["properties"]["code"] for f in data["features"]] == [row[0] for row in before]
    for code in reversed([row[0] for row in before]):  # leaves first: parents are protected
        GridCell.objects.get(code=code).delete()
    assert tree() == []
    out, _ = run("import", str(exported))
    assert out == "Imported: 7 created, 0 updated, 0 moved, 0 unchanged.\n"
    assert tree() == before


def test_exporting_the_demo_world_and_importing_it_back_changes_nothing(world, tmp_path):
    before = snapshot()
    out, _ = run("export")
    data = json.loads(out)
    assert len(data["features"]) == GridCell.objects.count()
    out, err = run("import", write(tmp_path, data))
    assert (out, err) == (
        f"Imported: 0 created, 0 updated, 0 moved, {len(before[0])} unchanged.\n",
        "",
    )
    assert snapshot() == before


def _broken(kind):
    """The test county with one problem of the given kind, and the message it must produce."""
    features = county_features()
    grid = features[4]
    if kind == "unclosed ring":
        grid["geometry"]["coordinates"][0].pop()
        msg = "ring 1 is not closed (its last position must repeat the first)"
    elif kind == "self-intersection":
        grid["geometry"] = {
            "type": "Polygon",
            "coordinates": [
                [[113.0, 34.0], [113.05, 34.1], [113.05, 34.0], [113.0, 34.1], [113.0, 34.0]]
            ],
        }
        msg = "the polygon is not valid: Self-intersection[113.025 34.05]"
    elif kind == "unknown parent":
        grid["properties"]["parent_code"] = "419999001009"
        msg = "its parent 419999001009 is neither in the file nor stored"
    elif kind == "level not below parent":
        grid["properties"]["level"] = "community"
        msg = "its level (3) must be below its parent 东一社区 (419999001001)"
    elif kind == "outside parent":
        grid["geometry"] = box(113.0, 34.0, 113.05, 34.15)
        msg = "it is not inside its parent 东一社区 (419999001001): 33.3% of it lies outside"
    elif kind == "sibling overlap":
        grid["geometry"] = box(113.0, 34.0, 113.06, 34.1)
        msg = "it overlaps its sibling 东一第2网格 (41999900100102) by 20.0% of the smaller"
        msg += " one's area"
    elif kind == "duplicate code":
        features[5]["properties"]["code"] = "41999900100101"
        return features, [
            "东一第1网格 (41999900100101): the code appears 2 times in the file",
            "东一第2网格 (41999900100101): the code appears 2 times in the file",
        ]
    elif kind == "bad level":
        grid["properties"]["level"] = 7
        msg = (
            "the level must be 1 to 6 or one of county, township, community, grid, micro_grid, "
            "building"
        )
    return features, [f"东一第1网格 (41999900100101): {msg}"]


@pytest.mark.parametrize(
    ("kind", "count"),
    [
        ("unclosed ring", "1 problem"),
        ("self-intersection", "1 problem"),
        ("unknown parent", "1 problem"),
        ("level not below parent", "1 problem"),
        ("outside parent", "1 problem"),
        ("sibling overlap", "1 problem"),
        ("duplicate code", "2 problems"),
        ("bad level", "1 problem"),
    ],
)
def test_a_problem_is_reported_with_the_feature_name_and_nothing_is_stored(
    world, tmp_path, kind, count
):
    features, expected = _broken(kind)
    before = snapshot()
    error, lines = refused("import", write(tmp_path, collection(*features)))
    assert (error, lines) == (f"{count}; nothing was imported.", expected)
    assert snapshot() == before
    assert tree() == []


def test_every_problem_in_a_file_is_reported_at_once(world, tmp_path):
    features = county_features()
    features[4]["geometry"]["coordinates"][0].pop()  # unclosed
    features[6]["properties"]["level"] = "house"
    features[5]["properties"]["parent_code"] = "nowhere"
    features[2]["geometry"] = box(113.09, 34.0, 113.2, 34.2)  # overlaps 东街道 by 10%
    features[3]["properties"]["level"] = 2  # not below 东街道
    before = snapshot()
    # first what is wrong with single features, then with the tree, each in file order
    assert refused("import", write(tmp_path, collection(*features))) == (
        "5 problems; nothing was imported.",
        [
            "东一第1网格 (41999900100101): ring 1 is not closed (its last position must repeat "
            "the first)",
            "1号楼 (4199990010010101): the level must be 1 to 6 or one of county, township, "
            "community, grid, micro_grid, building",
            "东街道 (419999001): it overlaps its sibling 西镇 (419999002) by 10.0% of the smaller "
            "one's area",
            "东一社区 (419999001001): its level (2) must be below its parent 东街道 (419999001)",
            "东一第2网格 (41999900100102): its parent nowhere is neither in the file nor stored",
        ],
    )
    features[6]["geometry"]["coordinates"] = [113.5, 34.5]  # the door is outside its grid
    features[6]["properties"]["level"] = "building"
    features[4]["geometry"]["coordinates"][0].append([113.0, 34.0])
    features[3]["properties"]["level"] = 3
    features[5]["properties"]["parent_code"] = "419999001001"
    features[2]["geometry"] = box(113.1, 34.0, 113.2, 34.2)
    assert refused("import", write(tmp_path, collection(*features))) == (
        "1 problem; nothing was imported.",
        [
            "1号楼 (4199990010010101): it is not inside its parent 东一第1网格 (41999900100101): "
            "100.0% of it lies outside",
        ],
    )
    assert snapshot() == before
    assert tree() == []


def test_overlap_tolerance_is_an_option(world, tmp_path):
    features = county_features()
    features[4]["geometry"] = box(113.0, 34.0, 113.051, 34.1)  # 2% of 东一第2网格
    path = write(tmp_path, collection(*features))
    assert refused("import", path) == (
        "1 problem; nothing was imported.",
        [
            "东一第1网格 (41999900100101): it overlaps its sibling 东一第2网格 (41999900100102) "
            "by 2.0% of the smaller one's area"
        ],
    )
    assert tree() == []
    out, _ = run("import", path, "--overlap-tolerance", "0.05")
    assert out == "Imported: 7 created, 0 updated, 0 moved, 0 unchanged.\n"


def test_a_dry_run_checks_and_stores_nothing(world, tmp_path):
    before = snapshot()
    out, _ = run("import", write(tmp_path, collection(*county_features())), "--dry-run")
    assert out == "7 features, no problems.\n"
    assert snapshot() == before
