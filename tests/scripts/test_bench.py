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

"""scripts/bench.py runs end to end (a smoke run: tiny counts, no targets).

The targets themselves are checked by reading the numbers a full run prints
(docs/PERFORMANCE.md), never by a timed test that fails on a slow machine.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import stages

REPO = Path(__file__).resolve().parents[2]
# The newest stage of each kind: each local stack once.
SMOKE = sorted(
    {stage.kind: stage.name for stage in stages.repository_stages()}.values()
)
KEYS = {
    "visit_ms_median",
    "visit_ms_p95",
    "floor_ms_median",
    "visit_over_floor",
    "tasks_per_visit",
    "tasks_per_visit_burst",
    "stored_after_settle",
    "backlog_600_trim_s",
    "deletes_per_s",
}


@pytest.mark.timeout(400)
@pytest.mark.parametrize(
    "stage", [pytest.param(s, marks=pytest.mark.servers(s)) for s in SMOKE]
)
def test_smoke_run_prints_every_measure_as_json_last(stage):
    done = subprocess.run(
        [sys.executable, "scripts/bench.py", "--smoke", stage],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert KEYS <= results.keys()
    assert {"start_warm_s", "start_cold_s"} & results.keys()
    assert results["stage"] == stage
    assert all(
        results[key] > 0 for key in KEYS - {"tasks_per_visit", "tasks_per_visit_burst"}
    )
    assert results["stored_after_settle"] <= 10 + results["trim_slack"]


def test_a_folder_that_is_not_a_stage_exits_2():
    done = subprocess.run(
        [sys.executable, "scripts/bench.py", "docs"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert done.stderr == "error: docs is not a stage folder: it has no app.yaml\n"
