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

"""What each launch of this repository started, so that a later one can stop it.

A module, not a command: scripts/launch.py uses it (`make stop` is
`launch.py --stop`). Linux only: it reads /proc.

Each process that starts servers (the launcher, or a test that imports
launch.py) writes one record, RUN_DIR/<id>.json, naming itself and each server
by pid and start time (so a recycled pid is never taken for it). Every server
runs in a session of its own and gets MARKER=<id> in its environment, which
its children inherit. A process is this launch's when it is in the session of
one of the recorded servers, started no earlier than it, and carries the
marker; nothing else is ever signalled.
"""

import contextlib
import json
import os
import signal
import time
from pathlib import Path

import stages

# Where the records go (git-ignored); the tests give their own.
RUN_DIR = Path(os.environ.get("VISITME_RUN_DIR") or stages.VENVS / "run")
MARKER = "VISITME_LAUNCH"


def stat(pid):
    """Return (parent pid, session id, start time in clock ticks) of a live
    process, or None for one that does not exist or has exited (a zombie)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    # The command name (field 2) may hold spaces and parentheses.
    fields = text[text.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[1]), int(fields[3]), int(fields[19])


def process_info(pid):
    """Return (session id, start time) of a live process, or None."""
    found = stat(pid)
    return found and found[1:]


def carries(pid, launch_id):
    """Whether the process's environment holds MARKER=launch_id."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"{MARKER}={launch_id}".encode() in environ.split(b"\0")


def command_line(pid):
    """Return a process's command line as one string ('' if it is gone)."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    return " ".join(word.decode(errors="replace") for word in words if word)


def alive(pid, started):
    """Whether pid is still the process that started at `started`."""
    info = process_info(pid)
    return info is not None and info[1] == started


def launch_id():
    """This process's id in records and markers: its pid and start time."""
    return f"{os.getpid()}-{process_info(os.getpid())[1]}"


def record_path(identity):
    """The record file of the launch with this id."""
    return RUN_DIR / f"{identity}.json"


def read(path):
    """Return a record, or None for a file that is not one (half written)."""
    with contextlib.suppress(OSError, ValueError):
        record = json.loads(path.read_text())
        if isinstance(record, dict) and isinstance(record.get("servers"), list):
            return record
    return None


def write(record):
    """Write a record whole (a reader never sees half of it); none if empty."""
    path = record_path(record["id"])
    if not record["servers"]:
        path.unlink(missing_ok=True)
        return
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(record, indent=1))
    partial.replace(path)


def new_record(name):
    """A record for this process, which runs `name` (a stage, or a test)."""
    pid = os.getpid()
    return {
        "id": launch_id(),
        "pid": pid,
        "started": process_info(pid)[1],
        "name": name,
        "servers": [],
    }


def server_entry(pid, command):
    """The record of one server started just now as pid."""
    info = process_info(pid)
    # A server that already exited is recorded with a start time nothing has.
    return {"pid": pid, "started": info[1] if info else -1, "command": command}


def members(server, identity):
    """The pids of a recorded server's session that are this launch's: those
    that carry its marker, and their children (dev_appserver gives its
    instances an environment of their own)."""
    leader = process_info(server["pid"])
    if server["started"] < 0 or (leader and leader[1] != server["started"]):
        return []  # the pid is another process's now: its session is not ours
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := stat(int(entry.name))):
            ppid, session, started = found
            if session == server["pid"] and started >= server["started"]:
                parents[int(entry.name)] = ppid
    ours = {pid for pid in parents if carries(pid, identity)}
    while children := {pid for pid, ppid in parents.items() if ppid in ours} - ours:
        ours |= children
    return sorted(ours)


def leftovers(record):
    """The pids of every process a record's servers still have running."""
    return [
        pid for server in record["servers"] for pid in members(server, record["id"])
    ]


def signal_all(pids, signum):
    """Send a signal to each pid that still exists."""
    for pid in pids:
        # PermissionError: a child that became another user's (a setuid program).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def stop_processes(find, timeout=15, done=None):
    """Stop what find() returns: SIGTERM, then SIGKILL to what is left once
    done() holds (default: nothing is left) or timeout s have passed.

    find is asked again each time, so that a child started meanwhile goes too.
    """
    done = done or (lambda: not find())
    signal_all(find(), signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.1)
    deadline = time.monotonic() + 5  # SIGKILL acts at once, bar a hung disk
    while (pids := find()) and time.monotonic() < deadline:
        signal_all(pids, signal.SIGKILL)
        time.sleep(0.05)


def stop_leftovers(path, record):
    """Stop what a gone launch left; forget the launch only once nothing of it
    runs. Return (pids it had running, pids still running)."""
    pids = leftovers(record)
    stop_processes(lambda: leftovers(record), timeout=5)
    left = leftovers(record)
    if not left:
        path.unlink(missing_ok=True)
    return pids, left


def stop_gone_launch(pid):
    """Stop what the launch by pid left, once that launcher has exited."""
    for path, record in launches():
        if record["pid"] == pid and not alive(pid, record["started"]):
            stop_leftovers(path, record)


def launches():
    """Return (path, record) for each record in RUN_DIR."""
    if not RUN_DIR.is_dir():
        return []
    found = []
    for path in sorted(RUN_DIR.glob("*.json")):
        if (record := read(path)) is not None:
            found.append((path, record))
    return found


def clear_stale():
    """Stop the servers of every launch that is gone but left them running.

    Returns one line for each such launch. A launch still running (another
    terminal, a test) is left alone.
    """
    lines = []
    for path, record in launches():
        if record["id"] == launch_id() or alive(record["pid"], record["started"]):
            continue
        pids, left = stop_leftovers(path, record)
        if pids:
            lines.append(
                f"Stopped {len(pids) - len(left)} process(es) that an earlier "
                f"launch of {record['name']} (pid {record['pid']}) left running."
                + (f" Still running: pids {' '.join(map(str, left))}." if left else "")
            )
    return lines


def stop_everything(timeout=30):
    """Stop every launch of this repository, running or not (`make stop`).

    A running launcher is asked to stop with SIGTERM, as Ctrl-C would; what
    it or a gone one leaves is stopped here. Returns (one line per launch,
    whether everything stopped).
    """
    lines, everything = [], True
    for path, record in launches():
        if record["id"] == launch_id():
            continue
        running = alive(record["pid"], record["started"])
        if running:
            signal_all([record["pid"]], signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while alive(record["pid"], record["started"]):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        if alive(record["pid"], record["started"]):
            everything = False
            lines.append(
                f"The launch of {record['name']} (pid {record['pid']}) did not "
                f"stop within {timeout} s."
            )
            continue
        pids, left = stop_leftovers(path, record)
        if running or pids:
            lines.append(
                f"Stopped the launch of {record['name']} (pid {record['pid']})"
                + (f" and {len(pids)} process(es) it left running." if pids else ".")
            )
        if left:
            everything = False
            lines.append(f"Still running: pids {' '.join(map(str, left))}.")
    return lines, everything


def listening_inodes(port):
    """The socket inodes listening on a TCP port (IPv4 and IPv6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    inodes.add(inode)
    return inodes


def port_owner(port):
    """Return the pid of a process listening on port, or None if none is seen
    (none listens, or it is another user's)."""
    inodes = {f"socket:[{inode}]" for inode in listening_inodes(port)}
    if not inodes:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        return int(entry.name)
    return None


def owning_launch(pid):
    """Return the record of the launch of this repository that pid belongs to,
    or None if it is not one of theirs."""
    for _, record in launches():
        if any(pid in members(server, record["id"]) for server in record["servers"]):
            return record
    return None
