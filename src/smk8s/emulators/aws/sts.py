"""Identity: STS (AssumeRoleWithWebIdentity, GetCallerIdentity), the credentials the emulator knows, and SigV4.

Credentials. Long-term keys come from configuration (``{access_key_id: secret}``); temporary ones are issued by
AssumeRoleWithWebIdentity (``ASIA...`` key, secret, session token, expiry). Every signed request names its access
key in the ``Authorization`` header (:func:`parse_authorization`); the server records it, so tests can prove which
credentials a client used. Only with ``verify_signatures`` does :meth:`CredentialStore.verify` recompute the
signature with botocore's own SigV4 signer and reject what AWS rejects, with the codes AWS uses (JSON services /
STS): unknown key or wrong session token ``UnrecognizedClientException`` / ``InvalidClientTokenId``, bad signature
``InvalidSignatureException`` / ``SignatureDoesNotMatch``, expired temporary credentials ``ExpiredTokenException``
/ ``ExpiredToken``, no signature on an operation that needs one ``MissingAuthenticationTokenException`` /
``MissingAuthenticationToken``. Credential expiry is judged on the wall clock, as the SDKs judge it when they
decide to refresh (the virtual clock drives lifecycles only).

AssumeRoleWithWebIdentity takes any role ARN and any well-formed JWT (it is not signature-checked: there is no
identity provider to ask) and answers as STS does: ``SubjectFromWebIdentityToken`` is the token's ``sub``,
``Audience`` its ``aud``, ``Provider`` the OIDC provider ARN for its ``iss``; a token that is not a JWT is
``InvalidIdentityToken``, one past its ``exp`` is ``ExpiredTokenException``. :func:`make_web_identity_token`
builds such a token for tests (what a projected service-account token looks like).
"""

from __future__ import annotations

import base64
import hmac
import json
import random
import re
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from smk8s.emulators.aws.errors import AwsError

DEFAULT_DURATION_SECONDS = 3600
_KEY_ALPHABET = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]+)\s*$"
)
_ROLE_ARN_RE = re.compile(r"^arn:(?P<partition>[\w-]+):iam::(?P<account>\d{12}):role/(?:[^/]+/)*(?P<name>[^/]+)$")


@dataclass(frozen=True)
class Identity:
    """Who a key belongs to, as GetCallerIdentity reports it."""

    arn: str
    user_id: str
    account: str


@dataclass
class KnownCredentials:
    access_key_id: str
    secret_access_key: str
    identity: Identity
    session_token: str | None = None
    expiration: float | None = None  # wall-clock epoch seconds (temporary credentials only)
    role_arn: str | None = None
    session_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "AccessKeyId": self.access_key_id,
            "Arn": self.identity.arn,
            "Temporary": self.session_token is not None,
            "Expiration": self.expiration,
            "RoleArn": self.role_arn,
            "RoleSessionName": self.session_name,
        }


@dataclass(frozen=True)
class SignedRequest:
    """What the ``Authorization`` header says: the key, credential scope, signed header names and signature."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(header: str | None) -> SignedRequest | None:
    """Parse a SigV4 ``Authorization`` header; None when absent or not SigV4."""
    if not header:
        return None
    match = _AUTH_RE.match(header.strip())
    if match is None:
        return None
    parts = match["credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        return None
    return SignedRequest(
        access_key_id=parts[0],
        date=parts[1],
        region=parts[2],
        service=parts[3],
        signed_headers=tuple(match["signed"].split(";")),
        signature=match["signature"],
    )


def auth_error(kind: str, query: bool) -> AwsError:
    """The authentication error ``kind`` as a JSON service (``query=False``) or STS (``query=True``) says it."""
    invalid = "The security token included in the request is invalid."
    mismatch = (
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
        "Access Key and signing method. Consult the service documentation for details."
    )
    table: dict[str, tuple[str, str, str, int, int]] = {
        # kind: (JSON code, STS code, message, JSON status, STS status)
        "unknown-key": ("UnrecognizedClientException", "InvalidClientTokenId", invalid, 400, 403),
        "bad-signature": ("InvalidSignatureException", "SignatureDoesNotMatch", mismatch, 400, 403),
        "expired": (
            "ExpiredTokenException",
            "ExpiredToken",
            "The security token included in the request is expired",
            400,
            400,
        ),
        "missing": (
            "MissingAuthenticationTokenException",
            "MissingAuthenticationToken",
            "Missing Authentication Token",
            400,
            403,
        ),
    }
    json_code, query_code, message, json_status, query_status = table[kind]
    if query:
        return AwsError(query_code, message, query_status)
    return AwsError(json_code, message, json_status)


@dataclass
class CredentialStore:
    """Every key the emulator knows (configured and issued) and the SigV4 check (see module docstring)."""

    account_id: str
    partition: str = "aws"
    rand: random.Random = field(default_factory=lambda: random.Random(0))
    wall_clock: Callable[[], float] = time.time
    keys: dict[str, KnownCredentials] = field(default_factory=dict)

    def add_static(self, access_key_id: str, secret: str, arn: str | None = None) -> None:
        """A long-term key; its identity is ``arn`` (default: the account root)."""
        identity = Identity(
            arn=arn or f"arn:{self.partition}:iam::{self.account_id}:root",
            user_id=self.account_id if arn is None else "AIDA" + self.random_token(_KEY_ALPHABET, 17),
            account=self.account_id,
        )
        self.keys[access_key_id] = KnownCredentials(access_key_id, secret, identity)

    def configure(self, credentials: Mapping[str, Any]) -> None:
        """From config: ``{access_key_id: secret | {"secret": ..., "arn": ...}}``."""
        for key, value in credentials.items():
            if isinstance(value, str):
                self.add_static(key, value)
            elif isinstance(value, Mapping) and isinstance(value.get("secret"), str):
                self.add_static(key, value["secret"], value.get("arn"))
            else:
                raise ValueError(f"credentials for {key!r} must be a secret or {{secret, arn}}")

    def issue(self, identity: Identity, duration: float, role_arn: str, session_name: str) -> KnownCredentials:
        creds = KnownCredentials(
            access_key_id="ASIA" + self.random_token(_KEY_ALPHABET, 16),
            secret_access_key=self.random_token(_SECRET_ALPHABET, 40),
            session_token="IQoJb3JpZ2luX2VjE" + self.random_token(_SECRET_ALPHABET, 300),
            identity=identity,
            expiration=float(int(self.wall_clock() + duration)),
            role_arn=role_arn,
            session_name=session_name,
        )
        self.keys[creds.access_key_id] = creds
        return creds

    def random_token(self, alphabet: str, length: int) -> str:
        return "".join(self.rand.choice(alphabet) for _ in range(length))

    def identity_of(self, access_key_id: str | None) -> Identity:
        """The identity behind a key; an unknown (unverified) key acts as the account root."""
        known = self.keys.get(access_key_id or "")
        if known is not None:
            return known.identity
        return Identity(f"arn:{self.partition}:iam::{self.account_id}:root", self.account_id, self.account_id)

    def verify(
        self,
        signed: SignedRequest | None,
        *,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        query_protocol: bool,
    ) -> KnownCredentials:
        """Check a request's SigV4 signature as AWS would; returns the credentials that signed it."""
        if signed is None:
            raise auth_error("missing", query_protocol)
        headers = {name.lower(): value for name, value in headers.items()}
        if "host" not in headers:
            headers["host"] = urlsplit(url).netloc
        known = self.keys.get(signed.access_key_id)
        if known is None:
            raise auth_error("unknown-key", query_protocol)
        if known.session_token is not None and headers.get("x-amz-security-token") != known.session_token:
            raise auth_error("unknown-key", query_protocol)
        if known.expiration is not None and self.wall_clock() >= known.expiration:
            raise auth_error("expired", query_protocol)
        amz_date = headers.get("x-amz-date", "")
        if not amz_date.startswith(signed.date):
            raise auth_error("bad-signature", query_protocol)
        signed_headers = {name: headers.get(name, "") for name in signed.signed_headers}
        request = AWSRequest(method=method, url=url, data=body, headers=signed_headers)
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(
            Credentials(known.access_key_id, known.secret_access_key, known.session_token),
            signed.service,
            signed.region,
        )
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        if not hmac.compare_digest(expected, signed.signature):
            raise auth_error("bad-signature", query_protocol)
        return known

    def snapshot(self) -> dict[str, Any]:
        return {"credentials": [c.to_dict() for c in self.keys.values()]}


def decode_jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT (not signature-checked); InvalidIdentityToken when it is not one."""
    parts = token.strip().split(".")
    invalid = AwsError(
        "InvalidIdentityToken",
        "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)",
    )
    if len(parts) != 3:
        raise invalid
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, UnicodeDecodeError):
        raise invalid from None
    if not isinstance(claims, dict):
        raise invalid
    return claims


def make_web_identity_token(
    subject: str = "system:serviceaccount:default:default",
    issuer: str = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
    audience: str = "sts.amazonaws.com",
    expires: float | None = None,
) -> str:
    """An unsigned JWT shaped like an EKS projected service-account token (for tests and local runs)."""

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    now = int(time.time())
    claims = {"sub": subject, "iss": issuer, "aud": [audience], "iat": now, "exp": int(expires or now + 86400)}
    return f"{b64({'alg': 'RS256', 'kid': 'smk8s'})}.{b64(claims)}.c2lnbmF0dXJl"


@dataclass
class StsService:
    """The two STS operations, over a :class:`CredentialStore`."""

    credentials: CredentialStore
    role_ids: dict[str, str] = field(default_factory=dict)

    def assume_role_with_web_identity(self, params: Mapping[str, Any]) -> dict[str, Any]:
        role_arn = str(params["RoleArn"])
        session_name = str(params["RoleSessionName"])
        match = _ROLE_ARN_RE.match(role_arn)
        if match is None:
            raise AwsError("ValidationError", "Request ARN is invalid")
        claims = decode_jwt_claims(str(params["WebIdentityToken"]))
        now = self.credentials.wall_clock()
        expires = claims.get("exp")
        if isinstance(expires, int | float) and expires <= now:
            raise AwsError(
                "ExpiredTokenException",
                f"Token expired: current date/time {int(now)} must be before the expiration date/time {int(expires)}",
            )
        if role_arn not in self.role_ids:
            self.role_ids[role_arn] = "AROA" + self.credentials.random_token(_KEY_ALPHABET, 17)
        role_id = self.role_ids[role_arn]
        assumed_arn = f"arn:{match['partition']}:sts::{match['account']}:assumed-role/{match['name']}/{session_name}"
        identity = Identity(assumed_arn, f"{role_id}:{session_name}", match["account"])
        duration = float(params.get("DurationSeconds") or DEFAULT_DURATION_SECONDS)
        creds = self.credentials.issue(identity, duration, role_arn, session_name)
        audience = claims.get("aud")
        if isinstance(audience, list):
            audience = audience[0] if audience else None
        issuer = str(claims.get("iss", ""))
        provider_path = issuer.removeprefix("https://")
        result: dict[str, Any] = {
            "Credentials": {
                "AccessKeyId": creds.access_key_id,
                "SecretAccessKey": creds.secret_access_key,
                "SessionToken": creds.session_token,
                "Expiration": creds.expiration,
            },
            "SubjectFromWebIdentityToken": str(claims.get("sub", "")),
            "AssumedRoleUser": {"AssumedRoleId": identity.user_id, "Arn": assumed_arn},
            "Provider": f"arn:{match['partition']}:iam::{match['account']}:oidc-provider/{provider_path}",
            "Audience": audience,
        }
        return {k: v for k, v in result.items() if v is not None}

    def get_caller_identity(self, access_key_id: str | None) -> dict[str, Any]:
        identity = self.credentials.identity_of(access_key_id)
        return {"UserId": identity.user_id, "Account": identity.account, "Arn": identity.arn}

    def snapshot(self) -> dict[str, Any]:
        return self.credentials.snapshot()
