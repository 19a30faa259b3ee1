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

"""Serve the Cloud Tasks emulator on 127.0.0.1, and create queues in it.

Usage: python scripts/tasks_emulator.py serve --port P --target-port APP_PORT
       python scripts/tasks_emulator.py create-queue --port P --queue PATH
           [--max-attempts N]

Runs in the virtual environment of scripts/tasks-emulator-requirements.txt
(launch.py makes it). `serve` runs gcloud-tasks-emulator, which dispatches
App Engine tasks to http://127.0.0.1:APP_PORT with X-AppEngine-* headers; its
own command line listens on every interface, this one on loopback only.
`create-queue` does what `gcloud tasks queues create` does in production.
"""

import argparse
import logging
import sys

import grpc
from gcloud_tasks_emulator import server
from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks import transports

READY_TIMEOUT_S = 30


def loopback_only(make_server):
    """Wrap grpc.server so that the servers it makes listen on 127.0.0.1 only."""

    def make(*args, **kwargs):
        grpc_server = make_server(*args, **kwargs)
        add_port = grpc_server.add_insecure_port
        grpc_server.add_insecure_port = lambda address: add_port(
            address.replace("[::]", "127.0.0.1")
        )
        return grpc_server

    return make


def serve(args):
    """Run the emulator until it is stopped."""
    logging.basicConfig(level=logging.INFO, format="tasks-emulator: %(message)s")
    grpc.server = loopback_only(grpc.server)
    emulator = server.create_server(
        "127.0.0.1",
        args.port,
        target_host="127.0.0.1",
        target_port=args.target_port,
        max_retries=args.max_attempts - 1,
    )
    emulator.run()


def create_queue(args):
    """Create a queue with bounded retries once the emulator answers."""
    channel = grpc.insecure_channel(f"127.0.0.1:{args.port}")
    grpc.channel_ready_future(channel).result(timeout=READY_TIMEOUT_S)
    transport = transports.CloudTasksGrpcTransport(channel=channel)
    client = tasks_v2.CloudTasksClient(transport=transport)
    queue = tasks_v2.Queue(
        name=args.queue,
        retry_config=tasks_v2.RetryConfig(max_attempts=args.max_attempts),
    )
    client.create_queue(parent=args.queue.rsplit("/queues/", 1)[0], queue=queue)


def queue_path(text):
    """Accept only projects/PROJECT/locations/LOCATION/queues/QUEUE."""
    parts = text.split("/")
    if len(parts) != 6 or parts[::2] != ["projects", "locations", "queues"]:
        raise argparse.ArgumentTypeError(
            f"not a queue path projects/P/locations/L/queues/Q: {text!r}"
        )
    return text


def main():
    """Parse the command line and run the subcommand."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(required=True)
    serve_parser = commands.add_parser("serve", help="run the emulator")
    serve_parser.add_argument("--port", type=int, required=True)
    serve_parser.add_argument("--target-port", type=int, required=True)
    serve_parser.add_argument("--max-attempts", type=int, default=5)
    serve_parser.set_defaults(run=serve)
    queue_parser = commands.add_parser("create-queue", help="create a queue")
    queue_parser.add_argument("--port", type=int, required=True)
    queue_parser.add_argument("--queue", type=queue_path, required=True)
    queue_parser.add_argument("--max-attempts", type=int, default=5)
    queue_parser.set_defaults(run=create_queue)
    args = parser.parse_args()
    try:
        args.run(args)
    except grpc.FutureTimeoutError:
        print(
            f"error: no Cloud Tasks emulator answered on port {args.port}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
