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

import dataclasses
import datetime
import decimal
import json
import logging
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from flask import Flask
from google.cloud import ndb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import launch  # the repository's scripts/launch.py: how `make run` starts servers
import main

PROJECT = "unit-tests"
QUEUE = {"X-AppEngine-QueueName": "default"}
T0 = datetime.datetime(2026, 3, 8, 6, 59, 59, 999999, tzinfo=datetime.UTC)
GUNICORN = Path(sys.executable).with_name("gunicorn")  # this stage's environment's


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
    use_settings(monkeypatch, project=PROJECT, tasks_emulator=tasks_emulator)
    queue = main.settings.queue_path
    main.tasks_client().pause_queue(name=queue)  # keep tasks queued to read them
    main.tasks_client().purge_queue(name=queue)
    in_ndb(lambda: ndb.delete_multi(main.Visit.query().fetch(keys_only=True)))
    yield main.app.test_client()
    main.tasks_client.cache_clear()


def use_settings(monkeypatch, **changes):
    """Run the app with some settings changed, and a client made for them."""
    monkeypatch.setattr(main, "settings", dataclasses.replace(main.settings, **changes))
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


def import_main(**env):
    """Import main in a fresh Python with only PATH and env set (no project,
    emulator or credentials); return the finished process."""
    return subprocess.run(
        [sys.executable, "-B", "-c", "import main; print(main.app.name)"],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"], **env},
    )


def test_import_makes_no_service_call():
    done = import_main()

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "main"


def test_visit_is_stored_with_visitor_and_utc_timestamp(client):
    before = datetime.datetime.now(datetime.UTC)
    response = client.get(
        "/",
        headers={"User-Agent": "unit-ua"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    after = datetime.datetime.now(datetime.UTC)

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
    use_settings(monkeypatch, tasks_emulator=f"127.0.0.1:{launch.free_port()}")
    seed(20)

    for _ in range(3):
        client.get("/")

    assert caplog.text.count("Could not enqueue a trim") == 3
    assert not [visit for visit in stored() if visit.trim_cutoff]


def test_queue_that_refuses_leaves_the_page_at_200(client, monkeypatch, caplog):
    use_settings(monkeypatch, tasks_emulator=f"127.0.0.1:{launch.free_port()}")
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


def test_visits_read_back_as_aware_utc(client):
    client.get("/")

    [visit] = stored()
    assert visit.timestamp.tzinfo is not None
    assert visit.timestamp.utcoffset() == datetime.timedelta(0)


def test_settings_come_from_the_environment():
    settings = main.Settings.from_env(
        {
            "GOOGLE_CLOUD_PROJECT": "p",
            "QUEUE_NAME": "q",
            "QUEUE_LOCATION": "europe-west1",
            "TRIM_SLACK": "0",
        }
    )

    assert settings == main.Settings("p", "q", "europe-west1", 0, None)
    assert settings.queue_path == "projects/p/locations/europe-west1/queues/q"
    assert main.Settings.from_env({}).trim_slack == 10


@pytest.mark.parametrize("value", ["", "ten", "-1", "1.5"])
def test_bad_trim_slack_stops_the_app_with_one_line(value):
    done = import_main(TRIM_SLACK=value)

    assert done.returncode == 4  # gunicorn's "App failed to load."
    assert done.stderr == (
        f"Bad configuration: TRIM_SLACK must be a whole number >= 0: {value!r}\n"
    )


def test_bad_trim_slack_stops_gunicorn_at_its_first_worker(tmp_path):
    # app.yaml's entrypoint on a free local port; gunicorn puts its control
    # socket in XDG_RUNTIME_DIR, else in ~/.gunicorn.
    app_yaml = Path(__file__).with_name("app.yaml")
    options = launch.gunicorn_options(app_yaml, launch.free_port())
    process = subprocess.Popen(
        [GUNICORN, *options],
        cwd=Path(__file__).parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={
            "PATH": os.environ["PATH"],
            "PYTHONDONTWRITEBYTECODE": "1",
            "TRIM_SLACK": "ten",
            "XDG_RUNTIME_DIR": str(tmp_path),
        },
    )
    try:
        output = process.communicate(timeout=30)[0]
    finally:
        launch.stop(process)

    lines = output.splitlines()
    workers = (
        int(options[options.index("--workers") + 1]) if "--workers" in options else 1
    )
    booted = sum("Booting worker" in line for line in lines)
    assert process.returncode != 0, output
    assert {line for line in lines if "TRIM_SLACK" in line} == {
        "Bad configuration: TRIM_SLACK must be a whole number >= 0: 'ten'"
    }
    assert "Traceback" not in output
    assert 1 <= booted <= workers, output  # none booted again after the failure


def test_log_lines_are_json_with_severity_message_and_fields():
    record = logging.LogRecord(
        "root", logging.INFO, __file__, 1, "Deleted %d", (2,), None
    )
    record.json_fields = {"ids": [5, 6]}

    line = main.JsonFormatter().format(record)

    assert json.loads(line) == {
        "severity": "INFO",
        "message": "Deleted 2",
        "ids": [5, 6],
    }


def test_unhandled_exception_logs_its_traceback_in_the_message(caplog):
    app = Flask(__name__)  # a throwaway app, so main keeps only its real routes

    @app.route("/boom")
    def boom():
        return str(1 // 0)

    response = app.test_client().get("/boom")

    assert response.status_code == 500
    [record] = [r for r in caplog.records if r.exc_info]
    line = main.JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["severity"] == "ERROR"
    summary, trace = entry["message"].split("\n", 1)
    assert summary == "Exception on /boom [GET]"
    assert trace.startswith("Traceback (most recent call last):\n")
    assert ", in boom\n" in trace
    assert trace.endswith("\nZeroDivisionError: integer division or modulo by zero")


def test_trim_logs_the_deleted_ids_as_a_field(client, caplog):
    visits = seed(3)
    caplog.set_level("INFO")

    client.post(
        "/trim",
        headers=QUEUE,
        data={"oldest": main.cutoff_text(visits[2].timestamp)},
    )

    [record] = [r for r in caplog.records if r.getMessage().startswith("Deleted")]
    ids = [visit.key.id() for visit in visits[:2]]
    assert record.json_fields == {"cutoff": visits[2].timestamp.isoformat(), "ids": ids}


# Properties of the payload path, checked by Hypothesis on generated input.

UTC = datetime.UTC
FIRST = datetime.datetime(1, 1, 1, tzinfo=UTC)  # the Datastore's earliest time
LAST = datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)  # its latest
MICRO = datetime.timedelta(microseconds=1)
# Generated input, not a saved example database, so the tree stays clean.
PROPERTY = settings(
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# Text shaped like a decimal number: where exact parsing has its edge cases.
NUMBERS = st.from_regex(r"\A[+-]?[0-9]{0,14}(\.[0-9]{0,45})?([eE][+-]?[0-9]{1,12})?\Z")


def utc_datetimes(first=FIRST, last=LAST):
    """Generate aware UTC datetimes from first to last."""
    bounds = {
        "min_value": first.replace(tzinfo=None),
        "max_value": last.replace(tzinfo=None),
    }
    return st.datetimes(**bounds, timezones=st.just(UTC))


CUTOFFS = utc_datetimes()
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
@given(utc_datetimes(FIRST + MICRO, LAST - MICRO))
def test_a_well_formed_task_deletes_exactly_the_visits_older_than_it(client, cutoff):
    seeded = seed_times([FIRST, cutoff - MICRO, cutoff, cutoff + MICRO, LAST])
    body = {"oldest": main.cutoff_text(cutoff)}

    response = client.post("/trim", headers=QUEUE, data=body)

    assert response.status_code == 200
    assert stored_times() == sorted({t for t in seeded if t >= cutoff})
