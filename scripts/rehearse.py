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

"""Rehearse switching an App Engine app from one stage to another, and back.

Usage: make rehearse FROM=mod7-gaetasks+cloudtasks TO=mod8-cloudtasks
       .venv/tests/bin/python scripts/rehearse.py [--timeline FILE] FROM TO

On App Engine two stages are two versions of one app: one Datastore, one
queue, and the app's URL moves from the old default version to the new one.
Here one Datastore emulator and one Cloud Tasks emulator serve both stages,
and each stage in turn is served on the one port that the Cloud Tasks
emulator delivers to. For each direction, FROM to TO and then the rollback:

1. visits to the serving stage, with the queue running, until trims settle;
2. the queue paused, and more visits, so that their trims wait in the queue;
3. the switch: the serving stage stops, the other one starts on that port;
4. the queue resumed: the held trims reach the other stage;
5. visits to the new stage, until its own trims settle.

Prints, per direction: the time the switch took, the tasks held, how many the
other stage did, how many it refused or the queue dropped, the visits carried
over, and the visits stored once trims settle. Exits 0 only when nothing was
refused or lost, every visit was carried, a trim was in flight at each cut
(where the old stage's queue is Cloud Tasks) and storage settled within
10 + TRIM_SLACK; 1 otherwise or when a server fails; 2 on bad input; 130 when
interrupted. Every server it started is stopped in every case.

FROM and TO are stage folders, or your own folder laid out like one (as for
scripts/verify); STAGE+cloudtasks is route A. A stage on App Engine's own
push queue (mod7 without route A's flag) keeps its tasks in dev_appserver's
queue, which stops with dev_appserver: for it the rehearsal shows the data
carried over, and says that no task of its own can be held. --timeline
writes what happened, and when, as JSON (notebook 02 draws one).
"""

import argparse
import contextlib
import json
import re
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import grpc
from google.api_core.exceptions import GoogleAPIError

import launch
import stages
from stage import CloudStorage, page_cutoff, tasks_client, wait_until

PROJECT = "demo-rehearse"
VISITS_BEFORE = 25  # from empty storage: the first trim comes at visit 21
VISITS_HELD = 35  # with TRIM_SLACK 10: one trim per 11 visits waits in the queue
VISITS_AFTER = 25
SETTLE_TIMEOUT_S = 60
# One request line per /trim delivery, in gunicorn's access log and in
# dev_appserver's request log alike.
DELIVERY = re.compile(r'"POST /trim HTTP/1\.1" (\d{3})')


class RehearsalError(Exception):
    """A problem the user can fix, told in one line."""


# What can fail while servers run: a server that does not start or answer, a
# page or a call to an emulator that fails (the emulators are local servers).
RUN_ERRORS = (launch.LaunchError, OSError, GoogleAPIError, grpc.RpcError)
INTERRUPTED = 130  # Ctrl-C's exit status, as a shell reports it


class Timeline:
    """What happened, in seconds from the start: for --timeline and the notebook."""

    def __init__(self):
        self.start = time.monotonic()
        self.events = []

    def add(self, kind, **fields):
        """Record an event of this kind now."""
        now = round(time.monotonic() - self.start, 3)
        self.events.append({"t": now, "event": kind, **fields})


class SharedApp:
    """One App Engine app, locally: one Datastore emulator, one Cloud Tasks
    emulator with one queue, and one port where a stage serves at a time."""

    def __init__(self, workdir, from_stage, to_stage):
        self.workdir = Path(workdir)
        self.ports = {name: launch.free_port() for name in ("app", "ds", "tasks")}
        self.queue = shared_queue(from_stage, to_stage)
        self.servers = contextlib.ExitStack()
        self.serving = self.app = self.log_path = None
        self.tasks_client = self.storage = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        launch.no_more_interrupts()  # a second Ctrl-C must not cut this short
        try:
            self.stop_app()
        finally:
            self.servers.close()

    def start_emulators(self):
        """Start the two emulators and create the queue both stages use."""
        with self.log("datastore-emulator") as log:  # each server keeps a copy
            datastore = launch.start_datastore_emulator(self.ports["ds"], PROJECT, log)
        self.servers.callback(
            launch.stop_datastore_emulator, datastore, self.ports["ds"]
        )
        with self.log("tasks-emulator") as log:
            tasks = launch.start_tasks_emulator(
                self.ports["tasks"], self.ports["app"], log=log
            )
        self.servers.callback(launch.stop, tasks)
        launch.wait_for_http(f"http://127.0.0.1:{self.ports['ds']}/", datastore, 60)
        launch.create_queue(self.ports["tasks"], self.queue)
        self.storage = CloudStorage(f"127.0.0.1:{self.ports['ds']}", PROJECT)
        self.tasks_client = tasks_client(self.ports["tasks"])

    def log(self, name):
        """Open a server's log file in the work folder."""
        return (self.workdir / f"{name}.log").open("w")

    def serve(self, stage, label):
        """Serve stage on the app's port, on the shared emulators; wait for it."""
        if stage.on_devappserver:
            env = []
            if stage.kind == stages.ROUTE_A:
                env = launch.route_a_env(self.ports["tasks"], PROJECT)
            sdk_root = launch.prereqs.find_sdk_root()
            storage = Path(tempfile.mkdtemp(dir=self.workdir, prefix="devappserver-"))
            ports = {
                "app": self.ports["app"],
                "admin": launch.free_port(),
                "api": launch.free_port(),
            }
            datastore = f"127.0.0.1:{self.ports['ds']}"
            # Its own environment folder: a test may serve this stage meanwhile.
            venv = stage.devappserver_venv.with_name(
                f"devappserver-rehearse-{stage.name}"
            )
            command = launch.dev_appserver_command(
                stage, ports, PROJECT, env, storage, sdk_root, False, datastore, venv
            )
            with self.log(label) as log:
                self.app = launch.start(
                    command,
                    env=launch.dev_appserver_env(sdk_root),
                    stdout=log,
                    stderr=log,
                )
        else:
            env = {
                **launch.app_yaml_env(stage.app_yaml),
                "GOOGLE_CLOUD_PROJECT": PROJECT,
                "DATASTORE_EMULATOR_HOST": f"127.0.0.1:{self.ports['ds']}",
                "CLOUD_TASKS_EMULATOR_HOST": f"127.0.0.1:{self.ports['tasks']}",
            }
            with self.log(label) as log:
                self.app = launch.start_app(stage, self.ports["app"], env, log)
        self.serving, self.log_path = stage, self.workdir / f"{label}.log"
        url = f"http://127.0.0.1:{self.ports['app']}"
        launch.wait_for_http(f"{url}/trim", self.app, launch.START_TIMEOUT_S)

    def stop_app(self):
        """Stop the stage that serves, if one does."""
        if self.app is not None:
            launch.stop(self.app)
            self.app = None

    def visit(self, agent):
        """Visit the serving stage; return the page's trim cutoff, if any."""
        url = f"http://127.0.0.1:{self.ports['app']}/"
        request = urllib.request.Request(url, headers={"User-Agent": agent})
        with urllib.request.urlopen(request, timeout=30) as page:
            return page_cutoff(page.read().decode())

    def held(self):
        """Return the names of the tasks waiting in the queue."""
        return [task.name for task in self.tasks_client.list_tasks(parent=self.queue)]

    def deliveries(self):
        """Return the HTTP status of each /trim delivery the serving stage logged."""
        return [int(code) for code in DELIVERY.findall(self.log_path.read_text())]


def shared_queue(from_stage, to_stage):
    """Return the queue path both stages use, or raise RehearsalError."""
    paths = {stage.name: queue_path(stage) for stage in (from_stage, to_stage)}
    if len(set(paths.values())) != 1:
        raise RehearsalError(
            "the two stages name different queues, so no task could cross: "
            + ", ".join(f"{name}: {path}" for name, path in paths.items())
        )
    return paths[from_stage.name]


def queue_path(stage):
    """The Cloud Tasks queue a stage enqueues to, in the rehearsal's project."""
    env = launch.app_yaml_env(stage.app_yaml)
    if stage.on_devappserver:
        location = launch.ROUTE_A_LOCATION  # route A's; and where mod7's would be
    else:
        location = env.get("QUEUE_LOCATION", "us-central1")
    name = env.get("QUEUE_NAME", "default")
    return f"projects/{PROJECT}/locations/{location}/queues/{name}"


def trim_slack(stage):
    """The stage's TRIM_SLACK, as app.yaml sets it (default 10)."""
    return int(launch.app_yaml_env(stage.app_yaml).get("TRIM_SLACK", "10"))


def traffic(app, timeline, count, label):
    """Visit the serving stage count times; return how many pages enqueued."""
    enqueued = 0
    for number in range(count):
        cutoff = app.visit(f"rehearse {label} {number}")
        enqueued += cutoff is not None
        timeline.add("visit", stage=app.serving.name, enqueued=cutoff is not None)
    return enqueued


def steady(read):
    """Return read() once two reads half a second apart agree (10 s at most)."""
    before, deadline = read(), time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = read()
        if now == before:
            break
        before = now
    return before


def drain(app, timeline):
    """Wait until the queue is empty, recording each task that leaves it."""
    waiting = set(app.held())
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while waiting and time.monotonic() < deadline:
        time.sleep(0.1)
        now = set(app.held())
        for _ in waiting - now:
            timeline.add("task left the queue", stage=app.serving.name)
        waiting = now
    return not waiting


def switch(app, timeline, new, label):
    """One direction: traffic on the serving stage, trims held, that stage
    stopped, new served on its port and handed the held trims. Return what
    was measured."""
    old = app.serving
    result = {"from": old.name, "to": new.name}
    traffic(app, timeline, VISITS_BEFORE, f"{label} before")
    drain(app, timeline)
    has_queue = old.kind != stages.BUNDLED
    if has_queue:
        app.tasks_client.pause_queue(name=app.queue)
        timeline.add("queue paused")
    traffic(app, timeline, VISITS_HELD, f"{label} held")
    held = len(app.held()) if has_queue else None
    result["tasks held"] = held
    stored = steady(app.storage.count)  # dev_appserver's own queue may be trimming
    started = time.monotonic()
    app.stop_app()
    timeline.add("stopped", stage=old.name)
    app.serve(new, f"{label}-{new.name}")
    result["switch s"] = round(time.monotonic() - started, 1)
    timeline.add("serving", stage=new.name)
    result["visits carried"] = f"{app.storage.count()} of {stored}"
    carried = app.storage.count() == stored
    if has_queue:
        app.tasks_client.resume_queue(name=app.queue)
        timeline.add("queue resumed")
        drain(app, timeline)
    # A stage can log a request a moment after the queue has seen its answer.
    codes = steady(app.deliveries)
    done = sum(code == 200 for code in codes)
    result["done by " + new.name] = done if has_queue else None
    result["refused"] = sum(code != 200 for code in codes)
    result["dropped"] = max(0, held - done) if has_queue else 0
    first = app.visit(f"{label} first on {new.name}")  # lists the visits carried
    timeline.add("visit", stage=new.name, enqueued=first is not None)
    traffic(app, timeline, VISITS_AFTER, f"{label} after")
    drain(app, timeline)
    bound = 10 + trim_slack(new)
    wait_until(lambda: app.storage.count() <= bound, SETTLE_TIMEOUT_S)
    result["stored after settling"] = app.storage.count()
    result["ok"] = (
        carried
        and result["refused"] == 0
        and result["dropped"] == 0
        and (not has_queue or held > 0)
        and result["stored after settling"] <= bound
    )
    return result


def rehearse(from_stage, to_stage, workdir, timeline):
    """Switch from_stage to to_stage and back on one shared app; return the two
    directions' results."""
    with SharedApp(workdir, from_stage, to_stage) as app:
        app.start_emulators()
        timeline.add("emulators ready")
        app.serve(from_stage, f"start-{from_stage.name}")
        timeline.add("serving", stage=from_stage.name)
        there = switch(app, timeline, to_stage, "switch")
        back = switch(app, timeline, from_stage, "rollback")
        app.stop_app()
        timeline.add("stopped", stage=from_stage.name)
        return [there, back]


def report(results):
    """Print one block per direction."""
    for result in results:
        held = result["tasks held"]
        print(f"\n{result['from']} -> {result['to']}:")
        print(f"  time to switch         {result['switch s']} s")
        if held is None:
            print(
                "  tasks held             none: they live in dev_appserver's own "
                "queue, which stops with it"
            )
        else:
            print(f"  tasks held             {held}")
            print(f"  done by {result['to']}: {result['done by ' + result['to']]}")
        print(f"  refused (deliveries)   {result['refused']}")
        print(f"  dropped                {result['dropped']}")
        print(f"  visits carried over    {result['visits carried']}")
        print(f"  stored after settling  {result['stored after settling']}")


def main(argv=None):
    """Rehearse one switch and its rollback; print what happened."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("from_stage", metavar="FROM", help="the stage serving now")
    parser.add_argument("to_stage", metavar="TO", help="the stage to switch to")
    parser.add_argument("--timeline", type=Path, help="write the events as JSON")
    args = parser.parse_args(argv)
    try:
        pair = [
            stages.load(Path.cwd() / name) for name in (args.from_stage, args.to_stage)
        ]
        if args.timeline and not args.timeline.parent.is_dir():
            raise RehearsalError(f"--timeline: no folder {args.timeline.parent}")
        if problems := launch.prereqs.missing():
            raise RehearsalError(problems[0])
    except (stages.NotAStage, RehearsalError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    # A closed terminal (SIGHUP) and SIGTERM stop it as Ctrl-C does.
    launch.handle_stop_signals()
    timeline, status = Timeline(), 0
    try:
        with tempfile.TemporaryDirectory(prefix="visitme-rehearse-") as workdir:
            print(f"Rehearsing {pair[0].name} -> {pair[1].name} -> {pair[0].name} ...")
            results = rehearse(*pair, workdir, timeline)
    except RUN_ERRORS as err:
        launch.no_more_interrupts()
        print(f"error: {str(err).splitlines()[0]}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        status = INTERRUPTED
    if launch.finish("rehearsal", 0 if status == INTERRUPTED else status):
        return 1
    if status:
        return status
    report(results)
    if args.timeline:
        written = {"results": results, "events": timeline.events}
        args.timeline.write_text(json.dumps(written, indent=1) + "\n")
    ok = all(result["ok"] for result in results)
    print(
        "\nNothing was refused or lost." if ok else "\nSomething was refused or lost."
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
