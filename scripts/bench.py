# Copyright 2026 The VisitMe codelab authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Measure what a stage costs per visit and per trim, against the floor.

Usage: make bench MODULE=mod9-py3
       .venv/tests/bin/python scripts/bench.py [--smoke] STAGE

Starts the stage with the launcher `make run` uses (on free ports), then:
visits over HTTP (median, p95), after untimed warm-up visits; the floor,
timed in-process against the same datastore (one put and one query of the
11 + TRIM_SLACK newest visits); trim tasks per visit over sequential visits;
visits stored after a burst of concurrent visits settles, and the burst's
trim tasks per visit; one trim of a 5,000-visit backlog; and the start time.
Prints a table, then, as its last line, one JSON object. --smoke uses
tiny counts (a check that it runs, not a measurement).
"""

import argparse
import concurrent.futures
import datetime
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import launch
import stages
from stage import Stage

FULL = {
    "warmup": 100,
    "visits": 200,
    "floor": 200,
    "steady": 500,
    "burst": 200,
    "backlog": 5000,
}
SMOKE = {
    "warmup": 2,
    "visits": 5,
    "floor": 5,
    "steady": 25,
    "burst": 20,
    "backlog": 600,
}
CLIENTS = 8
SETTLE_TIMEOUT_S = 60


def timed(function, *args):
    """Return (seconds, result) of one call."""
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def percentile(values, share):
    """Return the value below which share of the values lie (nearest rank)."""
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, round(share * (len(ranked) - 1)))]


def measure_start(stage):
    """Start the stage; return seconds from launch to the first 200 page."""
    seconds, _ = timed(stage.start)
    more, response = timed(stage.visit, "bench-start")
    if response.status_code != 200:
        raise SystemExit(f"error: the first page answered {response.status_code}")
    return seconds + more


def measure_visits(stage, count, warmup):
    """Return the milliseconds of count sequential page views, after warmup
    untimed ones: the first pages after a start are slower, while the floor
    is timed later, on a warm stage."""
    stage.storage.clear()
    for _ in range(warmup):
        stage.visit("bench-warmup")
    stage.storage.clear()
    return [timed(stage.visit, "bench-visit")[0] * 1000 for _ in range(count)]


def measure_floor(stage, count, slack):
    """Return the milliseconds of count in-process put + query rounds."""
    stage.storage.clear()
    newest = 11 + slack
    return [timed(stage.storage.put_and_read, newest)[0] * 1000 for _ in range(count)]


def settle(stage):
    """Wait until trims stop changing storage; return the visits stored."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    stored = stage.storage.count()
    while time.monotonic() < deadline:
        time.sleep(1.5)
        now = stage.storage.count()
        if now == stored:
            return now
        stored = now
    return stored


def measure_tasks_per_visit(stage, count):
    """Return trim tasks enqueued per visit over count sequential visits."""
    stage.storage.clear()
    settle(stage)
    mark = stage.log_mark()
    for _ in range(count):
        stage.visit("bench-steady")
    settle(stage)
    return len(stage.enqueued(stage.read_log()[mark:])) / count


def measure_burst(stage, count):
    """Send count visits from CLIENTS concurrent clients; return the visits
    stored once trims settle, and the trim tasks enqueued per visit."""
    stage.storage.clear()
    mark = stage.log_mark()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        statuses = list(
            pool.map(lambda n: stage.visit(f"burst-{n}").status_code, range(count))
        )
    if set(statuses) != {200}:
        raise SystemExit(f"error: the burst got answers {sorted(set(statuses))}")
    stored = settle(stage)
    return stored, len(stage.enqueued(stage.read_log()[mark:])) / count


def measure_backlog(stage, count):
    """Store count old visits; return the seconds one trim takes to delete them."""
    stage.storage.clear()
    cutoff = datetime.datetime(2026, 1, 1)
    step = datetime.timedelta(microseconds=1)
    stage.storage.put([cutoff - (i + 1) * step for i in range(count)] + [cutoff])
    seconds, response = timed(stage.trim, cutoff)
    if response.text != f"Deleted {count} visits.\n":
        raise SystemExit(f"error: the backlog trim answered {response.text!r}")
    return seconds


def run(name, counts):
    """Benchmark one stage; return the results."""
    info = stages.load(name)
    slack = int(launch.app_yaml_env(info.app_yaml).get("TRIM_SLACK", "10"))
    warm = info.app_env.exists()
    with tempfile.TemporaryDirectory() as logs:
        stage = Stage(name, Path(logs) / "bench.log")
        try:
            start_s = measure_start(stage)
            visits = measure_visits(stage, counts["visits"], counts["warmup"])
            floor = measure_floor(stage, counts["floor"], slack)
            tasks = measure_tasks_per_visit(stage, counts["steady"])
            stored, burst_tasks = measure_burst(stage, counts["burst"])
            backlog_s = measure_backlog(stage, counts["backlog"])
        finally:
            stage.stop()
    return {
        "stage": name,
        "trim_slack": slack,
        "visit_ms_median": round(statistics.median(visits), 2),
        "visit_ms_p95": round(percentile(visits, 0.95), 2),
        "floor_ms_median": round(statistics.median(floor), 2),
        "visit_over_floor": round(
            statistics.median(visits) / statistics.median(floor), 2
        ),
        "tasks_per_visit": round(tasks, 3),
        "tasks_per_visit_burst": round(burst_tasks, 3),
        "stored_after_settle": stored,
        f"backlog_{counts['backlog']}_trim_s": round(backlog_s, 2),
        "deletes_per_s": round(counts["backlog"] / backlog_s),
        "start_warm_s" if warm else "start_cold_s": round(start_s, 1),
        "counts": counts,
    }


def table(results):
    """Return the results as aligned name/value lines."""
    rows = [(key, value) for key, value in results.items() if key != "counts"]
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in rows)


def main():
    """Parse the command line, benchmark the stage, print table and JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", help="a stage folder, e.g. mod9-py3")
    parser.add_argument("--smoke", action="store_true", help="tiny counts")
    args = parser.parse_args()
    name = args.stage.rstrip("/")
    try:
        stages.load(name)
    except stages.NotAStage as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    results = run(name, SMOKE if args.smoke else FULL)
    print(table(results))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
