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

"""Route A, run locally: send the SDK's Cloud Tasks calls to a local emulator.

What it patches, and why: with APPENGINE_USE_CLOUDTASK_PUSH_QUEUE set,
appengine-python-standard's google/appengine/api/taskqueue/cloudtask.py makes
its client as `tasks_v2.CloudTasksClient()`, with no arguments, so it always
talks to the real Cloud Tasks API: the SDK has no emulator setting. When
CLOUD_TASKS_EMULATOR_HOST is set, this module replaces
`google.cloud.tasks_v2.CloudTasksClient` with a subclass whose default
transport is an insecure gRPC channel to that address. Nothing else changes:
the SDK still builds every request itself.

Python imports a `sitecustomize` module at start-up from its path. Only
scripts/launch.py puts this folder on the app's PYTHONPATH (through
dev_appserver's --env_var), and only for route A; it lives outside the stage
folder, so `gcloud app deploy` never uploads it. Without the variable it does
nothing.
"""

import os

EMULATOR = os.environ.get("CLOUD_TASKS_EMULATOR_HOST")

if EMULATOR:
    import grpc
    from google.cloud import tasks_v2
    from google.cloud.tasks_v2.services.cloud_tasks import transports

    class EmulatorCloudTasksClient(tasks_v2.CloudTasksClient):
        """A CloudTasksClient that talks to the local emulator by default."""

        def __init__(self, *args, **kwargs):
            if not args and "transport" not in kwargs:
                channel = grpc.insecure_channel(EMULATOR)
                kwargs["transport"] = transports.CloudTasksGrpcTransport(
                    channel=channel
                )
            super().__init__(*args, **kwargs)

    tasks_v2.CloudTasksClient = EmulatorCloudTasksClient
