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

"""Print the gcloud commands that give Cloud Tasks queues a queue.yaml's settings.

Usage: .venv/tasks-emulator/bin/python scripts/queue_commands.py [--update]
           QUEUE_YAML [--location L]

For each push queue in QUEUE_YAML, prints the `gcloud tasks queues create NAME`
command (`update` with --update) whose flags give the queue the settings that
`gcloud app deploy QUEUE_YAML` gives it; L is the queues' location
(default us-central1). The conversion is gcloud's own (Cloud SDK 528,
lib/googlecloudsdk/api_lib/tasks/app_deploy_migration_util.py,
_PopulateCloudTasksArgs, with the defaults in
lib/googlecloudsdk/command_lib/tasks/constants.py): task_retry_limit N is
--max-attempts=N+1, rate N/s, N/m, N/h or N/d is --max-dispatches-per-second,
min/max_backoff_seconds are --min-backoff/--max-backoff, task_age_limit is
--max-retry-duration, max_concurrent_requests is --max-concurrent-dispatches,
max_doublings is --max-doublings and target is --routing-override. A setting
the file leaves out (or sets to 0, which gcloud reads as unset) gets the value
gcloud app deploy gives it, written out, since `gcloud tasks queues create`
defaults some of them differently (--max-attempts=-1 is unlimited).

Pull queues are skipped, with a `#` line saying so. No flag carries what gcloud
app deploy also sets: the burst size (bucket_size, else 5; a `#` line names a
bucket_size that is lost), and on a new queue a task TTL of 10 years and a
tombstone TTL of 9 days; Cloud Tasks' defaults apply instead. A push queue at
rate 0/s gets a `gcloud tasks queues pause` line when gcloud app deploy pauses
it. With --update, unlike gcloud app deploy, the commands do not resume a
paused queue or pause the queues the file leaves out.

Needs PyYAML: run it with the Cloud Tasks emulator's Python, which `make unit`
makes (or: python3 scripts/ensure_venv.py .venv/tasks-emulator
scripts/tasks-emulator-requirements.txt). Exits 2 with one `error:` line on a
file that gcloud app deploy would refuse, or that holds a value it would only
accept by accident (a fraction where a count belongs).
"""

import argparse
import re
import shlex
import sys

try:
    import yaml
except ImportError:  # --help works without it; main() says what to run instead
    yaml = None

DEFAULT_LOCATION = "us-central1"
VENV_PYTHON = ".venv/tasks-emulator/bin/python"

# Cloud Tasks settings, named as gcloud names them (the keys of
# constants.APP_TO_TASKS_ATTRIBUTES_MAPPING's values), each with its flag, in
# the order `gcloud tasks queues create --help` shows them in its example.
FLAGS = {
    "max_attempts": "--max-attempts",
    "max_retry_duration": "--max-retry-duration",
    "max_doublings": "--max-doublings",
    "min_backoff": "--min-backoff",
    "max_backoff": "--max-backoff",
    "max_dispatches_per_second": "--max-dispatches-per-second",
    "max_concurrent_dispatches": "--max-concurrent-dispatches",
    "routing_override": "--routing-override",
}
DURATIONS = {"max_retry_duration", "min_backoff", "max_backoff"}
# Settings gcloud app deploy gives a push queue that no `gcloud tasks queues`
# flag can (app_deploy_migration_util.py adds --max_burst_size for itself).
NO_FLAG = {"max_burst_size"}

# constants.PUSH_QUEUES_APP_DEPLOY_DEFAULT_VALUES, durations in seconds.
PUSH_DEFAULTS = {
    "max_attempts": -1,
    "max_backoff": 3600.0,
    "max_doublings": 16,
    "max_burst_size": 5,
    "max_concurrent_dispatches": 1000,
    "max_retry_duration": 0,
    "min_backoff": 0.1,
}
MAX_RATE = 500  # constants.MAX_RATE, per second
MAX_BUCKET_SIZE = 500  # constants.MAX_BUCKET_SIZE
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}  # constants.TIME_IN_SECONDS

# What queue.yaml may hold, as googlecloudsdk/appengine/api/queueinfo.py reads it.
NAME = re.compile(r"[A-Za-z0-9-]{1,499}")
RATE = re.compile(r"(?P<number>[0-9]+(\.[0-9]*)?)/(?P<unit>[smhd])")
TARGET = re.compile(
    r"(?:(?P<version>(?!-)[a-z\d\-]{1,100})\.)?(?P<service>(?!-)[a-z\d\-]{1,63})"
)
# task_age_limit as task_queues_convertors.CheckAndConvertStringToFloatIfApplicable
# reads it; gcloud app deploy fails on anything else.
AGE = re.compile(r"(?P<number>\d+(\.\d+)?|\.\d+)(?P<unit>[smhd])")
FILE_KEYS = {"queue", "total_storage_limit", "resume_paused_queues"}
QUEUE_KEYS = {
    "name",
    "rate",
    "mode",
    "bucket_size",
    "max_concurrent_requests",
    "retry_parameters",
    "acl",
    "target",
}
RETRY_KEYS = {
    "task_retry_limit",
    "task_age_limit",
    "min_backoff_seconds",
    "max_backoff_seconds",
    "max_doublings",
}
PUSH_ONLY = {"rate", "bucket_size", "max_concurrent_requests", "target"}
PUSH_ONLY_RETRY = RETRY_KEYS - {"task_retry_limit"}


class QueueYamlError(ValueError):
    """A queue.yaml that gcloud app deploy would refuse, in one line."""


def load_queues(path):
    """Return the queue entries of a queue.yaml, each checked as gcloud checks it."""
    try:
        with open(path, encoding="utf-8") as source:
            document = yaml.safe_load(source)
    except OSError as err:
        raise QueueYamlError(f"cannot read {path}: {err.strerror}") from err
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise QueueYamlError(f"{path} is not YAML: {one_line(err)}") from err
    if not isinstance(document, dict):
        raise QueueYamlError(f"{path}: not a queue.yaml (no `queue:` mapping)")
    mapping(document, FILE_KEYS, f"{path}")
    entries = document.get("queue") or []
    if not isinstance(entries, list):
        raise QueueYamlError(f"{path}: `queue:` is not a list")
    names = set()
    for entry in entries:
        check_entry(entry, path)
        if entry["name"] in names:
            raise QueueYamlError(f"{path}: queue {entry['name']} appears twice")
        names.add(entry["name"])
    return entries


def check_entry(entry, path):
    """Check one queue entry in place; raise QueueYamlError on the first fault."""
    if not isinstance(entry, dict) or entry.get("name") is None:
        raise QueueYamlError(f"{path}: a queue without a name")
    entry["name"] = text(entry["name"])
    if not NAME.fullmatch(entry["name"]):
        raise QueueYamlError(f"{path}: bad queue name {entry['name']!r}")
    where = f"{path}: queue {entry['name']}"
    mapping(entry, QUEUE_KEYS, where)
    retry = entry.get("retry_parameters") or {}
    mapping(retry, RETRY_KEYS, f"{where}: retry_parameters")
    if entry.get("mode") not in (None, "push", "pull"):
        raise QueueYamlError(f"{where}: mode is push or pull, not {entry['mode']!r}")
    for key in ("bucket_size", "max_concurrent_requests"):
        number(entry, key, int, where)
    for key in ("task_retry_limit", "max_doublings"):
        number(retry, key, int, where)
    for key in ("min_backoff_seconds", "max_backoff_seconds"):
        number(retry, key, float, where)
    if entry.get("mode") == "pull":
        given = {k for k in PUSH_ONLY if entry.get(k) is not None}
        given |= {k for k in PUSH_ONLY_RETRY if retry.get(k) is not None}
        if given:
            raise QueueYamlError(f"{where}: a pull queue cannot have {min(given)}")
    else:
        check_push(entry, retry, where)
    if (retry.get("task_retry_limit") or 0) < 0:
        raise QueueYamlError(f"{where}: task_retry_limit is below 0")


def check_push(entry, retry, where):
    """Check what ValidateQueueYamlFileConfig checks of a push queue."""
    if entry.get("rate") is None:
        raise QueueYamlError(f"{where}: a push queue needs a rate")
    if rate_per_second(entry["rate"], where) > MAX_RATE:
        raise QueueYamlError(f"{where}: rate is over {MAX_RATE}/s")
    if entry.get("target") is not None and not TARGET.fullmatch(text(entry["target"])):
        raise QueueYamlError(f"{where}: target is SERVICE or VERSION.SERVICE")
    if retry.get("task_age_limit") is not None:
        if age_seconds(retry["task_age_limit"], where) <= 0:
            raise QueueYamlError(f"{where}: task_age_limit is not above 0")
    for key in ("min_backoff_seconds", "max_backoff_seconds", "max_doublings"):
        if (retry.get(key) or 0) < 0:
            raise QueueYamlError(f"{where}: {key} is below 0")
    low, high = retry.get("min_backoff_seconds"), retry.get("max_backoff_seconds")
    if low is not None and high is not None and high < low:
        raise QueueYamlError(f"{where}: max_backoff_seconds is below min")
    if not 0 <= (entry.get("bucket_size") or 0) <= MAX_BUCKET_SIZE:
        raise QueueYamlError(f"{where}: bucket_size is not 0 to {MAX_BUCKET_SIZE}")


def mapping(value, keys, where):
    """Refuse a value that is not a mapping of these keys, as gcloud does."""
    if not isinstance(value, dict):
        raise QueueYamlError(f"{where}: not a mapping")
    unknown = sorted(str(key) for key in value if key not in keys)
    if unknown:
        raise QueueYamlError(f"{where}: unknown key {unknown[0]!r}")


def number(values, key, kind, where):
    """Replace values[key] by its int or float value; refuse a value of no kind."""
    value = values.get(key)
    if value is None:
        return
    try:
        if isinstance(value, bool) or (kind is int and isinstance(value, float)):
            raise ValueError
        values[key] = kind(value)
    except ValueError:
        raise QueueYamlError(f"{where}: {key} is not a number: {value!r}") from None


def text(value):
    """Return a YAML scalar as the text gcloud reads it as ('' for no scalar)."""
    return "" if isinstance(value, (dict, list, bool)) else str(value)


def rate_per_second(rate, where):
    """Return a queue.yaml rate per second (task_queues_convertors.ConvertRate)."""
    found = RATE.fullmatch(text(rate))
    if not found:
        raise QueueYamlError(f"{where}: cannot read rate {rate!r} (want N/s|m|h|d)")
    return round(float(found["number"]) / SECONDS[found["unit"]], 9)


def age_seconds(age, where):
    """Return a task_age_limit in whole seconds (convertors.ConvertTaskAgeLimit)."""
    found = AGE.fullmatch(text(age))
    if not found:
        raise QueueYamlError(f"{where}: cannot read task_age_limit {age!r}")
    return int(float(found["number"]) * SECONDS[found["unit"]])


def routing(target):
    """Return a target as App Engine routing (convertors.ConvertTarget)."""
    found = TARGET.fullmatch(text(target))
    return {k: found[k] for k in ("service", "version") if found[k] is not None}


def cloud_tasks_settings(entry):
    """Return the Cloud Tasks settings gcloud app deploy gives a new push queue.

    As _PopulateCloudTasksArgs: a value gcloud reads as false (0) counts as
    unset, except task_retry_limit; an unset setting takes its default; then a
    default backoff gives way to the other one if they cross.
    """
    retry = entry.get("retry_parameters") or {}
    given = {
        "max_burst_size": (entry.get("bucket_size"), int),
        "max_concurrent_dispatches": (
            entry.get("max_concurrent_requests"),
            lambda n: min(5000, max(1, n)),
        ),
        "max_dispatches_per_second": (
            entry.get("rate"),
            lambda rate: rate_per_second(rate, entry["name"]),
        ),
        "min_backoff": (retry.get("min_backoff_seconds"), lambda s: round(s, 8)),
        "max_backoff": (retry.get("max_backoff_seconds"), lambda s: round(s, 8)),
        "max_doublings": (retry.get("max_doublings"), int),
        "max_retry_duration": (
            retry.get("task_age_limit"),
            lambda age: age_seconds(age, entry["name"]),
        ),
        "max_attempts": (retry.get("task_retry_limit"), lambda n: n + 1),
        "routing_override": (entry.get("target"), routing),
    }
    settings = {}
    for setting, (value, convert) in given.items():
        if value or (value is not None and setting == "max_attempts"):
            settings[setting] = convert(value)
        elif setting in PUSH_DEFAULTS:
            settings[setting] = PUSH_DEFAULTS[setting]
    if settings["min_backoff"] > settings["max_backoff"]:
        if not retry.get("min_backoff_seconds"):
            settings["min_backoff"] = settings["max_backoff"]
        else:
            settings["max_backoff"] = settings["min_backoff"]
    return settings


def push_queues(path):
    """Return (name, Cloud Tasks settings) for each push queue of a queue.yaml."""
    return [
        (entry["name"], cloud_tasks_settings(entry))
        for entry in load_queues(path)
        if entry.get("mode") != "pull"
    ]


def decimal_text(value):
    """Write a number as a flag value: 5 for 5.0, 0.1 for 0.1."""
    written = repr(value)
    return written[:-2] if written.endswith(".0") else written


def flag_value(setting, value):
    """Write one setting's value the way its gcloud flag takes it."""
    if setting in DURATIONS:
        return f"{decimal_text(value)}s"
    if setting == "routing_override":
        return ",".join(f"{key}:{name}" for key, name in value.items())
    return decimal_text(value)


def commands(entries, location, update=False):
    """Return the lines to print for these queue entries: commands and notes."""
    verb = "update" if update else "create"
    lines = []
    for entry in entries:
        name = entry["name"]
        if entry.get("mode") == "pull":
            lines.append(f"# skipped pull queue {name}: only push queues are printed")
            continue
        settings = cloud_tasks_settings(entry)
        # Rate 0/s (app_deploy_migration_util.py, lines 115-118, 717-723 and
        # 761-767): gcloud app deploy leaves an existing queue's rate as it is
        # and pauses the queue; a new queue gets rate 0, and is paused only if
        # its entry says `mode: push`.
        stopped = settings["max_dispatches_per_second"] == 0
        if stopped and update:
            del settings["max_dispatches_per_second"]
        flags = [
            f"{flag}={shlex.quote(flag_value(setting, settings[setting]))}"
            for setting, flag in FLAGS.items()
            if setting in settings
        ]
        where = f"--location={shlex.quote(location)}"
        lines.append(" ".join(["gcloud tasks queues", verb, name, where, *flags]))
        if stopped and (update or entry.get("mode") == "push"):
            lines.append(f"gcloud tasks queues pause {name} {where}")
        if entry.get("bucket_size"):
            lines.append(
                f"# {name}: no flag sets bucket_size {entry['bucket_size']} "
                "(max burst size); Cloud Tasks picks one from the rate"
            )
    return lines


def one_line(err):
    """Return an exception's message on one line."""
    return " ".join(str(err).split())


def main(argv=None):
    """Print the commands for a queue.yaml, or one error line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=f"Run it with {VENV_PYTHON}, which has PyYAML.",
    )
    parser.add_argument("queue_yaml", metavar="QUEUE_YAML", help="a stage's queue.yaml")
    parser.add_argument(
        "--location",
        default=DEFAULT_LOCATION,
        help=f"the queues' Cloud Tasks location (default {DEFAULT_LOCATION})",
    )
    parser.add_argument(
        "--update", action="store_true", help="print `update` commands, not `create`"
    )
    args = parser.parse_args(argv)
    if yaml is None:
        print("error: PyYAML is missing; run me with " + VENV_PYTHON, file=sys.stderr)
        return 1
    try:
        lines = commands(load_queues(args.queue_yaml), args.location, args.update)
    except QueueYamlError as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
