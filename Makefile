# VisitMe migration codelab.
#   make run [MODULE=mod7-gaetasks]   serve a stage locally (default: the newest)
#   make run MODULE=mod7-gaetasks TASKS=cloud   ... route A: its tasks through Cloud Tasks
#                                     (the same: MODULE=mod7-gaetasks+cloudtasks)
#   make run MODULE=... TRIM_SLACK=0  ... with TRIM_SLACK=0 in the app's environment
#   make stop                         stop every server a `make run` of this folder left
#   make stress [ROUNDS=N]            start/stop each kind of stage under traffic with
#                                     every stop signal; nothing may be left running
#   make test                         lint, unit tests, contract tests: everything
#   make check                        lint, types, unit tests, and the scripts' and docs'
#                                     tests that start no stage: a quick check for edits
#   make contract / make tooling      only the contract tests / the scripts' and docs' tests
#   make check-runtime                each stage's pins install on its runtime's Python
#   make queue-commands [QUEUE_YAML=...] [LOCATION=...]
#                                     gcloud commands giving queues a queue.yaml's settings
#   make diff [FROM=... TO=...] [CODE=1]  what changes from one stage to the next
#                                     (code and configuration first; CODE=1: only those)
#   make verify DIR=...               check your own migrated folder against SPEC.md
#   make rehearse FROM=... TO=... [TIMELINE=FILE]
#                                     switch one app from a stage to the next and back,
#                                     tasks in flight, on one set of emulators
#   make doctor APP=PATH [FORMAT=json|markdown]
#                                     scan your own app: what each route does with
#                                     each push-queue call (docs/DOCTOR.md)
#   make doctor-bench [FILES=N]       the doctor's speed on a large generated app
#   make bench [MODULE=...]           what a stage costs per visit and per trim
#                                     (route A: MODULE=mod7-gaetasks+cloudtasks)
#   make notebooks / make jupyter     refresh the notebooks' outputs / open them
#   make deploy MODULE=... PROJECT=... [REGION=...] [DRY_RUN=1]
#                                     deploy a stage, step by step (DRY_RUN: print them)
PYTHON ?= python3
# scripts/stages.py is the one place that knows the stages, oldest first.
STAGES := $(shell $(PYTHON) scripts/stages.py)
FOLDERS := $(shell $(PYTHON) scripts/stages.py --folders)
MODULE ?= $(lastword $(STAGES))
STAGE_VENVS := $(FOLDERS:%=venv-%)
UNIT_RUNS := $(FOLDERS:%=unit-%)
# One pytest per stage, and one for the tests that launch none (tests/conftest.py).
PYTEST_RUNS := $(STAGES:%=pytest-%) pytest-other
TESTS_VENV := .venv/tests
# pytest-xdist workers for the tests that launch no stage of their own.
WORKERS ?= 2
# Keep stage folders free of __pycache__, so that diffing two stages shows code only.
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run stop stress test check diff verify rehearse doctor doctor-bench bench \
	notebooks jupyter prereqs lint unit types check-notebooks browser contract \
	tooling quick-tests check-runtime queue-commands deploy tasks-venv stage-venvs \
	$(STAGE_VENVS) $(PYTEST_RUNS) $(UNIT_RUNS)

# One line, no shell syntax: make then runs the launcher itself, with no shell
# between them to lose the signals make forwards.
RUN_OPTIONS = $(if $(TASKS),--tasks=$(TASKS)) \
	$(if $(TRIM_SLACK),--env=TRIM_SLACK=$(TRIM_SLACK))

run:
	@$(PYTHON) scripts/launch.py $(RUN_OPTIONS) $(MODULE)

stop:
	@$(PYTHON) scripts/launch.py --stop

# make test runs a small version (tests/scripts/test_launch_signals.py).
stress: prereqs
	@$(PYTHON) scripts/stress_launch.py $(if $(ROUNDS),--rounds=$(ROUNDS))

# make test runs its parts side by side, each printing its output when it ends:
# lint, types, the unit tests, the notebook check, one pytest per stage (its
# contract tests and the scripts' and docs' tests that launch it, each stage on
# its own free ports) and one pytest for all the other tests.
test: prereqs
	@echo "Running side by side: lint types unit check-notebooks $(PYTEST_RUNS)"
	@$(MAKE) --no-print-directory -j --output-sync=target \
	  lint types unit check-notebooks $(PYTEST_RUNS)

# What editing docs or scripts needs, with no stage started (under 3 minutes warm).
check: prereqs
	@$(MAKE) --no-print-directory -j --output-sync=target \
	  lint types unit quick-tests

diff:
	@$(PYTHON) scripts/diff-stages $(if $(CODE),--code) $(FROM) $(TO)

# The contract tests include the browser test: Chromium first.
verify: browser
	@$(PYTHON) scripts/verify $(DIR)

# FROM and TO are stage folders (STAGE+cloudtasks is route A), or your own.
rehearse: prereqs $(TESTS_VENV)/installed.txt tasks-venv
	@$(TESTS_VENV)/bin/python scripts/rehearse.py \
	  $(if $(TIMELINE),--timeline=$(TIMELINE)) $(FROM) $(TO)

# Stdlib only: no venv, no network, and it never imports or runs the app.
doctor:
	@test -n "$(APP)" || { echo "error: name your app: make doctor APP=path/to/app" >&2; \
	  exit 2; }
	@$(PYTHON) scripts/doctor $(if $(FORMAT),--format=$(FORMAT)) $(APP)

doctor-bench:
	@$(PYTHON) scripts/doctor_bench.py $(if $(FILES),--files=$(FILES))

bench: prereqs $(TESTS_VENV)/installed.txt
	@$(TESTS_VENV)/bin/python scripts/bench.py $(MODULE)

prereqs:
	@$(PYTHON) scripts/prereqs.py

$(TESTS_VENV)/installed.txt: tests/requirements.txt
	@$(PYTHON) scripts/ensure_venv.py $(TESTS_VENV) tests/requirements.txt

# The Cloud Tasks emulator's environment; queue_commands.py runs in it too.
# ensure_venv.py returns at once when it is up to date.
TASKS_VENV := .venv/tasks-emulator

tasks-venv:
	@$(PYTHON) scripts/ensure_venv.py $(TASKS_VENV) \
	  scripts/tasks-emulator-requirements.txt

# Each stage folder's environment, the one `make run` serves it from; as phony
# targets, each is built once per make however many targets need it.
stage-venvs: $(STAGE_VENVS)
$(STAGE_VENVS): venv-%:
	@$(PYTHON) scripts/ensure_venv.py \
	  $$($(PYTHON) scripts/stages.py --format '{venv}' $*) \
	  $*/requirements-test.txt scripts/server-requirements.txt

lint: $(TESTS_VENV)/installed.txt
	$(TESTS_VENV)/bin/ruff check .
	$(TESTS_VENV)/bin/ruff format --check .

# Each stage's unit tests run in the same environment `make run` serves it from;
# the stages side by side (make -j).
unit: $(UNIT_RUNS)
$(UNIT_RUNS): unit-%: venv-% tasks-venv
	@echo "== unit tests: $*"
	@$$($(PYTHON) scripts/stages.py --format '{venv}' $*)/bin/python -m pytest -q $*

# The finished stage is fully typed (mypy settings are in pyproject.toml): checked
# as the Python its runtime runs (python314: 3.14), and as the local one.
FINISHED := $(lastword $(STAGES))
FINISHED_VENV = $(shell $(PYTHON) scripts/stages.py --format '{venv}' $(FINISHED))
FINISHED_RUNTIME = $(shell $(PYTHON) scripts/stages.py --format '{runtime_python}' \
	$(FINISHED))

types: venv-$(FINISHED)
	$(FINISHED_VENV)/bin/mypy --strict --python-version $(FINISHED_RUNTIME) \
	  $(FINISHED)/main.py
	$(FINISHED_VENV)/bin/mypy --strict $(FINISHED)/main.py

# The gcloud tasks commands that give Cloud Tasks queues a queue.yaml's settings,
# as `gcloud app deploy queue.yaml` converts them.
queue-commands: tasks-venv
	@$(TASKS_VENV)/bin/python scripts/queue_commands.py \
	  $(or $(QUEUE_YAML),mod7-gaetasks/queue.yaml) $(if $(LOCATION),--location=$(LOCATION))

# A stage's deploy steps, each skipped when done (scripts/deploy --help says which).
deploy:
	@$(PYTHON) scripts/deploy $(MODULE) $(if $(PROJECT),--project=$(PROJECT)) \
	  $(if $(REGION),--region=$(REGION)) $(if $(DRY_RUN),--dry-run)

# Each stage's pinned requirements resolve to wheels for its app.yaml runtime's
# Python and pass pip check there (asks PyPI; wheels cached in .venv/check-runtime).
# make tooling runs it too, in tests/scripts/test_check_runtime.py.
check-runtime:
	@$(PYTHON) scripts/check_runtime.py $(FOLDERS)

NOTEBOOKS_VENV := .venv/notebooks

$(NOTEBOOKS_VENV)/installed.txt: notebooks/requirements.txt mod7-gaetasks/requirements.txt
	@$(PYTHON) scripts/ensure_venv.py $(NOTEBOOKS_VENV) notebooks/requirements.txt

# Run every notebook on a fresh kernel; fail on an error or on stale outputs.
check-notebooks: $(NOTEBOOKS_VENV)/installed.txt
	$(NOTEBOOKS_VENV)/bin/python scripts/notebooks.py check

# Run every notebook and write its fresh outputs into the file.
notebooks: $(NOTEBOOKS_VENV)/installed.txt
	$(NOTEBOOKS_VENV)/bin/python scripts/notebooks.py run

jupyter:
	@$(PYTHON) scripts/ensure_venv.py .venv/jupyter notebooks/requirements-lab.txt
	cd notebooks && ../.venv/jupyter/bin/jupyter lab --ip=127.0.0.1 --port=8888 \
	  --no-browser $(if $(filter 0,$(shell id -u)),--allow-root)

# Debian's Chromium for the browser test; nothing downloads a browser of its own.
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Chromium from Debian's packages ..."; \
	    apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "error: missing: Chromium, for the browser test;" \
	      "run 'sudo apt-get install chromium'" >&2; exit 1; \
	  fi; }

# What the tests launch: each stage's environment and the Cloud Tasks emulator's,
# built before any test starts, so that no two tests build one at once.
TEST_ENVS := $(TESTS_VENV)/installed.txt stage-venvs tasks-venv

# The contract tests: SPEC.md against every stage, each on its local servers.
contract:
	@$(MAKE) --no-print-directory -j --output-sync=target $(PYTEST_RUNS) \
	  SUITES=tests/contract

# The scripts', the doctor's and the docs' own tests (the notebook checker's need
# its venv; tests/doctor/test_route_a_proofs.py runs the SDK in mod7's).
tooling:
	@$(MAKE) --no-print-directory -j --output-sync=target $(PYTEST_RUNS) \
	  SUITES="tests/scripts tests/doctor tests/docs"

# pytest-NAME: the tests of SUITES that launch the stage NAME, one after another;
# pytest-other: the tests that launch none of their own, on $(WORKERS) workers.
# MAKEFLAGS= : the make commands the tests run must not inherit this make's
# flags (--output-sync would hold back the output of `make run` until it ends).
SUITES := tests/contract tests/scripts tests/doctor tests/docs
$(PYTEST_RUNS): pytest-%: $(TEST_ENVS) \
	  $(if $(filter tests/contract,$(SUITES)),browser) \
	  $(if $(filter tests/scripts,$(SUITES)),$(NOTEBOOKS_VENV)/installed.txt)
	MAKEFLAGS= $(TESTS_VENV)/bin/python -m pytest --stage=$* \
	  $(if $(filter other,$*),-n $(WORKERS)) $(SUITES)

# The scripts', doctor's and docs' tests that start no servers (none marked
# `servers`).
quick-tests: $(TEST_ENVS) $(NOTEBOOKS_VENV)/installed.txt
	MAKEFLAGS= $(TESTS_VENV)/bin/python -m pytest -n $(WORKERS) -m "not servers" \
	  tests/scripts tests/doctor tests/docs
