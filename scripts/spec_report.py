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

"""A pytest plugin that records each test's outcome and the SPEC items it proves.

Not a command: scripts/verify loads it (`pytest -p spec_report`) with
VISITME_REPORT naming the JSON file to write. Each entry has the test's id,
its `@pytest.mark.spec(...)` items (none for an unmarked test), its outcome,
the phase it ended in, and the first line of what a failure said.
"""

import json
import os

import pytest

RESULTS = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Record each test's outcome and SPEC items."""
    report = (yield).get_result()
    if report.when == "call" or report.failed:
        marker = item.get_closest_marker("spec")
        RESULTS.append(
            {
                "test": item.nodeid,
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
    with open(os.environ["VISITME_REPORT"], "w") as out:
        json.dump(RESULTS, out, indent=1)
