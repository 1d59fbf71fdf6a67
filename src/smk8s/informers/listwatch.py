"""List and watch one resource over HTTP: what a reflector needs of the API server (client-go ``ListerWatcher``).

:class:`ListerWatcher` is the seam between the reflector's algorithm and the transport; :class:`ApiListerWatcher`
implements it with kubernetes_asyncio's ``ApiClient`` (its configuration, authentication and connection pool),
sending raw requests (``call_api(..., _preload_content=False)``) and decoding JSON itself:

- Lists come back as plain dicts, without the generated models' cost. Items of built-in lists carry no
  ``apiVersion``/``kind``; they get them from the list, as client-go's unstructured decoder does.
- Watches are read line by line from the response body by :func:`_watch_lines`. ``kubernetes_asyncio.watch.Watch``
  is not used: it retries a 410 once by itself (the reflector must see every 410 to relist and infer deletes),
  reads lines with aiohttp's ``readline`` (limited to 128 KiB, less than an object may be), and decodes into models.

Errors: an HTTP error answer raises :class:`ApiError` (with the Status's code, reason and ``Retry-After``); a
failure to connect or a request timeout raises :class:`TransportError`. A watch stream that breaks after it has
started simply ends (client-go treats a broken stream as a closed watch); ERROR events are yielded as events.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
from kubernetes_asyncio.client import ApiClient

Object = dict[str, Any]
Query = list[tuple[str, str]]


class ApiError(Exception):
    """The API server answered a list or watch request with an error Status (or an ERROR watch event)."""

    def __init__(
        self,
        code: int,
        reason: str = "",
        message: str = "",
        retry_after: float | None = None,
        causes: tuple[str, ...] = (),
    ) -> None:
        super().__init__(f"{code} {reason}: {message}" if message else f"{code} {reason}")
        self.code = code
        self.reason = reason
        self.message = message
        self.retry_after = retry_after
        self.causes = causes
        """The ``reason`` of each of the Status's ``details.causes``."""

    @classmethod
    def from_status(cls, status: Object, code: int = 0, retry_after: float | None = None) -> ApiError:
        details = status.get("details") or {}
        causes = tuple(str(c.get("reason", "")) for c in details.get("causes") or () if isinstance(c, dict))
        return cls(
            int(status.get("code") or code),
            str(status.get("reason", "")),
            str(status.get("message", "")),
            retry_after,
            causes,
        )

    @property
    def expired(self) -> bool:
        """410 Gone/Expired: the resourceVersion or continue token is too old (client-go ``isExpiredError``)."""
        return self.code == 410 or self.reason in ("Expired", "Gone")

    @property
    def too_large_resource_version(self) -> bool:
        """The server has not reached the requested resourceVersion yet (504 ``ResourceVersionTooLarge`` cause)."""
        return self.code == 504 and (
            "ResourceVersionTooLarge" in self.causes or "Too large resource version" in self.message
        )


class TransportError(Exception):
    """The request never got an answer: the connection failed or timed out."""


@dataclass
class ListPage:
    items: list[Object]
    resource_version: str
    continue_token: str = ""


@dataclass
class WatchEvent:
    """One watch event: ``type`` is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR (``object`` is then a Status)."""

    type: str
    object: Object = field(default_factory=dict)


class ListerWatcher(Protocol):
    """Lists and watches one resource in one scope (all namespaces or one; optionally a label selector)."""

    @property
    def namespace(self) -> str | None:
        """The one namespace read, or ``None`` for all namespaces (or a cluster-scoped resource)."""
        ...

    async def list(self, *, resource_version: str, limit: int, continue_token: str) -> ListPage:
        """One page of the collection; raises :class:`ApiError` or :class:`TransportError`."""
        ...

    def watch(
        self, *, resource_version: str, timeout_seconds: int
    ) -> AbstractAsyncContextManager[AsyncIterator[WatchEvent]]:
        """Open a watch with bookmarks from ``resource_version``: entering raises :class:`ApiError` for an error
        answer and :class:`TransportError` when the server cannot be reached; iterating yields events until the
        server ends the stream (normally, by timeout, or by breaking the connection)."""
        ...


@dataclass(frozen=True)
class ResourceScope:
    """Which collection to read: a group/version/plural, a namespace (``None`` = all) and a label selector."""

    group: str
    version: str
    plural: str
    namespace: str | None = None
    label_selector: str = ""

    @property
    def path(self) -> str:
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        ns = f"/namespaces/{self.namespace}" if self.namespace else ""
        return f"{base}{ns}/{self.plural}"


class ApiListerWatcher:
    """:class:`ListerWatcher` over a kubernetes_asyncio ``ApiClient`` (see the module docstring).

    ``request_timeout`` bounds each list request; a watch is bounded by its ``timeoutSeconds`` plus
    ``request_timeout`` of slack (the server ends it first unless the connection is dead).
    """

    def __init__(self, api: ApiClient, scope: ResourceScope, *, request_timeout: float = 60.0) -> None:
        self._api = api
        self.scope = scope
        self._request_timeout = request_timeout

    @property
    def namespace(self) -> str | None:
        return self.scope.namespace

    async def list(self, *, resource_version: str, limit: int, continue_token: str) -> ListPage:
        query: Query = []
        if continue_token:
            query.append(("continue", continue_token))
        elif resource_version:
            query.append(("resourceVersion", resource_version))
        if limit:
            query.append(("limit", str(limit)))
        if self.scope.label_selector:
            query.append(("labelSelector", self.scope.label_selector))
        async with self._request(query, aiohttp.ClientTimeout(total=self._request_timeout)) as response:
            try:
                body: Object = json.loads(await response.read())
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise TransportError(f"list {self.scope.path}: {exc!r}") from exc
        items: list[Object] = body.get("items") or []
        kind = str(body.get("kind", ""))
        if kind.endswith("List"):
            item_kind, api_version = kind[: -len("List")], body.get("apiVersion")
            for item in items:
                if "kind" not in item:
                    item["apiVersion"] = api_version
                    item["kind"] = item_kind
        meta = body.get("metadata") or {}
        return ListPage(items, str(meta.get("resourceVersion", "")), str(meta.get("continue") or ""))

    @asynccontextmanager
    async def watch(self, *, resource_version: str, timeout_seconds: int) -> AsyncIterator[AsyncIterator[WatchEvent]]:
        query = [("watch", "true"), ("allowWatchBookmarks", "true"), ("timeoutSeconds", str(timeout_seconds))]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        if self.scope.label_selector:
            query.append(("labelSelector", self.scope.label_selector))
        timeout = aiohttp.ClientTimeout(total=timeout_seconds + self._request_timeout, sock_connect=30)
        async with self._request(query, timeout, reuse_connection=False) as response:
            yield _watch_events(response)

    @asynccontextmanager
    async def _request(
        self, query: Query, client_timeout: aiohttp.ClientTimeout, *, reuse_connection: bool = True
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """GET the scope's path; yields a 2xx response, raises for anything else.

        On exit the connection goes back to the pool, or is closed when ``reuse_connection`` is false (a watch
        left before its end cannot be reused).
        """
        try:
            response: aiohttp.ClientResponse = await self._api.call_api(
                self.scope.path,
                "GET",
                query_params=query,
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=client_timeout,
            )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise TransportError(f"GET {self.scope.path}: {exc!r}") from exc
        try:
            if response.status >= 300:
                raise await _error_of(response)
            yield response
        finally:
            if reuse_connection:
                response.release()
            else:
                response.close()


async def _error_of(response: aiohttp.ClientResponse) -> ApiError:
    retry_after: float | None = None
    header = response.headers.get("Retry-After")
    if header and header.isdigit():
        retry_after = float(header)
    try:
        status = json.loads(await response.read())
    except (ValueError, aiohttp.ClientError, TimeoutError):
        status = None
    if isinstance(status, dict) and status.get("kind") == "Status":
        return ApiError.from_status(status, response.status, retry_after)
    return ApiError(response.status, response.reason or "", "", retry_after)


async def _watch_events(response: aiohttp.ClientResponse) -> AsyncIterator[WatchEvent]:
    async for line in _watch_lines(response):
        try:
            event = json.loads(line)
        except ValueError:
            return  # an undecodable line (a stream cut mid-object): end the watch; the reflector resumes it
        yield WatchEvent(str(event.get("type", "")), event.get("object") or {})


async def _watch_lines(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The stream's newline-delimited JSON lines, of any length; a broken connection ends the stream."""
    parts: list[bytes] = []
    try:
        async for chunk in response.content.iter_any():
            parts.append(chunk)
            if b"\n" not in chunk:
                continue  # a line longer than this chunk: join once its end has come
            *lines, rest = b"".join(parts).split(b"\n")
            parts = [rest] if rest else []
            for line in lines:
                if line.strip():
                    yield line
    except (aiohttp.ClientError, TimeoutError):
        return  # a dropped connection or an expired client timeout ends the watch like a normal close
    tail = b"".join(parts)
    if tail.strip():
        yield tail
