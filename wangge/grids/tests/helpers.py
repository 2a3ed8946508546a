"""Small GeoJSON grid files for the tests: a county 测试县 (419999) far from the demo's 睢县."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation


def box(x0, y0, x1, y1) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
    }


def feature(code, name, level, parent_code, geometry) -> dict:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, "level": level, "parent_code": parent_code},
        "geometry": geometry,
    }


def collection(*features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def county_features() -> list[dict]:
    """测试县 → 东街道 / 西镇 → 东一社区 → two grids, one building with a door point."""
    return [
        feature("419999", "测试县", 1, "", box(113.0, 34.0, 113.2, 34.2)),
        feature("419999001", "东街道", "township", "419999", box(113.0, 34.0, 113.1, 34.2)),
        feature("419999002", "西镇", 2, "419999", box(113.1, 34.0, 113.2, 34.2)),
        feature("419999001001", "东一社区", 3, "419999001", box(113.0, 34.0, 113.1, 34.1)),
        feature("41999900100101", "东一第1网格", 4, "419999001001", box(113.0, 34.0, 113.05, 34.1)),
        feature("41999900100102", "东一第2网格", 4, "419999001001", box(113.05, 34.0, 113.1, 34.1)),
        feature(
            "4199990010010101",
            "1号楼",
            "building",
            "41999900100101",
            {"type": "Point", "coordinates": [113.01, 34.01]},
        ),
    ]


def write(tmp_path, data, name="grid.geojson") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def run(*args) -> tuple[str, str]:
    """Run `wangge grids …` in English (the msgids; Chinese is the translators' concern)."""
    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):
        call_command("grids", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args) -> tuple[str, list[str]]:
    """Run a command that must fail: (its error, the lines it printed on stderr)."""
    err = io.StringIO()
    with translation.override("en"), pytest.raises(CommandError) as error:
        call_command("grids", *args, stdout=io.StringIO(), stderr=err)
    return str(error.value), err.getvalue().splitlines()
