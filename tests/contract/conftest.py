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

"""Fixtures: each stage folder in STAGES, running under scripts/launch.py.

VISITME_STAGES (folders, comma-separated) runs the tests against other folders
instead, such as a learner's own migration; VISITME_REPORT names a JSON file
that receives each test's outcome and the SPEC items it proves (scripts/verify
sets both).
"""

import json
import os
from pathlib import Path

import pytest

from stage import Stage

# A new stage joins every contract test by adding its folder name here.
STAGES = ["mod7-gaetasks", "mod8-cloudtasks", "mod9-py3"]
if os.environ.get("VISITME_STAGES"):
    STAGES = os.environ["VISITME_STAGES"].split(",")

RESULTS = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Record each test's outcome and SPEC items, for scripts/verify."""
    report = (yield).get_result()
    if report.when == "call" or report.failed:
        marker = item.get_closest_marker("spec")
        RESULTS.append(
            {
                "test": item.name,
                "spec": list(marker.args) if marker else [],
                "outcome": report.outcome,
                "when": report.when,
                "message": first_line(report) if report.failed else "",
            }
        )


def first_line(report):
    """The first line of what a failed test said (its assertion, or error)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash else str(report.longrepr)
    return text.strip().splitlines()[0] if text.strip() else "failed"


def pytest_sessionfinish(session):
    """Write the results where VISITME_REPORT says."""
    if os.environ.get("VISITME_REPORT"):
        with open(os.environ["VISITME_REPORT"], "w") as out:
            json.dump(RESULTS, out, indent=1)


@pytest.fixture(scope="module", params=STAGES)
def stage(request, tmp_path_factory):
    """A stage launched as `make run` launches it, for one test module."""
    log = tmp_path_factory.mktemp("logs") / f"{Path(request.param).name}.log"
    running = Stage(request.param, log).start()
    yield running
    running.stop()


@pytest.fixture
def site(stage):
    """The running stage, with an empty datastore."""
    stage.storage.clear()
    return stage
