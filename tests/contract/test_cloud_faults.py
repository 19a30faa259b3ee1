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

"""SPEC items 5 and 6 with real outages, on the Cloud stages: their emulators
run as processes of their own, so a test can stop one and start it again.

(mod7's datastore and queue live inside dev_appserver, which cannot lose one
without the other; its unit tests and test_queue_down.py cover it.)
"""

import datetime
import socket
import subprocess
import time
import urllib.request

import pytest

import launch
from stage import PROJECT, page_cutoff

OLD = datetime.datetime(2026, 1, 1)


@pytest.fixture(scope="module")
def stage(start_stage, cloud_stage_info):
    """A Cloud stage of its own, since these tests stop its servers."""
    return start_stage(cloud_stage_info, label="faults")


def listening(port):
    """Say whether something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.spec(5)
def test_page_stays_up_while_the_queue_is_down_and_trims_resume(stage):
    stage.storage.clear()
    stage.storage.put([OLD + datetime.timedelta(seconds=i) for i in range(25)])
    subprocess.run(
        ["pkill", "-f", f"tasks_emulator.py serve --port={stage.tasks_port}"]
    )
    assert stage.wait_for(lambda: not listening(stage.tasks_port))

    mark = stage.log_mark()

    down = stage.visit("while-queue-down")

    assert down.status_code == 200
    assert page_cutoff(down.text) is None
    refused = "Could not enqueue a trim"
    assert refused in stage.log_since(mark, until=refused)
    assert stage.storage.count() == 26

    app_port = int(stage.url.rsplit(":", 1)[1])
    restarted = launch.start_tasks_emulator(stage.tasks_port, app_port)
    try:
        launch.create_queue(stage.tasks_port, stage.queue)
        # The app's gRPC channel reconnects by itself, after a short backoff.
        assert stage.wait_for(
            lambda: page_cutoff(stage.visit("after-queue-back").text) is not None,
            timeout=60,
        )
        settled = stage.wait_for(lambda: stage.storage.count() <= 20, timeout=30)
        assert settled, f"{stage.storage.count()} visits stored once trims resumed"
    finally:
        launch.stop(restarted)


@pytest.mark.spec(6)
def test_stopped_datastore_gives_503_then_recovers_without_a_restart(stage):
    urllib.request.urlopen(f"http://{stage.datastore}/shutdown", b"", timeout=10)
    assert stage.wait_for(lambda: not listening(int(stage.datastore.split(":")[1])))

    started = time.monotonic()
    response = stage.visit("while-datastore-down")

    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text.count("\n") == 1 and len(response.text) < 120
    assert "Traceback" not in response.text
    assert time.monotonic() - started < 30

    # Back on the same port: the app recovers by itself, with no restart.
    port = int(stage.datastore.split(":")[1])
    restarted = launch.start_datastore_emulator(port, PROJECT)
    try:
        back = stage.wait_for(
            lambda: stage.visit("datastore-back").status_code == 200, timeout=90
        )
        assert back, "the page did not recover once the datastore was back"
    finally:
        launch.stop_datastore_emulator(restarted, port)
