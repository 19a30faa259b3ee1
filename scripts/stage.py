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

"""A stage running under scripts/launch.py, seen from outside as a visitor,
the task queue, and an operator who can look into its datastore.

A module, not a command: the contract tests and scripts/bench.py import it.
It needs the packages of tests/requirements.txt (requests, and both ndb
libraries for direct datastore access).
"""

import contextlib
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import requests

import launch
import launch_state
import stages

REPO = stages.REPO
PROJECT = "demo-contract"
EPOCH = datetime.datetime(1970, 1, 1)
QUEUE_HEADERS = {"X-AppEngine-QueueName": "default"}
TIME = re.compile(r"<time>([0-9: .-]+)</time>")
CUTOFF = re.compile(r'<time class="cutoff">([0-9: .-]+)</time>')


def cutoff_text(when):
    """Write a naive UTC datetime as exact epoch seconds."""
    micros = (when - EPOCH) // datetime.timedelta(microseconds=1)
    seconds, fraction = divmod(abs(micros), 10**6)
    return f"{'-' if micros < 0 else ''}{seconds}.{fraction:06d}"


def log_entries(log):
    """Return (message, fields) for each line of a log. A JSON line (structured
    logging, as mod9 writes) gives its message and other fields; any other
    line is all message."""
    entries = []
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            entry = {"message": line}
        entries.append((entry.pop("message", ""), entry))
    return entries


def cutoff_forms(cutoff):
    """The ways a log may write a naive UTC cutoff: str() or aware ISO 8601."""
    return (str(cutoff), cutoff.replace(tzinfo=datetime.UTC).isoformat())


def page_times(html):
    """Return the visit timestamps a page lists, in page order."""
    return [datetime.datetime.fromisoformat(t) for t in TIME.findall(html)]


def page_cutoff(html):
    """Return the cutoff a page shows, or None."""
    found = CUTOFF.search(html)
    return datetime.datetime.fromisoformat(found.group(1)) if found else None


def tasks_client(port):
    """A Cloud Tasks client for a local emulator on port."""
    from google.cloud import tasks_v2
    from google.cloud.tasks_v2.services.cloud_tasks import transports

    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    transport = transports.CloudTasksGrpcTransport(channel=channel)
    return tasks_v2.CloudTasksClient(transport=transport)


def wait_until(condition, timeout):
    """Wait until condition() is true; return whether it became true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


class Storage:
    """A stage's datastore, read and written with the same ndb API the app uses.

    Subclasses set self.ndb and self.Visit and say how to enter a call.
    """

    def _call(self, function, *args):
        raise NotImplementedError

    def put(self, times, visitor="seed"):
        """Store visits at the given naive UTC times; return their ids."""
        visits = [self.Visit(visitor=visitor, timestamp=t) for t in times]
        keys = []
        for start in range(0, len(visits), 500):
            keys += self._call(self.ndb.put_multi, visits[start : start + 500])
        return [key.id() for key in keys]

    def put_recent(self, count):
        """Store count visits one millisecond apart, oldest first, ending now;
        return their ids.

        Recent on purpose: an earlier test's trim may still be on its way
        through the queue, and it rightly deletes every visit older than its
        cutoff.
        """
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        step = datetime.timedelta(milliseconds=1)
        return self.put([now - (count - i) * step for i in range(count)])

    def visits(self):
        """Return (timestamp, visitor) of every stored visit, oldest first."""

        def fetch():
            query = self.Visit.query().order(self.Visit.timestamp)
            return [(v.timestamp, v.visitor) for v in query.fetch()]

        return self._call(fetch)

    def put_and_read(self, newest):
        """Do the work a visit cannot avoid: store one, read the newest ones."""

        def work():
            now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
            self.Visit(visitor="floor", timestamp=now).put()
            return self.Visit.query().order(-self.Visit.timestamp).fetch(newest)

        return self._call(work)

    def marked(self):
        """Return the trim cutoffs that stored visits carry (SPEC 11's mark)."""

        def fetch():
            return [v.trim_cutoff for v in self.Visit.query() if v.trim_cutoff]

        return self._call(fetch)

    def count(self):
        """Count the stored visits."""
        return self._call(lambda: self.Visit.query().count(limit=None))

    def clear(self):
        """Delete every stored visit."""

        def delete_all():
            keys = self.Visit.query().fetch(keys_only=True)
            for start in range(0, len(keys), 500):
                self.ndb.delete_multi(keys[start : start + 500])

        self._call(delete_all)


class BundledStorage(Storage):
    """The datastore of dev_appserver, reached through its API server."""

    def __init__(self, api_port):
        self.env = {
            "API_HOST": "127.0.0.1",
            "API_PORT": str(api_port),
            "APPLICATION_ID": f"dev~{PROJECT}",
            "GOOGLE_CLOUD_PROJECT": PROJECT,
            "HTTP_X_APPENGINE_API_TICKET": "contract-tests",
        }
        from google.appengine.ext import ndb
        from google.appengine.runtime import default_api_stub

        default_api_stub.Register(default_api_stub.DefaultApiStub())
        default_api_stub.DefaultApiStub.SetUseRequestSecurityTicketForThread(True)

        class Visit(ndb.Model):
            visitor = ndb.StringProperty()
            timestamp = ndb.DateTimeProperty()
            trim_cutoff = ndb.DateTimeProperty(indexed=False)

        self.ndb, self.Visit = ndb, Visit

    def _call(self, function, *args):
        os.environ.update(self.env)  # the API stub reads its address from here
        self.ndb.get_context().clear_cache()
        return function(*args)


class CloudStorage(Storage):
    """The Datastore emulator, reached with Cloud NDB as the app reaches it."""

    def __init__(self, address, project=PROJECT):
        from google.cloud import ndb

        os.environ["DATASTORE_EMULATOR_HOST"] = address
        self.client = ndb.Client(project=project)

        class Visit(ndb.Model):
            visitor = ndb.StringProperty()
            timestamp = ndb.DateTimeProperty()
            trim_cutoff = ndb.DateTimeProperty(indexed=False)

        self.ndb, self.Visit = ndb, Visit

    def _call(self, function, *args):
        with self.client.context(cache_policy=False):
            return function(*args)


class Stage:
    """One stage folder served by scripts/launch.py on free ports."""

    def __init__(self, name, log_path, env=(), options=()):
        self.info = stages.load(name)  # raises NotAStage for any other folder
        self.name, self.log_path, self.env = name, Path(log_path), list(env)
        self.options = list(options)  # for the launcher
        self.url = self.storage = self.process = self.log = None
        self.tasks_port = self.queue = None  # a Cloud Tasks emulator's, if any
        self.session = requests.Session()

    @property
    def python(self):
        """The Python of the environment the stage's app runs in."""
        return self.info.python

    @property
    def kind(self):
        """stages.BUNDLED, ROUTE_A or CLOUD, as the launcher decides it."""
        return self.info.kind

    def start(self, timeout=240):
        """Launch the stage and wait until it is ready."""
        command = [sys.executable, str(REPO / "scripts" / "launch.py")]
        command += [f"--env={item}" for item in self.env] + self.options + [self.name]
        env = {**os.environ, **launch.free_ports(), "GOOGLE_CLOUD_PROJECT": PROJECT}
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while "is ready" not in self.read_log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = "\n".join(self.read_log().splitlines()[-30:])
                raise RuntimeError(f"{self.name} did not start:\n{tail}")
            time.sleep(0.2)
        banner = self.read_log()
        self.url = re.search(r"app:\s+(http://\S+)", banner).group(1)
        if self.info.on_devappserver:
            api = re.search(r"api:\s+127\.0\.0\.1:(\d+)", banner).group(1)
            self.storage = BundledStorage(int(api))
        else:
            self.datastore = re.search(r"datastore:\s+(\S+)", banner).group(1)
            self.storage = CloudStorage(self.datastore)
        if tasks := re.search(r"tasks:\s+\S+:(\d+) .*queue (projects/\S+)\)", banner):
            self.tasks_port, self.queue = int(tasks.group(1)), tasks.group(2)
        return self

    def stop(self):
        """Stop the launcher, which stops every server it started (if any)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
                launch_state.stop_gone_launch(self.process.pid)
        if self.log:
            self.log.close()

    def read_log(self):
        """Return everything the launcher and its servers printed so far."""
        return self.log_path.read_text(errors="replace")

    def log_mark(self):
        """Return how far the log has got, for log_since()."""
        return len(self.read_log())

    def log_since(self, mark, until, timeout=10):
        """Return the log written after mark, once it holds until (a text, or a
        test of the log) or timeout seconds have passed.

        The app's log lines can reach the log after its HTTP answer has come.
        """
        holds = until if callable(until) else lambda log: until in log
        deadline = time.monotonic() + timeout
        log = self.read_log()[mark:]
        while not holds(log) and time.monotonic() < deadline:
            time.sleep(0.1)
            log = self.read_log()[mark:]
        return log

    def visit(self, user_agent="contract-tests"):
        """GET / as a visitor with this user agent (str or raw bytes)."""
        return self.session.get(f"{self.url}/", headers={"User-Agent": user_agent})

    def post_trim(self, headers=QUEUE_HEADERS, **body):
        """POST /trim with the given headers and body."""
        return self.session.post(f"{self.url}/trim", headers=headers, **body)

    def trim(self, cutoff):
        """Deliver a well-formed trim task for a naive UTC cutoff, as the queue does:
        the form every stage sends (SPEC 14)."""
        return self.post_trim(data={"oldest": cutoff_text(cutoff)})

    def enqueued(self, log):
        """Return the cutoffs of the trims a log says the app enqueued (naive UTC)."""
        found = re.findall(
            r"Enqueued a trim of visits older than ([0-9:. T+-]+\d)", log
        )
        times = [datetime.datetime.fromisoformat(text) for text in found]
        return [
            t.astimezone(datetime.UTC).replace(tzinfo=None) if t.tzinfo else t
            for t in times
        ]

    def tasks_client(self):
        """A Cloud Tasks client for the stage's emulator (it must have one)."""
        return tasks_client(self.tasks_port)

    @contextlib.contextmanager
    def cloud_tasks_paused(self):
        """Pause the stage's Cloud Tasks queue (it must have one) for the block
        and resume it after; yield the client, to read the queue meanwhile."""
        client = self.tasks_client()
        client.pause_queue(name=self.queue)
        try:
            yield client
        finally:
            client.resume_queue(name=self.queue)

    def wait_for(self, condition, timeout=20):
        """Wait until condition() is true; return whether it became true."""
        return wait_until(condition, timeout)
