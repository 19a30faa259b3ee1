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

"""Run one VisitMe stage locally on Google's own local servers.

Usage: python3 scripts/launch.py [--tasks cloud] [--hold-push-tasks]
           [--env KEY=VALUE ...] STAGE
       python3 scripts/launch.py --stop
       make run MODULE=STAGE [TASKS=cloud] [TRIM_SLACK=N]
       make stop

A stage that uses the bundled App Engine APIs (`app_engine_apis: true` in its
app.yaml) runs under dev_appserver.py, with a strongly consistent datastore.
Route A (--tasks cloud, or STAGE+cloudtasks: the folder's
app-cloudtasks.yaml, which sets APPENGINE_USE_CLOUDTASK_PUSH_QUEUE) adds a
Cloud Tasks emulator with the queues of its queue.yaml, and points the SDK's
client at it (scripts/route_a/). Any other stage (Cloud NDB and Cloud
Tasks) runs on the Datastore emulator in Firestore-in-Datastore mode, a Cloud
Tasks emulator with the app's queue, and gunicorn, as App Engine runs it. The
first start installs what it needs into .venv/ (git-ignored); later starts
reuse it.

Environment: PORT (app, default 8080), ADMIN_PORT (dev_appserver's admin
console, default 8000), DATASTORE_EMULATOR_PORT (default 8081),
TASKS_EMULATOR_PORT (default 8123), GOOGLE_CLOUD_PROJECT (project id, default
demo-visitme). --env sets a variable for the app, overriding app.yaml.

Prints the addresses once the app answers. Ctrl-C, SIGTERM or SIGHUP (a
closed terminal) stops every server it started; a repeated signal does not
interrupt that. Each launch records what it started (.venv/run/, git-ignored):
a later start stops what a launch that is gone (killed) left running, and
`make stop` (launch.py --stop) stops every launch of this repository. A port
busy with something else is named, never stopped.
"""

import argparse
import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import ensure_venv
import launch_state
import prereqs
import stages

REPO = stages.REPO
DEFAULT_PROJECT = "demo-visitme"
# Each port the launcher uses: its environment variable, default and purpose.
PORTS = {
    "PORT": (8080, "the app"),
    "ADMIN_PORT": (8000, "dev_appserver's admin console (mod7)"),
    "DATASTORE_EMULATOR_PORT": (8081, "the Datastore emulator (Cloud stages)"),
    "TASKS_EMULATOR_PORT": (8123, "the Cloud Tasks emulator (Cloud stages, route A)"),
}
EPILOG = (
    "environment:\n"
    + "\n".join(
        f"  {name:<24} {purpose}, default {port}"
        for name, (port, purpose) in PORTS.items()
    )
    + f"\n  {'GOOGLE_CLOUD_PROJECT':<24} the project id, default {DEFAULT_PROJECT}\n"
)
START_TIMEOUT_S = 180
MAX_ATTEMPTS = 6  # the queue's bound on deliveries, as in the READMEs' deploy steps
# Route A's Cloud Tasks location, locally (the SDK reads it from LOCATION_ID).
ROUTE_A_LOCATION = "us-central1"
SERVER_REQUIREMENTS = "scripts/server-requirements.txt"
# Runs dev_appserver.py on a running Datastore emulator, which CLI 528 cannot do
# by itself (the module's docstring says why).
ON_EMULATOR = REPO / "scripts" / "devappserver_emulator" / "run_dev_appserver.py"
TASKS_REQUIREMENTS = "scripts/tasks-emulator-requirements.txt"
# No __pycache__ in stage folders, so that `git diff --no-index` of two stages
# shows only their code.
NO_BYTECODE = "PYTHONDONTWRITEBYTECODE=1"
# google-api-core warns at import about Python 3.11's end of life; locally that
# only buries the servers' own output.
QUIET = {
    **os.environ,
    "PYTHONWARNINGS": "ignore::FutureWarning",
    "PYTHONDONTWRITEBYTECODE": "1",
}


class LaunchError(Exception):
    """A problem the user can fix, told in one line."""


# The signals that stop a launch: Ctrl-C, kill's default, a closed terminal.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# The first stop signal raises KeyboardInterrupt; later ones (make forwards
# the SIGTERM it gets, so a second one often comes) are ignored, so that they
# cannot cut the stopping short. Inside signals_deferred() the first waits.
_signals = {"stopping": False, "deferred": 0, "pending": False}
# What this process started and has not stopped yet: {pid: (Popen, entry)}.
_started = {}
_record = {}


def interrupt(signum, frame):
    """Turn the first SIGINT, SIGTERM or SIGHUP into one clean stop."""
    if _signals["stopping"]:
        return
    if _signals["deferred"]:
        _signals["pending"] = True
        return
    _signals["stopping"] = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def signals_deferred():
    """Hold a stop signal until the block is done (a server started and recorded)."""
    _signals["deferred"] += 1
    try:
        yield
    except BaseException:
        # The block failed (Popen raised, say): its error goes on, and a held
        # signal is then moot, since the failure unwinds the launch anyway.
        _signals["deferred"] -= 1
        raise
    _signals["deferred"] -= 1
    if _signals["pending"] and not _signals["deferred"] and not _signals["stopping"]:
        _signals["stopping"] = True
        raise KeyboardInterrupt


def remember(server, command):
    """Record a server just started, in this process's launch record."""
    entry = launch_state.server_entry(
        server.pid, " ".join(str(part) for part in command)
    )
    _started[server.pid] = (server, entry)
    _record["servers"].append(entry)
    launch_state.write(_record)


def forget(server):
    """Drop a stopped server from this process's launch record."""
    _, entry = _started.pop(server.pid, (None, None))
    if entry in _record.get("servers", []):
        _record["servers"].remove(entry)
        launch_state.write(_record)


def no_more_interrupts():
    """From now on a stop signal changes nothing: the stopping has begun."""
    _signals["stopping"] = True


def stop_all():
    """Stop every server this process started and has not stopped yet."""
    no_more_interrupts()
    for server, _ in list(_started.values())[::-1]:
        stop(server)


def handle_stop_signals():
    """Turn SIGINT, SIGTERM and SIGHUP into one clean stop (interrupt()).

    Set each: a shell that starts us in the background ignores SIGINT, and
    Python then installs no Ctrl-C handler of its own; SIGHUP would end us at
    once, leaving every server running. Under nohup, which ignores SIGHUP on
    purpose, SIGHUP stays ignored: we outlive the terminal, servers and all.
    """
    for signum in STOP_SIGNALS:
        if signum == signal.SIGHUP and signal.getsignal(signum) is signal.SIG_IGN:
            continue
        signal.signal(signum, interrupt)


def finish(what, status):
    """Stop whatever this process started and has not stopped; say so in one
    line, naming what still runs. Return the exit code (status, or 1)."""
    stop_all()
    if left := still_running():
        say(
            f"error: {len(left)} process(es) this {what} started still run "
            f"(pids {' '.join(map(str, left))}); stop them with: make stop",
            sys.stderr,
        )
        return 1
    if not status:
        say(f"\nStopped every server this {what} started.")
    return status


@contextlib.contextmanager
def stopping_on_unwind():
    """Around a block whose exit stops servers: once it unwinds, for an error
    as for a signal, no later stop signal cuts the stopping short."""
    try:
        yield
    finally:
        no_more_interrupts()


def still_running():
    """The pids of what this process started that still run."""
    if not _record:
        return []
    return launch_state.leftovers(_record)


def say(text, file=None):
    """Print a line; a closed terminal (EIO after SIGHUP) only loses it."""
    with contextlib.suppress(OSError, ValueError):
        print(text, file=file or sys.stdout, flush=True)


def check_ports(ports):
    """Raise LaunchError naming what listens on any of {purpose: port}."""
    for purpose, port in ports.items():
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                continue
        pid = launch_state.port_owner(port)
        record = launch_state.owning_launch(pid) if pid else None
        if record:
            raise LaunchError(
                f"port {port} ({purpose}) is in use by this repository's launch "
                f"of {record['name']} (pid {record['pid']}); stop it with: make stop"
            )
        who = (
            f"pid {pid} ({launch_state.command_line(pid)[:80]})" if pid else "a process"
        )
        raise LaunchError(
            f"port {port} ({purpose}) is in use by {who}, which this "
            "repository did not start"
        )


def free_port():
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ports():
    """Return {variable: port} for every port variable of PORTS, each free now:
    the environment that runs a launch beside others."""
    return {name: str(free_port()) for name in PORTS}


def port_from_env(name):
    """Read a port number from the environment, or raise LaunchError."""
    value = os.environ.get(name, str(PORTS[name][0]))
    if not re.fullmatch(r"[0-9]{1,5}", value) or not 0 < int(value) < 65536:
        raise LaunchError(f"{name} must be a port number (1-65535), not {value!r}")
    return int(value)


def wait_for_http(url, server, timeout):
    """Wait until a server answers HTTP at url; raise LaunchError if it cannot."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise LaunchError(f"{url} stopped during start (exit {server.returncode})")
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except urllib.error.HTTPError:
            return  # Any HTTP answer (GET /trim is 405) means it is up.
        except OSError:
            time.sleep(0.2)
    raise LaunchError(f"nothing answered at {url} within {timeout} s")


def marker():
    """MARKER=id of this process's launch, which every server it starts carries."""
    if not _record:
        _record.update(launch_state.new_record(Path(sys.argv[0]).name))
    return f"{launch_state.MARKER}={_record['id']}"


def start(command, **kwargs):
    """Start a server in a session of its own, so it can be stopped whole, and
    record it (launch_state), so that a later launch can stop it if we cannot."""
    say("+ " + " ".join(str(part) for part in command))
    env = {**(kwargs.pop("env", None) or os.environ)}
    with signals_deferred():
        env.update([marker().split("=", 1)])
        try:
            server = subprocess.Popen(
                command, start_new_session=True, env=env, **kwargs
            )
        except OSError as err:
            raise LaunchError(f"could not start {command[0]}: {err.strerror}") from None
        remember(server, command)
    return server


def stop(server, timeout=15):
    """Stop a server and everything it started: SIGTERM, then SIGKILL once it
    has exited or after timeout s.

    Everything is each process of the server's session that carries this
    launch's marker or is a child of one that does, whatever process group it
    is in, even once the server itself has exited. What cannot be stopped
    stays in the launch's record, for still_running() and `make stop`.
    """
    if server.pid in _started:
        _, entry = _started[server.pid]
        # Once the server has exited, what it left (dev_appserver's instances
        # do not all exit on SIGTERM) gets SIGKILL at once.
        launch_state.stop_processes(
            lambda: launch_state.members(entry, _record["id"]),
            timeout,
            done=lambda: server.poll() is not None,
        )
        # Our own child, not yet reaped: its pid cannot be anyone else's.
        if server.poll() is None:
            server.kill()
        server.wait()
        if launch_state.members(entry, _record["id"]):
            _started.pop(server.pid)
        else:
            forget(server)
        return
    # Stopped already (reaped: its pid may be another's now), or a server this
    # module did not start: then its process group.
    if server.returncode is not None:
        return
    if server.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    # Children may outlive their parent: clear the whole group either way.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait()


def dev_appserver_command(
    stage, ports, project, env, storage, sdk_root, hold, datastore=None, venv=None
):
    """Build the dev_appserver.py command line for a bundled-services stage.

    datastore: a running Datastore emulator's HOST:PORT, used instead of
    dev_appserver's own datastore (through ON_EMULATOR), as when two stages
    share one Datastore, as two versions of one app do. venv: the folder for
    dev_appserver's own environment, if not the stage's (dev_appserver makes
    it anew at each start and removes it at exit, so two launches of one stage
    at once need a folder each).
    """
    python = prereqs.sdk_python(sdk_root) or sys.executable
    if datastore:
        script = [ON_EMULATOR, prereqs.dev_appserver(sdk_root)]
        store = [
            "--support_datastore_emulator=true",
            f"--running_datastore_emulator_host={datastore}",
        ]
    else:
        script = [prereqs.dev_appserver(sdk_root)]
        store = ["--support_datastore_emulator=false"]
    command = [
        python,
        *script,
        f"--application={project}",
        "--host=127.0.0.1",
        f"--port={ports['app']}",
        "--admin_host=127.0.0.1",
        f"--admin_port={ports['admin']}",
        "--api_host=127.0.0.1",
        f"--api_port={ports['api']}",
        f"--runtime_python_path={sys.executable}",
        f"--python_virtualenv_path={venv or stage.devappserver_venv}",
        f"--storage_path={storage}",
        *store,
        "--datastore_consistency_policy=consistent",
        "--clear_datastore=yes",
        "--skip_sdk_update_check=yes",
        "--watcher_ignore_re=.*__pycache__.*",
        f"--enable_task_running={'no' if hold else 'yes'}",
    ]
    # The launch's marker too: dev_appserver gives its instances only these.
    command += [f"--env_var={item}" for item in [NO_BYTECODE, marker(), *env]]
    return [*command, stage.app_yaml]


def run_bundled(stage, project, env, hold=False):
    """Serve a stage on the bundled services under dev_appserver until stopped.

    Route A (APPENGINE_USE_CLOUDTASK_PUSH_QUEUE in its app.yaml) also gets the
    Cloud Tasks emulator, with the queues of its queue.yaml, and the hook in
    scripts/route_a/ that points the SDK's Cloud Tasks client at it.
    """
    ports = {
        "app": port_from_env("PORT"),
        "admin": port_from_env("ADMIN_PORT"),
        "api": free_port(),
    }
    route_a = stage.kind == stages.ROUTE_A
    if route_a:
        ports["tasks"] = port_from_env("TASKS_EMULATOR_PORT")
    check_ports(
        {
            PORTS["PORT"][1]: ports["app"],
            PORTS["ADMIN_PORT"][1]: ports["admin"],
            **({PORTS["TASKS_EMULATOR_PORT"][1]: ports["tasks"]} if route_a else {}),
        }
    )
    with contextlib.ExitStack() as servers, stopping_on_unwind():
        storage = servers.enter_context(tempfile.TemporaryDirectory(prefix="visitme-"))
        emulators, tasks_line = {}, ""
        if route_a:
            queue_yaml = stage.folder / "queue.yaml"
            tasks = start_tasks_emulator(ports["tasks"], ports["app"], queue_yaml)
            servers.callback(stop, tasks)
            create_queues(ports["tasks"], queue_yaml, project)
            env = [*route_a_env(ports["tasks"], project), *env]
            emulators["Cloud Tasks"] = tasks
            queue = app_yaml_env(stage.app_yaml).get("QUEUE_NAME", "default")
            path = f"projects/{project}/locations/{ROUTE_A_LOCATION}/queues/{queue}"
            tasks_line = (
                f"  tasks:     127.0.0.1:{ports['tasks']} (Cloud Tasks emulator, "
                f"queue {path})\n"
            )
        sdk_root = prereqs.find_sdk_root()
        command = dev_appserver_command(
            stage, ports, project, env, storage, sdk_root, hold
        )
        server = start(command, env=dev_appserver_env(sdk_root))
        servers.callback(stop, server)
        wait_for_http(f"http://127.0.0.1:{ports['app']}/trim", server, START_TIMEOUT_S)
        say(
            f"\nVisitMe {stage.name} is ready (project {project}):\n"
            f"  app:       http://127.0.0.1:{ports['app']}\n"
            f"  admin:     http://127.0.0.1:{ports['admin']}\n"
            f"  api:       127.0.0.1:{ports['api']}\n"
            f"{tasks_line}"
            "Press Ctrl-C to stop."
        )
        watch_emulators(server, emulators)
        raise LaunchError(f"dev_appserver stopped (exit {server.returncode})")


def route_a_env(tasks_port, project):
    """The app's variables that point route A's SDK at a Cloud Tasks emulator."""
    return [
        f"CLOUD_TASKS_EMULATOR_HOST=127.0.0.1:{tasks_port}",
        f"PYTHONPATH={REPO / 'scripts' / 'route_a'}",
        # The SDK would ask the metadata server for the region otherwise.
        f"LOCATION_ID={ROUTE_A_LOCATION}",
        f"GOOGLE_CLOUD_PROJECT={project}",
    ]


def dev_appserver_env(sdk_root):
    """The environment dev_appserver.py runs in."""
    return {
        **os.environ,
        # dev_appserver's own Python is the CLI's: the default python3's newer
        # certifi breaks the requests library that dev_appserver vendors.
        "CLOUDSDK_PYTHON": prereqs.sdk_python(sdk_root) or sys.executable,
        # ON_EMULATOR's generated gRPC code is newer than the CLI's protobuf.
        "TEMPORARILY_DISABLE_PROTOBUF_VERSION_CHECK": "true",
    }


def app_yaml_env(app_yaml):
    """Read the env_variables of an app.yaml (flat KEY: value lines)."""
    env, inside = {}, False
    for line in app_yaml.read_text().splitlines():
        if re.match(r"\S", line):
            inside = line.startswith("env_variables:")
        elif inside and (found := re.match(r"\s+(\w+):\s*(.*?)\s*$", line)):
            env[found.group(1)] = found.group(2).strip("\"'")
    return env


def python_env(folder, requirements):
    """Create or update the venv folder from requirement files; return its bin."""
    try:
        ensure_venv.ensure(folder, requirements)
    except subprocess.CalledProcessError:
        raise LaunchError(f"pip could not install into {folder} (see above)") from None
    return folder / "bin"


def start_datastore_emulator(port, project, log=None):
    """Start the Datastore emulator, in memory, in Firestore-in-Datastore mode
    (its output to the open file log, if given)."""
    return start(
        [
            "gcloud",
            "beta",
            "emulators",
            "datastore",
            "start",
            "--no-store-on-disk",
            "--use-firestore-in-datastore-mode",
            f"--host-port=127.0.0.1:{port}",
            f"--project={project}",
        ],
        stdout=log,
        stderr=log,
    )


def stop_datastore_emulator(server, port):
    """Ask the Datastore emulator to shut down, then stop what is left of it.

    gcloud moves itself, and so the emulator's Java process, into a process
    group of its own unless it leads its session (googlecloudsdk's
    command_lib/emulators/util.py, Exec()); start() makes it a session leader,
    and stop() signals the whole session either way.
    """
    if server.poll() is None:  # ours still runs: the port is not someone else's
        with contextlib.suppress(OSError):
            request = urllib.request.Request(f"http://127.0.0.1:{port}/shutdown", b"")
            urllib.request.urlopen(request, timeout=5)
    stop(server)


def tasks_python():
    """The Python of the Cloud Tasks emulator's venv (made or updated first),
    which also runs scripts/queue_commands.py: it has PyYAML."""
    venv = stages.VENVS / "tasks-emulator"
    return python_env(venv, [REPO / TASKS_REQUIREMENTS]) / "python"


def tasks_emulator(*args):
    """Return the command that runs scripts/tasks_emulator.py with these args."""
    return [tasks_python(), REPO / "scripts" / "tasks_emulator.py", *args]


def start_tasks_emulator(port, app_port, queue_yaml=None, log=None):
    """Start the Cloud Tasks emulator, delivering tasks to the app's port, with
    bounded attempts: MAX_ATTEMPTS, or as a queue.yaml bounds them (its output
    to the open file log, if given)."""
    bound = (
        f"--queue-yaml={queue_yaml}" if queue_yaml else f"--max-attempts={MAX_ATTEMPTS}"
    )
    command = tasks_emulator(
        "serve", f"--port={port}", f"--target-port={app_port}", bound
    )
    return start(command, env=QUIET, stdout=log, stderr=log)


def create_queues(port, queue_yaml, project):
    """Create the push queues of a queue.yaml, as `gcloud app deploy queue.yaml`."""
    command = tasks_emulator(
        "create-queues",
        f"--port={port}",
        f"--queue-yaml={queue_yaml}",
        f"--project={project}",
        f"--location={ROUTE_A_LOCATION}",
    )
    if subprocess.run(command, env=QUIET).returncode:
        raise LaunchError(f"could not create the queues of {queue_yaml}")


def create_queue(port, queue):
    """Create a queue with bounded retries, as `gcloud tasks queues create` does."""
    command = tasks_emulator(
        "create-queue",
        f"--port={port}",
        f"--queue={queue}",
        f"--max-attempts={MAX_ATTEMPTS}",
    )
    if subprocess.run(command, env=QUIET).returncode:
        raise LaunchError(f"could not create the queue {queue}")


def start_app(stage, port, env, log=None):
    """Start a Cloud stage's app under gunicorn, as App Engine runs it (its
    output to the open file log, if given)."""
    # A stage's test requirements include its app's; a learner's folder may
    # have only requirements.txt.
    requirements = stage.folder / "requirements-test.txt"
    if not requirements.exists():
        requirements = stage.folder / "requirements.txt"
    app_bin = python_env(stage.venv, [requirements, REPO / SERVER_REQUIREMENTS])
    command = [app_bin / "gunicorn", *gunicorn_options(stage.app_yaml, port)]
    return start(
        command, cwd=stage.folder, env={**QUIET, **env}, stdout=log, stderr=log
    )


def gunicorn_options(app_yaml, port):
    """The options of app.yaml's gunicorn entrypoint, bound to 127.0.0.1:port.

    With no entrypoint, App Engine starts the app with gunicorn by itself, with
    options it does not publish; here that is gunicorn's own default, one
    synchronous worker serving main:app.
    """
    found = re.search(r"^entrypoint:\s*(.+?)\s*$", app_yaml.read_text(), re.MULTILINE)
    line = found.group(1) if found else "gunicorn main:app"
    if line[:1] in "\"'" and line[-1:] == line[:1]:
        line = line[1:-1]  # a quoted YAML value
    words = shlex.split(line, comments=True)
    if not words or words[0] != "gunicorn":
        raise LaunchError(
            f"{app_yaml.name}: the launcher serves gunicorn entrypoints, not {line!r}"
        )
    options, words = [], words[1:]
    while words:
        word = words.pop(0)
        if word in ("-b", "--bind"):
            if words:
                words.pop(0)  # App Engine's $PORT; the local port replaces it
        elif not word.startswith(("-b", "--bind=")):
            options.append(word)
    # gunicorn takes options in any order, before or after the app.
    return [f"--bind=127.0.0.1:{port}", "--access-logfile=-", *options]


def run_cloud(stage, project, env):
    """Serve a Cloud NDB + Cloud Tasks stage on the local emulators until stopped."""
    ports = {
        "app": port_from_env("PORT"),
        "datastore": port_from_env("DATASTORE_EMULATOR_PORT"),
        "tasks": port_from_env("TASKS_EMULATOR_PORT"),
    }
    check_ports(
        {
            PORTS["PORT"][1]: ports["app"],
            PORTS["DATASTORE_EMULATOR_PORT"][1]: ports["datastore"],
            PORTS["TASKS_EMULATOR_PORT"][1]: ports["tasks"],
        }
    )
    deployed = app_yaml_env(stage.app_yaml)
    # The queue that app.yaml names, as an operator creates it before deploying.
    queue = (
        f"projects/{project}/locations/{deployed.get('QUEUE_LOCATION', 'us-central1')}"
        f"/queues/{deployed.get('QUEUE_NAME', 'default')}"
    )
    app_env = {
        **deployed,
        **dict(item.split("=", 1) for item in env),
        "GOOGLE_CLOUD_PROJECT": project,
        "DATASTORE_EMULATOR_HOST": f"127.0.0.1:{ports['datastore']}",
        "CLOUD_TASKS_EMULATOR_HOST": f"127.0.0.1:{ports['tasks']}",
    }
    with contextlib.ExitStack() as servers, stopping_on_unwind():
        datastore = start_datastore_emulator(ports["datastore"], project)
        servers.callback(stop_datastore_emulator, datastore, ports["datastore"])
        tasks = start_tasks_emulator(ports["tasks"], ports["app"])
        servers.callback(stop, tasks)
        wait_for_http(f"http://127.0.0.1:{ports['datastore']}/", datastore, 60)
        create_queue(ports["tasks"], queue)
        app = start_app(stage, ports["app"], app_env)
        servers.callback(stop, app)
        wait_for_http(f"http://127.0.0.1:{ports['app']}/trim", app, 60)
        say(
            f"\nVisitMe {stage.name} is ready (project {project}):\n"
            f"  app:       http://127.0.0.1:{ports['app']}\n"
            f"  datastore: 127.0.0.1:{ports['datastore']} (Datastore emulator)\n"
            f"  tasks:     127.0.0.1:{ports['tasks']} (Cloud Tasks emulator, "
            f"queue {queue})\n"
            "Press Ctrl-C to stop."
        )
        watch_emulators(app, {"Datastore": datastore, "Cloud Tasks": tasks})
        raise LaunchError(f"the app stopped (exit {app.returncode})")


def watch_emulators(app, emulators):
    """Wait while the app runs; say once if an emulator stops meanwhile.

    The app keeps serving, so that what it does without a service can be seen.
    """
    while app.poll() is None:
        for name, server in list(emulators.items()):
            if server.poll() is not None:
                say(f"warning: the {name} emulator stopped; the app runs on.")
                del emulators[name]
        time.sleep(0.5)


def parse_args(argv):
    """Read the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "stage",
        nargs="?",
        help="a stage folder, e.g. mod7-gaetasks (mod7-gaetasks+cloudtasks: route A)",
    )
    parser.add_argument(
        "--stop",
        action="store_true",
        help="stop every launch of this repository and what it left running "
        "(make stop), then exit",
    )
    parser.add_argument(
        "--tasks",
        choices=["queue", "cloud"],
        default="queue",
        help="on the bundled services: App Engine's push queue (default), or "
        "Cloud Tasks with route A's app-cloudtasks.yaml (make run TASKS=cloud)",
    )
    parser.add_argument(
        "--hold-push-tasks",
        action="store_true",
        help="with App Engine's push queue: keep tasks queued, not run, so the "
        "queue lags (its admin console can run them)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set an environment variable for the app (repeatable)",
    )
    args = parser.parse_args(argv)
    if not args.stop and not args.stage:
        parser.error("name a stage folder, e.g. mod7-gaetasks (or --stop)")
    if args.stop and args.stage:
        parser.error("--stop stops every launch; it takes no stage")
    for item in args.env:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", item):
            parser.error(f"--env takes KEY=VALUE, not {item!r}")
    return args


def resolve_stage(name, tasks="queue"):
    """Return the Stage a launch serves: the folder, or route A's variant of it
    for tasks "cloud" (STAGE+cloudtasks names that variant directly)."""
    stage = stages.load(Path.cwd() / name)
    if tasks == "cloud" and not stage.variant:
        if stage.kind == stages.CLOUD:
            raise LaunchError(
                f"TASKS=cloud is route A, for a stage on the bundled services; "
                f"{stage.name} uses Cloud Tasks already"
            )
        stage = stages.load(stage.folder.with_name(f"{stage.name}+cloudtasks"))
    return stage


def stop_command():
    """Stop every launch of this repository (make stop); return the exit code."""
    for signum in STOP_SIGNALS:  # the stopping itself is not cut short
        signal.signal(signum, signal.SIG_IGN)
    lines, everything = launch_state.stop_everything()
    for line in lines:
        say(line)
    if not lines:
        say("No launch of this repository is running.")
    return 0 if everything else 1


def main(argv=None):
    """Check prerequisites, start the stage, and stop it cleanly."""
    args = parse_args(argv)
    if args.stop:
        return stop_command()
    problems = prereqs.missing()
    if problems:
        for line in problems:
            print(f"error: {line}", file=sys.stderr)
        return 1
    handle_stop_signals()
    status = 0
    try:
        stage = resolve_stage(args.stage, args.tasks)
        if args.hold_push_tasks and stage.kind != stages.BUNDLED:
            raise LaunchError(
                f"--hold-push-tasks is for App Engine's push queue; {stage.name}'s "
                "tasks go to Cloud Tasks, whose queue can be paused instead"
            )
        _record.update(launch_state.new_record(stage.name))
        for line in launch_state.clear_stale():
            say(line)
        project = os.environ.get("GOOGLE_CLOUD_PROJECT") or DEFAULT_PROJECT
        if stage.on_devappserver:
            run_bundled(stage, project, args.env, args.hold_push_tasks)
        else:
            run_cloud(stage, project, args.env)
    except (LaunchError, stages.NotAStage) as err:
        no_more_interrupts()  # a signal now would only cut the stop short
        say(f"error: {err}", sys.stderr)
        status = 1
    except KeyboardInterrupt:
        pass
    return finish("launch", status)


if __name__ == "__main__":
    sys.exit(main())
