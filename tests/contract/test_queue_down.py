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

"""SPEC item 5: a queue that refuses the trim task does not break the page."""

import datetime

import pytest

from stage import page_cutoff


@pytest.fixture(scope="module")
def refusing(start_stage, stage_info):
    """A stage whose queue name points at a queue that does not exist.

    The real local queue then refuses every task, as a missing or
    misconfigured queue does in production: no mock needed.
    """
    return start_stage(stage_info, env=["QUEUE_NAME=no-such-queue"], label="refusing")


@pytest.mark.spec(5)
def test_page_answers_200_and_logs_when_the_queue_refuses(refusing):
    old = datetime.datetime(2026, 1, 1)
    refusing.storage.put([old + datetime.timedelta(seconds=i) for i in range(30)])

    mark = refusing.log_mark()

    response = refusing.visit("while-queue-refuses")

    assert response.status_code == 200
    assert "while-queue-refuses" in response.text
    assert page_cutoff(response.text) is None  # nothing was enqueued
    refused = "Could not enqueue a trim"
    assert refused in refusing.log_since(mark, until=refused)
    assert refusing.storage.count() == 31  # nothing lost, nothing trimmed


@pytest.mark.spec(5, 11)
def test_a_refused_trim_leaves_no_mark_so_later_pages_try_again(refusing):
    refusing.storage.clear()
    refusing.storage.put_recent(30)
    mark = refusing.log_mark()

    for number in range(3):
        assert refusing.visit(f"retry-{number}").status_code == 200

    refused = "Could not enqueue a trim"
    log = refusing.log_since(mark, until=lambda log: log.count(refused) >= 3)
    assert log.count(refused) == 3  # each page tried again
    assert refusing.storage.marked() == []  # no visit claims a trim
