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

"""The stages' own code, for the notebooks: no copies, so nothing can drift.

load() imports a stage's main.py. BundledApp runs mod7's app in-process on
the App Engine testbed's local stubs (datastore, task queue), offline, and
delivers its queued push tasks to /trim the way the queue does.
"""

import contextlib
import importlib.util
import logging
import os
import sys
import urllib.parse
from concurrent import futures
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QUEUE_HEADER = {"X-AppEngine-QueueName": "default"}


def load(stage):
    """Import STAGE/main.py (every stage names it main) as STAGE_main."""
    name = stage.replace("-", "_") + "_main"
    if stage == "mod7-gaetasks":
        keep_kernel_threads_working()
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / stage / "main.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def keep_kernel_threads_working():
    """Stop wrap_wsgi_app() from hooking new threads, inside a Jupyter kernel.

    wrap_wsgi_app() hooks thread creation so that threads a request starts
    inherit App Engine's per-request state. The hook breaks the threads a
    Jupyter kernel starts while it runs a cell, and the kernel hangs. The
    testbed's stubs run in-process and need no such state, so the notebooks
    leave the hook out; mod7's unit tests and dev_appserver keep it.
    """
    from google.appengine.runtime import initialize

    initialize.InitializeThreadingApis = lambda: None


def share_environment_with_sdk_threads():
    """Give the threads that make route A's Cloud Tasks calls this thread's
    os.environ, as the thread hook left out above would.

    With APPENGINE_USE_CLOUDTASK_PUSH_QUEUE on, the SDK calls Cloud Tasks from
    a thread pool of its own; there, without the hook, os.environ is empty, and
    the SDK would find no project and ask the metadata server for the region.
    """
    from google.appengine.api.taskqueue import cloudtask
    from google.appengine.runtime import request_environment

    copy = request_environment.current_request.CloneRequestEnvironment()
    cloudtask._THREAD_POOL = futures.ThreadPoolExecutor(1, initializer=copy)


@contextlib.contextmanager
def quiet():
    """Hide the app's INFO log lines (for runs of many page views)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.setLevel(level)


class BundledApp:
    """mod7-gaetasks on fresh testbed stubs: a test client plus its queue."""

    def __init__(self, trim_slack=10):
        from google.appengine.datastore import datastore_stub_util
        from google.appengine.ext import ndb, testbed

        self.main = load("mod7-gaetasks")
        self.main.TRIM_SLACK = trim_slack
        self.bed = testbed.Testbed()
        self.bed.activate()
        policy = datastore_stub_util.PseudoRandomHRConsistencyPolicy(probability=1)
        self.bed.init_datastore_v3_stub(consistency_policy=policy)
        self.bed.init_memcache_stub()
        self.bed.init_taskqueue_stub(root_path=str(REPO / "mod7-gaetasks"))
        ndb.get_context().clear_cache()
        self.queue = self.bed.get_stub(testbed.TASKQUEUE_SERVICE_NAME)
        self.client = self.main.app.test_client()
        # wrap_wsgi_app rebuilds os.environ per request from the WSGI environ.
        self.client.environ_base["APPLICATION_ID"] = os.environ["APPLICATION_ID"]

    def close(self):
        """Stop the stubs."""
        self.bed.deactivate()

    def visit(self, user_agent="notebook"):
        """GET / once; return the page's HTML."""
        return self.client.get("/", headers={"User-Agent": user_agent}).get_data(
            as_text=True
        )

    def pending(self):
        """Return the queued trim tasks, oldest first."""
        return self.queue.get_filtered_tasks(url="/trim")

    def deliver(self, tasks=None):
        """Deliver tasks (default: all queued) to /trim; return the answers."""
        tasks = self.pending() if tasks is None else tasks
        self.queue.FlushQueue("default")
        return [self.post_task(task) for task in tasks]

    def post_task(self, task):
        """POST one task's payload to /trim with the queue's header."""
        fields = dict(urllib.parse.parse_qsl(task.payload.decode()))
        response = self.client.post("/trim", data=fields, headers=QUEUE_HEADER)
        return response.get_data(as_text=True).strip()

    def stored(self):
        """Return the stored visits, oldest first."""
        visit = self.main.Visit
        return visit.query().order(visit.timestamp).fetch()
