"""The AWS emulator under load: sustained DescribeTrainingJob calls per second.

The emulator runs as its own process (``smk8s emulate aws``) with rate limits off; the load comes from this
process, once through aiobotocore (what the operator does: signing and parsing included, so the client costs
count) and once as raw pre-built HTTP requests (the emulator's own capacity). Each phase runs for a fixed time
(``duration_seconds``; :func:`main`'s arguments default to what ``make bench`` runs). It prints two lines::

    aws emulator: DescribeTrainingJob via aiobotocore <rate> calls/s (<n> clients, <what was described>)
    aws emulator: DescribeTrainingJob raw HTTP         <rate> calls/s (<n> clients)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiobotocore.session import AioSession
from botocore.config import Config
from botocore.exceptions import ClientError

DURATION_SECONDS = 3.0
BOTO_CONCURRENCY = 8
RAW_CONCURRENCY = 32
JOB = "bench-job"
CREATE_TRAINING_JOB: dict[str, Any] = {
    "TrainingJobName": JOB,
    "AlgorithmSpecification": {
        "TrainingImage": "123456789012.dkr.ecr.us-west-2.amazonaws.com/x:1",
        "TrainingInputMode": "File",
    },
    "RoleArn": "arn:aws:iam::123456789012:role/bench",
    "OutputDataConfig": {"S3OutputPath": "s3://bench/output"},
    "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
    "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
}


@asynccontextmanager
async def emulator_process() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp, "aws.json")
        await asyncio.to_thread(config.write_text, json.dumps({"rates": {"*": None}}))
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "smk8s",
            "emulate",
            "aws",
            "--port",
            "0",
            "--config",
            str(config),
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        url = (await proc.stdout.readline()).decode().split()[1]
        try:
            yield url
        finally:
            proc.terminate()
            await proc.wait()


async def sustained(call: Callable[[], Awaitable[None]], concurrency: int,
                    duration_seconds: float = DURATION_SECONDS) -> float:
    """Calls per second over ``duration_seconds`` with ``concurrency`` callers in a loop."""
    deadline = time.perf_counter() + duration_seconds
    done = 0

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def main(duration_seconds: float = DURATION_SECONDS, boto_concurrency: int = BOTO_CONCURRENCY,
               raw_concurrency: int = RAW_CONCURRENCY) -> None:
    """Run both phases, each for ``duration_seconds``, and print their figures (see the module docstring)."""
    async with emulator_process() as url:
        config = Config(retries={"total_max_attempts": 1}, max_pool_connections=boto_concurrency)
        async with AioSession().create_client(
            "sagemaker",
            endpoint_url=url,
            region_name="us-west-2",
            aws_access_key_id="AKIDBENCH",
            aws_secret_access_key="bench",
            config=config,
        ) as sm:
            try:
                await sm.create_training_job(**CREATE_TRAINING_JOB)
                what = "an existing job"
            except ClientError as err:
                what = f"a missing job ({err.response['Error']['Code']} on create)"

            async def describe() -> None:
                with contextlib.suppress(ClientError):
                    await sm.describe_training_job(TrainingJobName=JOB)

            boto_rate = await sustained(describe, boto_concurrency, duration_seconds)
        print(
            f"aws emulator: DescribeTrainingJob via aiobotocore {boto_rate:8.0f} calls/s "
            f"({boto_concurrency} clients, {what})"
        )

        headers = {"X-Amz-Target": "SageMaker.DescribeTrainingJob", "Content-Type": "application/x-amz-json-1.1"}
        body = json.dumps({"TrainingJobName": JOB}).encode()
        connector = aiohttp.TCPConnector(limit=raw_concurrency)
        async with aiohttp.ClientSession(connector=connector) as http:

            async def raw() -> None:
                async with http.post(url + "/", data=body, headers=headers) as resp:
                    await resp.read()

            raw_rate = await sustained(raw, raw_concurrency, duration_seconds)
        print(f"aws emulator: DescribeTrainingJob raw HTTP         {raw_rate:8.0f} calls/s ({raw_concurrency} clients)")


if __name__ == "__main__":
    asyncio.run(main())
