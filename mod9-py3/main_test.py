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
real local emulators: the Datastore emulator from the Google Cloud CLI, and the
Cloud Tasks emulator from the repository's .venv/tasks-emulator (`make test`
installs it). A queue that refuses is a real closed port, not a mock.
"""

import contextlib
import dataclasses
import datetime
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from google.cloud import ndb

import main

PROJECT = "unit-tests"
QUEUE = {"X-AppEngine-QueueName": "default"}
T0 = datetime.datetime(2026, 3, 8, 6, 59, 59, 999999, tzinfo=datetime.UTC)
REPO = Path(__file__).resolve().parent.parent
TASKS_PYTHON = REPO / ".venv" / "tasks-emulator" / "bin" / "python"


def free_port():
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(port, process):
    """Wait until the server on port answers HTTP (any status)."""
    for _ in range(300):
        assert process.poll() is None, "the server stopped during start"
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing answered on port {port}")


def stop(process):
    """Stop a server and its process group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    process.wait(15)


@pytest.fixture(scope="session")
def datastore():
    """Run the Datastore emulator in Firestore-in-Datastore mode for the tests."""
    port = free_port()
    process = subprocess.Popen(
        [
            "gcloud",
            "beta",
            "emulators",
            "datastore",
            "start",
            "--no-store-on-disk",
            "--use-firestore-in-datastore-mode",
            f"--host-port=127.0.0.1:{port}",
            f"--project={PROJECT}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_until_ready(port, process)
    os.environ["DATASTORE_EMULATOR_HOST"] = f"127.0.0.1:{port}"
    os.environ["GOOGLE_CLOUD_PROJECT"] = PROJECT
    yield port
    with contextlib.suppress(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/shutdown", b"", timeout=5)
    stop(process)


@pytest.fixture(scope="session")
def tasks_emulator():
    """Run the Cloud Tasks emulator with the app's queue; return its address."""
    if not TASKS_PYTHON.exists():
        pytest.fail("no .venv/tasks-emulator: run these tests with `make test`")
    port, script = free_port(), REPO / "scripts" / "tasks_emulator.py"
    process = subprocess.Popen(
        [
            TASKS_PYTHON,
            script,
            "serve",
            f"--port={port}",
            f"--target-port={free_port()}",
            "--max-attempts=1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    queue = f"projects/{PROJECT}/locations/us-central1/queues/default"
    subprocess.run(
        [TASKS_PYTHON, script, "create-queue", f"--port={port}", f"--queue={queue}"],
        check=True,
        stderr=subprocess.DEVNULL,
    )
    yield f"127.0.0.1:{port}"
    stop(process)


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


def test_task_is_an_app_engine_request_with_the_exact_cutoff_as_json(client):
    visits = seed(20)

    client.get("/")

    [task] = queued()
    request = task.app_engine_http_request
    assert request.relative_uri == "/trim"
    assert request.headers["Content-Type"] == "application/json"
    oldest = visits[11].timestamp  # 10 shown: this visit and seeds 19..11
    assert request.body == f'{{"oldest": "{main.cutoff_text(oldest)}"}}'.encode()


def test_queue_that_refuses_leaves_the_page_at_200(client, monkeypatch, caplog):
    use_settings(monkeypatch, tasks_emulator=f"127.0.0.1:{free_port()}")
    seed(20)

    response = client.get("/")

    assert response.status_code == 200
    assert "Deleting visits older than" not in response.get_data(as_text=True)
    assert "Could not enqueue a trim" in caplog.text


def test_trim_deletes_strictly_older_and_is_idempotent(client):
    visits = seed(3)
    body = {"oldest": main.cutoff_text(visits[1].timestamp)}

    first = client.post("/trim", json=body, headers=QUEUE)
    second = client.post("/trim", json=body, headers=QUEUE)

    assert first.get_data(as_text=True) == "Deleted 1 visits.\n"
    assert second.get_data(as_text=True) == "Deleted 0 visits.\n"
    remaining = [visit.visitor for visit in stored()]
    assert remaining == ["seed 1", "seed 2"]


def test_trim_deletes_in_batches_of_at_most_500(client, caplog):
    seed(1201)
    caplog.set_level("INFO")
    cutoff = T0 + datetime.timedelta(microseconds=1200)

    response = client.post(
        "/trim", headers=QUEUE, json={"oldest": main.cutoff_text(cutoff)}
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
        {"json": {}},
        {"json": {"oldest": 1795738176}},
        {"json": ["1795738176"]},
        {"json": {"oldest": "NaN"}},
        {"data": "{broken", "content_type": "application/json"},
        {"data": {"oldest": "1795738176"}},
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

    response = client.post("/trim", json={"oldest": "4102444800"})

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
    monkeypatch.setenv("DATASTORE_EMULATOR_HOST", f"127.0.0.1:{free_port()}")

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

    assert done.returncode == 1
    assert done.stderr == (
        f"Bad configuration: TRIM_SLACK must be a whole number >= 0: {value!r}\n"
    )


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


def test_trim_logs_the_deleted_ids_as_a_field(client, caplog):
    visits = seed(3)
    caplog.set_level("INFO")

    client.post(
        "/trim",
        headers=QUEUE,
        json={"oldest": main.cutoff_text(visits[2].timestamp)},
    )

    [record] = [r for r in caplog.records if r.getMessage().startswith("Deleted")]
    ids = [visit.key.id() for visit in visits[:2]]
    assert record.json_fields == {"cutoff": visits[2].timestamp.isoformat(), "ids": ids}
