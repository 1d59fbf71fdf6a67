"""Reading logs: completeness and order over pages and streams, prefix and time filters, formats, every job kind,
tuning jobs' training jobs, endpoints from the object and the standard AWS configuration."""

from __future__ import annotations

import datetime
import json

from tests.integration.sagemaker.helpers import IMAGE, ROLE, processing, training, transform, tuning
from tests.integration.smlogs.conftest import Env

TRAINING_GROUP = "/aws/sagemaker/TrainingJobs"
MINUTE_MS = 60_000


def _stored_in_order(env: Env, group: str, prefix: str) -> list[tuple[int, str, str]]:
    """``(timestamp, stream, message)`` of every stored event under ``prefix``, in the order the plugin promises:
    timestamp, then stream name, then the stream's own order."""
    streams = sorted((s for s in env.aws.world.logs.groups[group].streams.values() if s.name.startswith(prefix)),
                     key=lambda s: s.name)
    keyed = [(e.timestamp, rank, i, s.name, e.message)
             for rank, s in enumerate(streams) for i, e in enumerate(s.events)]
    return [(ts, name, message) for ts, _, _, name, message in sorted(keyed)]


async def test_more_than_10000_events_over_several_streams_are_printed_completely_and_in_order(
        smlogs_env: Env) -> None:
    env = smlogs_env
    await env.sm("CreateTrainingJob", **training(
        "sm-big", ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 3, "VolumeSizeInGB": 10}))
    env.advance(10_000)  # the job runs to Completed, writing its lifecycle lines
    group = env.aws.world.logs.groups[TRAINING_GROUP]
    names = sorted(group.streams)
    assert len(names) == 3
    start = group.streams[names[0]].events[0].timestamp
    # 10,200 events in the first stream (more than one GetLogEvents page: 10,000 at most), 1,500 in the others,
    # interleaved with each other and with the lifecycle lines, many sharing a millisecond across streams.
    env.put_events(TRAINING_GROUP, names[0], [(start + 1 + j // 2, f"first {j}") for j in range(10_200)])
    env.put_events(TRAINING_GROUP, names[1], [(start + 1 + j * 3, f"second {j}") for j in range(1_500)])
    env.put_events(TRAINING_GROUP, names[2], [(start + 2 + j * 3, f"third {j}") for j in range(1_500)])
    await env.create_job_object("trainingjob-xgboost-mnist", "big", "sm-big", status={"trainingJobStatus": "Completed"})
    expected = [f"{name} {message}" for _, name, message in _stored_in_order(env, TRAINING_GROUP, "sm-big/")]
    assert len(expected) > 13_200

    printed = await env.smlogs("trainingjob", "big")
    assert printed.returncode == 0, printed.stderr
    assert printed.lines == expected

    # Follow mode on the completed job: the same, then exit 0 once drained.
    followed = await env.smlogs("trainingjob", "big", "-f")
    assert followed.returncode == 0, followed.stderr
    assert followed.lines == expected
    stats = env.aws.stats()["calls"]["logs"]
    assert stats["GetLogEvents"] == {"ok": stats["GetLogEvents"]["ok"]}  # every call answered, none refused


async def test_prefix_since_since_time_and_tail_select_events(smlogs_env: Env) -> None:
    env = smlogs_env
    now = env.now_ms()  # the emulator's clock runs at real speed and has not been advanced: "now" for the plugin
    for instance in (1, 2):
        env.put_events(TRAINING_GROUP, f"sm-filters/algo-{instance}-1700000000", [
            (now - 30 * MINUTE_MS + instance, f"algo-{instance} at -30m"),
            (now - 20 * MINUTE_MS + instance, f"algo-{instance} at -20m"),
            (now - 5 * MINUTE_MS + instance, f"algo-{instance} at -5m"),
            (now - 1 * MINUTE_MS + instance, f"algo-{instance} at -1m"),
        ])
    # Another job whose name starts with this one's: its streams must not be read.
    env.put_events(TRAINING_GROUP, "sm-filters-2/algo-1-1700000000", [(now - MINUTE_MS, "other job")])
    await env.create_job_object("trainingjob-xgboost-mnist", "filters", "sm-filters")

    def messages(lines: list[str]) -> list[str]:
        return [line.split(" ", 1)[1] for line in lines]

    everything = await env.smlogs("trainingjob", "filters")
    assert messages(everything.lines) == [f"algo-{i} at {t}" for t in ("-30m", "-20m", "-5m", "-1m") for i in (1, 2)]

    since = await env.smlogs("trainingjob", "filters", "--since", "10m")
    assert messages(since.lines) == ["algo-1 at -5m", "algo-2 at -5m", "algo-1 at -1m", "algo-2 at -1m"]

    since_time = datetime.datetime.fromtimestamp((now - 25 * MINUTE_MS) / 1000, tz=datetime.UTC)
    after = await env.smlogs("trainingjob", "filters", "--since-time", since_time.isoformat().replace("+00:00", "Z"))
    assert messages(after.lines) == [f"algo-{i} at {t}" for t in ("-20m", "-5m", "-1m") for i in (1, 2)]

    tail = await env.smlogs("trainingjob", "filters", "--tail", "3")
    assert messages(tail.lines) == ["algo-2 at -5m", "algo-1 at -1m", "algo-2 at -1m"]

    prefixed = await env.smlogs("trainingjob", "filters", "-p", "algo-2", "--since", "15m", "--tail", "1")
    assert prefixed.lines == ["sm-filters/algo-2-1700000000 algo-2 at -1m"]

    only_two = await env.smlogs("trainingjob", "filters", "--logSearchPrefix", "algo-2")
    assert {line.split(" ", 1)[0] for line in only_two.lines} == {"sm-filters/algo-2-1700000000"}
    assert len(only_two.lines) == 4


async def test_output_formats(smlogs_env: Env) -> None:
    env = smlogs_env
    stamp = 1_700_000_000_123  # 2023-11-14T22:13:20.123Z
    env.put_events(TRAINING_GROUP, "sm-format/algo-1-1700000000", [(stamp, "hello"), (stamp + 1000, "world")])
    await env.create_job_object("trainingjob-xgboost-mnist", "format", "sm-format")

    hidden = await env.smlogs("trainingjob", "format", "--hide-log-stream-name")
    assert hidden.lines == ["hello", "world"]
    stamped = await env.smlogs("trainingjob", "format", "--timestamps")
    assert stamped.lines[0] == "sm-format/algo-1-1700000000 2023-11-14T22:13:20.123Z hello"
    as_json = await env.smlogs("trainingjob", "format", "-o", "json")
    documents = [json.loads(line) for line in as_json.lines]
    assert documents[0] == {"jobName": "sm-format", "logStreamName": "sm-format/algo-1-1700000000",
                            "timestamp": stamp, "time": "2023-11-14T22:13:20.123Z",
                            "ingestionTime": documents[0]["ingestionTime"], "message": "hello"}
    assert [d["message"] for d in documents] == ["hello", "world"]


async def test_processing_and_transform_jobs_with_the_original_plugins_aliases(smlogs_env: Env) -> None:
    env = smlogs_env
    await env.sm("CreateProcessingJob", **processing("sm-proc"))
    await env.sm("CreateModel", ModelName="model1", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    await env.sm("CreateTransformJob", **transform("sm-transform", "model1"))
    env.advance(10_000)
    await env.create_job_object("processingjob-kmeans-mnist", "proc", "sm-proc")
    await env.create_job_object("batchtransformjob-xgboost-mnist", "transform", "sm-transform")

    for args in (("ProcessingJob", "proc"), ("processingjobs", "proc"), ("pj/proc",)):
        result = await env.smlogs(*args)
        assert result.returncode == 0, result.stderr
        assert result.lines and all(line.startswith("sm-proc/algo-1-") for line in result.lines)
        assert result.lines[-1].endswith("Processing job completed")

    for args in (("BatchTransformJob", "transform"), ("BatchtransformJobs", "transform"), ("btj/transform",)):
        result = await env.smlogs(*args)
        assert result.returncode == 0, result.stderr
        streams = {line.split(" ", 1)[0] for line in result.lines}
        assert len(streams) == 2 and any(name.endswith("/data-log") for name in streams)  # both of the instance's
        assert all(name.startswith("sm-transform/") for name in streams)


async def test_tuning_job_streams_every_training_job_prefixed_with_its_name(smlogs_env: Env) -> None:
    env = smlogs_env
    await env.sm("CreateHyperParameterTuningJob", **tuning("sm-tune"))
    await env.create_job_object("hyperparametertuningjob-xgboost-mnist", "tune", "sm-tune")
    follower = await env.start("HyperParameterTuningJob", "tune", "-f")
    env.advance(200)  # the training jobs' containers are up
    await follower.wait_for(lambda lines: sum("Starting training job" in line for line in lines) == 2)
    env.advance(100_000)  # every training job, then the tuning job, ends
    followed = await follower.finish()
    assert followed.returncode == 0, followed.stderr

    children = [s["TrainingJobName"] for s in
                (await env.sm("ListTrainingJobsForHyperParameterTuningJob",
                              HyperParameterTuningJobName="sm-tune"))["TrainingJobSummaries"]]
    assert len(children) == 2
    printed = await env.smlogs("hpo", "tune")
    assert printed.returncode == 0, printed.stderr
    for child in children:
        expected = [f"[{child}] {name} {message}" for _, name, message in
                    _stored_in_order(env, TRAINING_GROUP, f"{child}/")]
        assert [line for line in printed.lines if line.startswith(f"[{child}] ")] == expected
        assert [line for line in followed.lines if line.startswith(f"[{child}] ")] == expected
        assert any("Reporting training SUCCESS" in line for line in expected)
    assert len(printed.lines) == len(followed.lines)

    as_json = await env.smlogs("hyperparametertuningjobs", "tune", "-o", "json", "--tail", "1")
    document = json.loads(as_json.stdout)
    assert document["tuningJobName"] == "sm-tune" and document["jobName"] in children


async def test_endpoints_from_the_object_and_the_standard_aws_configuration(smlogs_env: Env) -> None:
    """No --endpoint-url: SageMaker calls go to spec.sageMakerEndpoint, CloudWatch Logs calls to
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS (botocore's service-specific endpoint variable), in another namespace."""
    env = smlogs_env
    await env.sm("CreateTrainingJob", **training("sm-endpoint"))
    env.advance(10_000)
    await env.create_namespace("team-a")
    await env.create_job_object("trainingjob-xgboost-mnist", "endpoint", "sm-endpoint", namespace="team-a",
                                spec={"sageMakerEndpoint": env.aws.url})

    result = await env.smlogs("trainingjob", "endpoint", "-n", "team-a", "-f", endpoint=False,
                              AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=env.aws.url)
    assert result.returncode == 0, result.stderr
    assert result.lines[-1].endswith("Reporting training SUCCESS")
    calls = env.aws.stats()["calls"]
    assert calls["sagemaker"]["DescribeTrainingJob"]["ok"] >= 1  # follow mode asked SageMaker for the status

    # The generic AWS_ENDPOINT_URL reaches both services; the namespace comes from --namespace, the kubeconfig
    # from --kubeconfig (KUBECONFIG unset).
    generic = await env.smlogs("trainingjob", "endpoint", "--namespace", "team-a", "--kubeconfig",
                               str(env.kubeconfig), "-f", endpoint=False, AWS_ENDPOINT_URL=env.aws.url, KUBECONFIG="")
    assert generic.returncode == 0, generic.stderr
    assert generic.lines == result.lines
