"""Access to our custom resources as plain dicts, with writes that cannot clobber what they do not own.

:class:`CustomResourceClient` covers one group/version/plural. Its contracts:

- :meth:`~CustomResourceClient.patch_status` sends a merge patch to the ``/status`` subresource whose body holds
  only ``metadata.resourceVersion`` (taken from the object the caller read) and ``status``. The subresource ignores
  everything but status, and the resourceVersion is a precondition: if the object changed since it was read the
  server answers 409 Conflict instead of writing a status computed from stale state.
- :meth:`~CustomResourceClient.add_finalizer` / :meth:`~CustomResourceClient.remove_finalizer` merge-patch the
  whole finalizer list with the same resourceVersion precondition, so a finalizer another writer added or removed
  meanwhile is never lost (the write conflicts instead). They send nothing when there is nothing to change.
- :func:`retry_on_conflict` re-runs a read-modify-write function on 409, as client-go's ``retry.RetryOnConflict``
  with ``retry.DefaultRetry`` (5 attempts, 10 ms apart with 10 % jitter).

Errors are kubernetes_asyncio's ``ApiException``; :func:`is_conflict`, :func:`is_not_found` classify them.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from kubernetes_asyncio.client.exceptions import ApiException

from smk8s.clock import Clock, RealClock
from smk8s.kube.client import request_json

T = TypeVar("T")
Obj = dict[str, Any]

MERGE_PATCH = "application/merge-patch+json"
LIST_PAGE_SIZE = 500


def is_conflict(exc: BaseException) -> bool:
    return isinstance(exc, ApiException) and exc.status == 409


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, ApiException) and exc.status == 404


def is_already_exists(exc: BaseException) -> bool:
    return is_conflict(exc) and '"AlreadyExists"' in str(getattr(exc, "body", "") or "")


async def retry_on_conflict(
    fn: Callable[[], Awaitable[T]],
    *,
    steps: int = 5,
    interval: float = 0.010,
    jitter: float = 0.1,
    clock: Clock | None = None,
    rng: random.Random | None = None,
) -> T:
    """Run ``fn`` until it does not raise a 409 Conflict, at most ``steps`` times; the last conflict propagates.

    ``fn`` must re-read what it modifies on every call (a retry with the same stale object conflicts again).
    """
    waiter = clock or RealClock()
    pick = rng or random.Random()
    for attempt in range(1, steps + 1):
        try:
            return await fn()
        except ApiException as exc:
            if not is_conflict(exc) or attempt == steps:
                raise
        await waiter.sleep(interval * (1 + pick.random() * jitter))
    raise AssertionError("unreachable")


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta: Mapping[str, Any] = obj.get("metadata") or {}
    return meta


class CustomResourceClient:
    """Reads and writes of one custom resource type (``group/version/plural``), as plain dicts (module contracts).

    Objects passed to the write methods are the caller's last read: their namespace, name and resourceVersion
    address and guard the write. Every method is a coroutine; none keeps state between calls.
    """

    def __init__(self, api: Any, group: str, version: str, plural: str, *, namespaced: bool = True) -> None:
        self.api = api
        self.group = group
        self.version = version
        self.plural = plural
        self.namespaced = namespaced

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        parts = [f"/apis/{self.group}/{self.version}"]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{quote(namespace, safe='')}")
        parts.append(self.plural)
        if name is not None:
            parts.append(quote(name, safe=""))
            if subresource:
                parts.append(subresource)
        return "/".join(parts)

    async def get(self, namespace: str, name: str) -> Obj:
        obj: Obj = await request_json(self.api, "GET", self.path(namespace, name))
        return obj

    async def list(self, namespace: str | None = None, *, label_selector: str = "") -> list[Obj]:
        """Every object (in ``namespace``, or all namespaces), fetched in pages of 500."""
        items: list[Obj] = []
        token = ""
        while True:
            query = [("limit", str(LIST_PAGE_SIZE))]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if token:
                query.append(("continue", token))
            page = await request_json(self.api, "GET", self.path(namespace), query=query)
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    async def create(self, obj: Mapping[str, Any]) -> Obj:
        namespace = _meta(obj).get("namespace")
        created: Obj = await request_json(self.api, "POST", self.path(namespace), body=dict(obj))
        return created

    async def patch(
        self, namespace: str, name: str, patch: Mapping[str, Any], *, resource_version: str | None = None
    ) -> Obj:
        """Merge-patch the object (not its status); with ``resource_version``, only if it is still that version."""
        body = dict(patch)
        if resource_version is not None:
            body["metadata"] = {**(body.get("metadata") or {}), "resourceVersion": resource_version}
        patched: Obj = await request_json(
            self.api, "PATCH", self.path(namespace, name), body=body, content_type=MERGE_PATCH
        )
        return patched

    async def patch_status(self, obj: Mapping[str, Any], status: Mapping[str, Any]) -> Obj:
        """Merge ``status`` into the object's status (a ``None`` value deletes a field) if ``obj`` is current.

        Raises 409 Conflict when the object changed since ``obj`` was read (use :func:`retry_on_conflict` with a
        fresh read). The body carries nothing but the resourceVersion and status, so spec cannot change.
        """
        meta = _meta(obj)
        body = {"metadata": {"resourceVersion": _require_rv(obj)}, "status": dict(status)}
        patched: Obj = await request_json(
            self.api,
            "PATCH",
            self.path(meta.get("namespace"), meta["name"], "status"),
            body=body,
            content_type=MERGE_PATCH,
        )
        return patched

    async def add_finalizer(self, obj: Mapping[str, Any], finalizer: str) -> Obj:
        """``obj`` with ``finalizer`` added (no request when it is already there); 409 if ``obj`` is stale."""
        current = list(_meta(obj).get("finalizers") or [])
        if finalizer in current:
            return dict(obj)
        return await self._set_finalizers(obj, [*current, finalizer])

    async def remove_finalizer(self, obj: Mapping[str, Any], finalizer: str) -> Obj:
        """``obj`` without ``finalizer`` (no request when it is absent); 409 if ``obj`` is stale."""
        current = list(_meta(obj).get("finalizers") or [])
        if finalizer not in current:
            return dict(obj)
        return await self._set_finalizers(obj, [f for f in current if f != finalizer])

    async def _set_finalizers(self, obj: Mapping[str, Any], finalizers: Sequence[str]) -> Obj:
        meta = _meta(obj)
        body = {"metadata": {"resourceVersion": _require_rv(obj), "finalizers": list(finalizers) or None}}
        patched: Obj = await request_json(
            self.api, "PATCH", self.path(meta.get("namespace"), meta["name"]), body=body, content_type=MERGE_PATCH
        )
        return patched


def _require_rv(obj: Mapping[str, Any]) -> str:
    rv = _meta(obj).get("resourceVersion")
    if not rv:
        raise ValueError("the object has no metadata.resourceVersion: pass an object read from the server")
    return str(rv)
