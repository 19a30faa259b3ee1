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

"""SPEC item 11: one trim per TRIM_SLACK + 1 visits, however late the queue
delivers.

The queue lags on purpose, for real: a Cloud Tasks emulator's queue is paused
(PauseQueue) and resumed; dev_appserver's push queue is started holding its
tasks (`launch.py --hold-push-tasks`: --enable_task_running=no), and catching
up means delivering each trim the app enqueued, as that queue would.
"""

import contextlib
import math

import pytest

import stages

SLACK = 10  # the stages' app.yaml default
VISITS = 66


@pytest.fixture(scope="module")
def lagging(start_stage, stage_info):
    """A stage whose queue can be held back."""
    hold = ["--hold-push-tasks"] if stage_info.kind == stages.BUNDLED else []
    return start_stage(stage_info, options=hold, label="lagging")


@contextlib.contextmanager
def queue_held(stage):
    """Hold the stage's push tasks back; deliver them all when done."""
    if stage.kind != stages.BUNDLED:
        with stage.cloud_tasks_paused():
            yield
        return
    mark = stage.log_mark()
    try:
        yield
    finally:
        for cutoff in stage.enqueued(stage.read_log()[mark:]):
            assert stage.trim(cutoff).status_code == 200


@pytest.mark.spec(11)
def test_a_lagging_queue_gets_one_trim_per_slack_plus_one_visits(lagging):
    lagging.storage.clear()
    lagging.storage.put_recent(20)
    mark = lagging.log_mark()

    with queue_held(lagging):
        for number in range(VISITS):
            lagging.visit(f"lagging-{number}")
        stored_while_held = lagging.storage.count()
        marked = lagging.storage.marked()
        log = lagging.read_log()[mark:]

    assert stored_while_held == 20 + VISITS  # the queue really held every trim
    enqueued = len(lagging.enqueued(log))
    assert 1 <= enqueued <= math.ceil(VISITS / (SLACK + 1))
    assert len(marked) == enqueued  # each enqueuing visit carries its cutoff


@pytest.mark.spec(11)
def test_storage_settles_once_a_lagging_queue_catches_up(lagging):
    lagging.storage.clear()
    lagging.storage.put_recent(20)

    with queue_held(lagging):
        for number in range(VISITS):
            lagging.visit(f"catch-up-{number}")

    settled = lagging.wait_for(lambda: lagging.storage.count() <= 10 + SLACK)
    assert settled, f"{lagging.storage.count()} visits once the queue caught up"
