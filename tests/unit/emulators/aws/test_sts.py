"""STS operations, the credential store and SigV4 checks (signed here with botocore's own signer)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from smk8s.emulators.aws.errors import AwsError
from smk8s.emulators.aws.sts import (
    CredentialStore,
    StsService,
    auth_error,
    decode_jwt_claims,
    make_web_identity_token,
    parse_authorization,
)

ROLE = "arn:aws:iam::123456789012:role/team/sagemaker-operator"
ISSUER = "https://oidc.eks.us-west-2.amazonaws.com/id/ABCDEF"


class WallClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def service(seed: int = 0, wall: WallClock | None = None) -> StsService:
    return StsService(CredentialStore("123456789012", rand=random.Random(seed), wall_clock=wall or WallClock()))


def assume(sts: StsService, **overrides: Any) -> dict[str, Any]:
    params = {
        "RoleArn": ROLE,
        "RoleSessionName": "botocore-session-1",
        "WebIdentityToken": make_web_identity_token("system:serviceaccount:ml:trainer", ISSUER, expires=2e9),
        **overrides,
    }
    return sts.assume_role_with_web_identity(params)


def test_assume_role_with_web_identity_answers_like_sts() -> None:
    sts = service()
    result = assume(sts)
    creds = result["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert len(creds["SecretAccessKey"]) == 40 and creds["SessionToken"]
    assert creds["Expiration"] == 1_700_000_000.0 + 3600
    assert result["SubjectFromWebIdentityToken"] == "system:serviceaccount:ml:trainer"
    assert result["Audience"] == "sts.amazonaws.com"
    assert result["Provider"] == "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABCDEF"
    user = result["AssumedRoleUser"]
    assert user["Arn"] == "arn:aws:sts::123456789012:assumed-role/sagemaker-operator/botocore-session-1"
    assert user["AssumedRoleId"].startswith("AROA") and user["AssumedRoleId"].endswith(":botocore-session-1")


def test_duration_and_role_id_stability() -> None:
    sts = service()
    first = assume(sts, DurationSeconds=900)
    second = assume(sts, RoleSessionName="other")
    assert first["Credentials"]["Expiration"] == 1_700_000_000.0 + 900
    assert first["AssumedRoleUser"]["AssumedRoleId"].split(":")[0] == second["AssumedRoleUser"]["AssumedRoleId"].split(
        ":"
    )[0]
    assert first["Credentials"]["AccessKeyId"] != second["Credentials"]["AccessKeyId"]


def test_issued_keys_are_reproducible_from_the_seed() -> None:
    assert assume(service(5))["Credentials"] == assume(service(5))["Credentials"]
    assert assume(service(5))["Credentials"] != assume(service(6))["Credentials"]


def test_caller_identity_of_temporary_and_unknown_keys() -> None:
    sts = service()
    key = assume(sts)["Credentials"]["AccessKeyId"]
    assert sts.get_caller_identity(key) == {
        "UserId": assume(service())["AssumedRoleUser"]["AssumedRoleId"],
        "Account": "123456789012",
        "Arn": "arn:aws:sts::123456789012:assumed-role/sagemaker-operator/botocore-session-1",
    }
    assert sts.get_caller_identity("AKIDANYTHING") == {
        "UserId": "123456789012",
        "Account": "123456789012",
        "Arn": "arn:aws:iam::123456789012:root",
    }
    sts.credentials.configure({"AKIDUSER": {"secret": "s", "arn": "arn:aws:iam::123456789012:user/ci"}})
    assert sts.get_caller_identity("AKIDUSER")["Arn"] == "arn:aws:iam::123456789012:user/ci"


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "a.bm90IGpzb24.c"])
def test_a_token_that_is_not_a_jwt_is_invalid_identity_token(token: str) -> None:
    with pytest.raises(AwsError) as caught:
        assume(service(), WebIdentityToken=token)
    assert caught.value.code == "InvalidIdentityToken"


def test_expired_token_and_bad_role_arn() -> None:
    with pytest.raises(AwsError) as caught:
        assume(service(), WebIdentityToken=make_web_identity_token(expires=1_600_000_000))
    assert caught.value.code == "ExpiredTokenException"
    with pytest.raises(AwsError) as caught:
        assume(service(), RoleArn="arn:aws:s3:::bucket-name-here")
    assert (caught.value.code, caught.value.message) == ("ValidationError", "Request ARN is invalid")


def test_jwt_claims() -> None:
    claims = decode_jwt_claims(make_web_identity_token("sub-1", "https://issuer", "aud-1"))
    assert (claims["sub"], claims["iss"], claims["aud"]) == ("sub-1", "https://issuer", ["aud-1"])


def test_parse_authorization() -> None:
    header = (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-west-2/sagemaker/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=abc123"
    )
    signed = parse_authorization(header)
    assert signed is not None
    assert (signed.access_key_id, signed.date, signed.region, signed.service) == (
        "AKIDEXAMPLE",
        "20240101",
        "us-west-2",
        "sagemaker",
    )
    assert signed.signed_headers == ("content-type", "host", "x-amz-date", "x-amz-target")
    assert parse_authorization(None) is None
    assert parse_authorization("Bearer x") is None


def signed_request(
    key: str, secret: str, token: str | None = None, body: bytes = b'{"TrainingJobName":"j"}'
) -> AWSRequest:
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:9999/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.DescribeTrainingJob"},
    )
    SigV4Auth(Credentials(key, secret, token), "sagemaker", "us-west-2").add_auth(request)
    return request


def verify(store: CredentialStore, request: AWSRequest, body: bytes | None = None, query: bool = False) -> Any:
    headers = dict(request.headers.items())
    return store.verify(
        parse_authorization(headers.get("Authorization")),
        method="POST",
        url=request.url,
        headers=headers,
        body=request.body if body is None else body,
        query_protocol=query,
    )


def test_sigv4_verification_accepts_a_botocore_signature() -> None:
    store = CredentialStore("123456789012")
    store.configure({"AKIDGOOD": "good-secret"})
    assert verify(store, signed_request("AKIDGOOD", "good-secret")).access_key_id == "AKIDGOOD"


def test_sigv4_rejections_use_the_real_codes() -> None:
    store = CredentialStore("123456789012")
    store.configure({"AKIDGOOD": "good-secret"})
    cases = [
        (signed_request("AKIDGOOD", "wrong-secret"), None, "InvalidSignatureException"),
        (signed_request("AKIDGOOD", "good-secret"), b'{"TrainingJobName":"other"}', "InvalidSignatureException"),
        (signed_request("AKIDNOPE", "good-secret"), None, "UnrecognizedClientException"),
    ]
    for request, body, code in cases:
        with pytest.raises(AwsError) as caught:
            verify(store, request, body)
        assert (caught.value.code, caught.value.status) == (code, 400)
    with pytest.raises(AwsError) as caught:
        verify(store, signed_request("AKIDNOPE", "x"), query=True)
    assert (caught.value.code, caught.value.status) == ("InvalidClientTokenId", 403)
    with pytest.raises(AwsError) as caught:
        store.verify(None, method="POST", url="http://h/", headers={}, body=b"", query_protocol=False)
    assert caught.value.code == "MissingAuthenticationTokenException"


def test_temporary_credentials_need_their_session_token_and_expire() -> None:
    wall = WallClock()
    sts = service(wall=wall)
    creds = assume(sts, DurationSeconds=900)["Credentials"]
    key, secret, token = creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    assert verify(sts.credentials, signed_request(key, secret, token)).session_token == token
    with pytest.raises(AwsError) as caught:
        verify(sts.credentials, signed_request(key, secret, None))
    assert caught.value.code == "UnrecognizedClientException"
    wall.now += 901
    with pytest.raises(AwsError) as caught:
        verify(sts.credentials, signed_request(key, secret, token))
    assert caught.value.code == "ExpiredTokenException"


def test_auth_errors_per_protocol() -> None:
    assert auth_error("bad-signature", query=True).code == "SignatureDoesNotMatch"
    assert auth_error("missing", query=True).code == "MissingAuthenticationToken"
    assert auth_error("expired", query=True).code == "ExpiredToken"
