"""Resources served by two APIs over one storage: ``events.k8s.io/v1`` Events are core ``v1`` Events.

kube-apiserver stores Events once (``/registry/events``) and serves them through both ``/api/v1/.../events`` and
``/apis/events.k8s.io/v1/.../events``, converting field names (``k8s.io/kubernetes/pkg/apis/events/v1``
conversion.go): an Event recorded through events.k8s.io -- as our manager's recorder does -- shows in
``kubectl describe`` and ``kubectl get events``, which read core Events. The emulator stores the core form;
:func:`to_storage` converts what a client sent through an aliasing resource, :func:`from_storage` what it reads.
Both are pure and keep every field they do not rename.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EVENTS = ("", "events")

# events.k8s.io/v1 name -> core/v1 name (the others -- eventTime, series, action, reason, related,
# reportingInstance, type -- are the same in both).
_EVENT_RENAMES: dict[str, str] = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
    "reportingController": "reportingComponent",
}
_CORE_TO_EVENTS = {core: events for events, core in _EVENT_RENAMES.items()}
# Core fields Go serialises even when empty (non-pointer structs and times), as a core read shows them.
_CORE_ALWAYS: dict[str, Any] = {"involvedObject": {}, "source": {}, "firstTimestamp": None, "lastTimestamp": None,
                                "eventTime": None, "reportingComponent": "", "reportingInstance": ""}


def to_storage(group: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """``obj`` as written through an API of ``group``, in its stored (core) form."""
    if group != "events.k8s.io":
        return dict(obj)
    stored: dict[str, Any] = {_EVENT_RENAMES.get(k, k): v for k, v in obj.items()}
    for key, empty in _CORE_ALWAYS.items():
        stored.setdefault(key, empty)
    stored.update(apiVersion="v1", kind="Event")
    return stored


def from_storage(group: str, version: str, kind: str, stored: Mapping[str, Any]) -> dict[str, Any]:
    """The stored (core) object as read through ``group/version``: fields renamed, empty deprecated ones omitted
    (``omitempty`` in events.k8s.io/v1)."""
    api_version = f"{group}/{version}" if group else version
    if group != "events.k8s.io":
        return {**stored, "apiVersion": api_version}
    shown: dict[str, Any] = {}
    for key, value in stored.items():
        name = _CORE_TO_EVENTS.get(key, key)
        if name.startswith("deprecated") and value in (None, {}, 0, ""):
            continue
        if name in ("reportingController", "reportingInstance") and value in (None, ""):
            continue
        shown[name] = value
    shown.update(apiVersion=api_version, kind=kind)
    return shown
