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

"""Route A: APPENGINE_USE_CLOUDTASK_PUSH_QUEUE sends taskqueue.add() to Cloud Tasks.

The proof is the Cloud Tasks emulator's own record: with its queue paused, a
trim the page enqueued waits there (ListTasks), carrying the form body that
taskqueue.add() builds, and nothing is trimmed until the queue resumes. With
the flag off, the same visit leaves the emulator's queue empty: the task goes
to dev_appserver's own queue, which trims at once.
"""

import urllib.parse

import pytest
from google.cloud import tasks_v2

from stage import cutoff_text, page_cutoff


def held_tasks(stage):
    """Visit with a full query while the emulator's queue is paused; return the
    page's cutoff, the tasks the queue holds, and the visits stored then."""
    with stage.cloud_tasks_paused() as client:
        stage.storage.put_recent(20)
        cutoff = page_cutoff(stage.visit("route-a").text)
        tasks = list(client.list_tasks(parent=stage.queue))
        return cutoff, tasks, stage.storage.count()


@pytest.fixture(scope="module")
def route_a(start_stage, route_a_stage_info):
    """A stage on route A, as `make run MODULE=... TASKS=cloud` serves it."""
    return start_stage(route_a_stage_info)


@pytest.mark.spec(14)
def test_push_tasks_go_through_the_cloud_tasks_emulator(route_a):
    route_a.storage.clear()

    cutoff, tasks, stored = held_tasks(route_a)

    assert cutoff is not None, "the page enqueued no trim"
    assert len(tasks) == 1, f"the emulator's queue holds {len(tasks)} tasks"
    request = tasks[0].app_engine_http_request
    assert request.relative_uri == "/trim"
    assert request.http_method == tasks_v2.HttpMethod.POST
    assert urllib.parse.parse_qs(request.body.decode()) == {
        "oldest": [cutoff_text(cutoff)]
    }
    # The SDK pins the task to the version that enqueued it (GAE_SERVICE and
    # GAE_VERSION), where mod8 and mod9 set no routing (docs/SWITCH-OVER.md).
    routing = request.app_engine_routing
    assert routing.service == "default"
    assert routing.version, "route A's task carries no version"
    assert stored == 21  # held by the paused queue: nothing trimmed yet
    settled = route_a.wait_for(lambda: route_a.storage.count() == 10)
    assert settled, f"{route_a.storage.count()} visits once the queue resumed"


@pytest.mark.spec(14)
def test_with_the_flag_off_the_tasks_skip_the_emulator(start_stage, route_a_stage_info):
    flag_off = ["APPENGINE_USE_CLOUDTASK_PUSH_QUEUE=false"]
    stage = start_stage(route_a_stage_info, env=flag_off, label="flag-off")

    cutoff, tasks, _ = held_tasks(stage)

    assert cutoff is not None, "the page enqueued no trim"
    assert tasks == []
    settled = stage.wait_for(lambda: stage.storage.count() == 10)
    assert settled, "dev_appserver's own queue did not trim"
