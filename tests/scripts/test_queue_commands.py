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

"""scripts/queue_commands.py against the Cloud SDK's own `gcloud app deploy`.

The reference is gcloud's code, run in the CLI's bundled Python: it parses
each queue.yaml as `gcloud app deploy` does (yaml_parsing.ConfigYamlInfo),
validates it (ValidateQueueYamlFileConfig) and deploys it
(DeployQueuesYamlFile, which calls _PopulateCloudTasksArgs) into a stand-in
for the Cloud Tasks API that records what it is asked: the settings each
queue gets, and which queues it pauses. The printed commands' flags are read
with gcloud's own flag definitions for `gcloud tasks queues`, and the two
must agree, setting by setting.
"""

import functools
import json
import os
import re
import shlex
import subprocess
import sys
from decimal import Decimal

import pytest

import launch
import prereqs
import queue_commands
import stages

REPO = stages.REPO
SCRIPT = REPO / "scripts" / "queue_commands.py"
MOD7 = REPO / "mod7-gaetasks" / "queue.yaml"
DURATIONS = ("min_backoff", "max_backoff", "max_retry_duration")

# Runs in the CLI's Python. stdin: {"files": [...], "existing": bool,
# "commands": [[argv], ...]}; stdout: what gcloud app deploy makes of each file
# (every queue's specified Cloud Tasks args, its mode, the queues it pauses),
# and each command's flags as `gcloud tasks queues` parses them.
GCLOUD = r"""
import argparse, json, sys

SDK = sys.argv[1]
sys.path[:0] = [SDK + "/lib", SDK + "/lib/third_party"]
from googlecloudsdk.api_lib.app import yaml_parsing
from googlecloudsdk.api_lib.tasks import app_deploy_migration_util as util
from googlecloudsdk.api_lib.tasks import queues
from googlecloudsdk.api_lib.util import apis
from googlecloudsdk.calliope import base
from googlecloudsdk.command_lib.tasks import app, flags

app.ResolveAppLocation = lambda *args, **kwargs: "us-central1"  # asks the API
messages = apis.GetMessagesModule("cloudtasks", "v2beta3")  # app deploy's


class Service:
    # The Cloud Tasks API: records what gcloud asks of it.
    def __init__(self):
        self.paused, self.resumed = [], []

    def Patch(self, request):
        pass

    def Pause(self, request):
        self.paused.append(request.name.rsplit("/", 1)[1])

    def Resume(self, request):
        self.resumed.append(request.name.rsplit("/", 1)[1])


def existing(name):
    # A running queue whose every setting differs from any in the tests.
    return messages.Queue(
        name=name,
        state=messages.Queue.StateValueValuesEnum.RUNNING,
        rateLimits=messages.RateLimits(
            maxDispatchesPerSecond=123.0, maxConcurrentDispatches=77,
            maxBurstSize=55),
        retryConfig=messages.RetryConfig(
            maxAttempts=99, maxRetryDuration="12345s", minBackoff="0.012s",
            maxBackoff="1234s", maxDoublings=13),
        appEngineHttpQueue=messages.AppEngineHttpQueue(
            appEngineRoutingOverride=messages.AppEngineRouting(
                host="old.demo.appspot.com")))


def deploy(path, update):
    specified = {}
    populate = util._PopulateCloudTasksArgs

    def recording(queue, current, expected):
        args = populate(queue, current, expected)
        specified[queue.name] = {
            "mode": queue.mode, "args": dict(args._specified_args)}
        return args

    util._PopulateCloudTasksArgs = recording
    try:
        config = yaml_parsing.ConfigYamlInfo.FromFile(path)
        util.ValidateQueueYamlFileConfig(config)
        service = Service()
        api = argparse.Namespace(
            messages=messages, queues=queues.BetaQueues(messages, service))
        current = {q.name: existing(q.name) for q in config.parsed.queue or []}
        util.DeployQueuesYamlFile(api, config, current if update else {})
    except Exception as err:
        return {"error": "%s: %s" % (type(err).__name__, err)}
    finally:
        util._PopulateCloudTasksArgs = populate
    return {"queues": specified, "paused": service.paused,
            "resumed": service.resumed}


def parse(argv):
    parser = argparse.ArgumentParser(prog=" ".join(argv[:4]))
    parser.add_argument("queue")
    parser.add_argument("--location")
    for flag in flags._PushQueueFlags(base.ReleaseTrack.GA):
        flag.AddToParser(parser)
    args = parser.parse_args(argv[4:])
    return {"verb": argv[3], "queue": args.queue, "location": args.location,
            "settings": {key: value for key, value in vars(args).items()
                         if value is not None and key not in ("queue", "location")}}


request = json.load(sys.stdin)
json.dump({
    "files": {path: deploy(path, request["existing"])
              for path in request["files"]},
    "commands": [parse(argv) for argv in request["commands"]],
}, sys.stdout)
"""

# Every setting the script converts, on several queues in each file.
RATES = """\
queue:
- name: per-second
  rate: 5/s
- name: fraction
  rate: 1.5/s
- name: per-minute
  rate: 30/m
- name: per-hour
  rate: 7200/h
- name: per-day
  rate: 100/d
- name: stopped-push
  rate: 0/s
  mode: push
- name: stopped
  rate: 0/s
"""
RETRIES = """\
queue:
- name: no-retries
  rate: 1/s
  retry_parameters:
    task_retry_limit: 0
- name: age-minutes
  rate: 1/s
  retry_parameters:
    task_retry_limit: 3
    task_age_limit: 2.5m
    max_doublings: 4
- name: age-hours
  rate: 1/s
  retry_parameters:
    task_age_limit: 1h
    max_doublings: 0
- name: age-days
  rate: 1/s
  retry_parameters:
    task_age_limit: 1d
    min_backoff_seconds: 0.5
    max_backoff_seconds: 30
- name: min-only
  rate: 1/s
  retry_parameters:
    min_backoff_seconds: 7200
- name: max-only
  rate: 1/s
  retry_parameters:
    max_backoff_seconds: 0.05
- name: fine-backoff
  rate: 1/s
  retry_parameters:
    min_backoff_seconds: 0.123456789
    max_backoff_seconds: 90
"""
DISPATCH = """\
queue:
- name: concurrent
  rate: 10/s
  max_concurrent_requests: 7
- name: unbounded
  rate: 10/s
  max_concurrent_requests: 0
- name: too-many
  rate: 10/s
  max_concurrent_requests: 10000
- name: below-one
  rate: 10/s
  max_concurrent_requests: -3
- name: service
  rate: 10/s
  target: worker
- name: version
  rate: 10/s
  mode: push
  target: v2.worker
  bucket_size: 3
- name: pulled
  mode: pull
  retry_parameters:
    task_retry_limit: 2
"""


def write(tmp_path, folder, text):
    """Write text as FOLDER/queue.yaml: gcloud reads only a file of that name."""
    path = tmp_path / folder / "queue.yaml"
    path.parent.mkdir()
    path.write_text(text)
    return path


@pytest.fixture
def queue_files(tmp_path):
    """mod7's queue.yaml, and files that hold every setting the script converts."""
    return [
        MOD7,
        write(tmp_path, "rates", RATES),
        write(tmp_path, "retries", RETRIES),
        write(tmp_path, "dispatch", DISPATCH),
    ]


tasks_python = functools.cache(launch.tasks_python)


def run(*args, python=None, env=None):
    """Run queue_commands.py; return (exit code, stdout, stderr)."""
    done = subprocess.run(
        [python or tasks_python(), SCRIPT, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    return done.returncode, done.stdout, done.stderr


def sdk_env(tmp_path):
    """Environment for gcloud: its config and logs in tmp_path, no .pyc in the SDK."""
    return {
        "PATH": os.environ["PATH"],
        "CLOUDSDK_CONFIG": str(tmp_path / "gcloud-config"),
        "CLOUDSDK_CORE_PROJECT": "demo",
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def gcloud_code(tmp_path, files=(), existing=False, commands=()):
    """Ask the Cloud SDK's own code, in the CLI's Python; return its answer."""
    sdk = prereqs.find_sdk_root()
    assert sdk is not None, "the Google Cloud CLI is missing (scripts/prereqs.py)"
    request = {
        "files": [str(path) for path in files],
        "existing": existing,
        "commands": [shlex.split(line) for line in commands],
    }
    done = subprocess.run(
        [prereqs.sdk_python(sdk), "-c", GCLOUD, str(sdk)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        env=sdk_env(tmp_path),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def normal(settings):
    """Settings with durations as exact numbers of seconds ('1.0s' == '1s')."""
    return {
        key: Decimal(value[:-1]) if key in DURATIONS else value
        for key, value in settings.items()
    }


def printed(tmp_path, files, update=False):
    """Run the script on each file; return its commands, parsed by gcloud's flags."""
    found = {}
    for path in files:
        code, out, err = run(*(["--update"] if update else []), path)
        assert (code, err) == (0, "")
        lines = out.splitlines()
        found[str(path)] = {
            "commands": [
                line
                for line in lines
                if re.match(r"gcloud \S+ \S+ (create|update) ", line)
            ],
            "paused": [line.split()[4] for line in lines if " pause " in line],
            "notes": [line for line in lines if line.startswith("# ")],
        }
        assert len(lines) == sum(map(len, found[str(path)].values()))
    commands = [line for each in found.values() for line in each["commands"]]
    parsed = iter(gcloud_code(tmp_path, commands=commands)["commands"])
    for each in found.values():
        each["commands"] = [next(parsed) for _ in each["commands"]]
    return found


@pytest.mark.parametrize("update", [False, True], ids=["create", "update"])
def test_the_flags_give_each_push_queue_what_gcloud_app_deploy_gives_it(
    tmp_path, queue_files, update
):
    deployed = gcloud_code(tmp_path, queue_files, existing=update)["files"]
    ours = printed(tmp_path, queue_files, update)

    for path in map(str, queue_files):
        assert "error" not in deployed[path], deployed[path]
        gcloud = deployed[path]["queues"]
        push = {name for name, queue in gcloud.items() if queue["mode"] != "pull"}
        commands = {command["queue"]: command for command in ours[path]["commands"]}
        assert set(commands) == push, path
        for name in push:
            expected = dict(gcloud[name]["args"])
            del expected["name"]
            expected.pop("type", None)  # push, Cloud Tasks' default
            assert queue_commands.NO_FLAG <= expected.keys()  # burst size
            for key in queue_commands.NO_FLAG:
                del expected[key]
            command = commands[name]
            assert command["verb"] == ("update" if update else "create")
            assert command["location"] == "us-central1"
            assert normal(command["settings"]) == normal(expected), (path, name)
        assert sorted(ours[path]["paused"]) == sorted(deployed[path]["paused"])
        assert deployed[path]["resumed"] == []


def test_mod7s_queue_gets_its_settings_from_one_command():
    code, out, err = run(MOD7)

    assert (code, err) == (0, "")
    assert out == (
        "gcloud tasks queues create default --location=us-central1"
        " --max-attempts=6 --max-retry-duration=0s --max-doublings=16"
        " --min-backoff=1s --max-backoff=60s --max-dispatches-per-second=5"
        " --max-concurrent-dispatches=1000\n"
    )


def test_a_pull_queue_and_a_bucket_size_are_named_in_comment_lines(tmp_path):
    code, out, _ = run(write(tmp_path, "dispatch", DISPATCH))

    assert code == 0
    notes = [line for line in out.splitlines() if line.startswith("#")]
    assert len(notes) == 2
    assert "pull queue pulled" in notes[1]
    assert notes[0].startswith("# version: no flag sets bucket_size 3")
    assert "pulled" not in out.replace(notes[1], "")


def test_location_and_update_change_only_the_verb_and_location():
    _, created, _ = run(MOD7)
    _, updated, _ = run("--update", MOD7, "--location", "europe-west1")

    assert updated == created.replace(" create ", " update ").replace(
        "us-central1", "europe-west1"
    )


@pytest.fixture(scope="module")
def help_flags(tmp_path_factory):
    """The flags that `gcloud tasks queues VERB --help` lists on this machine."""
    env = sdk_env(tmp_path_factory.mktemp("gcloud"))
    found = {}
    for verb in ("create", "update", "pause"):
        done = subprocess.run(
            ["gcloud", "tasks", "queues", verb, "--help"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert done.returncode == 0, done.stderr[-1000:]
        text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)
        found[verb] = set(re.findall(r"--[a-z][a-z-]+", text))
    return found


def test_every_flag_printed_is_one_gcloud_has(queue_files, help_flags):
    for update in (False, True):
        for path in queue_files:
            _, out, _ = run(*(["--update"] if update else []), path)
            for line in out.splitlines():
                if line.startswith("#"):
                    continue
                words = shlex.split(line)
                assert words[:3] == ["gcloud", "tasks", "queues"]
                used = {word.split("=", 1)[0] for word in words if word[:2] == "--"}
                assert used and used <= help_flags[words[3]], line


# A file gcloud app deploy refuses too (True), or one it takes by accident.
BAD = {
    "not YAML": ("queue: [\n", True),
    "empty": ("", True),
    "no name": ("queue:\n- rate: 5/s\n", True),
    "rate unit": ("queue:\n- name: a\n  rate: 5/x\n", True),
    "rate word": ("queue:\n- name: a\n  rate: fast\n", True),
    "rate zero": ("queue:\n- name: a\n  rate: 0\n", True),  # gcloud: ValueError
    "no rate": ("queue:\n- name: a\n", True),
    "rate over 500": ("queue:\n- name: a\n  rate: 501/s\n", True),
    "unknown key": ("queue:\n- name: a\n  rate: 5/s\n  colour: red\n", True),
    "bad mode": ("queue:\n- name: a\n  rate: 5/s\n  mode: bulk\n", True),
    "pull with rate": ("queue:\n- name: a\n  rate: 5/s\n  mode: pull\n", True),
    "backoffs cross": (
        "queue:\n- name: a\n  rate: 5/s\n  retry_parameters:\n"
        "    min_backoff_seconds: 9\n    max_backoff_seconds: 1\n",
        True,
    ),
    "negative retries": (
        "queue:\n- name: a\n  rate: 5/s\n  retry_parameters:\n"
        "    task_retry_limit: -1\n",
        True,
    ),
    "zero age": (
        "queue:\n- name: a\n  rate: 5/s\n  retry_parameters:\n    task_age_limit: 0s\n",
        True,
    ),
    "fractional retries": (
        "queue:\n- name: a\n  rate: 5/s\n  retry_parameters:\n"
        "    task_retry_limit: 5.5\n",
        False,
    ),
    "twice": ("queue:\n- name: a\n  rate: 5/s\n- name: a\n  rate: 1/s\n", False),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_gives_one_error_line_and_exit_2(tmp_path, case):
    path = write(tmp_path, "bad", BAD[case][0])

    code, out, err = run(path)

    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("error: ")
    assert "Traceback" not in err


def test_gcloud_app_deploy_refuses_those_files_too(tmp_path):
    refused = {
        case: write(tmp_path, f"bad{n}", text)
        for n, (case, (text, gcloud_too)) in enumerate(BAD.items())
        if gcloud_too
    }

    deployed = gcloud_code(tmp_path, refused.values())["files"]

    assert [
        case for case, path in refused.items() if "error" not in deployed[str(path)]
    ] == []


def test_a_missing_file_gives_one_error_line_and_exit_2(tmp_path):
    code, out, err = run(tmp_path / "queue.yaml")

    assert (code, out) == (2, "")
    assert (
        err
        == f"error: cannot read {tmp_path / 'queue.yaml'}: No such file or directory\n"
    )


def test_help_says_how_to_run_it_even_without_pyyaml(tmp_path):
    (tmp_path / "yaml.py").write_text("raise ImportError('no PyYAML here')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}

    code, out, _ = run("--help", python=sys.executable, env=env)
    missing = run(MOD7, python=sys.executable, env=env)

    assert code == 0
    assert out.startswith("usage: queue_commands.py")
    assert ".venv/tasks-emulator/bin/python" in out
    assert missing[:2] == (1, "")
    assert missing[2].startswith("error: PyYAML is missing")
    assert len(missing[2].splitlines()) == 1


EMULATOR_QUEUES = """
import json, sys
sys.path.insert(0, "scripts")
from google.cloud import tasks_v2
import tasks_emulator
print(json.dumps([tasks_v2.Queue.to_dict(queue) for path in sys.argv[1:]
                  for queue in tasks_emulator.queue_yaml_queues(path, "demo", "l")]))
"""


def test_the_emulator_s_queues_get_the_same_settings(tmp_path, queue_files):
    deployed = gcloud_code(tmp_path, queue_files)["files"]
    done = subprocess.run(
        [tasks_python(), "-W", "ignore", "-c", EMULATOR_QUEUES, *map(str, queue_files)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-2000:]

    expected = {}
    for path in map(str, queue_files):
        for name, queue in deployed[path]["queues"].items():
            if queue["mode"] != "pull":
                args = dict(queue["args"])
                expected[name] = {
                    "name": f"projects/demo/locations/l/queues/{args.pop('name')}",
                    **{key: value for key, value in args.items() if key != "type"},
                }
    emulator = {}
    for queue in json.loads(done.stdout):
        settings = {**queue["rate_limits"], **queue["retry_config"]}
        routing = queue.get("app_engine_routing_override") or {}
        routing = {k: routing.get(k) for k in ("service", "version") if routing.get(k)}
        if routing:
            settings["routing_override"] = routing
        settings["name"] = queue["name"]
        emulator[queue["name"].rsplit("/", 1)[1]] = normal(settings)
    assert emulator == {name: normal(queue) for name, queue in expected.items()}


@pytest.mark.parametrize("stage", ["mod8-cloudtasks", "mod9-py3"])
def test_the_cloud_stages_readmes_create_the_queue_mod7_s_queue_yaml_gives(stage):
    _, out, _ = run(REPO / "mod7-gaetasks" / "queue.yaml")
    readme = (REPO / stage / "README.md").read_text().replace("\\\n", " ")
    commands = [" ".join(line.split()) for line in readme.splitlines()]

    [create] = [line for line in out.splitlines() if line.startswith("gcloud ")]
    assert create in commands, f"{stage}/README.md should quote: {create}"
