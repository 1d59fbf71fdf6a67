"""Watch streams: the initial events, the replay from a resourceVersion, live events, bookmarks and timeouts.

:class:`WatchStreamer` serves one watch request over a chunked HTTP response, as kube-apiserver's watch handler
and cacher do: from ``""``/``"0"`` (synthetic ADDED events, unless ``sendInitialEvents=false``), or from a
resourceVersion (replayed from the store's bounded history; older than the history → one ERROR event with a 410
Status), then live events until ``timeoutSeconds``, a server-side close or the client going away. Objects that
start or stop matching the selectors are delivered as ADDED / DELETED. BOOKMARKs are sent every
``bookmark_interval`` seconds when the client allows them, and once 2 s before ``timeoutSeconds`` ends the watch
(:func:`next_bookmark_time`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from smk8s.emulators.kube import errors, tables
from smk8s.emulators.kube.api import ObjectAPI
from smk8s.emulators.kube.params import (
    JSON,
    dumps,
    include_object,
    parse_watch_rv,
    query_bool,
    validate_list_query,
    wants_table,
    watch_timeout,
)
from smk8s.emulators.kube.resources import ResourceType
from smk8s.emulators.kube.selectors import FieldSelector, LabelSelector, check_field_labels, object_fields
from smk8s.emulators.kube.store import Store, StoredEvent, Watcher

# cacheWatcher.nextBookmarkTime sends a bookmark this long before the watch's deadline.
PRE_TIMEOUT_BOOKMARK_SECONDS = 2.0


def next_bookmark_time(now: float, deadline: float, interval: float) -> float | None:
    """When a watch allowing bookmarks gets its next BOOKMARK, or None for no more (k8s.io/apiserver
    pkg/storage/cacher/cache_watcher.go ``nextBookmarkTime``): every ``interval`` seconds, or 2 s before the
    ``deadline`` (timeoutSeconds) when that is earlier, so the client resumes from the freshest revision;
    none once that moment has passed."""
    heartbeat = now + interval
    heartbeat = min(heartbeat, deadline - PRE_TIMEOUT_BOOKMARK_SECONDS)
    if heartbeat < now:
        return None
    return heartbeat


class WatchStreamer:
    """Serves watch requests against one store (see the module docstring). Owned by the server."""

    def __init__(self, store: Store, api: ObjectAPI, bookmark_interval: float) -> None:
        self.store = store
        self.api = api
        self.bookmark_interval = bookmark_interval

    async def serve(
        self, request: web.Request, rt: ResourceType, namespace: str, name: str, query: dict[str, str]
    ) -> web.StreamResponse:
        labels = LabelSelector.parse(query.get("labelSelector", ""))
        field_text = query.get("fieldSelector", "")
        if name:
            field_text = ",".join(p for p in (field_text, f"metadata.name={name}") if p)
        fields = FieldSelector.parse(field_text)
        check_field_labels(fields, rt)
        validate_list_query(query, watch=True)
        bookmarks = query_bool(query, "allowWatchBookmarks")
        rv_text = query.get("resourceVersion", "")
        # Legacy watches (no sendInitialEvents) from ""/"0" start with synthetic ADDED events but, unlike a
        # watch-list request, end them with no "initial-events-end" bookmark.
        explicit_initial = "sendInitialEvents" in query
        send_initial = query_bool(query, "sendInitialEvents") if explicit_initial else rv_text in ("", "0")
        initial_end = explicit_initial and send_initial and bookmarks
        timeout = watch_timeout(query)
        as_table = wants_table(request)
        included = include_object(request)
        ns_filter = namespace if rt.namespaced and namespace else None

        def visible(obj: dict[str, Any] | None) -> bool:
            if obj is None:
                return False
            if ns_filter is not None and obj["metadata"].get("namespace") != ns_filter:
                return False
            return labels.matches(obj["metadata"].get("labels") or {}) and fields.matches(
                object_fields(self.api.present(rt, obj), rt.namespaced, rt.selectable_fields)
            )

        def encode(event_type: str, obj: dict[str, Any]) -> bytes:
            shown = self.api.present(rt, obj)
            if as_table and event_type in ("ADDED", "MODIFIED", "DELETED"):
                shown = tables.to_table(rt, [shown], include_object=included, list_meta=None, now=datetime.now(UTC))
            return (dumps({"type": event_type, "object": shown}) + "\n").encode()

        watcher = self.store.watch(rt.storage)
        response = web.StreamResponse(status=200, headers={"Content-Type": JSON, "Cache-Control": "no-cache"})
        response.enable_chunked_encoding()
        try:
            initial: list[bytes] = []
            if send_initial or rv_text in ("", "0"):
                start = self.store.revision
                if rv_text not in ("", "0") and parse_watch_rv(rv_text) > start:
                    raise errors.too_large_resource_version(parse_watch_rv(rv_text), start)
                if send_initial:
                    current = self.store.objects(rt.storage, ns_filter)
                    initial = [encode("ADDED", o) for o in current if visible(o)]
                if initial_end:
                    initial.append(self._bookmark(rt, start, initial_end=True))
            else:
                try:
                    start = int(rv_text)
                except ValueError:
                    raise errors.bad_request(f"invalid resource version: {rv_text}") from None
                try:
                    replay = self.store.events_after(rt.storage, start)
                except errors.APIError as gone:
                    await response.prepare(request)
                    await response.write((dumps({"type": "ERROR", "object": gone.to_status()}) + "\n").encode())
                    await response.write_eof()
                    return response
                for event in replay:
                    chunk = self._transform(event, visible, encode)
                    if chunk:
                        initial.append(chunk)
                if replay:
                    start = replay[-1].revision
            await response.prepare(request)
            if initial:
                await response.write(b"".join(initial))
            await self._stream(response, watcher, start, visible, encode, rt, bookmarks, timeout)
        except ConnectionError:
            return response  # the client went away (or the server is shutting down): nothing left to tell it
        finally:
            self.store.stop_watch(watcher)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await response.write_eof()
        return response

    async def _stream(
        self,
        response: web.StreamResponse,
        watcher: Watcher,
        start: int,
        visible: Callable[[dict[str, Any] | None], bool],
        encode: Callable[[str, dict[str, Any]], bytes],
        rt: ResourceType,
        bookmarks: bool,
        timeout_seconds: float,
    ) -> None:
        deadline = time.monotonic() + timeout_seconds
        next_bookmark = next_bookmark_time(time.monotonic(), deadline, self.bookmark_interval) if bookmarks else None
        last = start
        while True:
            now = time.monotonic()
            if now >= deadline:
                return
            wait = deadline - now
            if next_bookmark is not None:
                wait = min(wait, max(next_bookmark - now, 0))
            try:
                event = await asyncio.wait_for(watcher.queue.get(), timeout=wait)
            except TimeoutError:
                if next_bookmark is not None and time.monotonic() >= next_bookmark:
                    await response.write(self._bookmark(rt, max(last, self.store.revision)))
                    next_bookmark = next_bookmark_time(time.monotonic(), deadline, self.bookmark_interval)
                continue
            if event is None:
                return
            if event.revision <= last:
                continue
            last = event.revision
            chunk = self._transform(event, visible, encode)
            if chunk:
                await response.write(chunk)

    @staticmethod
    def _transform(
        event: StoredEvent,
        visible: Callable[[dict[str, Any] | None], bool],
        encode: Callable[[str, dict[str, Any]], bytes],
    ) -> bytes | None:
        """A store event as this watcher sees it: selector transitions turn into ADDED/DELETED (as the cacher)."""
        now_visible = event.type != "DELETED" and visible(event.obj)
        was_visible = visible(event.old)
        if event.type == "DELETED":
            return encode("DELETED", event.obj) if was_visible else None
        if now_visible and was_visible:
            return encode("MODIFIED", event.obj)
        if now_visible:
            return encode("ADDED", event.obj)
        if was_visible:
            return encode("DELETED", event.obj)
        return None

    def _bookmark(self, rt: ResourceType, revision: int, initial_end: bool = False) -> bytes:
        meta: dict[str, Any] = {"resourceVersion": str(revision), "creationTimestamp": None}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}
        return (dumps({"type": "BOOKMARK", "object": obj}) + "\n").encode()
