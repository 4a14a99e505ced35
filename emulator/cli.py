"""The ``mlharbor`` command: ``up`` serves everything; the others are clients of a running edge.

Client commands find the server through ``--endpoint URL``, else ``AWS_ENDPOINT_URL``, else
the default ``http://127.0.0.1:4600``, and speak plain AWS APIs (SageMaker, CloudWatch Logs)
to it, like any boto3 user.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from botocore.exceptions import WaiterError

import sdk
from emulator.config import SETTINGS
from sdk.logs import LogTail, follow


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a client error is one line, not a stack trace
        if getattr(args, "debug", False):
            raise
        print(f"mlharbor: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlharbor", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show stack traces")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="serve the edge endpoint, control plane and graph server")
    _add_setting_flags(up)
    up.set_defaults(handler=_up)

    def client_command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--endpoint", help="edge endpoint URL (default: $AWS_ENDPOINT_URL, else the local default)")
        return sub

    health = client_command("health", "is the edge endpoint up?")
    health.set_defaults(handler=_health)

    jobs = client_command("jobs", "list training jobs")
    jobs.add_argument("--status", help="only jobs in this TrainingJobStatus")
    jobs.add_argument("--max", type=int, default=50, help="how many (default 50)")
    jobs.set_defaults(handler=_jobs)

    describe = client_command("describe", "DescribeTrainingJob as JSON")
    describe.add_argument("job")
    describe.set_defaults(handler=_describe)

    logs = client_command("logs", "print a training job's log lines")
    logs.add_argument("job")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing until the job ends")
    logs.set_defaults(handler=_logs)

    stop = client_command("stop", "StopTrainingJob")
    stop.add_argument("job")
    stop.set_defaults(handler=_stop)

    interrupt = client_command("interrupt", "inject a managed-spot interruption into a running job")
    interrupt.add_argument("job")
    interrupt.set_defaults(handler=_interrupt)

    artifacts = commands.add_parser("artifacts", help="checkpoints and models in the local artifact store")
    artifact_commands = artifacts.add_subparsers(dest="artifacts_command", required=True)
    listing = artifact_commands.add_parser("list", help="stored checkpoint sets and models")
    listing.add_argument("job", nargs="?")
    listing.add_argument("--region", help="only this region's jobs (default: every region)")
    listing.add_argument("--account", help="only this account's jobs")
    listing.add_argument("--endpoint", help="edge endpoint URL")
    listing.set_defaults(handler=_artifacts_list)
    fetch = artifact_commands.add_parser("get", help="fetch one stored item into a directory")
    fetch.add_argument("item", help="an ID from `mlharbor artifacts list` "
                                    "(e.g. ACCOUNT/REGION/JOB/checkpoints/SET or ACCOUNT/REGION/JOB/model)")
    fetch.add_argument("--dest", default=".", help="directory to write into (default: current)")
    fetch.add_argument("--endpoint", help="edge endpoint URL")
    fetch.set_defaults(handler=_artifacts_get)

    images = commands.add_parser("images", help="list the built-in container images (--build: build them)")
    images.add_argument("--build", action="store_true", help="build the images offline for the docker runner")
    images.add_argument("--force", action="store_true", help="with --build: rebuild even what is cached")
    images.add_argument("names", nargs="*", help="with --build: only these built-ins (default: all)")
    images.set_defaults(handler=_images)
    return parser


# -- up ----------------------------------------------------------------------------
def _add_setting_flags(up: argparse.ArgumentParser) -> None:
    """One flag per config key, from the config table; unset flags stay ``None`` so the environment
    and the table's default apply."""
    for setting in SETTINGS:
        help_text = f"{setting.help} (default: {setting.shown_default})"
        if isinstance(setting.default, bool):
            up.add_argument(setting.flag, dest=setting.key, action=argparse.BooleanOptionalAction, help=help_text)
            continue
        value_type = type(setting.default) if isinstance(setting.default, int | float) else str
        up.add_argument(setting.flag, dest=setting.key, type=value_type, choices=setting.choices,
                        metavar=setting.metavar, help=help_text)


def _up(args: argparse.Namespace) -> int:
    from emulator.edge.server import Harbor

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {setting.key: getattr(args, setting.key) for setting in SETTINGS
                 if getattr(args, setting.key) is not None}
    harbor = Harbor(overrides)
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    harbor.start()
    info = harbor.info()
    print(f"mlharbor ready: endpoint {info['endpoint']}  graph {info['graph']}  data {info['data_dir']}", flush=True)
    print(f"  export AWS_ENDPOINT_URL={info['endpoint']}", flush=True)
    print(f"  console {info['endpoint']}/", flush=True)
    # a signal may land on any thread; the main thread only runs Python handlers when it wakes, so it
    # must not sleep in one untimed wait (a SIGTERM during a Docker job was once left unhandled)
    while not done.wait(0.5):
        pass
    print("mlharbor: shutting down", flush=True)
    harbor.stop()
    # Jobs still running die with this process (PR_SET_PDEATHSIG) and the next control plane fails or
    # requeues their records; the scheduler's worker threads that watch them must not hold the exit, as
    # Python joins a ThreadPoolExecutor's threads before it exits.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


# -- client commands ----------------------------------------------------------------
def _health(args: argparse.Namespace) -> int:
    print(json.dumps(json.loads(_internal(args.endpoint, "/health")), indent=2))
    return 0


def _jobs(args: argparse.Namespace) -> int:
    sagemaker = sdk.client("sagemaker", args.endpoint)
    filters = {"StatusEquals": args.status} if args.status else {}
    pages = sagemaker.get_paginator("list_training_jobs").paginate(
        **filters, PaginationConfig={"MaxItems": args.max, "PageSize": min(args.max, 100)})
    rows: list[dict[str, Any]] = [row for page in pages for row in page["TrainingJobSummaries"]]
    print(f"{'NAME':40} {'STATUS':11} {'SECONDARY':20} CREATED")
    for row in rows[: args.max]:
        created = row["CreationTime"].astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        secondary = row.get("SecondaryStatus", "")
        print(f"{row['TrainingJobName']:40} {row['TrainingJobStatus']:11} {secondary:20} {created}")
    return 0


def _describe(args: argparse.Namespace) -> int:
    description = sdk.client("sagemaker", args.endpoint).describe_training_job(TrainingJobName=args.job)
    description.pop("ResponseMetadata", None)
    print(json.dumps(description, indent=2, default=str))
    return 0


def _logs(args: argparse.Namespace) -> int:
    sagemaker = sdk.client("sagemaker", args.endpoint)
    sagemaker.describe_training_job(TrainingJobName=args.job)  # unknown job: a clear error first
    tail = LogTail(sdk.client("logs", args.endpoint), args.job)
    if not args.follow:
        for _, line in tail.read_new():
            print(line)
        return 0

    def finished() -> bool:
        status = sagemaker.describe_training_job(TrainingJobName=args.job)["TrainingJobStatus"]
        return status in ("Completed", "Failed", "Stopped")

    for _, line in follow(tail, finished):
        print(line, flush=True)
    return 0


def _stop(args: argparse.Namespace) -> int:
    """StopTrainingJob, then wait for the job to end; the line shows Stopping, then the final status
    (a waiter, as the status only ever changes once more)."""
    sagemaker = sdk.client("sagemaker", args.endpoint)
    sagemaker.stop_training_job(TrainingJobName=args.job)
    print(f"\r{args.job}: Stopping   ", end="", flush=True)
    try:
        sagemaker.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName=args.job, WaiterConfig={"Delay": 0.5, "MaxAttempts": 600})
    except WaiterError as error:  # Failed is an end too, and a job still Stopping after 5 minutes is shown as such
        if "TrainingJobStatus" not in (error.last_response or {}):
            raise  # not a job's status: the describe call itself failed
    status = sagemaker.describe_training_job(TrainingJobName=args.job)["TrainingJobStatus"]
    print(f"\r{args.job}: {status}   ")
    return 0


def _interrupt(args: argparse.Namespace) -> int:
    _internal(args.endpoint, f"/training-jobs/{urllib.parse.quote(args.job)}/interrupt", method="POST")
    print(f"{args.job}: interrupted; it restarts from its last checkpoint")
    return 0


def _artifacts_list(args: argparse.Namespace) -> int:
    filters = {name: value for name, value in (("job", args.job), ("region", args.region),
                                                ("account", args.account)) if value}
    query = "?" + urllib.parse.urlencode(filters) if filters else ""
    items = json.loads(_internal(args.endpoint, "/artifacts" + query))["artifacts"]
    print(f"{'ID':88} {'KIND':10} {'FILES':>5} {'BYTES':>12} STORED")
    for item in items:
        stored = dt.datetime.fromtimestamp(item["created"], dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{item['item_id']:88} {item['kind']:10} {item['file_count']:>5} {item['size']:>12} {stored}")
    return 0


def _artifacts_get(args: argparse.Namespace) -> int:
    import io
    import tarfile
    from pathlib import Path

    raw = _internal(args.endpoint, f"/artifacts/{urllib.parse.quote(args.item)}/download")
    destination = Path(args.dest)
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        archive.extractall(destination, filter="data")  # refuses absolute paths, .. and links out
        names = archive.getnames()
    print(f"wrote {len(names)} file(s) under {destination}")
    return 0


def _internal(endpoint: str | None, path: str, method: str = "GET") -> bytes:
    """Call mlharbor's own API; AWS-shaped errors become one clear line."""
    url = sdk.endpoint_url(endpoint) + "/_mlharbor" + path
    request = urllib.request.Request(url, method=method, headers=_signed_headers(method, url))
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        try:
            body = json.loads(error.read())
            message = f"{body['__type']}: {body['message']}"
        except (ValueError, KeyError):
            message = f"HTTP {error.code}"
        raise RuntimeError(message) from None


def _signed_headers(method: str, url: str) -> dict[str, str]:
    """SigV4 headers from the caller's AWS credentials (a server with ``--auth sigv4`` requires them)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = sdk.session(endpoint=url.split("/_mlharbor", 1)[0])
    request = AWSRequest(method=method, url=url, data=b"")
    SigV4Auth(session.get_credentials(), "sagemaker", session.region_name).add_auth(request)
    return dict(request.headers.items())


def _images(args: argparse.Namespace) -> int:
    from containers.registry import BUILTIN_IMAGES

    if args.build:
        return _build_images(args.names or None, args.force)
    print(f"{'IMAGE':28} DESCRIPTION")
    for image in BUILTIN_IMAGES:
        print(f"{image.name:28} {image.description}")
    return 0


def _build_images(names: list[str] | None, force: bool) -> int:
    from emulator.images.build import BuildError, ImageBuilder
    from emulator.runners.docker.engine import DockerUnavailable, docker_client

    try:
        results = ImageBuilder(docker_client()).build_all(names, force=force)
    except (BuildError, DockerUnavailable) as error:
        print(f"mlharbor: {error}", file=sys.stderr)
        return 1
    for built in results:
        print(f"{built.tag:40} {'cached' if built.cached else 'built'} in {built.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
