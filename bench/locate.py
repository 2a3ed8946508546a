"""Locate throughput: wangge's in-memory index against a bare shapely STRtree, same polygons.

A county-sized lattice: 1 county, 20 townships, 2,000 communities, 50,000 grids of about
370 m × 445 m near 睢县. N random points are looked up one by one (as report_case does) through
`GridIndex.locate_id` (containment, the deepest cell, and the ambiguity check at every level)
and through `STRtree.query(Point, predicate="within")` on the same lon/lat polygons.

    .venv/bin/python bench/locate.py [--points 50000] [--metres 30]

Prints a table and writes bench/results/locate.json. Needs no database.
"""

import argparse
import gc
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")

import django

django.setup()

from wangge.grids.locate import GridIndex  # noqa: E402

X0, Y0 = 114.7, 34.0
STEP = 0.004  # degrees per grid side
COLS, ROWS = 250, 200  # 50,000 grids
TOWNSHIP = (50, 50)  # grids per township side → 5 × 4 townships
COMMUNITY = (5, 5)  # grids per community side → 100 communities per township


def box(c0, r0, c1, r1) -> dict:
    x0, y0, x1, y1 = X0 + c0 * STEP, Y0 + r0 * STEP, X0 + c1 * STEP, Y0 + r1 * STEP
    return {
        "type": "Polygon",
        "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
    }


def lattice() -> list[tuple]:
    """(pk, level, path, parent_id, geometry) rows, as locate reads them from the database."""
    rows = [(1, 1, "/C/", None, box(0, 0, COLS, ROWS))]
    pk = 1
    town_ids, comm_ids = {}, {}
    tw, th = TOWNSHIP
    cw, ch = COMMUNITY
    for tc in range(COLS // tw):
        for tr in range(ROWS // th):
            pk += 1
            town_ids[tc, tr] = (pk, f"/C/T{tc}_{tr}/")
            rows.append(
                (pk, 2, town_ids[tc, tr][1], 1, box(tc * tw, tr * th, (tc + 1) * tw, (tr + 1) * th))
            )
    for cc in range(COLS // cw):
        for cr in range(ROWS // ch):
            town_pk, town_path = town_ids[cc * cw // tw, cr * ch // th]
            pk += 1
            comm_ids[cc, cr] = (pk, f"{town_path}M{cc}_{cr}/")
            rows.append(
                (
                    pk,
                    3,
                    comm_ids[cc, cr][1],
                    town_pk,
                    box(cc * cw, cr * ch, (cc + 1) * cw, (cr + 1) * ch),
                )
            )
    for c in range(COLS):
        for r in range(ROWS):
            comm_pk, comm_path = comm_ids[c // cw, r // ch]
            pk += 1
            rows.append((pk, 4, f"{comm_path}G{c}_{r}/", comm_pk, box(c, r, c + 1, r + 1)))
    return rows


def timed(fn, points) -> tuple[np.ndarray, float]:
    """Per-lookup wall time (ns) and the batch's CPU time (s)."""
    clock = time.perf_counter_ns
    out = np.empty(len(points), dtype=np.int64)
    cpu = time.process_time()
    for n, (lon, lat) in enumerate(points):
        t = clock()
        fn(lon, lat)
        out[n] = clock() - t
    return out, time.process_time() - cpu


def stats(name, ns: np.ndarray, cpu: float) -> dict:
    return {
        "name": name,
        "lookups_per_s": round(len(ns) / cpu),
        "p50_us": round(float(np.percentile(ns, 50)) / 1000, 1),
        "p99_us": round(float(np.percentile(ns, 99)) / 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the points")
    parser.add_argument("--metres", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=20241124)
    args = parser.parse_args()

    rows = lattice()
    t = time.perf_counter()
    index = GridIndex(rows)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    raw_geoms = np.array([shapely.geometry.shape(r[4]) for r in rows], dtype=object)
    raw_tree = shapely.STRtree(raw_geoms)
    raw_build_s = time.perf_counter() - t

    plain = GridIndex(rows, core_metres=0)  # no cores, no neighbours: always searches the tree
    polygons, levels = len(rows), [r[1] for r in rows]
    # The rows hold millions of small lists: left to the cyclic GC, every collection would walk
    # them, a cost of this script, not of locating. Drop them and freeze what remains.
    del rows
    gc.collect()
    gc.freeze()

    rnd = random.Random(args.seed)
    # Most points inside; 2% outside the county, as stray GPS fixes are.
    x1, y1 = X0 + COLS * STEP, Y0 + ROWS * STEP
    points = [
        (rnd.uniform(X0 - 0.02, x1 + 0.02), rnd.uniform(Y0 - 0.01, y1 + 0.01))
        for _ in range(args.points)
    ]

    def raw(lon, lat):
        hits = raw_tree.query(shapely.Point(lon, lat), predicate="within")
        return hits

    def raw_array(lon, lat):
        query = np.empty(1, dtype=object)
        query[0] = shapely.Point(lon, lat)
        return raw_tree.query(query, predicate="within")[1]

    def wangge(lon, lat):
        return index.locate_id(lon, lat, args.metres)

    def wangge_no_ambiguity(lon, lat):
        return index.locate_id(lon, lat, 0.0)

    # Same answers: the deepest cell wangge finds is the deepest raw hit.
    for lon, lat in points[:2000]:
        hits = raw(lon, lat)
        found = index.locate_id(lon, lat, 0.0)
        expected = int(max(hits, key=lambda i: levels[i])) + 1 if len(hits) else 1
        assert found.cell_id == expected, (lon, lat, found, hits)
        # the cores and neighbours are a shortcut: the answer is the plain search's
        assert index.locate_id(lon, lat, args.metres) == plain.locate_id(lon, lat, args.metres)
    del plain

    flags = {"ok": 0, "outside": 0, "ambiguous": 0}
    for lon, lat in points:
        flags[index.locate_id(lon, lat, args.metres).flag] += 1

    # The machine may be shared: methods alternate in batches of 500 points, so a disturbance
    # hits all alike, and throughput counts CPU time, not time spent waiting for a CPU.
    methods = [
        ("shapely STRtree.query(Point, within)", raw),
        ("  same, one-element array input", raw_array),
        (f"wangge locate_id ({args.metres:g} m)", wangge),
        ("wangge locate_id (0 m, no ambiguity)", wangge_no_ambiguity),
    ]
    for _, fn in methods:
        timed(fn, points[:1000])  # warm caches
    ns: dict[str, list] = {name: [] for name, _ in methods}
    cpu = dict.fromkeys(ns, 0.0)
    for _ in range(args.rounds):
        for start in range(0, len(points), 500):
            batch = points[start : start + 500]
            for name, fn in methods:
                batch_ns, batch_cpu = timed(fn, batch)
                ns[name].append(batch_ns)
                cpu[name] += batch_cpu
    results = [stats(name, np.concatenate(ns[name]), cpu[name]) for name, _ in methods]
    base = results[0]["lookups_per_s"]
    for r in results:
        r["ratio_to_raw"] = round(r["lookups_per_s"] / base, 2)

    print(
        f"{polygons:,} polygons ({COLS * ROWS:,} grids), {args.points:,} random points "
        f"× {args.rounds} rounds"
    )
    print(f"build: wangge index {build_s:.2f} s, raw STRtree {raw_build_s:.2f} s")
    print("flags:", ", ".join(f"{k} {v}" for k, v in flags.items()))
    print(f"{'':38} {'lookups/s':>10} {'p50 µs':>8} {'p99 µs':>8} {'ratio':>6}")
    for r in results:
        print(
            f"{r['name']:38} {r['lookups_per_s']:>10,} {r['p50_us']:>8} {r['p99_us']:>8} "
            f"{r['ratio_to_raw']:>6}"
        )
    report = {
        "polygons": polygons,
        "grids": COLS * ROWS,
        "points": args.points,
        "rounds": args.rounds,
        "timing": "methods alternate in batches of 500 points; lookups/s per CPU second; "
        "p50/p99 of wall time per lookup",
        "metres": args.metres,
        "build_s": {"wangge": round(build_s, 2), "raw": round(raw_build_s, 2)},
        "flags": flags,
        "results": results,
        "python": platform.python_version(),
        "shapely": shapely.__version__,
        "geos": shapely.geos_version_string,
        "machine": platform.machine(),
    }
    out = Path(__file__).parent / "results" / "locate.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
