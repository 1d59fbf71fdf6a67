"""Follow mode: a running job's logs as they are written, to the job's end; Ctrl-C."""

from __future__ import annotations

from tests.integration.sagemaker.helpers import training
from tests.integration.smlogs.conftest import Env

GROUP = "/aws/sagemaker/TrainingJobs"


def _count(lines: list[str], text: str) -> int:
    return sum(1 for line in lines if text in line)


async def test_follow_prints_a_running_jobs_events_as_they_come_and_exits_0_once_it_completed(
        smlogs_env: Env) -> None:
    env = smlogs_env
    await env.sm("CreateTrainingJob", **training(
        "sm-follow", ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 10},
        Tags=[{"Key": "emulator.smk8s/duration-seconds", "Value": "300"}]))
    await env.create_job_object("trainingjob-xgboost-mnist", "follow", "sm-follow")
    follower = await env.start("trainingjob", "follow", "-f")
    # No stream yet (the instances are starting): the plugin says it waits, and keeps polling.
    notice = await follower.wait_for_stderr_line()
    assert notice.startswith("waiting for logs: SageMaker training job sm-follow is InProgress"), notice
    env.advance(150)  # containers up on both instances: a "Starting" line on each stream
    await follower.wait_for(lambda lines: _count(lines, "Starting training job sm-follow") == 2)
    env.advance(130)  # Training: progress lines every 60 s
    await follower.wait_for(lambda lines: _count(lines, "progress") >= 2)
    env.advance(10_000)  # to the end: the last lines, then Completed
    result = await follower.finish()

    assert result.returncode == 0, result.stderr
    lines = result.lines
    assert _count(lines, "Reporting training SUCCESS") == 2
    # Every event exactly once, each stream's in its order. (Across streams, an event written to one stream while
    # the plugin was between the two streams' reads comes out on the next poll: follow mode never holds events back.)
    streams = env.aws.world.logs.groups[GROUP].streams.values()
    assert len(streams) == 2
    for stream in streams:
        expected = [f"{stream.name} {event.message}" for event in stream.events]
        assert [line for line in lines if line.startswith(stream.name + " ")] == expected
    assert len(lines) == sum(len(stream.events) for stream in streams)
    assert result.stderr == ""


async def test_ctrl_c_stops_following_quietly_with_status_130(smlogs_env: Env) -> None:
    env = smlogs_env
    await env.sm("CreateTrainingJob", **training("sm-interrupted"))
    await env.create_job_object("trainingjob-xgboost-mnist", "interrupted", "sm-interrupted")
    env.advance(150)
    follower = await env.start("TrainingJob", "interrupted", "--follow")
    await follower.wait_for(lambda lines: _count(lines, "Starting training job") == 1)

    result = await follower.interrupt()

    assert result.returncode == 130
    assert result.stderr == ""


async def test_follow_with_tail_prints_the_last_events_then_every_new_one_once(smlogs_env: Env) -> None:
    env = smlogs_env
    await env.sm("CreateTrainingJob", **training("sm-tail", Tags=[
        {"Key": "emulator.smk8s/duration-seconds", "Value": "600"}]))
    await env.create_job_object("trainingjob-xgboost-mnist", "tail", "sm-tail")
    env.advance(150 + 300)  # containers up, then a few progress lines
    stream = next(iter(env.aws.world.logs.groups[GROUP].streams.values()))
    before = [f"{stream.name} {event.message}" for event in stream.events]
    assert len(before) >= 4

    follower = await env.start("trainingjob", "tail", "-f", "--tail", "2")
    assert await follower.wait_for(lambda lines: len(lines) == 2) == before[-2:]
    env.advance(10_000)
    result = await follower.finish()

    assert result.returncode == 0, result.stderr
    everything = [f"{stream.name} {event.message}" for event in stream.events]
    assert result.lines == everything[len(before) - 2:]
    assert result.lines[-1].endswith("Reporting training SUCCESS")
