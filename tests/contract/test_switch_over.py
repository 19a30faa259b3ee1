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

"""SPEC 14: a trim in flight at a switch-over, or at a rollback, is done by the
other stage, and nothing is refused or lost.

On App Engine two stages are two versions of one app sharing one Datastore and
one queue. scripts/rehearse.py gives two stages that here: one Datastore
emulator and one Cloud Tasks emulator, each stage served in turn on the port
the queue delivers to. With the queue paused, the serving stage enqueues
trims; it stops, the other starts, and the queue resumes; then back again.

The repository's pairs are route A <-> mod8 and mod8 <-> mod9 (mod7's own
tasks live in dev_appserver's queue, which stops with it: `make rehearse`
shows its data carried over). A learner's folder (VISITME_STAGES, as
scripts/verify runs it) is paired with the repository's mod8, whose message is
mod7's and route A's (test_trim.py checks each stage's) and which starts in
seconds, where dev_appserver takes many.
"""

import json
import os

import pytest

import rehearse
import stages

REPO = stages.REPO
TIMELINE = REPO / "notebooks" / "data" / "rehearsal.json"


def pairs():
    """The (FROM, TO) pairs to rehearse, each both ways."""
    route_a = stages.load("mod7-gaetasks+cloudtasks")
    mod8 = stages.load("mod8-cloudtasks")
    if not os.environ.get("VISITME_STAGES"):
        return [(route_a, mod8), (mod8, stages.load("mod9-py3"))]
    learners = os.environ["VISITME_STAGES"].split(",")
    return [(mod8, stages.load(path)) for path in learners]


PAIRS = pairs()


def check_direction(result):
    """Assert that one direction of a rehearsal refused and lost nothing."""
    direction = f"{result['from']} -> {result['to']}"
    held = result["tasks held"]
    assert result["refused"] == 0, f"{direction}: deliveries refused: {result}"
    if held is not None:  # None: mod7's own tasks, which stop with dev_appserver
        assert held > 0, f"{direction}: no trim was in flight at the cut"
        assert result["dropped"] == 0, f"{direction}: trims dropped: {result}"
        assert result[f"done by {result['to']}"] == held, f"{direction}: {result}"
    stored, _, before = result["visits carried"].split()
    assert stored == before, f"{direction}: visits lost at the switch: {result}"
    assert result["stored after settling"] <= 20, f"{direction}: {result}"


# One test per pair: each rehearsal runs once, beside the other (pytest-xdist).
@pytest.mark.spec(14)
@pytest.mark.servers
@pytest.mark.timeout(900)
@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"{p[0].name}<->{p[1].name}")
def test_trims_held_across_a_switch_and_its_rollback_are_done_not_lost(pair, tmp_path):
    timeline = rehearse.Timeline()

    results = rehearse.rehearse(*pair, tmp_path, timeline)

    for result in results:
        check_direction(result)
    # Notebook 02 draws a rehearsal's timeline: still the shape this one writes.
    drawn = json.loads(TIMELINE.read_text())
    assert {e["event"] for e in drawn["events"]} == {
        e["event"] for e in timeline.events
    }
    assert [set(r) - {"done by " + r["to"]} for r in drawn["results"]] == [
        set(r) - {"done by " + r["to"]} for r in results
    ]
    assert all(result["ok"] for result in drawn["results"])
