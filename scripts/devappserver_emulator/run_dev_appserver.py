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

"""Run dev_appserver.py on a running Datastore emulator, as CLI 528 cannot alone.

Usage: <the CLI's Python> run_dev_appserver.py DEV_APPSERVER_PY [its options]

With `--support_datastore_emulator=true
--running_datastore_emulator_host=HOST:PORT`, dev_appserver talks to the
emulator through `devappserver2/datastore_grpc_stub.py`, which needs the
generated `devappserver2/grpc_service_pb2.py`. As the Google Cloud CLI ships
it (528), that file imports `google.net.proto2.python.public` and
`google.net.proto2.python.internal`: Google-internal names of the protobuf
runtime, which no public SDK has. The import fails, the stub sees no service
definition, and dev_appserver stops at start with "The DatastoreGrpcStub
requires a local gRPC service definition".

This wrapper maps those two names, and every module under them, onto the
public `google.protobuf` and `google.protobuf.internal` that the SDK bundles,
then runs dev_appserver.py unchanged. The generated code was made by a newer
protoc than the bundled runtime, so the launcher also sets
TEMPORARILY_DISABLE_PROTOBUF_VERSION_CHECK=true for it.

It lives outside every stage folder: it is a workaround for the local server,
not part of any app. tests/scripts/test_devappserver_emulator.py fails once the
SDK imports its service definition without it, to say it can go.
"""

import importlib
import importlib.abc
import importlib.util
import runpy
import sys

# Google-internal protobuf package names -> the public ones.
ALIASES = {
    "google.net.proto2.python.public": "google.protobuf",
    "google.net.proto2.python.internal": "google.protobuf.internal",
}
# Their parent packages, which exist only as empty packages here.
PARENTS = ("google.net", "google.net.proto2", "google.net.proto2.python")


def public_name(name):
    """Return the public module name for an internal one, or None."""
    for internal, public in ALIASES.items():
        if name == internal or name.startswith(internal + "."):
            return public + name[len(internal) :]
    return None


class ProtobufAliases(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import each internal protobuf name as the public module itself."""

    def find_spec(self, name, path=None, target=None):
        """Claim the internal names and their parent packages."""
        if public_name(name) or name in PARENTS:
            return importlib.util.spec_from_loader(name, self, is_package=True)
        return None

    def create_module(self, spec):
        """Return the public module (an empty package for a parent name)."""
        public = public_name(spec.name)
        if public is None:
            return None  # a parent such as google.net: an empty package
        module = importlib.import_module(public)
        spec.loader_state = module.__spec__  # the import machinery overwrites it
        return module

    def exec_module(self, module):
        """Give the public module its own spec back; run nothing."""
        if module.__spec__.loader_state is not None:
            module.__spec__ = module.__spec__.loader_state


def main():
    """Install the aliases, then run dev_appserver.py with its own arguments."""
    if len(sys.argv) < 2:
        sys.exit("usage: run_dev_appserver.py DEV_APPSERVER_PY [options]")
    sys.meta_path.insert(0, ProtobufAliases())
    script = sys.argv.pop(1)
    sys.argv[0] = script
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
