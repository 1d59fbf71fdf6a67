"""The emulated kube-apiserver: HTTP routing, authentication, authorization, watch streams and the control API.

Use it in-process::

    async with KubeEmulator(rbac=True) as kube:
        kube.url, kube.kubeconfig          # where clients connect, and how
        kube.close_watches(); kube.compact()

or from the command line (``smk8s emulate kube``). Request handling, in order: request counting, injected faults,
bearer-token authentication, impersonation, RBAC authorization (with ``rbac=True``; members of ``system:masters``
pass, as kube-apiserver's privileged-group authorizer lets them), then the API: discovery, OpenAPI, probes and the
resource endpoints backed by :class:`~smk8s.emulators.kube.api.ObjectAPI`. Errors are ``Status`` objects.
The control API under ``/_emulator/`` needs no authentication (it is the test harness's side door).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import ssl
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from aiohttp import web

from smk8s.emulators.kube import auth, decoding, errors, openapi, openapi_proto, protobuf, rbac, tables
from smk8s.emulators.kube.api import (
    DeleteOptions,
    ListOptions,
    ObjectAPI,
    WriteContext,
    dry_run_from_query,
)
from smk8s.emulators.kube.controllers import ClusterControllers
from smk8s.emulators.kube.faults import FaultInjector, FaultPlan
from smk8s.emulators.kube.kubeconfig import (
    kubeconfig_dict,
    make_serving_certificate,
    server_ssl_context,
    write_kubeconfig,
)
from smk8s.emulators.kube.params import (
    JSON,
    dumps,
    include_object,
    validate_list_query,
    wants_aggregated,
    wants_partial_metadata,
    wants_table,
)
from smk8s.emulators.kube.registry import Registry
from smk8s.emulators.kube.resources import ResourceType
from smk8s.emulators.kube.store import Store
from smk8s.emulators.kube.watch import WatchStreamer

MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024  # kube-apiserver's --max-request-body-bytes default
DEFAULT_BOOKMARK_INTERVAL = 60.0
SERVER_VERSION = {
    "major": "1",
    "minor": "36",
    "gitVersion": "v1.36.0-smk8s",
    "gitCommit": "smk8s-emulator",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.25",
    "compiler": "gc",
    "platform": "linux/amd64",
}
_INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_REVIEWS = {
    ("authentication.k8s.io", "tokenreviews"),
    ("authentication.k8s.io", "selfsubjectreviews"),
    ("authorization.k8s.io", "subjectaccessreviews"),
    ("authorization.k8s.io", "selfsubjectaccessreviews"),
    ("authorization.k8s.io", "selfsubjectrulesreviews"),
    ("authorization.k8s.io", "localsubjectaccessreviews"),
}


class KubeEmulator:
    """An emulated Kubernetes API server (see the module docstring).

    ``watch_history`` bounds the events kept for watch resumption and exact lists (older → 410 Expired);
    ``bookmark_interval`` is how often watches with ``allowWatchBookmarks`` get a BOOKMARK.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        tls: bool = False,
        rbac_enabled: bool = False,
        watch_history: int = 10_000,
        bookmark_interval: float = DEFAULT_BOOKMARK_INTERVAL,
        seed: int | None = None,
    ) -> None:
        import random

        self.requested_port = port
        self.tls = tls
        self.rbac_enabled = rbac_enabled
        self.bookmark_interval = bookmark_interval
        self.store = Store(history_size=watch_history)
        self.registry = Registry()
        self.api = ObjectAPI(self.store, self.registry, rand=random.Random(seed))
        self.controllers = ClusterControllers(self.api)
        self.watches = WatchStreamer(self.store, self.api, bookmark_interval)
        self.authenticator = auth.TokenAuthenticator()
        self.authorizer = rbac.ClusterAuthorizer(
            rbac.RBACAuthorizer(lambda g, p: self.store.objects((g, p))) if rbac_enabled else None
        )
        self.faults = FaultInjector()
        self.admin_token = secrets.token_urlsafe(24)
        self.authenticator.add(self.admin_token, auth.ADMIN_USER)
        self._openapi_v2_proto = openapi_proto.EncodedDocumentCache()
        self.stats: Counter[tuple[str, str]] = Counter()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._port = 0
        self._ssl: ssl.SSLContext | None = None
        self._ca_pem: bytes | None = None
        self._control_tasks: set[asyncio.Task[Any]] = set()
        self._bootstrap()

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def __aenter__(self) -> KubeEmulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        if self.tls and self._ssl is None:
            cert = make_serving_certificate()
            self._ca_pem = cert.ca_pem
            self._ssl = server_ssl_context(cert)
        await self._serve(self.requested_port)

    async def _serve(self, port: int) -> None:
        app = web.Application(client_max_size=MAX_REQUEST_BODY_BYTES * 2, middlewares=[self._middleware])
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", port, ssl_context=self._ssl, reuse_address=True)
        await self._site.start()
        server = self._runner.server
        assert server is not None
        sockets = [s for s in (self._runner.addresses or [])]
        self._port = sockets[0][1] if sockets else port

    async def stop(self) -> None:
        self.store.close_watchers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def restart(self) -> None:
        """Drop every connection (watches included) and listen again on the same port; state is kept."""
        port = self._port
        await self.stop()
        await self._serve(port)

    async def wait_control_actions(self) -> None:
        """Wait for control-API actions that finish after their answer (``POST /_emulator/restart``)."""
        for task in list(self._control_tasks):
            await task

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._port}"

    @property
    def kubeconfig(self) -> dict[str, Any]:
        return kubeconfig_dict(self.url, self.admin_token, self._ca_pem)

    def write_kubeconfig(self, path: Path) -> None:
        write_kubeconfig(path, self.kubeconfig)

    # -- test controls (also under /_emulator/) --------------------------------------------------------------

    def close_watches(self) -> int:
        return self.store.close_watchers()

    def compact(self) -> None:
        self.store.compact()

    def set_faults(self, plan: FaultPlan) -> None:
        self.faults.set_plan(plan)

    def clear_faults(self) -> None:
        self.faults.clear()

    def add_user(self, username: str, groups: tuple[str, ...] = (), token: str | None = None) -> str:
        """Register a bearer token for a user (for RBAC tests); returns the token."""
        minted = token or secrets.token_urlsafe(24)
        self.authenticator.add(minted, auth.UserInfo(username, groups=groups))
        return minted

    def stats_dict(self) -> dict[str, Any]:
        by_verb: dict[str, dict[str, int]] = {}
        for (verb, resource), n in sorted(self.stats.items()):
            by_verb.setdefault(verb, {})[resource] = n
        return {
            "requests": by_verb,
            "total": sum(self.stats.values()),
            "open_watches": self.store.watcher_count,
            "resource_version": self.store.revision,
            "injected_faults": self.faults.injected,
            "stalled_requests": self.faults.stalled,
        }

    def _bootstrap(self) -> None:
        ctx = WriteContext(field_manager="kube-apiserver")
        ns_type = self.registry.require("", "v1", "namespaces")
        for name in _INITIAL_NAMESPACES:
            self.api.create(ns_type, "", {"metadata": {"name": name}}, ctx)
        for group, plural, obj in rbac.bootstrap_policy():
            rt = self.registry.by_group_resource(group, plural)[0]
            self.api.create(rt, obj.get("metadata", {}).get("namespace", ""), obj, ctx)
        self.api.create(
            self.registry.require("", "v1", "serviceaccounts"),
            "default",
            {"metadata": {"name": "default"}},
            ctx,
        )
        self.controllers.run_pending()

    # -- request pipeline ------------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except errors.APIError as exc:
            return _status_response(exc)
        except web.HTTPException:
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an emulator bug must still answer like a server, not drop the connection
            import traceback

            traceback.print_exc()
            return _status_response(errors.internal_error(repr(exc)))

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/_emulator/"):
            return await self._control(request)
        query = {k: request.query.getone(k) for k in request.query}
        user = self.authenticator.authenticate(request.headers.get("Authorization"))
        if user is None:
            raise errors.unauthorized()
        attrs = auth.request_attributes(request.method, path, query, user)
        self.stats[(attrs.verb, attrs.resource or attrs.path)] += 1
        await self.faults.before_request(attrs.verb, attrs.resource or attrs.path)
        if any(h.lower().startswith("impersonate-") for h in request.headers):
            user = auth.impersonate(user, _multi_headers(request), self._authorize_attrs)
            attrs = auth.request_attributes(request.method, path, query, user)
        self._authorize_attrs(attrs)
        if not attrs.is_resource_request:
            return await self._non_resource(request, path)
        return await self._resource(request, attrs, query)

    def _authorize_attrs(self, attrs: auth.RequestAttributes) -> None:
        allowed, reason = self.authorizer.authorize(attrs)
        if not allowed:
            raise auth.forbidden_error(attrs, reason)

    # -- non-resource endpoints ------------------------------------------------------------------------------

    async def _non_resource(self, request: web.Request, path: str) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            raise errors.method_not_allowed()
        stripped = path.rstrip("/") or "/"
        if stripped in ("/healthz", "/livez", "/readyz") or stripped.startswith(("/healthz/", "/livez/", "/readyz/")):
            if "verbose" in request.query:
                name = stripped.strip("/").split("/")[0]
                return web.Response(text=f"[+]ping ok\n[+]etcd ok\n{name} check passed\n", content_type="text/plain")
            return web.Response(text="ok", content_type="text/plain")
        if stripped == "/version":
            return _json(SERVER_VERSION)
        if stripped == "/api":
            if wants_aggregated(request):
                return _aggregated(request, self.registry.aggregated_discovery(legacy=True))
            return _json(self.registry.api_versions())
        if stripped == "/apis":
            if wants_aggregated(request):
                return _aggregated(request, self.registry.aggregated_discovery(legacy=False))
            return _json(self.registry.api_group_list())
        if stripped == "/openapi/v2":
            served_type = openapi_proto.negotiate_content_type(request.headers.get("Accept", ""))
            if served_type is None:
                raise errors.APIError(406, "NotAcceptable", "only application/json and protobuf are served")
            document = openapi.openapi_v2(self.registry.all())
            if served_type != openapi_proto.PROTOBUF_CONTENT_TYPE:
                return _json(document)
            encoded = self._openapi_v2_proto.encode(document)
            return web.Response(
                body=encoded.body, headers={"Content-Type": served_type, "Etag": f'"{encoded.etag}"', "Vary": "Accept"}
            )
        if stripped == "/openapi/v3":
            return _json(openapi.openapi_v3_index(self.registry.all()))
        if stripped.startswith("/openapi/v3/"):
            doc = openapi.openapi_v3_document(self.registry.all(), stripped[len("/openapi/v3/") :])
            if doc is None:
                raise errors.APIError(404, "NotFound", "the server could not find the requested resource")
            return _json(doc, headers={"Cache-Control": "public, immutable"} if "hash" in request.query else None)
        parts = stripped.strip("/").split("/")
        if parts[0] == "api" and len(parts) == 2:
            doc = self.registry.api_resource_list("", parts[1])
            if doc is not None:
                return _json(doc)
        if parts[0] == "apis" and len(parts) == 2:
            doc = self.registry.api_group(parts[1])
            if doc is not None:
                return _json(doc)
        if parts[0] == "apis" and len(parts) == 3:
            doc = self.registry.api_resource_list(parts[1], parts[2])
            if doc is not None:
                return _json(doc)
        raise errors.APIError(404, "NotFound", "the server could not find the requested resource")

    # -- resource endpoints ----------------------------------------------------------------------------------

    async def _resource(
        self, request: web.Request, attrs: auth.RequestAttributes, query: dict[str, str]
    ) -> web.StreamResponse:
        rt = self.registry.lookup(attrs.api_group, attrs.api_version, attrs.resource)
        if rt is None:
            raise errors.APIError(404, "NotFound", "the server could not find the requested resource")
        # RequestInfo gives /api/v1/namespaces/NS[/status|/finalize] the namespace NS too (it names the object).
        namespace_itself = rt.group_resource == ("", "namespaces") and attrs.namespace == attrs.name
        if attrs.namespace and not rt.namespaced and not namespace_itself:
            raise errors.APIError(404, "NotFound", "the server could not find the requested resource")
        sub = attrs.subresource
        if (
            sub
            and sub not in rt.subresources
            and not (rt.group_resource == ("", "namespaces") and sub == "finalize")
            and not (rt.group_resource == ("", "serviceaccounts") and sub == "token")
        ):
            raise errors.APIError(404, "NotFound", "the server could not find the requested resource")
        if attrs.verb not in rt.verbs and not sub and attrs.verb not in ("watch",):
            raise errors.method_not_allowed("the server does not allow this method on the requested resource")
        namespace = attrs.namespace if rt.namespaced else ""
        path_name = _path_name(request.path, attrs)
        verb = attrs.verb
        # The installer registers PUT/PATCH only on item paths and POST only on collections (or on
        # create-subresources such as serviceaccounts/NAME/token); go-restful answers other routes 405.
        if (verb in ("update", "patch") and not path_name) or (verb == "create" and path_name and not sub):
            raise errors.method_not_allowed()
        if verb == "watch":
            return await self.watches.serve(request, rt, namespace, path_name, query)
        if verb == "list":
            return self._list(request, rt, namespace, query)
        if verb == "get":
            obj = self.api.get(rt, namespace, path_name)
            if sub == "status" or not sub:
                return self._object_response(request, rt, obj, 200)
            raise errors.method_not_allowed()
        ctx = self._write_context(request, query, attrs.user)
        if verb == "create":
            if rt.group_resource in _REVIEWS:
                return _json(self._review(rt, await _read_body(request), attrs.user, namespace), 201)
            if sub == "token":
                return _json(self._token_request(rt, namespace, path_name, await _read_body(request)), 201)
            body, ctx.duplicates = await _read_object_body(request)
            obj = self.api.create(rt, namespace, body, ctx, reject_resource_version=True)
            return self._finish_write(request, rt, obj, 201, ctx)
        if verb == "update":
            if sub == "finalize":
                return self._finalize_namespace(request, rt, path_name, await _read_body(request), ctx)
            body, ctx.duplicates = await _read_object_body(request)
            obj, created = self.api.update(rt, namespace, path_name, body, ctx, sub)
            return self._finish_write(request, rt, obj, 201 if created else 200, ctx)
        if verb == "patch":
            raw = await _read_raw(request)
            content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
            force = query.get("force", "false") == "true"
            obj, created = self.api.patch(rt, namespace, path_name, content_type, raw, ctx, sub, force)
            return self._finish_write(request, rt, obj, 201 if created else 200, ctx)
        if verb == "delete":
            body = await _read_body(request, optional=True)
            opts = DeleteOptions.from_body(body, query)
            obj, deleted_now = self.api.delete(rt, namespace, path_name, opts)
            self.controllers.run_pending()
            if deleted_now and not _returns_object(rt):
                return _json(_success_status(rt, obj))
            return self._object_response(request, rt, obj, 200 if deleted_now else 202)
        if verb == "deletecollection":
            validate_list_query(query, watch=False)
            body = await _read_body(request, optional=True)
            opts = DeleteOptions.from_body(body, query)
            result = self.api.delete_collection(rt, namespace or None, self._list_options(query), opts)
            self.controllers.run_pending()
            return _json(result)
        raise errors.method_not_allowed()

    def _write_context(self, request: web.Request, query: dict[str, str], user: auth.UserInfo) -> WriteContext:
        validation = query.get("fieldValidation", "Warn") or "Warn"
        if validation not in ("Strict", "Warn", "Ignore"):
            raise errors.bad_request(
                f'fieldValidation invalid value: "{validation}", valid values are: "Ignore", "Warn", "Strict"'
            )
        manager = query.get("fieldManager", "")
        if len(manager) > 128:
            raise errors.bad_request("fieldManager must be at most 128 characters")
        return WriteContext(
            username=user.username,
            field_manager=manager,
            user_agent=request.headers.get("User-Agent", ""),
            dry_run=dry_run_from_query(request.query.get("dryRun")),
            field_validation=validation,
        )

    def _finish_write(
        self, request: web.Request, rt: ResourceType, obj: dict[str, Any], status: int, ctx: WriteContext
    ) -> web.StreamResponse:
        if not ctx.dry_run:
            self.controllers.run_pending()
        response = self._object_response(request, rt, obj, status)
        for warning in ctx.warnings:
            response.headers.add("Warning", f'299 - "{_escape_warning(warning)}"')
        return response

    def _object_response(
        self, request: web.Request, rt: ResourceType, obj: dict[str, Any], status: int
    ) -> web.Response:
        if wants_table(request):
            return _json(
                tables.to_table(
                    rt, [obj], include_object=include_object(request), list_meta=None, now=datetime.now(UTC)
                ),
                status,
            )
        if wants_partial_metadata(request):
            return _json(_partial_metadata(obj), status)
        return _json(obj, status)

    def _list_options(self, query: dict[str, str]) -> ListOptions:
        try:
            limit = int(query.get("limit", "0") or 0)
        except ValueError:
            raise errors.bad_request("limit must be an integer") from None
        return ListOptions(
            label_selector=query.get("labelSelector", ""),
            field_selector=query.get("fieldSelector", ""),
            resource_version=query.get("resourceVersion", ""),
            resource_version_match=query.get("resourceVersionMatch", ""),
            limit=max(limit, 0),
            continue_token=query.get("continue", ""),
        )

    def _list(self, request: web.Request, rt: ResourceType, namespace: str, query: dict[str, str]) -> web.Response:
        validate_list_query(query, watch=False)
        result = self.api.list_collection(rt, namespace or None, self._list_options(query))
        if wants_table(request):
            return _json(
                tables.to_table(
                    rt,
                    result["items"],
                    include_object=include_object(request),
                    list_meta=result["metadata"],
                    now=datetime.now(UTC),
                )
            )
        if wants_partial_metadata(request):
            return _json(
                {
                    "kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": result["metadata"],
                    "items": [_partial_metadata(o) for o in result["items"]],
                }
            )
        return _json(result)

    # -- special creates -------------------------------------------------------------------------------------

    def _review(self, rt: ResourceType, body: Any, user: auth.UserInfo, namespace: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        spec = body.get("spec") or {}
        kind = rt.plural
        if kind == "tokenreviews":
            status = rbac.token_review(spec, self.authenticator)
        elif kind == "selfsubjectreviews":
            status = rbac.self_subject_review(user)
        elif kind == "subjectaccessreviews":
            status = rbac.subject_access_review(spec, self.authorizer)
        elif kind == "selfsubjectaccessreviews":
            status = rbac.self_subject_access_review(spec, user, self.authorizer)
        elif kind == "localsubjectaccessreviews":
            status = rbac.local_subject_access_review(spec, namespace, self.authorizer)
        else:
            status = rbac.self_subject_rules_review(spec.get("namespace", ""), user, self.authorizer)
        return {
            "kind": rt.kind,
            "apiVersion": rt.api_version,
            "metadata": body.get("metadata") or {},
            "spec": spec,
            "status": status,
        }

    def _token_request(self, rt: ResourceType, namespace: str, name: str, body: Any) -> dict[str, Any]:
        sa = self.api.get(rt, namespace, name)
        spec = (body or {}).get("spec") or {}
        token = self.authenticator.add_service_account(namespace, name, sa["metadata"].get("uid", ""))
        expiry = int(spec.get("expirationSeconds") or 3600)
        expires = datetime.fromtimestamp(time.time() + expiry, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "audiences": spec.get("audiences") or list(self.authenticator.api_audiences),
                "expirationSeconds": expiry,
            },
            "status": {"token": token, "expirationTimestamp": expires},
        }

    def _finalize_namespace(
        self, request: web.Request, rt: ResourceType, name: str, body: Any, ctx: WriteContext
    ) -> web.StreamResponse:
        current = self.api.get(rt, "", name)
        updated = json.loads(dumps(current))
        updated.setdefault("spec", {})["finalizers"] = list(((body or {}).get("spec") or {}).get("finalizers") or [])
        if not ctx.dry_run:
            self.api.system_update(rt.storage, updated)
            self.controllers.run_pending()
        return self._object_response(request, rt, updated, 200)

    # -- control API -----------------------------------------------------------------------------------------

    async def _control(self, request: web.Request) -> web.StreamResponse:
        action = request.path[len("/_emulator/") :].strip("/")
        method = request.method
        if action == "stats" and method == "GET":
            return _json(self.stats_dict())
        if action == "faults":
            if method == "GET":
                return _json(self.faults.plan.to_dict())
            if method in ("POST", "PUT"):
                self.set_faults(FaultPlan.from_dict(await _read_body(request) or {}))
                return _json(self.faults.plan.to_dict())
            if method == "DELETE":
                self.clear_faults()
                return _json(self.faults.plan.to_dict())
        if method == "POST":
            if action == "close-watches":
                return _json({"closed": self.close_watches()})
            if action == "compact":
                self.compact()
                return _json({"compactedTo": self.store.revision})
            if action == "restart":
                task = asyncio.ensure_future(self.restart())
                self._control_tasks.add(task)
                task.add_done_callback(self._control_tasks.discard)
                return _json({"restarting": True})
            if action == "tokens":
                body = await _read_body(request) or {}
                token = self.add_user(str(body["user"]), tuple(body.get("groups") or ()), body.get("token"))
                return _json({"token": token})
        raise errors.APIError(404, "NotFound", f"no emulator control {method} {action}")


# -- HTTP helpers --------------------------------------------------------------------------------------------


def _json(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=dumps(obj), status=status, content_type=JSON, headers=headers)


def _aggregated(request: web.Request, doc: dict[str, Any]) -> web.Response:
    """Aggregated discovery as apiserver's ServeHTTPWithETag sends it: exact media type (no charset), a quoted
    SHA-512 ETag, ``Vary: Accept``, and 304 when ``If-None-Match`` carries the current ETag."""
    body = dumps(doc).encode()
    etag = '"' + hashlib.sha512(body).hexdigest().upper() + '"'
    headers = {"Vary": "Accept", "ETag": etag}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    return web.Response(body=body, headers=headers)


def _status_response(exc: errors.APIError) -> web.Response:
    headers = {}
    if exc.retry_after_seconds is not None:
        headers["Retry-After"] = str(exc.retry_after_seconds)
    return _json(exc.to_status(), exc.code, headers)


def _success_status(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {
            "name": obj["metadata"]["name"],
            "group": rt.group,
            "kind": rt.plural,
            "uid": obj["metadata"].get("uid", ""),
        },
    }


def _returns_object(rt: ResourceType) -> bool:
    from smk8s.emulators.kube.strategies import strategy_for

    return strategy_for(rt).returns_deleted_object


def _partial_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def _escape_warning(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _multi_headers(request: web.Request) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for key in set(request.headers.keys()):
        values = request.headers.getall(key)
        out[key] = values if len(values) > 1 else values[0]
    return out


def _path_name(path: str, attrs: auth.RequestAttributes) -> str:
    """The object name from the URL (request attributes may carry one taken from a field selector instead)."""
    if attrs.verb in ("list", "watch", "deletecollection") and not _path_has_name(path, attrs):
        return ""
    return attrs.name


def _path_has_name(path: str, attrs: auth.RequestAttributes) -> bool:
    parts = [p for p in path.split("/") if p]
    if attrs.resource in parts:
        idx = len(parts) - 1 - parts[::-1].index(attrs.resource)
        return idx + 1 < len(parts) and parts[idx + 1] == attrs.name
    return False


async def _read_raw(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_REQUEST_BODY_BYTES:
        raise errors.request_entity_too_large(f"limit is {MAX_REQUEST_BODY_BYTES}")
    raw = await request.read()
    if len(raw) > MAX_REQUEST_BODY_BYTES:
        raise errors.request_entity_too_large(f"limit is {MAX_REQUEST_BODY_BYTES}")
    return raw


async def _read_body(request: web.Request, optional: bool = False) -> Any:
    body, _ = await _read_object_body(request, optional)
    return body


async def _read_object_body(request: web.Request, optional: bool = False) -> tuple[Any, decoding.Duplicates]:
    """The decoded body and its duplicate keys (which fieldValidation reports for creates and updates)."""
    raw = await _read_raw(request)
    if not raw.strip():
        if optional:
            return None, decoding.NONE
        raise errors.bad_request("the body of the request was empty")
    content_type = request.headers.get("Content-Type", JSON).split(";")[0].strip()
    if protobuf.is_protobuf(content_type):  # kubectl's typed commands send protobuf
        return protobuf.decode_request(raw), decoding.NONE
    if "protobuf" in content_type or "cbor" in content_type:
        raise errors.unsupported_media_type(content_type, [JSON, "application/yaml"])
    try:
        if content_type in ("application/yaml", "application/x-yaml"):
            body, duplicates = decoding.loads_yaml(raw)
            return decoding.sort_keys(body), duplicates
        return decoding.loads_json(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"the body of the request could not be decoded: {exc}") from exc
