"""Command-line parsing: kinds and aliases, TYPE/NAME, flags, --since durations and --since-time."""

from __future__ import annotations

import pytest

from smk8s.smlogs.args import (
    DEFAULT_POLL_INTERVAL,
    UsageError,
    parse_args,
    parse_duration,
    parse_rfc3339_ms,
    poll_interval,
)
from smk8s.smlogs.kinds import PROCESSING, TRAINING, TRANSFORM, TUNING


@pytest.mark.parametrize(("word", "kind"), [
    # The original plugin's aliases (original-operator.md section 4) ...
    ("TrainingJob", TRAINING), ("trainingjob", TRAINING), ("trainingjobs", TRAINING), ("Trainingjob", TRAINING),
    ("TrainingJobs", TRAINING), ("BatchTransformJob", TRANSFORM), ("batchtransformjob", TRANSFORM),
    ("batchtransformjobs", TRANSFORM), ("BatchtransformJob", TRANSFORM), ("BatchtransformJobs", TRANSFORM),
    ("BatchTransformJobs", TRANSFORM), ("HyperParameterTuningJob", TUNING),
    # ... and the kinds it lacked, with the CRDs' short names and plural.group as kubectl accepts them.
    ("processingjob", PROCESSING), ("ProcessingJobs", PROCESSING), ("pj", PROCESSING), ("tj", TRAINING),
    ("btj", TRANSFORM), ("hpo", TUNING), ("hyperparametertuningjobs", TUNING),
    ("trainingjobs.sagemaker.aws.amazon.com", TRAINING),
])
def test_every_alias_names_its_kind(word: str, kind: object) -> None:
    assert parse_args([word, "x"], environ={}).kind is kind


def test_defaults() -> None:
    options = parse_args(["trainingjob", "job"], environ={})
    assert (options.name, options.follow, options.tail, options.output, options.timestamps) == (
        "job", False, -1, "text", False)
    assert options.log_search_prefix is None and options.namespace is None and options.endpoint_url is None
    assert options.poll_interval == DEFAULT_POLL_INTERVAL
    assert options.start_time_ms(1_000_000) is None


def test_every_flag() -> None:
    options = parse_args([
        "trainingjob", "job", "-f", "-p", "algo-2", "--hide-log-stream-name", "--since", "1h30m", "--tail", "5",
        "--timestamps", "-o", "json", "--kubeconfig", "/k", "--context", "ctx", "-n", "ns",
        "--endpoint-url", "http://127.0.0.1:1", "--profile", "p", "--poll-interval", "0.25",
    ], environ={})
    assert options.follow and options.hide_log_stream_name and options.timestamps
    assert options.log_search_prefix == "algo-2"
    assert options.since_seconds == 5400
    assert options.start_time_ms(10_000_000) == 10_000_000 - 5_400_000
    assert (options.tail, options.output, options.kubeconfig, options.context, options.namespace) == (
        5, "json", "/k", "ctx", "ns")
    assert (options.endpoint_url, options.profile, options.poll_interval) == ("http://127.0.0.1:1", "p", 0.25)


def test_long_flag_names_of_the_original_and_kubectl_spellings() -> None:
    options = parse_args(["TrainingJob", "job", "--follow", "--logSearchPrefix", "/algo-4/", "--namespace=ns"],
                         environ={})
    assert options.follow and options.log_search_prefix == "algo-4" and options.namespace == "ns"


def test_type_slash_name() -> None:
    options = parse_args(["btj/my-transform"], environ={})
    assert options.kind is TRANSFORM and options.name == "my-transform"


@pytest.mark.parametrize(("argv", "message"), [
    (["trainingjob"], "exactly one NAME is required"),
    (["trainingjob/a", "b"], "either TYPE NAME or TYPE/NAME"),
    (["endpoint", "x"], 'unknown job type "endpoint"'),
    (["tj", "x", "--since", "5m", "--since-time", "2024-01-01T00:00:00Z"], "at most one of --since or --since-time"),
    (["tj", "x", "--since", "0s"], "--since must be greater than 0"),
    (["tj", "x", "--since", "10"], 'invalid duration "10"'),
    (["tj", "x", "--since-time", "yesterday"], 'invalid --since-time "yesterday"'),
    (["tj", "x", "--since-time", "2024-01-01T00:00:00"], "needs a time zone"),
    (["tj", "x", "--tail", "-2"], "--tail must be -1"),
    (["tj", "x", "--poll-interval", "0"], "poll interval must be positive"),
])
def test_wrong_command_lines(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        parse_args(argv, environ={})


def test_argparse_rejects_unknown_flags_and_abbreviations() -> None:
    with pytest.raises(SystemExit):
        parse_args(["tj", "x", "--no-such-flag"], environ={})
    with pytest.raises(SystemExit):
        parse_args(["tj", "x", "--foll"], environ={})


@pytest.mark.parametrize(("text", "seconds"), [
    # Go's time.ParseDuration, which kubectl logs --since uses.
    ("10s", 10), ("5m", 300), ("3h", 10_800), ("1h30m", 5400), ("1.5h", 5400), ("300ms", 0.3), ("2m3.5s", 123.5),
    ("0", 0), ("+2s", 2), ("1us", 1e-6), ("1µs", 1e-6), ("7ns", 7e-9), (".5s", 0.5),
])
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "m", "5d", "1h 2m", "s10", "1..5s"])
def test_invalid_durations(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)


def test_since_time_is_rfc3339() -> None:
    assert parse_rfc3339_ms("2024-01-01T00:00:00Z") == 1_704_067_200_000
    assert parse_rfc3339_ms("2024-01-01T02:00:00.250+02:00") == 1_704_067_200_250
    options = parse_args(["tj", "x", "--since-time", "2024-01-01T00:00:00Z"], environ={})
    assert options.start_time_ms(0) == 1_704_067_200_000


def test_poll_interval_from_the_environment_unless_the_flag_says() -> None:
    assert poll_interval(None, {"SMLOGS_POLL_INTERVAL": "0.05"}) == 0.05
    assert poll_interval(2.0, {"SMLOGS_POLL_INTERVAL": "0.05"}) == 2.0
    with pytest.raises(UsageError):
        poll_interval(None, {"SMLOGS_POLL_INTERVAL": "soon"})
