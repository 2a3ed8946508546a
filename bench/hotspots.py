"""未诉先办 bench: hotspot clustering of the 4,326 tipdm messages with votes.

    .venv/bin/python bench/hotspots.py [--repeat 3]

Reads ../shared/data/tipdm2020c/messages_with_votes.csv with
`wangge.dispatch.hotspots.read_votes_csv`, clusters every message with `cluster_messages`
(no window; growth compares the last 30 days of the data with what came before) and reports:
reading seconds, clustering seconds (best and median of `--repeat` runs, wall clock), the
number of hotspots and their size distribution, and the ten hottest with size, distinct
reporters, likes, growth, heat and the representative title cut to 20 characters (messages are
personal data: never printed whole). Writes bench/results/hotspots.json. Without the shared
data it says so and exits 0.
"""

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wangge.dispatch.hotspots import (  # noqa: E402
    THRESHOLD,
    cluster_messages,
    read_votes_csv,
    shorten,
)

DATA = ROOT.parent / "shared" / "data" / "tipdm2020c" / "messages_with_votes.csv"
RESULT = ROOT / "bench" / "results" / "hotspots.json"
TITLE_CHARS = 20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="clustering runs (default 3)")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"skipped: {DATA} is absent (the shared data set is not here)")
        return 0
    load_before = os.getloadavg()
    started = time.perf_counter()
    messages = read_votes_csv(DATA)
    read_seconds = time.perf_counter() - started
    times = []
    for _ in range(max(args.repeat, 1)):
        started = time.perf_counter()
        spots = cluster_messages(messages)
        times.append(time.perf_counter() - started)
    sizes = Counter(h.size for h in spots)
    top = [
        {
            "rank": rank,
            "size": h.size,
            "distinct_reporters": h.distinct_reporters,
            "likes": h.likes,
            "growth": h.growth,
            "heat": round(h.heat, 2),
            "title": shorten(h.representative_texts[0], TITLE_CHARS),
        }
        for rank, h in enumerate(spots[:10], 1)
    ]
    clustered = sum(h.size for h in spots)
    report = {
        "data": str(DATA.relative_to(ROOT.parent)),
        "messages": len(messages),
        "threshold": THRESHOLD,
        "read_seconds": round(read_seconds, 3),
        "cluster_seconds_best": round(min(times), 3),
        "cluster_seconds_median": round(statistics.median(times), 3),
        "runs": len(times),
        "hotspots": len(spots),
        "messages_in_hotspots": clustered,
        "size_distribution": {str(k): sizes[k] for k in sorted(sizes)},
        "largest": max(sizes) if sizes else 0,
        "top10": top,
        "cpus": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"{len(messages)} messages read in {read_seconds:.2f} s")
    print(
        f"clustered in {min(times):.2f} s (best of {len(times)}, median "
        f"{statistics.median(times):.2f} s): {len(spots)} hotspots holding {clustered} messages, "
        f"largest {report['largest']}"
    )
    print(f"\n{'#':>3} {'size':>5} {'reporters':>9} {'likes':>6} {'growth':>6} {'heat':>6}  title")
    for row in top:
        print(
            f"{row['rank']:>3} {row['size']:>5} {row['distinct_reporters']:>9} {row['likes']:>6} "
            f"{row['growth']:>+6.2f} {row['heat']:>6.2f}  {row['title']}"
        )
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {RESULT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
