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

"""Unit tests for main.py, on the Datastore and Cloud Tasks emulators.

Cloud NDB and Cloud Tasks have no in-process stubs, so these tests start the
real local emulators, started by the same helpers as `make run`
(scripts/launch.py): the Datastore emulator from the Google Cloud CLI, and the
Cloud Tasks emulator in the repository's .venv/tasks-emulator. A queue that
refuses is a real closed port, not a mock.
"""

import datetime
import decimal
import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from google.cloud import ndb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import launch  # the repository's scripts/launch.py: how `make run` starts servers
import main

PROJECT = "unit-tests"
QUEUE = {"X-AppEngine-QueueName": "default"}
T0 = datetime.datetime(2026, 3, 8, 6, 59, 59, 999999)


@pytest.fixture(scope="session")
def datastore():
    """Run the Datastore emulator in Firestore-in-Datastore mode for the tests."""
    port = launch.free_port()
    process = launch.start_datastore_emulator(port, PROJECT)
    try:
        launch.wait_for_http(f"http://127.0.0.1:{port}/", process, 60)
        os.environ["DATASTORE_EMULATOR_HOST"] = f"127.0.0.1:{port}"
        os.environ["GOOGLE_CLOUD_PROJECT"] = PROJECT
        yield port
    finally:
        launch.stop_datastore_emulator(process, port)


@pytest.fixture(scope="session")
def tasks_emulator():
    """Run the Cloud Tasks emulator with the app's queue; return its address."""
    port = launch.free_port()
    process = launch.start_tasks_emulator(port, app_port=launch.free_port())
    try:
        queue = f"projects/{PROJECT}/locations/us-central1/queues/default"
        launch.create_queue(port, queue)
        yield f"127.0.0.1:{port}"
    finally:
        launch.stop(process)


@pytest.fixture
def client(datastore, tasks_emulator, monkeypatch):
    """A Flask test client for the app, on an empty datastore and queue."""
    monkeypatch.setattr(main, "PROJECT", PROJECT)
    monkeypatch.setenv("CLOUD_TASKS_EMULATOR_HOST", tasks_emulator)
    main.tasks_client.cache_clear()
    queue = main.tasks_v2.CloudTasksClient.queue_path(PROJECT, "us-central1", "default")
    main.tasks_client().pause_queue(name=queue)  # keep tasks queued to read them
    main.tasks_client().purge_queue(name=queue)
    in_ndb(lambda: ndb.delete_multi(main.Visit.query().fetch(keys_only=True)))
    yield main.app.test_client()
    main.tasks_client.cache_clear()


def in_ndb(function, *args):
    """Run function in a Cloud NDB context of the test's own, outside requests."""
    with ndb.Client().context(cache_policy=False):
        return function(*args)


def stored():
    """Return the stored visits, oldest first."""
    return in_ndb(lambda: main.Visit.query().order(main.Visit.timestamp).fetch())


def queued(queue_name="default"):
    """Return the trim tasks waiting in a queue, oldest first."""
    path = main.tasks_v2.CloudTasksClient.queue_path(PROJECT, "us-central1", queue_name)
    return list(main.tasks_client().list_tasks(parent=path))


def seed(count, start=T0):
    """Store count visits one microsecond apart, oldest first; return them."""
    visits = [
        main.Visit(
            visitor=f"seed {i}", timestamp=start + datetime.timedelta(microseconds=i)
        )
        for i in range(count)
    ]
    in_ndb(ndb.put_multi, visits)
    return visits


def test_import_makes_no_service_call():
    done = subprocess.run(
        [sys.executable, "-B", "-c", "import main; print(main.app.name)"],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"]},  # no project, no emulator, no credentials
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "main"


def test_visit_is_stored_with_visitor_and_utc_timestamp(client):
    before = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    response = client.get(
        "/",
        headers={"User-Agent": "unit-ua"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    after = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)

    assert response.status_code == 200
    [visit] = stored()
    assert visit.visitor == "203.0.113.9: unit-ua"
    assert before <= visit.timestamp <= after


@pytest.mark.parametrize("stored, enqueued", [(19, False), (20, True)])
def test_trim_is_enqueued_only_when_query_comes_back_full(client, stored, enqueued):
    seed(stored)

    page = client.get("/").get_data(as_text=True)

    assert ("Deleting visits older than" in page) == enqueued
    assert len(queued()) == int(enqueued)


def test_task_is_an_app_engine_request_with_the_exact_cutoff_as_a_form(client):
    visits = seed(20)

    client.get("/")

    [task] = queued()
    request = task.app_engine_http_request
    assert request.relative_uri == "/trim"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    oldest = visits[11].timestamp  # 10 shown: this visit and seeds 19..11
    assert request.body == f"oldest={main.cutoff_text(oldest)}".encode()
    # No routing: the version that is the default when the task runs does it.
    routing = request.app_engine_routing
    assert (routing.service, routing.version) == ("", "")


def test_the_visit_that_enqueues_a_trim_carries_its_cutoff(client):
    visits = seed(20)

    client.get("/", headers={"User-Agent": "the-trigger"})

    [marked] = [visit for visit in stored() if visit.trim_cutoff]
    assert marked.visitor.endswith("the-trigger")
    assert marked.trim_cutoff == visits[11].timestamp


def test_no_trim_while_one_of_the_slack_plus_one_newest_waits_for_its_own(client):
    seed(20)
    client.get("/")  # enqueues; the queue holds the task
    for _ in range(10):  # the mark stays among the 11 newest
        client.get("/")

    assert len(queued()) == 1
    client.get("/")  # the 12th: the mark is 12th newest now
    assert len(queued()) == 2


def test_a_refused_trim_leaves_no_mark_so_the_next_page_tries_again(
    client, monkeypatch, caplog
):
    monkeypatch.setenv("CLOUD_TASKS_EMULATOR_HOST", f"127.0.0.1:{launch.free_port()}")
    main.tasks_client.cache_clear()
    seed(20)

    for _ in range(3):
        client.get("/")

    assert caplog.text.count("Could not enqueue a trim") == 3
    assert not [visit for visit in stored() if visit.trim_cutoff]


def test_queue_that_refuses_leaves_the_page_at_200(client, monkeypatch, caplog):
    monkeypatch.setenv("CLOUD_TASKS_EMULATOR_HOST", f"127.0.0.1:{launch.free_port()}")
    main.tasks_client.cache_clear()
    seed(20)

    response = client.get("/")

    assert response.status_code == 200
    assert "Deleting visits older than" not in response.get_data(as_text=True)
    assert "Could not enqueue a trim" in caplog.text


def test_trim_deletes_strictly_older_and_is_idempotent(client):
    visits = seed(3)
    body = {"oldest": main.cutoff_text(visits[1].timestamp)}

    first = client.post("/trim", data=body, headers=QUEUE)
    second = client.post("/trim", data=body, headers=QUEUE)

    assert first.get_data(as_text=True) == "Deleted 1 visits.\n"
    assert second.get_data(as_text=True) == "Deleted 0 visits.\n"
    remaining = [visit.visitor for visit in stored()]
    assert remaining == ["seed 1", "seed 2"]


def test_trim_deletes_in_batches_of_at_most_500(client, caplog):
    seed(1201)
    caplog.set_level("INFO")
    cutoff = T0 + datetime.timedelta(microseconds=1200)

    response = client.post(
        "/trim", headers=QUEUE, data={"oldest": main.cutoff_text(cutoff)}
    )

    assert response.get_data(as_text=True) == "Deleted 1200 visits.\n"
    batches = [
        r.getMessage().split()[1]
        for r in caplog.records
        if r.getMessage().startswith("Deleted ")
    ]
    assert batches == ["500", "500", "200"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": {}},
        {"data": {"oldest": "soon"}},
        {"data": {"oldest": "nan"}},
        {"data": {"oldest": "inf"}},
        {"data": {"oldest": "1e300"}},
        {"json": {"oldest": "1795738176"}},
    ],
)
def test_malformed_task_gets_400_and_deletes_nothing(client, kwargs):
    seed(3)

    response = client.post("/trim", headers=QUEUE, **kwargs)

    assert response.status_code == 400
    assert response.get_data(as_text=True).startswith("Bad request: ")
    assert len(stored()) == 3


def test_trim_from_outside_the_queue_is_forbidden(client):
    seed(3)

    response = client.post("/trim", data={"oldest": "4102444800"})

    assert response.status_code == 403
    assert len(stored()) == 3


def test_long_user_agent_is_cut_on_a_character_boundary(client):
    agent = "é" * 1000

    response = client.get(
        "/",
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
        headers={"User-Agent": agent.encode().decode("latin-1")},
    )

    assert response.status_code == 200
    [visit] = stored()
    assert visit.visitor == "203.0.113.9: " + "é" * 743


def test_unreachable_datastore_gives_503_without_a_trace(monkeypatch):
    # A real refusal: a Cloud NDB client aimed at a port where nothing listens.
    monkeypatch.setenv("DATASTORE_EMULATOR_HOST", f"127.0.0.1:{launch.free_port()}")

    with ndb.Client(project=PROJECT).context(), main.app.test_request_context("/"):
        response = main.app.full_dispatch_request()

    assert response.status_code == 503
    assert response.mimetype == "text/plain"
    assert "Traceback" not in response.get_data(as_text=True)


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

    def replace():
        ndb.delete_multi(main.Visit.query().fetch(keys_only=True))
        ndb.put_multi([main.Visit(visitor="seed", timestamp=t) for t in times])

    in_ndb(replace)
    return sorted(times)


def stored_times():
    """Return the stored visits' times, oldest first."""
    return [visit.timestamp for visit in stored()]


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
