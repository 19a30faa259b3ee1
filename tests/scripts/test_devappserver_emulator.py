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

"""scripts/devappserver_emulator/: dev_appserver on a running Datastore emulator.

Each test imports the SDK's generated gRPC service definition as
dev_appserver.py would, in the CLI's own Python with dev_appserver's paths.
The first fails once the SDK no longer needs the workaround: then delete the
folder, and ON_EMULATOR in scripts/launch.py. Serving a stage this way is
tested by tests/contract/test_switch_over.py.
"""

import subprocess
import sys

import pytest

import prereqs
import stages

WORKAROUND = stages.REPO / "scripts" / "devappserver_emulator"
# dev_appserver.py's own set-up of sys.path, then the import its gRPC stub makes.
IMPORT = """
import importlib.util, os, sys
root = sys.argv[1]
spec = importlib.util.spec_from_file_location("wrapper", root + "/dev_appserver.py")
wrapper = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wrapper)
name = "dev_appserver.py"
sys.path = wrapper._PATHS.script_paths(name) + wrapper._PATHS.scrub_path(name, sys.path)
wrapper.fix_google_path()
if len(sys.argv) > 2:
    sys.path.insert(0, sys.argv[2])
    import run_dev_appserver
    sys.meta_path.insert(0, run_dev_appserver.ProtobufAliases())
os.environ["TEMPORARILY_DISABLE_PROTOBUF_VERSION_CHECK"] = "true"
try:
    from google.appengine.tools.devappserver2 import grpc_service_pb2
except ImportError as err:
    print("ImportError:", err)
else:
    print("stub:", hasattr(grpc_service_pb2, "CallHandlerStub"))
    import google.protobuf.descriptor as public
    print("spec:", public.__spec__.name)
"""


def import_service_definition(*workaround):
    """Import grpc_service_pb2 as dev_appserver does; return what it printed."""
    sdk_root = prereqs.find_sdk_root()
    python = prereqs.sdk_python(sdk_root) or sys.executable
    root = str(prereqs.dev_appserver(sdk_root).parent)
    done = subprocess.run(
        [python, "-c", IMPORT, root, *map(str, workaround)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module", autouse=True)
def sdk():
    """The Google Cloud CLI with its App Engine component."""
    if not prereqs.find_sdk_root():
        pytest.fail("the Google Cloud CLI is not installed")


def test_the_sdk_still_imports_google_internal_protobuf_names():
    printed = import_service_definition()

    assert printed == "ImportError: No module named 'google.net'\n", (
        "dev_appserver imports its gRPC service definition by itself now: "
        "scripts/devappserver_emulator/ and launch.ON_EMULATOR can go"
    )


def test_with_the_aliases_dev_appserver_has_its_service_definition():
    printed = import_service_definition(WORKAROUND)

    assert printed.splitlines() == ["stub: True", "spec: google.protobuf.descriptor"]
