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
           [--max-attempts N | --queue-yaml FILE]
       python scripts/tasks_emulator.py create-queue --port P --queue PATH
           [--max-attempts N]
       python scripts/tasks_emulator.py create-queues --port P --queue-yaml FILE
           --project P --location L

Runs in the virtual environment of scripts/tasks-emulator-requirements.txt
(launch.py makes it). `serve` runs gcloud-tasks-emulator, which dispatches
App Engine tasks to http://127.0.0.1:APP_PORT with X-AppEngine-* headers; its
own command line listens on every interface, this one on loopback only.
`create-queue` does what `gcloud tasks queues create` does in production;
`create-queues` what `gcloud app deploy queue.yaml` does (route A): it creates
each push queue of a queue.yaml with the settings gcloud converts it to.
`serve --queue-yaml` bounds the emulator's deliveries as that file does (the
emulator applies one bound to every queue).
"""

import argparse
import logging
import sys

import grpc
import yaml
from gcloud_tasks_emulator import server
from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks import transports

import queue_commands

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


def queue_yaml_queues(path, project, location):
    """Return the push queues of a queue.yaml as Cloud Tasks queues.

    With the settings `gcloud app deploy queue.yaml` gives them: queue_commands.py
    is the one place that knows gcloud's conversion (for example task_retry_limit
    counts retries, so max_attempts is one more; rate N/s is
    max_dispatches_per_second N).
    """

    def duration(seconds):
        whole, fraction = divmod(round(seconds * 10**9), 10**9)
        return {"seconds": whole, "nanos": fraction}

    queues = []
    for name, settings in queue_commands.push_queues(path):
        queue = tasks_v2.Queue(
            name=f"projects/{project}/locations/{location}/queues/{name}",
            retry_config=tasks_v2.RetryConfig(
                max_attempts=settings["max_attempts"],
                max_retry_duration=duration(settings["max_retry_duration"]),
                min_backoff=duration(settings["min_backoff"]),
                max_backoff=duration(settings["max_backoff"]),
                max_doublings=settings["max_doublings"],
            ),
            rate_limits=tasks_v2.RateLimits(
                max_dispatches_per_second=settings["max_dispatches_per_second"],
                max_burst_size=settings["max_burst_size"],
                max_concurrent_dispatches=settings["max_concurrent_dispatches"],
            ),
        )
        if "routing_override" in settings:
            queue.app_engine_routing_override = tasks_v2.AppEngineRouting(
                **settings["routing_override"]
            )
        queues.append(queue)
    return queues


def serve(args):
    """Run the emulator until it is stopped."""
    logging.basicConfig(level=logging.INFO, format="tasks-emulator: %(message)s")
    max_attempts = args.max_attempts
    if args.queue_yaml:
        # The emulator bounds every queue alike; -1 (unlimited, a queue.yaml
        # without task_retry_limit) keeps the default bound locally.
        attempts = [
            settings["max_attempts"]
            for _, settings in queue_commands.push_queues(args.queue_yaml)
        ]
        max_attempts = max(attempts) if attempts and min(attempts) > 0 else max_attempts
    grpc.server = loopback_only(grpc.server)
    emulator = server.create_server(
        "127.0.0.1",
        args.port,
        target_host="127.0.0.1",
        target_port=args.target_port,
        max_retries=max_attempts - 1,
    )
    emulator.run()


def client_for(port):
    """Return a Cloud Tasks client for the emulator on port, once it answers."""
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=READY_TIMEOUT_S)
    transport = transports.CloudTasksGrpcTransport(channel=channel)
    return tasks_v2.CloudTasksClient(transport=transport)


def create_queue(args):
    """Create a queue with bounded retries once the emulator answers."""
    queue = tasks_v2.Queue(
        name=args.queue,
        retry_config=tasks_v2.RetryConfig(max_attempts=args.max_attempts),
    )
    client_for(args.port).create_queue(
        parent=args.queue.rsplit("/queues/", 1)[0], queue=queue
    )


def create_queues(args):
    """Create the push queues of a queue.yaml once the emulator answers."""
    queues = queue_yaml_queues(args.queue_yaml, args.project, args.location)
    client = client_for(args.port)
    for queue in queues:
        client.create_queue(parent=queue.name.rsplit("/queues/", 1)[0], queue=queue)


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
    bound = serve_parser.add_mutually_exclusive_group()
    bound.add_argument("--max-attempts", type=int, default=5)
    bound.add_argument("--queue-yaml", help="bound deliveries as this file does")
    serve_parser.set_defaults(run=serve)
    queue_parser = commands.add_parser("create-queue", help="create a queue")
    queue_parser.add_argument("--port", type=int, required=True)
    queue_parser.add_argument("--queue", type=queue_path, required=True)
    queue_parser.add_argument("--max-attempts", type=int, default=5)
    queue_parser.set_defaults(run=create_queue)
    yaml_parser = commands.add_parser("create-queues", help="queues of a queue.yaml")
    yaml_parser.add_argument("--port", type=int, required=True)
    yaml_parser.add_argument("--queue-yaml", required=True)
    yaml_parser.add_argument("--project", required=True)
    yaml_parser.add_argument("--location", required=True)
    yaml_parser.set_defaults(run=create_queues)
    args = parser.parse_args()
    try:
        args.run(args)
    except grpc.FutureTimeoutError:
        print(
            f"error: no Cloud Tasks emulator answered on port {args.port}",
            file=sys.stderr,
        )
        return 1
    except (OSError, yaml.YAMLError, AttributeError, KeyError, ValueError) as err:
        print(
            f"error: cannot read {args.queue_yaml} as a queue.yaml: {err}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
