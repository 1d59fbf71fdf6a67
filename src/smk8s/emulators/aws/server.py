"""The AWS emulator's HTTP server: SageMaker, CloudWatch Logs, Application Auto Scaling and STS on one port.

Use it in-process::

    async with AwsEmulator(time_scale=1000) as aws:
        session.create_client("sagemaker", endpoint_url=aws.url, region_name="us-west-2", ...)
        aws.world, aws.clock, aws.stats(), aws.set_faults([...]), aws.advance(3600)

or from the command line (``smk8s emulate aws --port 0``). Every AWS request goes through, in order:

1. routing: ``X-Amz-Target`` for the JSON 1.1 services, the form's ``Action`` for STS (:mod:`.protocol`); an
   operation the model does not define gets the service's unknown-operation error;
2. authentication: the SigV4 ``Authorization`` header names the access key, which is recorded; with
   ``verify_signatures`` the signature is checked (:mod:`.sts`); without it any credentials, or none, pass;
3. injected faults (:mod:`.faults`): latency, 500 ``InternalFailure``, 503 ``ServiceUnavailable``, throttling,
   a dropped connection (the socket is closed without an answer);
4. rate limits (:mod:`.quotas`): ``ThrottlingException`` "Rate exceeded";
5. validation against botocore's model (:mod:`.validation`);
6. the handler: ``world.advance()`` brings every lifecycle up to the virtual now, then the service module's
   ``OPERATIONS[name](world, params)`` runs. An operation the model defines but no module implements is answered
   HTTP 501 ``NotImplementedException`` (after validation, so validation is testable for every operation; 501 is
   not retried by botocore).

Every call is counted by service, operation and outcome (``ok`` or the error code; ``dropped``) and remembered with
its access key (:attr:`AwsEmulator.calls`). The control API under ``/_emulator/`` (no authentication) reads and
changes the emulator: ``GET stats``, ``GET calls``, ``GET state``, ``GET/POST/DELETE faults``,
``GET/POST/DELETE quotas``, ``GET/POST clock``; docs/emulators.md describes the bodies.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import logging
import random
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from aiohttp import web

from smk8s.emulators.aws import autoscaling, logs, protocol, sagemaker
from smk8s.emulators.aws.clock import VirtualClock
from smk8s.emulators.aws.errors import AwsError, access_denied, internal_failure, service_unavailable, throttling
from smk8s.emulators.aws.faults import FaultInjector
from smk8s.emulators.aws.protocol import ParsedRequest
from smk8s.emulators.aws.quotas import RateLimiter
from smk8s.emulators.aws.sts import CredentialStore, StsService, parse_authorization
from smk8s.emulators.aws.validation import validate_input
from smk8s.emulators.aws.world import Handler, World, new_world

log = logging.getLogger(__name__)

MAX_REQUEST_BODY_BYTES = 16 * 1024 * 1024
CALL_HISTORY = 10_000
CONFIG_KEYS = frozenset(
    {"time_scale", "seed", "account_id", "region", "verify_signatures", "credentials", "quotas", "rates", "faults",
     "unassumable_roles"}
)
# The query protocol (STS) names some common errors differently from the JSON services.
_QUERY_CODES = {"ThrottlingException": "Throttling", "ValidationException": "ValidationError",
                "AccessDeniedException": "AccessDenied"}


@dataclass(frozen=True)
class CallRecord:
    """One AWS call as the emulator saw it."""

    service: str
    operation: str
    access_key_id: str | None
    outcome: str


def load_config(source: Mapping[str, Any] | str | Path | None) -> dict[str, Any]:
    """The emulator config from a mapping or a YAML/JSON file; unknown keys are an error."""
    if source is None:
        return {}
    if isinstance(source, Mapping):
        data: Any = dict(source)
    else:
        data = yaml.safe_load(Path(source).read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError("the AWS emulator config must be a mapping")
    unknown = set(data) - CONFIG_KEYS
    if unknown:
        raise ValueError(f"unknown AWS emulator config keys: {sorted(unknown)} (known: {sorted(CONFIG_KEYS)})")
    return data


def service_operations() -> dict[str, dict[str, Handler]]:
    """Handlers per service (botocore model name); copies, so an emulator may replace entries in tests."""
    return {
        "sagemaker": dict(sagemaker.OPERATIONS),
        "logs": dict(logs.OPERATIONS),
        "application-autoscaling": dict(autoscaling.OPERATIONS),
    }


class AwsEmulator:
    """The emulated AWS services on one port (see the module docstring).

    ``time_scale`` compresses the virtual clock; ``config`` (mapping or YAML/JSON file) may set ``time_scale``,
    ``seed``, ``account_id``, ``region``, ``verify_signatures``, ``credentials``, ``quotas``, ``rates``,
    ``unassumable_roles`` and ``faults``. ``time_scale`` and ``seed`` given (not None) win over the config's, which
    win over the defaults (1.0 and 0); ``verify_signatures`` is on when either turns it on.
    """

    def __init__(
        self,
        port: int = 0,
        time_scale: float | None = None,
        config: Mapping[str, Any] | str | Path | None = None,
        seed: int | None = None,
        verify_signatures: bool = False,
        *,
        host: str = "127.0.0.1",
    ) -> None:
        cfg = load_config(config)
        self.requested_port = port
        self.host = host
        self.seed = seed if seed is not None else int(cfg.get("seed", 0))
        scale = time_scale if time_scale is not None else float(cfg.get("time_scale", 1.0))
        self.verify_signatures = verify_signatures or bool(cfg.get("verify_signatures", False))
        self.world: World = new_world(
            clock=VirtualClock(scale=scale),
            seed=self.seed,
            region=str(cfg.get("region", "us-west-2")),
            account_id=str(cfg.get("account_id", "123456789012")),
        )
        self.credentials = CredentialStore(
            self.world.account_id, self.world.partition, rand=random.Random(f"sts-{self.seed}")
        )
        self.sts = StsService(self.credentials)
        self.rate_limiter = RateLimiter()
        self.faults = FaultInjector(seed=self.seed)
        self.faults.configure([], self.seed)
        self.operations = service_operations()
        self.calls: deque[CallRecord] = deque(maxlen=CALL_HISTORY)
        self._stats: Counter[tuple[str, str, str]] = Counter()
        self._runner: web.AppRunner | None = None
        self._port = 0
        if "credentials" in cfg:
            self.credentials.configure(cfg["credentials"])
        if "quotas" in cfg:
            self.world.quotas.configure(cfg["quotas"])
        if "rates" in cfg:
            self.rate_limiter.configure(cfg["rates"])
        if "unassumable_roles" in cfg:
            self.world.unassumable_roles.update(str(r) for r in cfg["unassumable_roles"])
        if "faults" in cfg:
            self.faults.configure_from(cfg["faults"])

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def __aenter__(self) -> AwsEmulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_REQUEST_BODY_BYTES)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.requested_port, reuse_address=True)
        await site.start()
        addresses = self._runner.addresses
        self._port = addresses[0][1] if addresses else self.requested_port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}"

    @property
    def clock(self) -> VirtualClock:
        return self.world.clock

    def client_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``session.create_client(service, **kwargs)`` pointing at this emulator."""
        return {
            "endpoint_url": self.url,
            "region_name": self.world.region,
            "aws_access_key_id": "AKIDEMULATOR",
            "aws_secret_access_key": "emulator-secret",
        }

    # -- in-process control -----------------------------------------------------------------------------------

    def advance(self, seconds: float) -> float:
        """Move the virtual clock forward and run every lifecycle step now due; returns the new now."""
        now = self.world.clock.advance(seconds)
        self.world.advance()
        return now

    def set_time_scale(self, scale: float) -> None:
        self.world.clock.set_scale(scale)

    def set_faults(self, rules: list[Mapping[str, Any]], seed: int | None = None) -> None:
        self.faults.configure(rules, seed)

    def clear_faults(self) -> None:
        self.faults.clear()

    def set_quotas(self, limits: Mapping[str, Any] | None = None, rates: Mapping[str, Any] | None = None) -> None:
        """Set account quotas (``{name: n}``) and/or rate limits (``{"service:Op": {rate, burst} | null}``)."""
        if limits:
            self.world.quotas.configure(limits)
        if rates:
            self.rate_limiter.configure(rates)

    def reset_quotas(self) -> None:
        self.world.quotas.reset()
        self.rate_limiter.reset()

    def stats(self) -> dict[str, Any]:
        """``{"calls": {service: {operation: {outcome: n}}}, "total": n, "callers": {access_key: n}}``."""
        calls: dict[str, dict[str, dict[str, int]]] = {}
        for (service, operation, outcome), count in sorted(self._stats.items()):
            calls.setdefault(service, {}).setdefault(operation, {})[outcome] = count
        callers = Counter(record.access_key_id or "(anonymous)" for record in self.calls)
        return {"calls": calls, "total": sum(self._stats.values()), "callers": dict(callers)}

    def state(self) -> dict[str, Any]:
        """Every resource, from each store's ``snapshot()`` (None for a store without one)."""
        self.world.advance()
        sagemaker = self.world.sagemaker
        return {
            "clock": {"now": self.world.clock.now(), "scale": self.world.clock.scale},
            "account_id": self.world.account_id,
            "region": self.world.region,
            "sagemaker": {f.name: _snapshot(getattr(sagemaker, f.name)) for f in dataclasses.fields(sagemaker)},
            "logs": _snapshot(self.world.logs),
            "autoscaling": _snapshot(self.world.autoscaling),
            "sts": self.sts.snapshot(),
            "quotas": self.world.quotas.snapshot(),
        }

    # -- AWS requests ---------------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/_emulator/"):
            return await self._control(request)
        body = await request.read()
        request_id = str(uuid.uuid4())
        query = protocol.is_query_request(request.headers, request.query, body)
        service, operation = _names_for_stats(request, body, query)
        access_key: str | None = None
        try:
            parsed = self._route(request, body, query)
            service, operation = parsed.service, parsed.operation
            signed = parse_authorization(request.headers.get("Authorization"))
            access_key = signed.access_key_id if signed else None
            op_model = protocol.operation_model(service, operation)
            assert op_model is not None
            if self.verify_signatures and op_model.auth_type != "none":
                url = f"http://{request.headers.get('Host', request.host)}{request.raw_path}"
                self.credentials.verify(
                    signed, method=request.method, url=url, headers=request.headers, body=body, query_protocol=query
                )
            decision = self.faults.decide(service, operation)
            if decision.latency_seconds:
                await asyncio.sleep(decision.latency_seconds)
            if decision.kind == "drop":
                self._record(service, operation, access_key, "dropped")
                if request.transport is not None:
                    request.transport.abort()
                raise web.HTTPServiceUnavailable()  # never written: the connection is gone
            if decision.kind is not None:
                raise _injected(decision.kind, self.credentials.identity_of(access_key).arn, service, operation)
            if not self.rate_limiter.allow(service, operation):
                raise throttling()
            validate_input(service, op_model, parsed.params)
            result = await self._invoke(parsed, access_key)
            self._record(service, operation, access_key, "ok")
            if query:
                return _query_response(protocol.query_response_body(op_model, result, request_id), 200, request_id)
            return _json_response(protocol.json_body(result), 200, request_id)
        except AwsError as err:
            if query and err.code in _QUERY_CODES:
                err = AwsError(_QUERY_CODES[err.code], err.message, err.status)
            self._record(service, operation, access_key, err.code.rpartition("#")[2])
            if query:
                return _query_response(protocol.query_error_body(err, request_id), err.status, request_id)
            return _json_response(protocol.json_error_body(err), err.status, request_id)

    def _route(self, request: web.Request, body: bytes, query: bool) -> ParsedRequest:
        if query:
            return protocol.parse_query_request(request.query, body)
        target = request.headers.get("X-Amz-Target", "")
        return protocol.parse_json_request(target, body)

    async def _invoke(self, parsed: ParsedRequest, access_key: str | None) -> dict[str, Any]:
        self.world.advance()
        if parsed.service == "sts":
            if parsed.operation == "AssumeRoleWithWebIdentity":
                return self.sts.assume_role_with_web_identity(parsed.params)
            if parsed.operation == "GetCallerIdentity":
                return self.sts.get_caller_identity(access_key)
            raise _not_implemented(parsed)
        handler = self.operations.get(parsed.service, {}).get(parsed.operation)
        if handler is None:
            raise _not_implemented(parsed)
        try:
            result: Any = handler(self.world, parsed.params)
            if inspect.isawaitable(result):
                result = await result
        except AwsError:
            raise
        except Exception:
            log.exception("handler %s.%s failed", parsed.service, parsed.operation)
            raise internal_failure() from None
        return dict(result or {})

    def _record(self, service: str, operation: str, access_key: str | None, outcome: str) -> None:
        self._stats[(service, operation, outcome)] += 1
        self.calls.append(CallRecord(service, operation, access_key, outcome))

    # -- control API ----------------------------------------------------------------------------------------

    async def _control(self, request: web.Request) -> web.StreamResponse:
        name = request.path.removeprefix("/_emulator/").strip("/")
        routes: dict[tuple[str, str], Callable[[Any], Awaitable[Any] | Any]] = {
            ("GET", "stats"): lambda _: self.stats(),
            ("GET", "calls"): lambda _: [dataclasses.asdict(c) for c in self.calls],
            ("GET", "state"): lambda _: self.state(),
            ("GET", "faults"): lambda _: self.faults.snapshot(),
            ("POST", "faults"): self._post_faults,
            ("DELETE", "faults"): self._delete_faults,
            ("GET", "quotas"): lambda _: self._quotas_snapshot(),
            ("POST", "quotas"): self._post_quotas,
            ("DELETE", "quotas"): self._delete_quotas,
            ("GET", "clock"): lambda _: self._clock_snapshot(),
            ("POST", "clock"): self._post_clock,
        }
        route = routes.get((request.method, name))
        if route is None:
            methods = sorted(m for m, n in routes if n == name)
            if methods:
                return _control_error(405, f"{request.method} not allowed on /_emulator/{name} (use {methods})")
            return _control_error(404, f"no control endpoint /_emulator/{name}")
        body: Any = None
        if request.method == "POST":
            try:
                body = await request.json() if request.can_read_body else {}
            except json.JSONDecodeError:
                return _control_error(400, "the body must be JSON")
            if not isinstance(body, dict):
                return _control_error(400, "the body must be a JSON object")
        try:
            result = route(body)
            if inspect.isawaitable(result):
                result = await result
        except (ValueError, TypeError, KeyError) as err:
            return _control_error(400, str(err))
        return web.Response(body=protocol.json_body(result), content_type="application/json")

    def _post_faults(self, body: dict[str, Any]) -> dict[str, Any]:
        self.faults.configure_from(body)
        return self.faults.snapshot()

    def _delete_faults(self, _: object) -> dict[str, Any]:
        self.clear_faults()
        return self.faults.snapshot()

    def _delete_quotas(self, _: object) -> dict[str, Any]:
        self.reset_quotas()
        return self._quotas_snapshot()

    def _post_quotas(self, body: dict[str, Any]) -> dict[str, Any]:
        unknown = set(body) - {"limits", "rates"}
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)} (known: limits, rates)")
        self.set_quotas(body.get("limits"), body.get("rates"))
        return self._quotas_snapshot()

    def _quotas_snapshot(self) -> dict[str, Any]:
        return {"limits": self.world.quotas.snapshot(), "rates": self.rate_limiter.snapshot()}

    def _post_clock(self, body: dict[str, Any]) -> dict[str, Any]:
        unknown = set(body) - {"advance", "scale"}
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)} (known: advance, scale)")
        if "scale" in body:
            self.set_time_scale(float(body["scale"]))
        if "advance" in body:
            self.advance(float(body["advance"]))
        return self._clock_snapshot()

    def _clock_snapshot(self) -> dict[str, float]:
        return {"now": self.world.clock.now(), "scale": self.world.clock.scale}


def _names_for_stats(request: web.Request, body: bytes, query: bool) -> tuple[str, str]:
    """Service and operation as far as a request names them (for counting calls that fail routing)."""
    if query:
        action = request.query.get("Action") or dict(protocol.parse_qsl_safe(body)).get("Action")
        return "sts", action or "unknown"
    prefix, _, operation = request.headers.get("X-Amz-Target", "").partition(".")
    return protocol.JSON_TARGETS.get(prefix, "unknown"), operation or "unknown"


def _snapshot(store: object) -> Any:
    snapshot = getattr(store, "snapshot", None)
    return snapshot() if callable(snapshot) else None


def _injected(kind: str, caller_arn: str, service: str, operation: str) -> AwsError:
    if kind == "internal_failure":
        return internal_failure()
    if kind == "service_unavailable":
        return service_unavailable()
    if kind == "access_denied":
        return access_denied(caller_arn, f"{service}:{operation}")
    return throttling()


def _not_implemented(parsed: ParsedRequest) -> AwsError:
    return AwsError(
        "NotImplementedException",
        f"The smk8s AWS emulator does not implement {parsed.service} {parsed.operation}",
        501,
    )


def _json_response(body: bytes, status: int, request_id: str) -> web.Response:
    return web.Response(
        body=body,
        status=status,
        headers={"Content-Type": protocol.JSON_CONTENT_TYPE, "x-amzn-RequestId": request_id},
    )


def _query_response(body: bytes, status: int, request_id: str) -> web.Response:
    return web.Response(
        body=body, status=status, headers={"Content-Type": protocol.XML_CONTENT_TYPE, "x-amzn-RequestId": request_id}
    )


def _control_error(status: int, message: str) -> web.Response:
    return web.Response(body=json.dumps({"message": message}).encode(), status=status, content_type="application/json")
