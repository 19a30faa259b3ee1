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

"""SPEC items 7-10 and 12-14: trimming and the push handler, on every stage."""

import datetime
import re

import pytest

from stage import cutoff_forms, cutoff_text, log_entries, page_cutoff

MICRO = datetime.timedelta(microseconds=1)
CUTOFF = datetime.datetime(2026, 3, 8, 6, 59, 59, 999999)


def stored_times(site):
    """Return the stored visit timestamps, oldest first."""
    return [timestamp for timestamp, _ in site.storage.visits()]


@pytest.mark.spec(8)
def test_trim_keeps_the_visit_at_the_cutoff_and_deletes_one_a_microsecond_older(
    site,
):
    site.storage.put([CUTOFF - MICRO, CUTOFF, CUTOFF + MICRO])

    response = site.trim(CUTOFF)

    assert response.status_code == 200
    assert stored_times(site) == [CUTOFF, CUTOFF + MICRO]


@pytest.mark.spec(8)
def test_trim_run_twice_or_late_deletes_nothing_more(site):
    site.storage.put([CUTOFF - MICRO, CUTOFF])
    site.trim(CUTOFF)
    for number in range(3):
        site.visit(f"newer-{number}")
    before = site.storage.visits()

    again = site.trim(CUTOFF)

    assert again.status_code == 200
    assert site.storage.visits() == before


@pytest.mark.spec(7)
def test_enqueued_trim_carries_the_exact_cutoff_through_the_queue(site):
    # Sub-second, and just before a DST change in New York: the original
    # codelab's mktime()/ctime() round trip would shift or round it.
    site.storage.put([CUTOFF + i * MICRO for i in range(-11, 9)])

    html = site.visit("trigger").text

    cutoff = page_cutoff(html)
    assert cutoff == CUTOFF  # the trigger and the 9 newest seeds are shown
    trimmed = site.wait_for(lambda: site.storage.count() == 10)
    assert trimmed, f"{site.storage.count()} visits left after the trim, not 10"
    assert stored_times(site)[0] == cutoff


def batch_sizes(log):
    """Return the sizes of the delete batches that a log reports."""
    return [int(n) for n in re.findall(r"Deleted (\d+) visits older than", log)]


@pytest.mark.spec(9)
def test_backlog_of_1200_is_trimmed_in_batches_of_at_most_500(site):
    mark = site.log_mark()
    site.storage.put([CUTOFF - (i + 1) * MICRO for i in range(1200)] + [CUTOFF])

    response = site.trim(CUTOFF)

    assert response.status_code == 200
    assert stored_times(site) == [CUTOFF]
    log = site.log_since(mark, until=lambda log: sum(batch_sizes(log)) >= 1200)
    batches = batch_sizes(log)
    assert sum(batches) == 1200
    assert max(batches) <= 500


@pytest.mark.spec(10)
def test_trim_logs_how_many_it_deleted_and_their_ids(site):
    ids = site.storage.put([CUTOFF - 2 * MICRO, CUTOFF - MICRO, CUTOFF])
    mark = site.log_mark()

    site.trim(CUTOFF)
    site.trim(CUTOFF)

    entries = log_entries(site.log_since(mark, until="No visits older than"))
    deleted = [
        (message, fields)
        for message, fields in entries
        for cutoff in cutoff_forms(CUTOFF)
        if f"Deleted 2 visits older than {cutoff}" in message
    ]
    assert len(deleted) == 1
    assert deleted_ids(*deleted[0]) == ids[:2]
    assert any(
        f"No visits older than {cutoff} to delete" in message
        for message, _ in entries
        for cutoff in cutoff_forms(CUTOFF)
    )


def deleted_ids(message, fields):
    """Return the ids a 'Deleted' log entry names: a field, or the message's tail."""
    if "ids" in fields:
        return fields["ids"]
    return [int(key) for key in message.rsplit(": ", 1)[1].split(", ")]


@pytest.mark.spec(12)
@pytest.mark.parametrize(
    "body",
    [
        {"data": {"oldest": "4102444800"}},
        {"json": {"oldest": "4102444800"}},
        {},
    ],
)
def test_trim_from_outside_the_queue_is_forbidden(site, body):
    site.storage.put([CUTOFF - MICRO, CUTOFF])

    response = site.post_trim(headers={}, **body)

    assert response.status_code == 403
    assert site.storage.count() == 2


@pytest.mark.spec(12)
def test_outside_curl_is_refused_and_the_page_still_lists_ten(site):
    for number in range(10):
        site.visit(f"before-{number}")

    refused = site.post_trim(headers={}, data="oldest=4102444800")

    assert refused.status_code == 403
    assert site.visit().text.count("<li>") == 10


MALFORMED = [
    ("missing", None),
    ("non-numeric", "soon"),
    ("NaN", "NaN"),
    ("infinite", "Infinity"),
    ("before year 1", "-62135596801"),
    ("far future", "1e300"),
    ("finer than a microsecond", "1772953199.9999991"),
]


@pytest.mark.spec(13)
@pytest.mark.parametrize("name, oldest", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_cutoff_gets_400_with_a_reason_and_deletes_nothing(
    site, name, oldest
):
    site.storage.put([CUTOFF - MICRO, CUTOFF])
    mark = site.log_mark()
    fields = {} if oldest is None else {"oldest": oldest}

    response = site.post_trim(data=fields)

    assert response.status_code == 400
    assert response.text.startswith("Bad request: ")
    assert response.text.count("\n") == 1
    refused = "Refused a malformed trim task"
    assert refused in site.log_since(mark, until=refused)
    assert site.storage.count() == 2


@pytest.mark.spec(13)
@pytest.mark.parametrize(
    "body",
    [
        {"data": b"{broken json", "headers": {"Content-Type": "application/json"}},
        {"data": b'{"oldest": "0"}', "headers": {"Content-Type": "application/json"}},
        {"data": b"oldest=1", "headers": {"Content-Type": "text/plain"}},
        {"data": b"", "headers": {}},
    ],
)
def test_wrong_body_gets_400_and_deletes_nothing(site, body):
    site.storage.put([CUTOFF - MICRO, CUTOFF])
    headers = {"X-AppEngine-QueueName": "default", **body["headers"]}

    response = site.post_trim(headers=headers, data=body["data"])

    assert response.status_code == 400
    assert response.text.startswith("Bad request: ")
    assert site.storage.count() == 2


@pytest.mark.spec(14)
def test_the_trim_a_page_enqueues_is_the_one_form_every_stage_reads(site):
    site.storage.put_recent(20)
    if site.queue is None:
        # dev_appserver's own queue (mod7) cannot be read from outside; its trim
        # landing shows the form, the only body /trim reads (SPEC 13).
        assert page_cutoff(site.visit().text) is not None, "no trim was enqueued"
    else:
        with site.cloud_tasks_paused() as client:
            cutoff = page_cutoff(site.visit().text)
            tasks = list(client.list_tasks(parent=site.queue))
        assert len(tasks) == 1, f"the queue holds {len(tasks)} tasks"
        request = tasks[0].app_engine_http_request
        headers = {name.lower(): value for name, value in request.headers.items()}
        assert headers["content-type"] == "application/x-www-form-urlencoded"
        assert request.body == f"oldest={cutoff_text(cutoff)}".encode()
    # Wait for the trim, so that it cannot reach the next test's visits.
    settled = site.wait_for(lambda: site.storage.count() == 10)
    assert settled, f"{site.storage.count()} visits once the trim was delivered"
