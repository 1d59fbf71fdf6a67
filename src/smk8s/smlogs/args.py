"""Command line of ``kubectl smlogs``: parsing, validation and the time-window arithmetic (pure).

kubectl runs a plugin with every argument that follows the plugin's name, its own flags included, so the plugin
parses ``--kubeconfig``, ``--context`` and ``-n/--namespace`` itself (kubectl does not handle flags placed before
the plugin name for plugins). Flags follow ``kubectl logs``: ``--since`` takes a Go duration (``10m``, ``1h30m``,
``2.5s``), ``--since-time`` an RFC 3339 time, and at most one of them may be given; ``--tail -1`` (the default)
means every event.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from smk8s.smlogs.kinds import JobKind, UnknownKindError, kind_for

POLL_INTERVAL_ENV = "SMLOGS_POLL_INTERVAL"
DEFAULT_POLL_INTERVAL = 1.0

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class UsageError(ValueError):
    """The command line is wrong; the message says how."""


@dataclass(frozen=True)
class Options:
    """Everything the command line asks for, validated."""

    kind: JobKind
    name: str
    follow: bool = False
    log_search_prefix: str | None = None
    hide_log_stream_name: bool = False
    since_seconds: float | None = None
    since_time_ms: int | None = None
    tail: int = -1
    timestamps: bool = False
    output: str = "text"
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    poll_interval: float = DEFAULT_POLL_INTERVAL

    def start_time_ms(self, now_ms: int) -> int | None:
        """The earliest event timestamp to show (CloudWatch's ``startTime``), or None for the whole log."""
        if self.since_time_ms is not None:
            return self.since_time_ms
        if self.since_seconds is not None:
            return now_ms - round(self.since_seconds * 1000)
        return None


def parse_duration(text: str) -> float:
    """Seconds in a Go duration string as ``kubectl logs --since`` accepts it (``time.ParseDuration``)."""
    value = text.strip()
    if not value:
        raise UsageError("invalid duration \"\": use e.g. 10s, 5m, 1h30m")
    sign = 1.0
    if value[0] in "+-":
        sign = -1.0 if value[0] == "-" else 1.0
        value = value[1:]
    if value == "0":
        return 0.0
    position = 0
    total = 0.0
    while position < len(value):
        match = _DURATION_PART.match(value, position)
        if match is None:
            raise UsageError(f'invalid duration "{text}": use e.g. 10s, 5m, 1h30m')
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position == 0:
        raise UsageError(f'invalid duration "{text}": use e.g. 10s, 5m, 1h30m')
    return sign * total


def parse_rfc3339_ms(text: str) -> int:
    """Epoch milliseconds of an RFC 3339 time (``2024-05-01T10:00:00Z``, offsets and fractions allowed)."""
    value = text.strip()
    try:
        moment = datetime.datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f'invalid --since-time "{text}": use RFC 3339, e.g. 2024-05-01T10:00:00Z') from None
    if moment.tzinfo is None:
        raise UsageError(f'invalid --since-time "{text}": RFC 3339 needs a time zone, e.g. Z or +02:00')
    return round(moment.timestamp() * 1000)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubectl smlogs",
        description="Print the CloudWatch logs of a SageMaker job run by a TrainingJob, ProcessingJob, "
                    "BatchTransformJob or HyperparameterTuningJob (the logs of its training jobs).",
        epilog="Examples: kubectl smlogs trainingjob my-job -f; kubectl smlogs hpo my-tuning --since 10m; "
               "kubectl smlogs TrainingJob my-job -p algo-2 --tail 100",
        allow_abbrev=False,
    )
    parser.add_argument("type", metavar="TYPE",
                        help="trainingjob, processingjob, batchtransformjob or hyperparametertuningjob (any case, "
                             "plural or short name; TYPE/NAME also works)")
    parser.add_argument("name", metavar="NAME", nargs="?", help="the object's name")
    parser.add_argument("-f", "--follow", action="store_true",
                        help="keep printing new events until the job has ended and its logs are drained")
    parser.add_argument("-p", "--logSearchPrefix", "--log-search-prefix", dest="log_search_prefix", default=None,
                        help="only log streams named JOB/PREFIX..., e.g. algo-2")
    parser.add_argument("--hide-log-stream-name", action="store_true", help="do not print the log stream's name")
    parser.add_argument("--since", default=None,
                        help="only events newer than this duration, e.g. 10s, 5m, 1h30m")
    parser.add_argument("--since-time", default=None, help="only events at or after this RFC 3339 time")
    parser.add_argument("--tail", type=int, default=-1, help="only the last N events (-1: all)")
    parser.add_argument("--timestamps", action="store_true", help="print each event's timestamp (RFC 3339, UTC)")
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text",
                        help="text (default) or json: one JSON object per event and line")
    parser.add_argument("--kubeconfig", default=None, help="path to the kubeconfig file")
    parser.add_argument("--context", default=None, help="the kubeconfig context to use")
    parser.add_argument("-n", "--namespace", default=None, help="the object's namespace")
    parser.add_argument("--endpoint-url", default=None,
                        help="AWS endpoint URL for CloudWatch Logs and SageMaker calls (overrides the standard "
                             "AWS configuration and spec.sageMakerEndpoint)")
    parser.add_argument("--profile", default=None, help="AWS profile to use (default: AWS_PROFILE or default)")
    parser.add_argument("--poll-interval", type=float, default=None, help=argparse.SUPPRESS)
    return parser


def parse_args(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> Options:
    """Options from ``argv`` (without the program name); raises :class:`UsageError` on a wrong command line.

    argparse's own errors (unknown flags, a missing TYPE) exit with status 2 as usual.
    """
    env = os.environ if environ is None else environ
    ns = build_parser().parse_args(list(argv))
    type_text: str = ns.type
    name: str | None = ns.name
    if "/" in type_text:
        if name is not None:
            raise UsageError("give either TYPE NAME or TYPE/NAME, not both")
        type_text, _, name = type_text.partition("/")
    if not name:
        raise UsageError("exactly one NAME is required: kubectl smlogs TYPE NAME")
    try:
        kind = kind_for(type_text)
    except UnknownKindError as exc:
        raise UsageError(str(exc)) from None
    if ns.since is not None and ns.since_time is not None:
        raise UsageError("at most one of --since or --since-time may be specified")
    since_seconds = None
    if ns.since is not None:
        since_seconds = parse_duration(ns.since)
        if since_seconds <= 0:
            raise UsageError("--since must be greater than 0")
    since_time_ms = parse_rfc3339_ms(ns.since_time) if ns.since_time is not None else None
    if ns.tail < -1:
        raise UsageError("--tail must be -1 (all events) or a number of events")
    prefix = ns.log_search_prefix.strip("/") if ns.log_search_prefix else None
    return Options(
        kind=kind, name=name, follow=ns.follow, log_search_prefix=prefix or None,
        hide_log_stream_name=ns.hide_log_stream_name, since_seconds=since_seconds, since_time_ms=since_time_ms,
        tail=ns.tail, timestamps=ns.timestamps, output=ns.output, kubeconfig=ns.kubeconfig, context=ns.context,
        namespace=ns.namespace, endpoint_url=ns.endpoint_url, profile=ns.profile,
        poll_interval=poll_interval(ns.poll_interval, env),
    )


def poll_interval(flag: float | None, environ: Mapping[str, str]) -> float:
    """The follow-mode poll interval in seconds: the hidden ``--poll-interval``, else ``SMLOGS_POLL_INTERVAL``,
    else 1 s."""
    value: float = DEFAULT_POLL_INTERVAL
    if flag is not None:
        value = flag
    elif environ.get(POLL_INTERVAL_ENV):
        try:
            value = float(environ[POLL_INTERVAL_ENV])
        except ValueError:
            raise UsageError(f"{POLL_INTERVAL_ENV} must be a number of seconds") from None
    if value <= 0:
        raise UsageError("the poll interval must be positive")
    return value
