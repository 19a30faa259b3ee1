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

"""Unit tests for main.py on the App Engine testbed's local service stubs."""

import datetime
import decimal
import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from google.appengine.api import datastore_errors, taskqueue
from google.appengine.datastore import datastore_stub_util
from google.appengine.ext import ndb, testbed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import main

QUEUE = {"X-AppEngine-QueueName": "default"}
T0 = datetime.datetime(2026, 3, 8, 6, 59, 59, 999999)


@pytest.fixture
def bed():
    """Activate fresh datastore, memcache and task queue stubs for one test."""
    bed = testbed.Testbed()
    bed.activate()
    policy = datastore_stub_util.PseudoRandomHRConsistencyPolicy(probability=1)
    bed.init_datastore_v3_stub(consistency_policy=policy)
    bed.init_memcache_stub()
    bed.init_taskqueue_stub(root_path=main.app.root_path)
    ndb.get_context().clear_cache()
    yield bed
    bed.deactivate()


@pytest.fixture
def client(bed):
    """A Flask test client whose requests carry the testbed's app id."""
    client = main.app.test_client()
    # wrap_wsgi_app rebuilds os.environ for each request from the WSGI environ.
    client.environ_base["APPLICATION_ID"] = os.environ["APPLICATION_ID"]
    return client


def tasks(bed):
    """Return the trim tasks waiting in the default queue."""
    stub = bed.get_stub(testbed.TASKQUEUE_SERVICE_NAME)
    return stub.get_filtered_tasks(url="/trim")


def seed(count, start=T0):
    """Store count visits one microsecond apart, oldest first; return them."""
    visits = [
        main.Visit(
            visitor=f"seed {i}", timestamp=start + datetime.timedelta(microseconds=i)
        )
        for i in range(count)
    ]
    ndb.put_multi(visits)
    return visits


def test_visit_is_stored_with_visitor_and_utc_timestamp(client):
    before = datetime.datetime.utcnow()
    response = client.get(
        "/",
        headers={"User-Agent": "unit-ua"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    after = datetime.datetime.utcnow()

    assert response.status_code == 200
    [visit] = main.Visit.query().fetch()
    assert visit.visitor == "203.0.113.9: unit-ua"
    assert before <= visit.timestamp <= after


def test_page_shows_ten_newest_first_including_this_visit(client):
    seed(14)

    page = client.get("/", headers={"User-Agent": "newest"}).get_data(as_text=True)

    assert page.count("<li>") == 10
    assert page.index("newest") < page.index("seed 13") < page.index("seed 5")
    assert "seed 4" not in page


@pytest.mark.parametrize("stored, enqueued", [(19, False), (20, True), (40, True)])
def test_trim_is_enqueued_only_when_query_comes_back_full(
    bed, client, stored, enqueued
):
    seed(stored)

    page = client.get("/").get_data(as_text=True)

    assert bool(tasks(bed)) == enqueued
    assert ("Deleting visits older than" in page) == enqueued


def test_task_carries_exact_cutoff_of_oldest_visit_shown(bed, client):
    visits = seed(20)

    page = client.get("/").get_data(as_text=True)

    [task] = tasks(bed)
    oldest = visits[11].timestamp  # 10 shown: this visit and seeds 19..11
    assert urllib.parse.parse_qs(task.payload.decode()) == {
        "oldest": [main.cutoff_text(oldest)]
    }
    assert main.parse_cutoff(main.cutoff_text(oldest)) == oldest
    assert oldest.strftime("%Y-%m-%d %H:%M:%S.%f") in page


def test_trim_slack_zero_enqueues_whenever_anything_is_older(bed, client, monkeypatch):
    monkeypatch.setattr(main, "TRIM_SLACK", 0)
    seed(10)

    client.get("/")

    assert len(tasks(bed)) == 1


def test_the_visit_that_enqueues_a_trim_carries_its_cutoff(client):
    visits = seed(20)

    client.get("/", headers={"User-Agent": "the-trigger"})

    [marked] = [visit for visit in main.Visit.query() if visit.trim_cutoff]
    assert marked.visitor.endswith("the-trigger")
    assert marked.trim_cutoff == visits[11].timestamp


def test_no_trim_while_one_of_the_slack_plus_one_newest_waits_for_its_own(bed, client):
    seed(20)
    client.get("/")  # enqueues; the queue holds the task
    for _ in range(10):  # the mark stays among the 11 newest
        client.get("/")

    assert len(tasks(bed)) == 1
    client.get("/")  # the 12th: the mark is 12th newest now
    assert len(tasks(bed)) == 2


def test_a_refused_trim_leaves_no_mark_so_the_next_page_tries_again(
    client, monkeypatch, caplog
):
    # Mock: the testbed's queue stub cannot be made to refuse a task on demand.
    monkeypatch.setattr(taskqueue, "add", refuse)
    seed(20)

    for _ in range(3):
        client.get("/")

    assert caplog.text.count("Could not enqueue a trim") == 3
    assert not [visit for visit in main.Visit.query() if visit.trim_cutoff]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0", datetime.datetime(1970, 1, 1)),
        ("1795738176.161915", datetime.datetime(2026, 11, 27, 0, 9, 36, 161915)),
        ("1795738176.1", datetime.datetime(2026, 11, 27, 0, 9, 36, 100000)),
        ("253402300799.999999", datetime.datetime(9999, 12, 31, 23, 59, 59, 999999)),
        ("-1", datetime.datetime(1969, 12, 31, 23, 59, 59)),
        ("-62135596800", datetime.datetime(1, 1, 1)),
    ],
)
def test_parse_cutoff_reads_exact_epoch_seconds(text, expected):
    assert main.parse_cutoff(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "abc",
        "nan",
        "NaN",
        "inf",
        "-Infinity",
        "-62135596800.000001",
        "1e20",
        "253402300800",
        "1.0000001",
    ],
)
def test_parse_cutoff_refuses_malformed_values(text):
    with pytest.raises(ValueError):
        main.parse_cutoff(text)


def test_cutoff_text_keeps_microseconds_regardless_of_time_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")

    assert main.cutoff_text(T0) == "1772953199.999999"


def test_trim_deletes_strictly_older_and_is_idempotent(client):
    visits = seed(3)
    cutoff = main.cutoff_text(visits[1].timestamp)

    first = client.post("/trim", data={"oldest": cutoff}, headers=QUEUE)
    second = client.post("/trim", data={"oldest": cutoff}, headers=QUEUE)

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.get_data(as_text=True) == "Deleted 1 visits.\n"
    assert second.get_data(as_text=True) == "Deleted 0 visits.\n"
    remaining = [v.visitor for v in main.Visit.query().order(main.Visit.timestamp)]
    assert remaining == ["seed 1", "seed 2"]


def test_trim_deletes_in_batches_of_at_most_500(client, monkeypatch):
    seed(1201)
    batches = []
    delete_multi = ndb.delete_multi
    monkeypatch.setattr(
        ndb,
        "delete_multi",
        lambda keys: batches.append(len(keys)) or delete_multi(keys),
    )

    response = client.post(
        "/trim",
        headers=QUEUE,
        data={"oldest": main.cutoff_text(T0 + datetime.timedelta(microseconds=1200))},
    )

    assert response.get_data(as_text=True) == "Deleted 1200 visits.\n"
    assert batches == [500, 500, 200]
    assert main.Visit.query().count() == 1


def test_trim_logs_count_and_ids(client, caplog):
    visits = seed(3)
    caplog.set_level("INFO")

    client.post(
        "/trim", headers=QUEUE, data={"oldest": main.cutoff_text(visits[2].timestamp)}
    )
    client.post(
        "/trim", headers=QUEUE, data={"oldest": main.cutoff_text(visits[2].timestamp)}
    )

    ids = ", ".join(str(v.key.id()) for v in visits[:2])
    assert f"Deleted 2 visits older than {visits[2].timestamp}: {ids}" in caplog.text
    assert f"No visits older than {visits[2].timestamp} to delete" in caplog.text


@pytest.mark.parametrize("body", [{"oldest": "4102444800"}, {}])
def test_trim_from_outside_the_queue_is_forbidden(client, body):
    seed(3)

    response = client.post("/trim", data=body)

    assert response.status_code == 403
    assert main.Visit.query().count() == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": {}},
        {"data": {"oldest": "soon"}},
        {"data": {"oldest": "nan"}},
        {"data": {"oldest": "inf"}},
        {"data": {"oldest": "1e300"}},
        {"json": {"oldest": "4102444800"}},
    ],
)
def test_malformed_task_gets_400_with_reason_and_deletes_nothing(
    client, kwargs, caplog
):
    seed(3)

    response = client.post("/trim", headers=QUEUE, **kwargs)

    assert response.status_code == 400
    assert response.get_data(as_text=True).startswith("Bad request: ")
    assert response.get_data(as_text=True).count("\n") == 1
    assert "Refused a malformed trim task" in caplog.text
    assert main.Visit.query().count() == 3


@pytest.mark.parametrize(
    "agent, stored",
    [
        ("a" * 3000, "203.0.113.9: " + "a" * (1500 - 13)),
        ("é" * 1000, "203.0.113.9: " + "é" * 743),
    ],
)
def test_long_user_agent_is_cut_on_a_character_boundary(client, agent, stored):
    response = client.get(
        "/",
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
        headers={"User-Agent": agent.encode().decode("latin-1")},
    )

    assert response.status_code == 200
    [visit] = main.Visit.query().fetch()
    assert visit.visitor == stored
    assert len(visit.visitor.encode()) <= 1500


def test_html_in_user_agent_is_escaped(client):
    page = client.get("/", headers={"User-Agent": "<script>alert(1)</script>"})

    assert "<script>" not in page.get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.get_data(as_text=True)


def refuse(*args, **kwargs):
    """Stand in for a queue that is down."""
    raise taskqueue.TransientError("queue is down")


def test_failing_enqueue_still_shows_the_page(client, monkeypatch, caplog):
    # Mock: the testbed's queue stub cannot be made to refuse a task on demand.
    monkeypatch.setattr(taskqueue, "add", refuse)
    seed(20)

    response = client.get("/")

    assert response.status_code == 200
    assert "Deleting visits older than" not in response.get_data(as_text=True)
    assert "Could not enqueue a trim" in caplog.text


def test_unreachable_datastore_gives_503_without_a_trace(client, monkeypatch):
    # Mock: the testbed's datastore stub runs in-process and cannot go down.
    def unreachable(*args, **kwargs):
        raise datastore_errors.Timeout("datastore is down")

    monkeypatch.setattr(ndb.Model, "put", unreachable)

    response = client.get("/")

    assert response.status_code == 503
    assert response.mimetype == "text/plain"
    assert "Traceback" not in response.get_data(as_text=True)


def test_import_makes_no_service_call():
    done = subprocess.run(
        [sys.executable, "-B", "-c", "import main; print(main.app.name)"],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"]},  # no project, no API server, no credentials
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "main"


# Properties of the payload path, checked by Hypothesis on generated input.

FIRST = datetime.datetime(1, 1, 1)  # the Datastore's earliest time
LAST = datetime.datetime(9999, 12, 31, 23, 59, 59, 999999)  # and its latest
MICRO = datetime.timedelta(microseconds=1)
# Generated input, not a saved example database, so the tree stays clean.
PROPERTY = settings(
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# Text shaped like a decimal number: where exact parsing has its edge cases.
NUMBERS = st.from_regex(r"\A[+-]?[0-9]{0,14}(\.[0-9]{0,45})?([eE][+-]?[0-9]{1,12})?\Z")
CUTOFFS = st.datetimes(min_value=FIRST, max_value=LAST)
TEXTS = st.one_of(st.text(), NUMBERS, CUTOFFS.map(main.cutoff_text))
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        ["application/x-www-form-urlencoded", "application/json", "text/plain", ""]
    ),
    st.text(st.characters(codec="latin-1", exclude_categories=["Cc"]), max_size=40),
)
BODIES = st.one_of(
    st.binary(max_size=200),
    TEXTS.map(lambda text: urllib.parse.urlencode({"oldest": text}).encode()),
    st.one_of(TEXTS, st.none(), st.integers(), st.floats()).map(
        lambda value: json.dumps({"oldest": value}).encode()
    ),
)


@PROPERTY
@given(TEXTS)
def test_parse_cutoff_returns_the_exact_time_or_raises_value_error(text):
    try:
        when = main.parse_cutoff(text)
    except ValueError:
        return
    assert decimal.Decimal(text) == decimal.Decimal(main.cutoff_text(when))


@PROPERTY
@given(CUTOFFS)
def test_cutoff_text_and_parse_cutoff_round_trip_every_datastore_time(when):
    assert main.parse_cutoff(main.cutoff_text(when)) == when


def seed_times(times):
    """Replace every stored visit with visits at these times, oldest first."""
    ndb.delete_multi(main.Visit.query().fetch(keys_only=True))
    ndb.put_multi([main.Visit(visitor="seed", timestamp=t) for t in times])
    return sorted(times)


def stored_times():
    """Return the stored visits' times, oldest first."""
    return [v.timestamp for v in main.Visit.query().order(main.Visit.timestamp)]


@PROPERTY
@given(CONTENT_TYPES, BODIES)
def test_any_task_body_gets_200_or_400_and_deletes_only_the_oldest(
    client, content_type, body
):
    seeded = seed_times([FIRST, T0 - MICRO, T0, T0 + MICRO, LAST])
    headers = {**QUEUE, "Content-Type": content_type}

    response = client.post("/trim", headers=headers, data=body)

    left = stored_times()
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert left == seeded
    assert left == seeded[len(seeded) - len(left) :]  # only the oldest went
    assert LAST in left  # no cutoff lies past the last time a visit can hold


@PROPERTY
@given(st.datetimes(min_value=FIRST + MICRO, max_value=LAST - MICRO))
def test_a_well_formed_task_deletes_exactly_the_visits_older_than_it(client, cutoff):
    seeded = seed_times([FIRST, cutoff - MICRO, cutoff, cutoff + MICRO, LAST])
    body = {"oldest": main.cutoff_text(cutoff)}

    response = client.post("/trim", headers=QUEUE, data=body)

    assert response.status_code == 200
    assert stored_times() == sorted({t for t in seeded if t >= cutoff})
