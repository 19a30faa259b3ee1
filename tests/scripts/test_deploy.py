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

"""scripts/deploy: for every stage and route A, its dry run prints commands that
the installed Google Cloud CLI has, in the order of the stage's README, and
runs nothing but the CLI's own Python reading queue.yaml.

A real run changes a real project with the user's own credentials, which no
test can reach, so no test runs one against Google. One test checks that it
refuses to start without an account, before it calls anything else. The real
run's decisions (a queue it would pause or resume, a region it must not
pick, a version already serving, traffic split, a paused queue, an app
gcloud cannot see) are tested against a stand-in gcloud that answers as
a project in that state would (STUB_GCLOUD, below): the one place a stand-in
is used, since no real project can produce those states here.
"""

import ast
import datetime
import functools
import importlib.machinery
import importlib.util
import io
import json
import os
import re
import shlex
import subprocess
import sys

import pytest

import launch
import prereqs
import stages

REPO = stages.REPO
PROJECT = "visitme-demo"
NAMES = [stage.name for stage in stages.repository_stages()]


def deploy(*args, env=None):
    """Run scripts/deploy; return the finished process."""
    return subprocess.run(
        [sys.executable, "scripts/deploy", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def commands(script):
    """Return each command of a dry run's output as its words (a gcloud call in
    $( ) is the command; VERSION=... sets a shell variable and is none)."""
    found = []
    for line in script.splitlines():
        if line.startswith("#") or not line.strip() or line.startswith("VERSION="):
            continue
        if assigned := re.fullmatch(r"[A-Z_]+=\$\((.*)\)", line):
            line = assigned.group(1)
        found.append(shlex.split(line))
    return found


@functools.cache
def dry_run(name):
    done = deploy(name, f"--project={PROJECT}", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert not done.stderr
    return commands(done.stdout)


def command_group(words):
    """The gcloud command a line calls, e.g. ("tasks", "queues", "create")."""
    group = []
    for word in words[1:]:
        if not re.fullmatch(r"[a-z][a-z-]*", word) or word == PROJECT:
            break
        group.append(word)
    return tuple(group)


@pytest.mark.parametrize("name", NAMES)
def test_the_dry_run_runs_the_steps_in_order(name):
    stage = stages.load(name)
    groups = [command_group(words) for words in dry_run(name)]
    roles = [w for words in dry_run(name) for w in words if w.startswith("--role=")]
    folder = stage.folder.name
    app_yaml = f"{folder}/{stage.config}"

    expected = [
        ("services", "enable"),
        ("app", "create"),
        ("firestore", "databases", "create"),
    ]
    if stage.kind == stages.CLOUD:
        expected.append(("tasks", "queues", "create", "default"))
    else:
        # The queue before the app that enqueues to it, and a look at the
        # queues that deploying queue.yaml could pause.
        # Listed as gcloud app deploy lists them, through the beta API.
        expected += [("beta", "tasks", "queues", "list"), ("app", "deploy")]
    expected += [("builds", "get-default-service-account")]
    expected += [("projects", "add-iam-policy-binding")]
    if stage.kind != stages.BUNDLED:
        expected.append(("app", "describe"))
        expected += [("projects", "add-iam-policy-binding")] * (len(roles) - 1)
    expected += [
        # What serves, noted before either deploy, so the rollback has it.
        ("app", "versions", "list"),
        # On a new project: the deploy that serves at once.
        ("app", "deploy"),
        # Else the switch-over: the new version beside it, its URL, the
        # traffic, the queue and its tasks, and the rollback last.
        ("app", "deploy"),
        ("app", "versions", "describe"),
        ("app", "services", "set-traffic", "default"),
        ("tasks", "queues", "describe", "default"),
        ("tasks", "list"),
        ("app", "services", "set-traffic", "default"),
    ]
    assert groups == expected
    assert all(f"--project={PROJECT}" in w or PROJECT in w for w in dry_run(name))
    [database] = [words for words in dry_run(name) if "databases" in words]
    # In the app's region, as Firestore names it: us-central is nam5.
    assert "--location=nam5" in database and "--type=datastore-mode" in database
    deploys = [
        words[3:-1] for words in dry_run(name) if words[1:3] == ["app", "deploy"]
    ]
    # One queue, managed one way: queue.yaml with the bundled queue's stages,
    # gcloud tasks commands with the Cloud stages.
    app_deploys = [
        [app_yaml, "--version=$VERSION"],
        [app_yaml, "--no-promote", "--version=$VERSION"],
    ]
    if stage.kind == stages.CLOUD:
        assert deploys == app_deploys
    else:
        assert deploys == [[f"{folder}/queue.yaml"], *app_deploys]
    assert roles[0] == "--role=roles/cloudbuild.builds.builder"
    assert (
        roles[1:]
        == {
            stages.BUNDLED: [],
            stages.ROUTE_A: [
                "--role=roles/cloudtasks.enqueuer",
                "--role=roles/appengine.appViewer",
            ],
            stages.CLOUD: [
                "--role=roles/cloudtasks.enqueuer",
                "--role=roles/appengine.appViewer",
                "--role=roles/datastore.user",
            ],
        }[stage.kind]
    )
    # The traffic moves to the new version; the rollback moves it back.
    assert dry_run(name)[-4][5] == "--splits=$VERSION=1"
    assert dry_run(name)[-1][5] == "--splits=$OLD_VERSION=1"


@pytest.fixture(scope="module")
def every_dry_run_help(prefetch_gcloud_help):
    """Ask gcloud for the help of every command the dry runs print, at once."""
    prefetch_gcloud_help([command_group(w) for name in NAMES for w in dry_run(name)])


@pytest.mark.parametrize("name", NAMES)
def test_every_dry_run_command_and_flag_exists_in_gcloud(
    name, missing_gcloud_flags, every_dry_run_help
):
    for words in dry_run(name):
        assert words[0] == "gcloud"
        missing = missing_gcloud_flags(command_group(words), words)
        assert not missing, f"{shlex.join(words)}: no such flag {missing}"


def test_the_queue_gets_the_converters_flags():
    [queue] = [
        words
        for words in dry_run("mod8-cloudtasks")
        if words[1:4] == ["tasks", "queues", "create"]
    ]
    # The dry run reads queue.yaml with the CLI's YAML library; the converter's
    # own environment, with PyYAML, gives the same flags.
    converted = subprocess.run(
        [
            launch.tasks_python(),
            "scripts/queue_commands.py",
            "mod7-gaetasks/queue.yaml",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert converted.returncode == 0, converted.stderr
    assert queue == [*shlex.split(converted.stdout), f"--project={PROJECT}"]


@pytest.mark.parametrize(
    "args, says",
    [
        (["mod10-nope", "--project=visitme-demo"], "no stage named 'mod10-nope'"),
        (["mod9-py3", "--project=YOUR_PROJECT_ID"], "is not a project id"),
        (["mod9-py3", "--project=visitme-demo", "--region=Mars"], "not an App Engine"),
        # Not read as "no --region": that would pick the example region.
        (["mod7-gaetasks", "--project=visitme-demo", "--region="], "--region is empty"),
        (
            ["mod9-py3", "--project=visitme-demo", "--region=us-central1"],
            "us-central1 is Cloud Tasks' name; App Engine's is us-central",
        ),
        (
            ["mod8-cloudtasks", "--project=visitme-demo", "--region=europe-west"],
            "sets QUEUE_LOCATION: us-central1, but region europe-west is Cloud "
            "Tasks' europe-west1",
        ),
    ],
)
def test_bad_input_gets_one_line_and_runs_nothing(args, says):
    done = deploy(*args, "--dry-run")

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert says in done.stderr


def test_a_real_run_without_an_account_refuses_to_start(tmp_path):
    # A gcloud configuration of its own, with no account; gcloud reads it
    # locally (and is told not to look for a metadata server).
    env = {
        **os.environ,
        "CLOUDSDK_CONFIG": str(tmp_path),
        "CLOUDSDK_CORE_CHECK_GCE_METADATA": "false",
    }
    done = deploy("mod9-py3", f"--project={PROJECT}", env=env)

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines()[-1] == (
        "error: gcloud has no active account: run `gcloud auth login` first "
        "(--dry-run needs none)"
    )


def test_make_deploy_is_the_script():
    done = subprocess.run(
        ["make", "-s", "deploy", "MODULE=mod9-py3", f"PROJECT={PROJECT}", "DRY_RUN=1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert commands(done.stdout) == dry_run("mod9-py3")


def load_deploy():
    """scripts/deploy as a module (it has no .py suffix), for its pure parts."""
    loader = importlib.machinery.SourceFileLoader(
        "deploy", str(REPO / "scripts/deploy")
    )
    spec = importlib.util.spec_from_loader("deploy", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_a_missing_app_is_told_by_the_sdks_own_message(tmp_path):
    # The message gcloud app describe prints, made by the Cloud SDK's own
    # exception class in the CLI's Python.
    sdk = prereqs.find_sdk_root()
    done = subprocess.run(
        [
            prereqs.sdk_python(sdk),
            "-c",
            "import sys; sys.path[:0] = [sys.argv[1] + '/lib',"
            " sys.argv[1] + '/lib/third_party'];"
            "from googlecloudsdk.command_lib.app import exceptions;"
            "print(exceptions.MissingApplicationError('visitme-demo'))",
            str(sdk),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"], "CLOUDSDK_CONFIG": str(tmp_path)},
    )
    deploy = load_deploy()

    assert done.returncode == 0, done.stderr
    assert deploy.app_missing(f"ERROR: (gcloud.app.describe) {done.stdout}")
    assert not deploy.app_missing("ERROR: (gcloud.app.describe) PERMISSION_DENIED")


def test_only_not_found_means_missing():
    deploy = load_deploy()

    # gcloud writes an API error as its status name and message.
    assert deploy.not_found(
        "ERROR: (gcloud.tasks.queues.describe) NOT_FOUND: Requested entity was not"
        " found."
    )
    assert not deploy.not_found(
        "ERROR: (gcloud.tasks.queues.describe) PERMISSION_DENIED: The caller does not"
    )


def test_roles_held_are_the_unconditional_bindings_of_the_account():
    account = "serviceAccount:visitme-demo@appspot.gserviceaccount.com"
    policy = {
        "bindings": [
            {"role": "roles/cloudtasks.enqueuer", "members": [account]},
            {"role": "roles/editor", "members": ["user:someone@example.com"]},
            {
                "role": "roles/datastore.user",
                "members": [account],
                "condition": {"title": "until 2027", "expression": "..."},
            },
        ]
    }

    held = load_deploy().roles_held(json.dumps(policy), account)

    assert held == {"roles/cloudtasks.enqueuer"}


def test_a_cli_without_a_bundled_python_reads_queue_yaml_with_python3(tmp_path):
    # A Cloud CLI laid out as one installed without its bundled Python and
    # with no CLOUDSDK_PYTHON: its own bin/gcloud then runs python3 on PATH.
    sdk = prereqs.find_sdk_root()
    cli = tmp_path / "google-cloud-sdk"
    (cli / "bin").mkdir(parents=True)
    (cli / "platform").mkdir()
    (cli / "lib").mkdir()
    (cli / "lib" / "third_party").symlink_to(sdk / "lib" / "third_party")
    (cli / "bin" / "gcloud").write_text("#!/bin/sh\nexit 1\n")
    (cli / "bin" / "gcloud").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "CLOUDSDK_PYTHON"}
    env["PATH"] = f"{cli / 'bin'}:{env['PATH']}"

    done = deploy("mod8-cloudtasks", f"--project={PROJECT}", "--dry-run", env=env)

    assert done.returncode == 0, done.stderr
    assert commands(done.stdout) == dry_run("mod8-cloudtasks")


def test_a_dry_run_runs_nothing_but_the_clis_python_reading_yaml(monkeypatch, capsys):
    # Each command the dry run starts is recorded (and still run): nothing
    # installs an environment or calls gcloud.
    deploy = load_deploy()
    started = []
    real_run = subprocess.run

    def recording_run(command, *args, **kwargs):
        started.append(command)
        return real_run(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", recording_run)
    sdk_python = prereqs.sdk_python(prereqs.find_sdk_root())

    for name in NAMES:
        assert deploy.main([name, f"--project={PROJECT}", "--dry-run"]) == 0

    assert started and all(command[0] == sdk_python for command in started)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "listing, paused",
    [
        ("default\tRUNNING", []),  # default is never paused, named or not
        ("default\tRUNNING\nemails\tRUNNING", ["emails"]),
        ("emails\tPAUSED\nold\tDISABLED", []),  # already stopped
        ("emails\tRUNNING\nimages\tRUNNING", ["emails"]),  # images is named
        ("", []),
    ],
)
def test_queues_a_queue_yaml_would_pause(listing, paused):
    deploy = load_deploy()

    assert deploy.queues_paused_by(listing, {"default", "images"}) == paused


def test_the_queues_are_listed_through_the_api_gcloud_app_deploy_reads():
    # Cloud SDK 528 deploys queue.yaml with the beta track's Cloud Tasks client
    # (v2beta3, which knows pull queues), so the real run lists them with it.
    sdk = prereqs.find_sdk_root()
    deploy_util = (
        sdk / "lib/googlecloudsdk/command_lib/app/deploy_util.py"
    ).read_text()
    deploy = load_deploy()
    plan = deploy.Plan(stages.load("mod7-gaetasks"), PROJECT, "us-central", "v")

    assert "tasks_api = tasks.GetApiAdapter(base.ReleaseTrack.BETA)" in deploy_util
    assert plan.list_queues()[1:5] == ["beta", "tasks", "queues", "list"]


def test_the_pause_rule_is_the_installed_clis():
    # What queues_paused_by mirrors, in Cloud SDK 528's DeployQueuesYamlFile:
    # every queue the file leaves out is paused, unless it is default or
    # already paused or disabled.
    source = (
        prereqs.find_sdk_root()
        / "lib/googlecloudsdk/api_lib/tasks/app_deploy_migration_util.py"
    ).read_text()
    leftover = source[source.index("for queue_name in queues_not_present_in_yaml:") :]
    leftover = leftover[: leftover.index("return responses")]

    assert "if queue_name == 'default':\n      continue" in leftover
    assert "queue.state in (queue.state.PAUSED, queue.state.DISABLED)" in leftover
    assert "queues_client.Pause(queue_ref)" in leftover


def test_the_queue_yaml_names_come_from_the_clis_yaml_library():
    deploy = load_deploy()
    plan = deploy.Plan(stages.load("mod7-gaetasks"), PROJECT, "us-central", "v")

    # default, at 5/s: deploying mod7's queue.yaml resumes it if paused.
    assert plan.queue_yaml_queues() == {"default": True}


@pytest.mark.parametrize(
    "top, resumes",
    [
        ("", {"fast": True, "stopped": False, "pulled": True}),
        # gcloud's loader reads a YAML 1.1 no as False, as it reads false.
        (
            "resume_paused_queues: no\n",
            dict.fromkeys(["fast", "stopped", "pulled"], False),
        ),
    ],
)
def test_which_named_queues_a_queue_yaml_resumes(tmp_path, monkeypatch, top, resumes):
    # Read by the CLI's own queue.yaml loader, as gcloud app deploy reads it.
    deploy = load_deploy()
    stage = tmp_path / "mod7-other"
    stage.mkdir()
    (stage / "app.yaml").write_text("runtime: python27\n")
    (stage / "queue.yaml").write_text(
        top + "queue:\n"
        "- name: fast\n  rate: 1/d\n"
        "- name: stopped\n  rate: 0/s\n"
        "- name: pulled\n  mode: pull\n"
    )
    plan = deploy.Plan(stages.Stage(stage), PROJECT, "us-central", "v")

    assert plan.queue_yaml_queues() == resumes


@pytest.mark.parametrize(
    "listing, resumed",
    [
        ("default\tPAUSED", ["default"]),
        ("default\tDISABLED\nemails\tPAUSED", ["default"]),  # emails: not named
        ("default\tRUNNING", []),
        ("stopped\tPAUSED", []),  # named at rate 0: it stays paused
        ("", []),
    ],
)
def test_queues_a_queue_yaml_would_resume(listing, resumed):
    deploy = load_deploy()

    named = {"default": True, "stopped": False}
    assert deploy.queues_resumed_by(listing, named) == resumed


def test_the_resume_rule_is_the_installed_clis():
    # What queues_resumed_by and QUEUE_YAML mirror, in Cloud SDK 528's
    # DeployQueuesYamlFile: a queue the file names is resumed if it is paused
    # or disabled and the file gives it a rate above 0 or makes it a pull
    # queue, unless the file sets resume_paused_queues: False.
    source = (
        prereqs.find_sdk_root()
        / "lib/googlecloudsdk/api_lib/tasks/app_deploy_migration_util.py"
    ).read_text()
    named = source[source.index("for queue in queue_yaml.queue:") :]
    named = named[: named.index("queues_client.Resume(queue_ref)")]

    assert "resume_paused_queues = queue_yaml.resume_paused_queues != 'False'" in source
    assert "(rate_to_set or queue.mode == constants.PULL_QUEUE)" in named
    assert "cur_queue_object.state in (cur_queue_object.state.DISABLED," in named


def test_a_real_run_with_no_app_and_no_terminal_refuses_to_pick_a_region(
    monkeypatch,
):
    deploy = load_deploy()
    plan = deploy.Plan(stages.load("mod9-py3"), PROJECT, "us-central", "v")
    monkeypatch.setattr(sys, "stdin", open(os.devnull))

    with pytest.raises(deploy.BadInput, match="no app.*: choose it with --region"):
        deploy.ask_region(plan, "no app")


def test_a_real_run_at_a_terminal_asks_for_a_region_saying_why(monkeypatch, capsys):
    # A terminal stood in for by a text stream that says it is one.
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    deploy = load_deploy()
    plan = deploy.Plan(stages.load("mod9-py3"), PROJECT, "us-central", "v")
    monkeypatch.setattr(sys, "stdin", Terminal("europe-west\n"))

    with pytest.raises(deploy.BadInput, match="europe-west1"):
        deploy.ask_region(plan, "the App Engine Admin API is off")

    # mod9's QUEUE_LOCATION (us-central1) refuses europe-west: it was read.
    assert capsys.readouterr().out.startswith("The App Engine Admin API is off (")


def test_a_new_version_id_is_one_app_engine_takes():
    deploy = load_deploy()
    now = datetime.datetime(2026, 12, 1, 16, 35, 5, tzinfo=datetime.UTC)

    ids = [deploy.version_id(stages.load(name), now) for name in NAMES]

    assert ids[NAMES.index("mod7-gaetasks+cloudtasks")] == (
        "mod7-gaetasks-cloudtasks-20261201t163505"
    )
    # App Engine: 1 to 63 lowercase letters, digits and hyphens, not ah-...
    assert all(re.fullmatch(r"(?!ah-)[a-z0-9][a-z0-9-]{0,62}", id_) for id_ in ids)


def test_an_app_with_no_version_yet_is_told_by_the_sdks_own_message():
    # On a new app, `gcloud app versions list --service=default` fails with
    # this message (Cloud SDK 528, lib/surface/app/versions/list.py): nothing
    # serves yet, so the real run deploys the first version to serve at once.
    source = (prereqs.find_sdk_root() / "lib/surface/app/versions/list.py").read_text()
    deploy = load_deploy()

    assert "'Service [{0}] not found.'.format(args.service)" in source
    assert deploy.no_default_service(
        "ERROR: (gcloud.app.versions.list) Service [default] not found."
    )
    assert not deploy.no_default_service("ERROR: (gcloud.app.versions.list) DENIED")


def test_the_dry_runs_example_region_is_the_one_queue_location_names(tmp_path):
    deploy = load_deploy()
    stage = tmp_path / "mod8-elsewhere"
    stage.mkdir()
    (stage / "app.yaml").write_text(
        "runtime: python312\nenv_variables:\n  QUEUE_LOCATION: europe-west1\n"
    )

    assert deploy.example_region(stages.Stage(stage)) == "europe-west"
    assert deploy.example_region(stages.load("mod7-gaetasks")) == "us-central"


# A stand-in for gcloud, for the real run's decisions only: no real project can
# be reached from here, so this script answers as a project in a given state
# would, and logs every command it gets. Commands that change nothing print
# their answer; all others succeed silently.
STUB_GCLOUD = """\
#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
state = json.loads(os.environ["STUB_STATE"])
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
line = " ".join(args)
for prefix, answer in state["answers"]:
    if line.startswith(prefix):
        code, out, err = answer
        print(out, end="")
        print(err, end="", file=sys.stderr)
        sys.exit(code)
"""


@pytest.fixture
def stub_project(tmp_path):
    """Return run(stage_args, answers): a real run against a stand-in gcloud
    answering as a project would; it returns the process and the commands."""
    sdk = prereqs.find_sdk_root()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gcloud = bin_dir / "gcloud"
    gcloud.write_text(STUB_GCLOUD)
    gcloud.chmod(0o755)
    log = tmp_path / "gcloud.log"
    app_account = f"{PROJECT}@appspot.gserviceaccount.com"
    build_account = "123-compute@developer.gserviceaccount.com"
    policy = {
        "bindings": [
            {"role": role, "members": [f"serviceAccount:{account}"]}
            for role, account in [
                ("roles/cloudbuild.builds.builder", build_account),
                ("roles/cloudtasks.enqueuer", app_account),
                ("roles/appengine.appViewer", app_account),
                ("roles/datastore.user", app_account),
            ]
        ]
    }
    apis = [
        f"{api}.googleapis.com" for apis in load_deploy().APIS.values() for api in apis
    ]
    common = [
        ("auth list", (0, "me@example.com\n", "")),
        ("info", (0, f"{sdk}\n", "")),
        (
            "app describe --format=json",
            (0, json.dumps({"locationId": "us-central"}), ""),
        ),
        ("app describe", (0, app_account, "")),
        ("firestore databases describe", (0, "DATASTORE_MODE", "")),
        ("services list", (0, "\n".join(apis), "")),
        ("tasks queues describe default --location", (0, "RUNNING", "")),
        ("builds get-default-service-account", (0, build_account, "")),
        ("projects get-iam-policy", (0, json.dumps(policy), "")),
        ("app versions describe", (0, "https://new-dot-visitme-demo.appspot.com", "")),
    ]

    def run(stage_args, answers):
        state = {"answers": answers + common}
        env = {
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "STUB_STATE": json.dumps(state),
            "STUB_LOG": str(log),
        }
        done = subprocess.run(
            [sys.executable, "scripts/deploy", *stage_args, f"--project={PROJECT}"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        called = [json.loads(line) for line in log.read_text().splitlines()]
        return done, called

    return run


def test_a_real_run_will_not_pause_another_running_queue(stub_project):
    listing = "default\tRUNNING\nemails\tRUNNING\nold\tPAUSED\n"

    done, called = stub_project(
        ["mod7-gaetasks"], [("beta tasks queues list", (0, listing, ""))]
    )

    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "error: deploying mod7-gaetasks/queue.yaml would pause the running queues "
        "emails in us-central1, which it does not name: add them to it, or pass "
        "--pause-other-queues"
    )
    assert not [args for args in called if args[:2] == ["app", "deploy"]]


def test_a_real_run_will_not_resume_a_paused_queue_it_was_not_told_to(stub_project):
    listing = "default\tPAUSED\n"

    done, called = stub_project(
        ["mod7-gaetasks"], [("beta tasks queues list", (0, listing, ""))]
    )

    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "error: deploying mod7-gaetasks/queue.yaml would resume the queues "
        "default in us-central1, which it names and which are paused or "
        "disabled: pass --resume-paused-queues to let it"
    )
    assert not [args for args in called if args[:2] == ["app", "deploy"]]


def test_a_real_run_resumes_a_paused_queue_when_told_to(stub_project):
    listing = "default\tPAUSED\n"

    done, called = stub_project(
        ["mod7-gaetasks", "--resume-paused-queues"],
        [("beta tasks queues list", (0, listing, ""))],
    )

    deploys = [args[2] for args in called if args[:2] == ["app", "deploy"]]
    assert done.returncode == 0, done.stderr
    assert "resuming, as --resume-paused-queues allows: default" in done.stdout
    assert deploys[0] == "mod7-gaetasks/queue.yaml"


def test_a_real_run_beside_a_serving_version_prints_the_rollback(stub_project):
    old = "mod7-gaetasks-20261130t120000"

    done, called = stub_project(
        ["mod8-cloudtasks"], [("app versions list", (0, f"{old}\n", ""))]
    )

    [deploy] = [args for args in called if args[:2] == ["app", "deploy"]]
    assert done.returncode == 0, done.stderr
    assert "--no-promote" in deploy and deploy[2] == "mod8-cloudtasks/app.yaml"
    # Without a terminal it moves no traffic; it prints how, and how back.
    assert not [args for args in called if "set-traffic" in args]
    assert "Check it: https://new-dot-visitme-demo.appspot.com" in done.stdout
    rollback = done.stdout.split("Roll back:\n")[1].splitlines()[0].strip()
    assert rollback == (
        f"gcloud app services set-traffic default --splits={old}=1 --project={PROJECT}"
    )


def test_a_real_run_on_a_new_app_deploys_to_serve_at_once(stub_project):
    done, called = stub_project(
        ["mod9-py3"],
        [
            ("app versions list", (1, "", "ERROR: Service [default] not found.\n")),
        ],
    )

    [deploy] = [args for args in called if args[:2] == ["app", "deploy"]]
    assert done.returncode == 0, done.stderr
    assert "--no-promote" not in deploy


def test_a_real_run_without_a_region_for_a_new_app_stops(stub_project):
    missing = "ERROR: (gcloud.app.describe) The current Google Cloud project "
    missing += f"[{PROJECT}] does not contain an App Engine application.\n"

    done, called = stub_project(
        ["mod9-py3"], [("app describe --format=json", (1, "", missing))]
    )

    assert done.returncode == 2
    assert "choose it with --region" in done.stderr
    changed = {"enable", "create", "deploy", "add-iam-policy-binding", "update"}
    assert not [args for args in called if changed & set(args)]


# What a real run must not do before it stops: change the project.
CHANGES = {"enable", "create", "deploy", "add-iam-policy-binding", "update"}


def test_a_real_run_stops_on_split_traffic_before_it_changes_anything(
    stub_project,
):
    # The queue exists (mod8 would update it): nothing of that may run first.
    done, called = stub_project(
        ["mod8-cloudtasks"], [("app versions list", (0, "v1\nv2\n", ""))]
    )

    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: traffic is split between versions v1, v2: move it to one (gcloud "
        "app services set-traffic) first, to roll back to"
    ]
    assert not [args for args in called if CHANGES & set(args)]


def test_a_real_run_that_cannot_see_the_app_stops_in_one_line(stub_project):
    denied = "ERROR: (gcloud.app.describe) PERMISSION_DENIED: The caller does not "
    denied += "have permission\n"

    done, called = stub_project(
        ["mod9-py3", "--region=us-central"],
        [("app describe --format=json", (1, "", denied))],
    )

    # Not read as "no app", which would create one in us-central.
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: cannot tell whether the project has an App Engine app: "
        + denied.strip()
        + "; nothing after it was run"
    ]
    assert not [args for args in called if CHANGES & set(args)]


def sdk_api_enablement_regex():
    """Cloud SDK 528's API_ENABLEMENT_REGEX, by which gcloud tells an API that is
    off (lib/googlecloudsdk/api_lib/util/api_enablement.py)."""
    source = (
        prereqs.find_sdk_root() / "lib/googlecloudsdk/api_lib/util/api_enablement.py"
    ).read_text()
    found = re.search(r"API_ENABLEMENT_REGEX = re\.compile\(\n(.*?)\)\n", source, re.S)
    return re.compile(ast.literal_eval(f"({found.group(1)})"))


# The App Engine Admin API's answer while it is off, in the form the SDK's
# API_ENABLEMENT_REGEX reads (so the test below checks the two agree).
API_OFF = (
    "ERROR: (gcloud.app.describe) PERMISSION_DENIED: App Engine Admin API has not "
    "been used in project 123 before or it is disabled. Enable it by visiting "
    "https://console.developers.google.com/apis/api/appengine.googleapis.com/"
    "overview?project=123 then retry. If you enabled this API recently, wait a "
    "few minutes for the action to propagate to our systems and retry.\n"
)


def test_an_app_api_that_is_off_is_told_as_gcloud_tells_it():
    deploy = load_deploy()
    status_message = API_OFF.split("PERMISSION_DENIED: ", 1)[1].strip()

    match = sdk_api_enablement_regex().match(status_message)

    assert match and match.group(1) == "appengine.googleapis.com"
    assert deploy.app_api_off(API_OFF)
    assert not deploy.app_api_off(API_OFF.replace("appengine", "cloudtasks"))


def test_a_real_run_with_the_app_api_off_asks_for_a_region_saying_why(
    stub_project,
):
    done, called = stub_project(
        ["mod9-py3"], [("app describe --format=json", (1, "", API_OFF))]
    )

    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: the App Engine Admin API is off, so gcloud cannot tell whether the "
        "project has an App Engine app; a new app's region is permanent: choose "
        "it with --region (`gcloud app regions list`)"
    ]
    assert not [args for args in called if CHANGES & set(args)]


@pytest.mark.parametrize("state", ["PAUSED", "DISABLED"])
def test_a_real_run_will_not_update_a_queue_that_is_not_running(stub_project, state):
    # `gcloud tasks queues update` leaves a queue's state alone (Cloud SDK 528
    # sends only the settings in its update mask), so the tasks would wait.
    done, called = stub_project(
        ["mod8-cloudtasks"],
        [("tasks queues describe default --location", (0, f"{state}\n", ""))],
    )

    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: the queue default in us-central1 is {state}, and the new "
        "version's tasks would wait in it: resume it first (gcloud tasks queues "
        f"resume default --location=us-central1 --project={PROJECT})"
    ]
    assert not [args for args in called if CHANGES & set(args)]


def test_a_real_run_says_the_rollback_leaves_the_queue_as_step_4_set_it(
    stub_project,
):
    old = "mod7-gaetasks-20261130t120000"

    done, _ = stub_project(["mod9-py3"], [("app versions list", (0, f"{old}\n", ""))])

    after = done.stdout.split("Roll back:\n")[1].splitlines()
    assert after[1].strip() == (
        "(the traffic only: the queue keeps the settings step 4 gave it)"
    )
