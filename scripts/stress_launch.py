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

"""Start and stop stages many times under traffic; check nothing is left.

Usage: python3 scripts/stress_launch.py [--rounds N] [--stops STOP,...]
           [STAGE ...]
       make stress [ROUNDS=N]

Each round runs `make run MODULE=STAGE` as a terminal runs it (make and the
launcher in one process group of their own), on free ports, sends visits
(which enqueue trims) from a few threads, then stops it one way:

  int     SIGINT to the group (Ctrl-C)
  term    SIGTERM to the group (make forwards its own: the launcher gets two)
  hup     SIGHUP to the group (the terminal window closed)
  double  SIGHUP to the group, then SIGTERM to it a moment later (make
          forwards that one too: three signals)
  int2    SIGINT to the group twice, a moment apart (Ctrl-C pressed twice)
  kill    SIGKILL to the launcher; then `launch.py --stop` (make stop) must
          stop what it left

and then checks that nothing listens on any of the round's ports and that no
process of the launch is left. Prints one line per round and a summary; exits
1 if any round left something. Default stages: one of each kind (mod7 under
dev_appserver, route A, a Cloud stage). The records go to a temporary
directory, so other launches of this repository are never touched.
"""

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import launch
import launch_state
import stages

REPO = stages.REPO
STOPS = ("int", "term", "hup", "double", "int2", "kill")
DEFAULT_STAGES = ("mod7-gaetasks", "mod7-gaetasks+cloudtasks", "mod9-py3")
START_TIMEOUT_S = 240
STOP_TIMEOUT_S = 60
TRAFFIC_THREADS = 3


def listening(port):
    """Whether anything accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", int(port))) == 0


def traffic(url, stop):
    """Visit url until stop is set; count the answers."""
    answers = 0
    while not stop.is_set():
        try:
            urllib.request.urlopen(url, timeout=10).read()
            answers += 1
        except OSError:
            time.sleep(0.05)
    return answers


def wait_ready(process, log, timeout):
    """Wait for the launcher's banner; return False if it failed to start."""
    deadline = time.monotonic() + timeout
    while "is ready" not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def launcher_records(run_dir):
    """The launch records in run_dir (the launcher's own, once it has one)."""
    records = (launch_state.read(path) for path in Path(run_dir).glob("*.json"))
    return [record for record in records if record]


def one_round(stage, stop, run_dir, log, traffic_s=1.5, make_args=(), check=None):
    """Run one start/traffic/stop round; return (left-over text, stop seconds).

    make_args go to `make run`; check(records), if given, runs while the
    stage serves, with the launch's records.
    """
    ports = launch.free_ports()
    env = {**os.environ, **ports, "VISITME_RUN_DIR": str(run_dir)}
    with log.open("w") as out:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"MODULE={stage}", *make_args],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group, as a terminal's job
        )
    records, done = [], threading.Event()
    try:
        if not wait_ready(make, log, START_TIMEOUT_S):
            tail = log.read_text(errors="replace").splitlines()[-5:]
            return "did not start: " + " | ".join(tail), 0.0
        records = launcher_records(run_dir)
        if check:
            check(records)
        url = f"http://127.0.0.1:{ports['PORT']}/"
        threads = [
            threading.Thread(target=traffic, args=(url, done), daemon=True)
            for _ in range(TRAFFIC_THREADS)
        ]
        for thread in threads:
            thread.start()
        time.sleep(traffic_s)
        started = time.monotonic()
        send_stop(stop, make, records)
        if stop == "kill":
            make.wait(STOP_TIMEOUT_S)
            if not any(listening(port) for port in ports.values()):
                return "nothing outlived the killed launcher: make stop untested", 0.0
            subprocess.run(
                [sys.executable, "scripts/launch.py", "--stop"],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                timeout=STOP_TIMEOUT_S,
            )
        wait_gone(make, records, started + STOP_TIMEOUT_S)
        seconds = time.monotonic() - started
        left = [f"{name} {port}" for name, port in ports.items() if listening(port)]
        left += [f"pid {pid}" for pid in in_sessions(records)]
        return ", ".join(left), seconds
    finally:
        done.set()
        if make.poll() is None:  # failed: stop what is left, ours only
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
        # What a failed round left is stopped too, so the next rounds can run.
        for record in launcher_records(run_dir):
            launch_state.stop_processes(
                lambda record=record: launch_state.leftovers(record), timeout=5
            )


def in_sessions(records):
    """Every live process in the session of a recorded server, marked or not:
    a stricter check than the launcher's own."""
    sessions = {
        server["pid"]: server["started"]
        for record in records
        for server in record["servers"]
    }
    left = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := launch_state.stat(int(entry.name))):
            _, session, started = found
            if session in sessions and started >= sessions[session]:
                left.append(int(entry.name))
    return left


def send_stop(stop, make, records):
    """Stop a running `make run` one way (see the usage)."""
    group = make.pid
    if stop == "int":
        os.killpg(group, signal.SIGINT)
    elif stop == "term":
        os.killpg(group, signal.SIGTERM)
    elif stop == "hup":
        os.killpg(group, signal.SIGHUP)
    elif stop == "double":
        os.killpg(group, signal.SIGHUP)
        time.sleep(random.uniform(0, 0.3))
        os.killpg(group, signal.SIGTERM)
    elif stop == "int2":
        os.killpg(group, signal.SIGINT)
        time.sleep(random.uniform(0, 0.3))
        os.killpg(group, signal.SIGINT)
    elif stop == "kill":
        for record in records:
            os.kill(record["pid"], signal.SIGKILL)
        os.killpg(group, signal.SIGKILL)


def wait_gone(make, records, deadline):
    """Wait until make and the launcher have exited."""
    while time.monotonic() < deadline:
        launchers = [r for r in records if launch_state.alive(r["pid"], r["started"])]
        if make.poll() is not None and not launchers:
            return
        time.sleep(0.05)


def say(line):
    """Print a line at once (the output may be a file)."""
    print(line, flush=True)


def stress(stage_names, stops, rounds, workdir, say=say):
    """Run rounds of each stop on each stage; return the failures' lines."""
    failures = []
    for stage in stage_names:
        times = []
        for number in range(rounds):
            for stop in stops:
                run_dir = Path(workdir) / "run"
                log = Path(workdir) / f"{stage}-{stop}-{number}.log"
                left, seconds = one_round(stage, stop, run_dir, log)
                times.append(seconds)
                line = f"{stage:<26} {stop:<6} round {number + 1}: stopped in "
                line += f"{seconds:5.2f} s, " + (f"LEFT: {left}" if left else "clean")
                say(line)
                if left:
                    failures.append(line)
        say(
            f"{stage}: {len(times)} stops, median {statistics.median(times):.2f} s, "
            f"max {max(times):.2f} s"
        )
    return failures


def main(argv=None):
    """Read the command line, run the rounds, print the numbers."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "stages",
        nargs="*",
        default=list(DEFAULT_STAGES),
        help="stage folders (default: one of each kind)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds per stop")
    parser.add_argument(
        "--stops", default=",".join(STOPS), help=f"some of {','.join(STOPS)}"
    )
    args = parser.parse_args(argv)
    stops = args.stops.split(",")
    if unknown := [stop for stop in stops if stop not in STOPS]:
        parser.error(f"unknown stop {unknown[0]!r}; choose from {','.join(STOPS)}")
    if args.rounds < 1:
        parser.error("--rounds must be 1 or more")
    try:
        for name in args.stages:
            stages.load(REPO / name)
    except stages.NotAStage as err:
        parser.error(str(err))
    with tempfile.TemporaryDirectory(prefix="visitme-stress-") as workdir:
        started = time.monotonic()
        failures = stress(args.stages, stops, args.rounds, workdir)
    total = len(args.stages) * len(stops) * args.rounds
    print(
        f"{total} rounds in {time.monotonic() - started:.0f} s: "
        f"{total - len(failures)} clean, {len(failures)} left something"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
