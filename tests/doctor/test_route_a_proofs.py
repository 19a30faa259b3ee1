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

"""What scripts/doctor says of route A, executed in appengine-python-standard.

route_a_probe.py runs in mod7's virtual environment (the SDK, 3.1.0; `make
unit` builds it before `make tooling` runs these). The emulator test adds
tasks with APPENGINE_USE_CLOUDTASK_PUSH_QUEUE=true through the local Cloud
Tasks emulator to a recording handler; the others go through the SDK's own
request builder, or the testbed's Datastore stub for transactions (no server
runs transactions and Cloud Tasks together here).
"""

import http.server
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
from test_doctor import BY_SLUG_TEXT, KINDS, REPO

import launch
import stages

PROBE = Path(__file__).resolve().parent / "route_a_probe.py"
HOOK = REPO / "scripts" / "route_a"
MOD7_PYTHON = stages.load("mod7-gaetasks").venv / "bin" / "python"
PROJECT, LOCATION = "doctor-probe", "us-central1"

pytestmark = pytest.mark.skipif(
    not MOD7_PYTHON.exists(), reason="mod7's venv is missing: run `make unit` first"
)


def probe(name, **env):
    """Run one probe in mod7's Python; return its JSON output."""
    done = subprocess.run(
        [str(MOD7_PYTHON), str(PROBE), name],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(HOOK),
            "GOOGLE_CLOUD_PROJECT": PROJECT,
            "LOCATION_ID": LOCATION,
            # No request: the SDK would look for the metadata server otherwise.
            "CLOUD_TASKS_EMULATOR_HOST": env.pop("emulator", "127.0.0.1:9"),
            # Should anything look for credentials, it asks a closed local port.
            "GCE_METADATA_HOST": "127.0.0.1:9",
            "GCE_METADATA_IP": "127.0.0.1:9",
            **env,
        },
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def built():
    """What the SDK's request builder makes of each option."""
    return probe("builder")


def test_a_task_with_no_url_goes_to_slash(built):
    assert built["no_url"]["uri"] == "/"
    assert built["get_no_url"]["uri"] == "?a=1"
    assert "task.url or '/'" in BY_SLUG_TEXT["no_url"]


def test_the_namespace_header_is_set_then_dropped(built):
    assert built["namespace_set"] == "tenant"
    assert not [h for h in built["namespace"]["headers"] if "namespace" in h.lower()]


def test_the_dispatch_deadline_is_validated_then_dropped(built):
    assert built["small_deadline"] == "InvalidDispatchDeadlineError"
    assert "dispatch_deadline" not in built["deadline"]["keys"]
    assert "validated, then dropped" in BY_SLUG_TEXT["dispatch_deadline"]


def test_default_app_version_goes_to_the_enqueuing_version(built):
    assert built["default_version"]["routing"] == {
        "service": "enqueuer",
        "version": "v7",
    }


def test_app_engine_and_google_headers_are_dropped_and_lists_kept(built):
    assert built["headers"]["headers"] == {"X-Mine": "3"}
    assert built["list_header"]["headers"] == {"X-List": ["a", "b"]}


def test_retry_options_become_the_task_s_retry_config(built):
    assert built["retry"]["retry_config"] == {"max_attempts": 5}
    assert "retry_config" in built["task_fields"]


def test_only_true_in_any_case_turns_the_flag_on(built):
    assert built["flag"] == {
        "true": True,
        "TRUE": True,
        "True": True,  # what gcloud sends for an unquoted true in app.yaml
        "1": False,
        "yes": False,
        "": False,
    }


def test_transactional_tasks_need_xg_and_stop_at_five():
    result = probe("transactions")

    assert result["not_xg"]["error"] == "BadRequestError"
    assert "xg=True" in result["not_xg"]["message"]
    assert all(name.startswith("tx-") for name in result["xg_five"]["names"])
    assert len(result["xg_five"]["names"]) == 5
    assert result["xg_six"]["added"] == 5 and result["xg_six"]["stage"] == "add"
    assert "maximum allowed 5" in result["xg_six"]["message"]
    # The testbed's legacy stub fails at the sixth add too (docs/DOCTOR.md).
    assert result["legacy_six"]["added"] == 5 and result["legacy_six"]["stage"] == "add"
    text = BY_SLUG_TEXT["transactional"]
    assert "xg=True" in text and "more than 5" in text and "tx-<uuid>" in text


class Recorder(http.server.BaseHTTPRequestHandler):
    """Record each task the emulator delivers: its path and headers."""

    seen = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        self.seen.append(
            {"path": self.path, "headers": dict(self.headers), "body": body}
        )
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        """Stay quiet."""


@pytest.fixture(scope="module")
def emulator():
    """A Cloud Tasks emulator on loopback, delivering to a recording handler."""
    app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    port = launch.free_port()
    tasks_python = str(launch.tasks_python())
    script = str(REPO / "scripts" / "tasks_emulator.py")
    server = subprocess.Popen(
        [tasks_python, script, "serve", "--port", str(port)]
        + ["--target-port", str(app.server_address[1])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        queue = f"projects/{PROJECT}/locations/{LOCATION}/queues/default"
        subprocess.run(
            [tasks_python, script, "create-queue", "--port", str(port)]
            + ["--queue", queue],
            check=True,
            timeout=60,
        )
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        app.shutdown()


@pytest.mark.servers
def test_through_the_emulator_no_url_goes_to_slash_in_the_default_namespace(emulator):
    Recorder.seen = []
    probe("emulator", emulator=emulator)
    deadline = time.monotonic() + 20
    while len(Recorder.seen) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    by_body = {
        ("no-url" if "no-url" in s["body"] else s["path"]): s for s in Recorder.seen
    }

    assert by_body["no-url"]["path"] == "/"
    for delivered in Recorder.seen:
        names = {name.lower() for name in delivered["headers"]}
        assert "x-appengine-current-namespace" not in names
    assert "/namespaced" in by_body and "/deadline" in by_body


@pytest.mark.servers
def test_queue_wide_calls_go_to_cloud_tasks_and_pull_calls_stay(emulator):
    reached = probe("backends", emulator=emulator)
    services = {call: result["service"] for call, result in reached.items()}

    assert services == {
        "purge": "cloud tasks",
        "purge_pull": "cloud tasks",
        "statistics": "cloud tasks",
        "delete_by_name_pull": "cloud tasks",
        "delete_pull_tasks": "legacy",
        "pull_add": "legacy",
        "lease": "legacy",
        "modify_lease": "legacy",
        "batch_add": "cloud tasks",
    }
    # The emulator has no BatchCreateTasks, BatchDeleteTasks or v2beta3 API.
    assert "501" in reached["batch_add"]["error"]
    for slug in ("pull", "lease", "modify_lease"):
        assert KINDS[slug] == "legacy"
    for slug in ("purge", "statistics", "delete_tasks", "batch_add"):
        assert KINDS[slug] == "differs"
    assert "pull queues too" in BY_SLUG_TEXT["purge"]
    assert "even for a pull queue" in BY_SLUG_TEXT["delete_tasks"]
