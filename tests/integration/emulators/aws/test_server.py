"""The AWS emulator through aiobotocore: routing, server-side validation (client-side validation off), SigV4,
rate limits, injected faults, dispatch to handlers, the lazy lifecycle clock, the control API and config files."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import botocore.exceptions
import pytest
from aiobotocore.session import AioSession
from botocore.config import Config

from smk8s.emulators.aws.errors import AwsError
from smk8s.emulators.aws.server import AwsEmulator
from smk8s.emulators.aws.sts import make_web_identity_token
from smk8s.emulators.aws.world import World

NO_RETRIES = Config(parameter_validation=False, retries={"total_max_attempts": 1, "mode": "standard"})
# An operation no emulator module implements (SageMaker Studio domains): routing and validation still apply.
UNIMPLEMENTED = "DescribeDomain"


@asynccontextmanager
async def client(aws: AwsEmulator, service: str, **overrides: Any) -> AsyncIterator[Any]:
    kwargs = {**aws.client_kwargs(), **overrides}
    async with AioSession().create_client(service, config=NO_RETRIES, **kwargs) as c:
        yield c


async def error_of(call: Any) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        await call
    response: dict[str, Any] = caught.value.response
    return {**response["Error"], "Status": response["ResponseMetadata"]["HTTPStatusCode"]}


async def raw(aws: AwsEmulator, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http, http.post(aws.url + "/", headers=headers, data=body) as resp:
        return resp.status, await resp.read()


async def control(aws: AwsEmulator, method: str, name: str, body: Any = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.request(
        method, f"{aws.url}/_emulator/{name}", json=body
    ) as resp:
        return resp.status, await resp.json()


# -- routing and validation ------------------------------------------------------------------------------------


async def test_sagemaker_validation_is_server_side(aws: AwsEmulator) -> None:
    async with client(aws, "sagemaker") as sm:
        error = await error_of(sm.describe_domain(DomainId="Not_A_Domain!"))
    assert error["Code"] == "ValidationException" and error["Status"] == 400
    assert error["Message"].startswith(
        "1 validation error detected: Value 'Not_A_Domain!' at 'domainId' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: "
    )


async def test_validation_reports_every_problem(aws: AwsEmulator) -> None:
    async with client(aws, "sagemaker") as sm:
        error = await error_of(sm.list_training_jobs(MaxResults=1000, StatusEquals="Running", NameContains="a b"))
    assert error["Message"].startswith("3 validation errors detected: ")
    assert "Value 'Running' at 'statusEquals' failed to satisfy constraint: Member must satisfy enum value set:" in (
        error["Message"]
    )


async def test_valid_request_for_an_unimplemented_operation_is_501(aws: AwsEmulator) -> None:
    async with client(aws, "sagemaker") as sm:
        error = await error_of(sm.describe_domain(DomainId="d-abcdef123456"))
    assert (error["Code"], error["Status"]) == ("NotImplementedException", 501)
    assert aws.stats()["calls"]["sagemaker"][UNIMPLEMENTED] == {"NotImplementedException": 1}


async def test_logs_validation_raises_the_modelled_exception(aws: AwsEmulator) -> None:
    async with client(aws, "logs") as logs:
        with pytest.raises(logs.exceptions.InvalidParameterException) as caught:
            await logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName="a:b")
    assert "Value 'a:b' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression " in (
        caught.value.response["Error"]["Message"]
    )


async def test_autoscaling_validation(aws: AwsEmulator) -> None:
    async with client(aws, "application-autoscaling") as scaling:
        with pytest.raises(scaling.exceptions.ValidationException) as caught:
            await scaling.describe_scalable_targets(ServiceNamespace="not-a-namespace")
    assert "at 'serviceNamespace' failed to satisfy constraint: Member must satisfy enum value set" in (
        caught.value.response["Error"]["Message"]
    )


async def test_sts_validation_is_an_xml_validation_error(aws: AwsEmulator) -> None:
    async with client(aws, "sts") as sts:
        error = await error_of(
            sts.assume_role_with_web_identity(
                RoleArn="arn:aws:iam::123456789012:role/r", RoleSessionName="s", WebIdentityToken="t" * 10
            )
        )
    assert (error["Code"], error["Type"], error["Status"]) == ("ValidationError", "Sender", 400)


async def test_unknown_json_operation(aws: AwsEmulator) -> None:
    headers = {"X-Amz-Target": "SageMaker.LaunchRocket", "Content-Type": "application/x-amz-json-1.1"}
    status, body = await raw(aws, headers, b"{}")
    assert (status, json.loads(body)) == (400, {"__type": "com.amazon.coral.service#UnknownOperationException"})
    assert aws.stats()["calls"]["sagemaker"]["LaunchRocket"] == {"UnknownOperationException": 1}


async def test_unknown_sts_action(aws: AwsEmulator) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    status, body = await raw(aws, headers, b"Action=LaunchRocket&Version=2011-06-15")
    assert status == 400
    assert b"<Code>InvalidAction</Code>" in body
    assert b"Could not find operation LaunchRocket for version 2011-06-15" in body


async def test_malformed_json_body(aws: AwsEmulator) -> None:
    headers = {"X-Amz-Target": "SageMaker.ListTrainingJobs", "Content-Type": "application/x-amz-json-1.1"}
    status, body = await raw(aws, headers, b"{oops")
    assert status == 400 and json.loads(body)["__type"] == "SerializationException"


# -- dispatch to handlers -------------------------------------------------------------------------------------


async def test_handlers_get_the_world_and_validated_params(aws: AwsEmulator) -> None:
    seen: list[tuple[World, dict[str, Any]]] = []

    def describe_domain(world: World, params: dict[str, Any]) -> dict[str, Any]:
        seen.append((world, params))
        return {"DomainId": params["DomainId"], "CreationTime": world.clock.now(), "Status": "InService"}

    aws.operations["sagemaker"][UNIMPLEMENTED] = describe_domain
    async with client(aws, "sagemaker") as sm:
        result = await sm.describe_domain(DomainId="d-abcdef123456")
    assert seen[0][0] is aws.world and seen[0][1] == {"DomainId": "d-abcdef123456"}
    assert result["Status"] == "InService" and result["CreationTime"].timestamp() > 0


async def test_handler_errors_become_modelled_exceptions(aws: AwsEmulator) -> None:
    def describe_domain(world: World, params: dict[str, Any]) -> dict[str, Any]:
        raise AwsError("ResourceNotFound", "Domain not found")

    aws.operations["sagemaker"][UNIMPLEMENTED] = describe_domain
    async with client(aws, "sagemaker") as sm:
        with pytest.raises(sm.exceptions.ResourceNotFound):
            await sm.describe_domain(DomainId="d-abcdef123456")


async def test_handler_crash_is_internal_failure(aws: AwsEmulator) -> None:
    def describe_domain(world: World, params: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("bug")

    aws.operations["sagemaker"][UNIMPLEMENTED] = describe_domain
    async with client(aws, "sagemaker") as sm:
        error = await error_of(sm.describe_domain(DomainId="d-abcdef123456"))
    assert (error["Code"], error["Status"]) == ("InternalFailure", 500)


async def test_every_request_first_runs_the_lifecycle_steps_now_due() -> None:
    async with AwsEmulator(time_scale=1.0) as aws:
        ran: list[float] = []
        aws.world.scheduler.at(aws.clock.now() + 600, lambda: ran.append(aws.clock.now()))
        aws.clock.advance(601)  # the clock alone runs nothing: time passes only when somebody looks
        assert ran == []
        async with client(aws, "sts") as sts:
            await sts.get_caller_identity()
        assert len(ran) == 1


# -- credentials -------------------------------------------------------------------------------------------------


async def test_access_keys_are_recorded(aws: AwsEmulator) -> None:
    async with client(aws, "sts", aws_access_key_id="AKIDRECORDED") as sts:
        await sts.get_caller_identity()
    assert aws.calls[-1].access_key_id == "AKIDRECORDED"
    assert aws.stats()["callers"] == {"AKIDRECORDED": 1}


async def test_signature_verification_when_configured() -> None:
    config = {"credentials": {"AKIDGOOD": "good-secret"}, "rates": {"*": None}}
    async with AwsEmulator(config=config, verify_signatures=True) as aws:
        good = {"aws_access_key_id": "AKIDGOOD", "aws_secret_access_key": "good-secret"}
        async with client(aws, "sts", **good) as sts:
            assert (await sts.get_caller_identity())["Arn"] == "arn:aws:iam::123456789012:root"
        async with client(aws, "sagemaker", **{**good, "aws_secret_access_key": "bad"}) as sm:
            error = await error_of(sm.describe_domain(DomainId="d-abcdef123456"))
        assert (error["Code"], error["Status"]) == ("InvalidSignatureException", 400)
        async with client(aws, "sagemaker", aws_access_key_id="AKIDWHO") as sm:
            error = await error_of(sm.describe_domain(DomainId="d-abcdef123456"))
        assert (error["Code"], error["Status"]) == ("UnrecognizedClientException", 400)
        async with client(aws, "sts", aws_access_key_id="AKIDWHO") as sts:
            error = await error_of(sts.get_caller_identity())
        assert (error["Code"], error["Status"]) == ("InvalidClientTokenId", 403)
        headers = {"X-Amz-Target": "SageMaker.ListTrainingJobs", "Content-Type": "application/x-amz-json-1.1"}
        status, body = await raw(aws, headers, b"{}")
        assert status == 400 and json.loads(body)["__type"] == "MissingAuthenticationTokenException"


# -- rate limits and faults -------------------------------------------------------------------------------------


async def test_rate_limit_answers_throttling_exception() -> None:
    config = {"rates": {"*": None, f"sagemaker:{UNIMPLEMENTED}": {"rate": 0, "burst": 2}}}
    async with AwsEmulator(config=config) as aws, client(aws, "sagemaker") as sm:
        for _ in range(2):
            assert (await error_of(sm.describe_domain(DomainId="d-abcdef123456")))["Code"] == "NotImplementedException"
        error = await error_of(sm.describe_domain(DomainId="d-abcdef123456"))
        assert (error["Code"], error["Message"], error["Status"]) == ("ThrottlingException", "Rate exceeded", 400)
        async with client(aws, "sts") as sts:
            await sts.get_caller_identity()  # other operations have their own bucket


async def test_sts_throttling_code() -> None:
    async with AwsEmulator(config={"rates": {"sts:*": {"rate": 0, "burst": 1}}}) as aws, client(aws, "sts") as sts:
        await sts.get_caller_identity()
        error = await error_of(sts.get_caller_identity())
    assert (error["Code"], error["Message"]) == ("Throttling", "Rate exceeded")


async def test_default_rate_limits_apply() -> None:
    async with AwsEmulator() as aws, client(aws, "sagemaker") as sm:
        codes = [(await error_of(sm.delete_domain(DomainId="d-abcdef123456")))["Code"] for _ in range(25)]
    # A write call: 10/s with a burst of 20, so the first 20 pass (to the 501 of an unimplemented operation).
    assert codes[:20] == ["NotImplementedException"] * 20
    assert "ThrottlingException" in codes[20:]


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [("internal_failure", "InternalFailure", 500), ("service_unavailable", "ServiceUnavailable", 503)],
)
async def test_injected_server_errors(aws: AwsEmulator, kind: str, code: str, status: int) -> None:
    aws.set_faults([{"services": ["sagemaker"], kind: 1.0}])
    async with client(aws, "sagemaker") as sm:
        error = await error_of(sm.describe_domain(DomainId="d-abcdef123456"))
    assert (error["Code"], error["Status"]) == (code, status)
    async with client(aws, "sts") as sts:
        await sts.get_caller_identity()  # filtered out
    assert aws.faults.snapshot()["injected"] == {kind: 1}


async def test_injected_access_denied_names_the_caller_and_the_permission(aws: AwsEmulator) -> None:
    """IAM's refusal as botocore raises it (400 AccessDeniedException, "User: ARN is not authorized to perform:
    service:Operation ..."), for the JSON services and, as ``AccessDenied``, for STS's query protocol."""
    aws.set_faults([{"operations": ["DescribeTrainingJob", "GetLogEvents", "GetCallerIdentity"],
                     "access_denied": 1.0}])
    async with client(aws, "sagemaker") as sm:
        error = await error_of(sm.describe_training_job(TrainingJobName="job"))
    assert (error["Code"], error["Status"]) == ("AccessDeniedException", 400)
    assert "is not authorized to perform: sagemaker:DescribeTrainingJob because" in error["Message"]
    assert error["Message"].startswith("User: arn:aws:iam::")
    async with client(aws, "logs") as logs:
        error = await error_of(logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName="s"))
    assert error["Code"] == "AccessDeniedException" and "logs:GetLogEvents" in error["Message"]
    async with client(aws, "sts") as sts:
        error = await error_of(sts.get_caller_identity())
    assert (error["Code"], error["Status"]) == ("AccessDenied", 400)
    assert aws.faults.snapshot()["injected"] == {"access_denied": 3}


async def test_injected_faults_are_retried_by_botocore(aws: AwsEmulator) -> None:
    aws.set_faults([{"service_unavailable": 1.0, "times": 2}])
    config = Config(retries={"total_max_attempts": 3, "mode": "standard"})
    async with AioSession().create_client("sts", config=config, **aws.client_kwargs()) as sts:
        result = await sts.get_caller_identity()
    assert result["ResponseMetadata"]["RetryAttempts"] == 2


async def test_dropped_connection(aws: AwsEmulator) -> None:
    aws.set_faults([{"operations": ["GetCallerIdentity"], "drop": 1.0, "times": 1}])
    async with client(aws, "sts") as sts:
        with pytest.raises(botocore.exceptions.ConnectionClosedError):
            await sts.get_caller_identity()
        await sts.get_caller_identity()
    assert aws.stats()["calls"]["sts"]["GetCallerIdentity"] == {"dropped": 1, "ok": 1}


async def test_injected_latency(aws: AwsEmulator) -> None:
    aws.set_faults([{"latency_seconds": 0.3}])
    async with client(aws, "sts") as sts:
        started = time.monotonic()
        await sts.get_caller_identity()
        assert time.monotonic() - started >= 0.3


async def test_faults_are_reproducible_from_the_seed() -> None:
    async def outcomes(seed: int) -> list[str]:
        async with AwsEmulator(config={"rates": {"*": None}}) as aws, client(aws, "sts") as sts:
            aws.set_faults([{"internal_failure": 0.5}], seed=seed)
            seen = []
            for _ in range(30):
                try:
                    await sts.get_caller_identity()
                    seen.append("ok")
                except botocore.exceptions.ClientError as err:
                    seen.append(err.response["Error"]["Code"])
            return seen

    first = await outcomes(11)
    assert first == await outcomes(11)
    assert first != await outcomes(12)
    assert "ok" in first and "InternalFailure" in first


# -- control API ----------------------------------------------------------------------------------------------


async def test_control_stats_and_calls(aws: AwsEmulator) -> None:
    async with client(aws, "sts") as sts:
        await sts.get_caller_identity()
    async with client(aws, "sagemaker") as sm:
        await error_of(sm.describe_domain(DomainId="bad!"))
    status, stats = await control(aws, "GET", "stats")
    assert status == 200 and stats["total"] == 2
    assert stats["calls"] == {
        "sts": {"GetCallerIdentity": {"ok": 1}},
        "sagemaker": {"DescribeDomain": {"ValidationException": 1}},
    }
    status, calls = await control(aws, "GET", "calls")
    assert [c["operation"] for c in calls] == ["GetCallerIdentity", "DescribeDomain"]
    assert calls[0]["access_key_id"] == "AKIDEMULATOR"


async def test_control_faults(aws: AwsEmulator) -> None:
    status, body = await control(aws, "POST", "faults", {"seed": 4, "rules": [{"throttle": 1.0}]})
    assert status == 200 and body["seed"] == 4 and body["rules"][0]["throttle"] == 1.0
    async with client(aws, "sts") as sts:
        assert (await error_of(sts.get_caller_identity()))["Code"] == "Throttling"
        status, body = await control(aws, "DELETE", "faults")
        assert status == 200 and body["rules"] == []
        await sts.get_caller_identity()
    status, body = await control(aws, "POST", "faults", {"rules": [{"internal_failure": 2}]})
    assert status == 400 and "fractions" in body["message"]


async def test_control_quotas(aws: AwsEmulator) -> None:
    status, body = await control(
        aws, "POST", "quotas", {"limits": {"training-jobs-running": 1}, "rates": {"sts:*": {"rate": 0, "burst": 1}}}
    )
    assert status == 200 and body["limits"]["training-jobs-running"] == 1
    assert aws.world.quotas.limit("training-jobs-running") == 1
    async with client(aws, "sts") as sts:
        await sts.get_caller_identity()
        assert (await error_of(sts.get_caller_identity()))["Code"] == "Throttling"
    status, body = await control(aws, "DELETE", "quotas")
    assert aws.world.quotas.limit("training-jobs-running") == 50
    status, body = await control(aws, "POST", "quotas", {"limit": {}})
    assert status == 400


async def test_control_clock(aws: AwsEmulator) -> None:
    before = aws.clock.now()
    status, body = await control(aws, "POST", "clock", {"advance": 86400})
    assert status == 200 and body["now"] >= before + 86400
    status, body = await control(aws, "POST", "clock", {"scale": 2.5})
    assert body["scale"] == 2.5 and aws.clock.scale == 2.5
    status, body = await control(aws, "GET", "clock")
    assert body["scale"] == 2.5
    status, body = await control(aws, "POST", "clock", {"scale": 0})
    assert status == 400


async def test_control_advance_runs_due_steps(aws: AwsEmulator) -> None:
    ran: list[bool] = []
    aws.world.scheduler.at(aws.clock.now() + 10 * 86400, lambda: ran.append(True))
    await control(aws, "POST", "clock", {"advance": 10 * 86400})
    assert ran == [True]


async def test_control_state_asks_every_store(aws: AwsEmulator) -> None:
    class Store:
        def snapshot(self) -> dict[str, Any]:
            return {"things": ["a"]}

    aws.world.autoscaling = Store()  # type: ignore[assignment]
    async with client(aws, "sts") as sts:
        await sts.assume_role_with_web_identity(
            RoleArn="arn:aws:iam::123456789012:role/r",
            RoleSessionName="session",
            WebIdentityToken=make_web_identity_token(),
        )
    status, state = await control(aws, "GET", "state")
    assert status == 200
    assert state["autoscaling"] == {"things": ["a"]}
    assert set(state["sagemaker"]) == {"jobs", "tuning", "hosting", "tags"}
    assert state["sts"]["credentials"][0]["Arn"] == "arn:aws:sts::123456789012:assumed-role/r/session"
    assert state["clock"]["scale"] == aws.clock.scale


async def test_control_unknown_endpoint_and_method(aws: AwsEmulator) -> None:
    assert (await control(aws, "GET", "nothing"))[0] == 404
    assert (await control(aws, "PUT", "stats"))[0] == 405


# -- configuration ----------------------------------------------------------------------------------------------


async def test_config_file(tmp_path: Path) -> None:
    path = tmp_path / "aws.yaml"
    path.write_text(
        "time_scale: 500\n"
        "seed: 3\n"
        "account_id: '210987654321'\n"
        "quotas: {training-jobs-running: 4}\n"
        "rates: {'*': null}\n"
        "faults: {seed: 9, rules: [{operations: [DescribeDomain], internal_failure: 1.0}]}\n"
    )
    async with AwsEmulator(config=path) as aws:
        assert aws.clock.scale == 500 and aws.seed == 3
        assert aws.world.account_id == "210987654321"
        assert aws.world.quotas.limit("training-jobs-running") == 4
        assert aws.faults.seed == 9
        async with client(aws, "sagemaker") as sm:
            assert (await error_of(sm.describe_domain(DomainId="d-abcdef123456")))["Code"] == "InternalFailure"
        async with client(aws, "sts") as sts:
            assert (await sts.get_caller_identity())["Account"] == "210987654321"


def test_explicit_arguments_win_over_the_config(tmp_path: Path) -> None:
    path = tmp_path / "aws.json"
    path.write_text(json.dumps({"time_scale": 500, "seed": 3}))
    aws = AwsEmulator(time_scale=20, seed=4, config=path)
    assert aws.clock.scale == 20 and aws.seed == 4


def test_unknown_config_keys_are_rejected() -> None:
    with pytest.raises(ValueError, match="time_scael"):
        AwsEmulator(config={"time_scael": 5})
