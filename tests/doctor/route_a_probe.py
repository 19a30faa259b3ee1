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

"""Run route A's calls in the SDK itself and print what they did, as JSON.

Usage (with mod7's Python, which has appengine-python-standard 3.1.0):
    python tests/doctor/route_a_probe.py builder|emulator|backends|transactions

Not a test: tests/doctor/test_route_a_proofs.py runs it in mod7's virtual
environment and checks its output against what scripts/doctor says.
`builder` passes tasks through the SDK's own request builder
(cloudtask._build_ct_task_payload), with no server. `emulator` adds tasks
with APPENGINE_USE_CLOUDTASK_PUSH_QUEUE=true; CLOUD_TASKS_EMULATOR_HOST and
scripts/route_a on PYTHONPATH send them to the local Cloud Tasks emulator.
`backends` shows which service each queue-wide and pull call reaches (against
the emulator). `transactions` adds transactional tasks on the App Engine
testbed's Datastore stub, with the flag on.
"""

import json
import os
import sys

os.environ.setdefault("APPLICATION_ID", "dev~doctor-probe")
os.environ.setdefault("GOOGLE_CLOUD_PROJECT", "doctor-probe")
os.environ.setdefault("LOCATION_ID", "us-central1")
os.environ["APPENGINE_USE_CLOUDTASK_PUSH_QUEUE"] = "true"

from google.appengine.api import namespace_manager, taskqueue  # noqa: E402
from google.appengine.api.taskqueue import cloudtask  # noqa: E402
from google.cloud import tasks_v2  # noqa: E402


def built(task):
    """Return the Cloud Tasks request the SDK builds for a task."""
    client = tasks_v2.CloudTasksClient
    request = cloudtask._build_ct_task_payload(
        "default", task, client, "doctor-probe", "us-central1"
    )
    http = request["app_engine_http_request"]
    return {
        "uri": http["relative_uri"],
        "headers": {key: value for key, value in http["headers"].items()},
        "routing": http.get("app_engine_routing", {}),
        "keys": sorted(request),
        "retry_config": {
            key: value
            for key, value in request.get("retry_config", {}).items()
            if key == "max_attempts"
        },
    }


def flag(value):
    """Return whether the SDK turns route A on for this flag value."""
    os.environ["APPENGINE_USE_CLOUDTASK_PUSH_QUEUE"] = value
    try:
        return cloudtask.is_cloudtask_push_queue_enabled()
    finally:
        os.environ["APPENGINE_USE_CLOUDTASK_PUSH_QUEUE"] = "true"


def builder():
    """What the request builder does with each option the doctor flags."""
    namespace_manager.set_namespace("tenant")
    in_namespace = taskqueue.Task(url="/work", params={"a": "1"})
    namespace_manager.set_namespace("")
    try:
        taskqueue.Task(url="/w", dispatch_deadline_usec=1)
        small_deadline = "accepted"
    except taskqueue.InvalidDispatchDeadlineError:
        small_deadline = "InvalidDispatchDeadlineError"
    os.environ.update(GAE_SERVICE="enqueuer", GAE_VERSION="v7")
    return {
        "no_url": built(taskqueue.Task(params={"a": "1"})),
        "get_no_url": built(taskqueue.Task(params={"a": "1"}, method="GET")),
        "namespace_set": in_namespace.headers.get("X-AppEngine-Current-Namespace"),
        "namespace": built(in_namespace),
        "deadline": built(taskqueue.Task(url="/w", dispatch_deadline_usec=60 * 10**6)),
        "small_deadline": small_deadline,
        "default_version": built(
            taskqueue.Task(url="/w", target=taskqueue.DEFAULT_APP_VERSION)
        ),
        "headers": built(
            taskqueue.Task(
                url="/w",
                headers={"X-AppEngine-Foo": "1", "X-Google-Bar": "2", "X-Mine": "3"},
            )
        ),
        "list_header": built(taskqueue.Task(url="/w", headers={"X-List": ["a", "b"]})),
        "flag": {
            value: flag(value) for value in ("true", "TRUE", "True", "1", "yes", "")
        },
        "retry": built(
            taskqueue.Task(
                url="/w", retry_options=taskqueue.TaskRetryOptions(task_retry_limit=4)
            )
        ),
        "task_fields": sorted(tasks_v2.Task.meta.fields),
    }


def emulator():
    """Add tasks through the emulator: its handler records what arrives."""
    namespace_manager.set_namespace("tenant")
    taskqueue.add(params={"task": "no-url"})
    taskqueue.add(url="/namespaced", params={"task": "namespaced"})
    namespace_manager.set_namespace("")
    taskqueue.add(url="/deadline", dispatch_deadline_usec=60 * 10**6)
    return {"added": 3}


def outcome(call):
    """Run a call; return which service answered, as the error shows it."""
    try:
        call()
    except Exception as err:  # noqa: BLE001 - the probe reports any error
        text = f"{type(err).__name__}: {err}"
        legacy = "No api proxy found for service" in text
        return {"service": "legacy" if legacy else "cloud tasks", "error": text[:300]}
    return {"service": "cloud tasks", "error": None}


def emulator_v2beta3():
    """Point the SDK's v2beta3 client (statistics only) at the emulator too:
    scripts/route_a/sitecustomize.py redirects only the v2 client."""
    import grpc
    from google.cloud import tasks_v2beta3
    from google.cloud.tasks_v2beta3.services.cloud_tasks import transports

    address = os.environ["CLOUD_TASKS_EMULATOR_HOST"]

    class EmulatorClient(tasks_v2beta3.CloudTasksClient):
        """A v2beta3 client on an insecure channel to the emulator."""

        def __init__(self):
            channel = grpc.insecure_channel(address)
            super().__init__(
                transport=transports.CloudTasksGrpcTransport(channel=channel)
            )

    tasks_v2beta3.CloudTasksClient = EmulatorClient


def backends():
    """Which service each queue-wide or pull call goes to, with the flag on.

    No Task Queue API stub is registered in this process, so a call that goes
    to the legacy service fails with "No api proxy found"; one that goes to
    Cloud Tasks reaches the emulator (or its error names it).
    """
    emulator_v2beta3()
    pull = taskqueue.Queue("pullq")
    push = taskqueue.Queue("default")
    leased = taskqueue.Task(payload="x", method="PULL", name="leased")
    return {
        "purge": outcome(push.purge),
        "purge_pull": outcome(pull.purge),
        "statistics": outcome(push.fetch_statistics),
        "delete_by_name_pull": outcome(lambda: pull.delete_tasks_by_name("gone")),
        "delete_pull_tasks": outcome(lambda: pull.delete_tasks(leased)),
        "pull_add": outcome(
            lambda: pull.add(taskqueue.Task(payload="x", method="PULL"))
        ),
        "lease": outcome(lambda: pull.lease_tasks(60, 10)),
        "modify_lease": outcome(lambda: pull.modify_task_lease(leased, 60)),
        "batch_add": outcome(
            lambda: push.add([taskqueue.Task(url="/a"), taskqueue.Task(url="/b")])
        ),
    }


def transactions():
    """Transactional adds on the testbed's Datastore stub, with the flag on."""
    from google.appengine.ext import ndb, testbed

    bed = testbed.Testbed()
    bed.activate()
    bed.init_datastore_v3_stub()
    bed.init_memcache_stub()
    ndb.get_context().clear_cache()

    class Thing(ndb.Model):
        """Any entity, so that the transaction has an entity group."""

    def add_in(xg, count, flag="true", commit=False):
        """Add count transactional tasks in one transaction; say where it failed."""
        os.environ["APPENGINE_USE_CLOUDTASK_PUSH_QUEUE"] = flag
        names, stage = [], "add"

        @ndb.transactional(xg=xg)
        def work():
            Thing(id="one").put()
            for _ in range(count):
                task = taskqueue.Task(url="/w")
                task.add("default", transactional=True)
                names.append(task.name)
            if not commit:
                raise ndb.Rollback()  # nothing to send: only the add is probed
            nonlocal stage
            stage = "commit"

        try:
            work()
        except Exception as err:  # noqa: BLE001 - the probe reports any error
            return {
                "error": type(err).__name__,
                "message": str(err)[:200],
                "added": len(names),
                "stage": stage,
            }
        finally:
            os.environ["APPENGINE_USE_CLOUDTASK_PUSH_QUEUE"] = "true"
        return {"names": names}

    bed.init_taskqueue_stub()
    return {
        "not_xg": add_in(False, 1),
        "xg_five": add_in(True, 5),
        "xg_six": add_in(True, 6),
        "legacy_six": add_in(True, 6, flag="", commit=True),
    }


if __name__ == "__main__":
    probes = {
        "builder": builder,
        "emulator": emulator,
        "backends": backends,
        "transactions": transactions,
    }
    print(json.dumps(probes[sys.argv[1]](), default=str))
