"""Request parameters of the emulated API server: content negotiation, query flags and list/watch options.

Pure functions over an aiohttp request or its query mapping; the HTTP handlers (``server.py``) and the watch
stream (``watch.py``) share them.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from smk8s.emulators.kube import errors
from smk8s.emulators.kube.validation import forbidden_cause, not_supported_cause

JSON = "application/json"


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def accept_parts(request: web.Request) -> list[str]:
    return [p.strip().replace(" ", "") for p in request.headers.get("Accept", "").split(",")]


def wants_table(request: web.Request) -> bool:
    return any("as=Table" in p and "g=meta.k8s.io" in p for p in accept_parts(request))


def wants_partial_metadata(request: web.Request) -> bool:
    parts = accept_parts(request)
    return any("as=PartialObjectMetadata" in p for p in parts) and not wants_table(request)


def wants_aggregated(request: web.Request) -> bool:
    return any("as=APIGroupDiscoveryList" in p and "v=v2;" in p + ";" for p in accept_parts(request))


def include_object(request: web.Request) -> str:
    value = request.query.get("includeObject", "Metadata")
    if value not in ("None", "Metadata", "Object"):
        raise errors.bad_request(f"includeObject: unsupported value {value}")
    return value


def watch_timeout(query: dict[str, str]) -> float:
    text = query.get("timeoutSeconds")
    if not text:
        return 1800.0
    try:
        return max(float(int(text)), 0.0) or 1800.0
    except ValueError:
        raise errors.bad_request("timeoutSeconds must be an integer") from None


def query_bool(query: dict[str, str], key: str) -> bool:
    """A boolean query parameter as Go's ``strconv.ParseBool`` reads it (anything else is false here)."""
    return query.get(key, "") in ("1", "t", "T", "true", "TRUE", "True")


def parse_watch_rv(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise errors.bad_request(f"invalid resource version: {text}") from None


_CONTINUE_WITH_MATCH = forbidden_cause(
    "resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"
)


def validate_list_query(query: dict[str, str], *, watch: bool) -> None:
    """``ValidateListOptions`` after ``SetListOptionsDefaults`` with the WatchList feature on
    (k8s.io/apimachinery/pkg/apis/meta/internalversion/validation/validation.go): every problem in one
    422 Invalid for ``ListOptions.meta.k8s.io``, as the list/watch/deletecollection handlers return it."""
    match = query.get("resourceVersionMatch", "")
    rv = query.get("resourceVersion", "")
    has_continue = bool(query.get("continue", ""))
    has_send_initial = "sendInitialEvents" in query
    causes: list[errors.Cause] = []
    if watch:
        # SetListOptionsDefaults only fills sendInitialEvents/resourceVersionMatch for legacy watches, which are
        # valid either way, so it changes nothing here.
        if has_send_initial and match != "NotOlderThan":
            causes.append(
                forbidden_cause(
                    "resourceVersionMatch", "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
                )
            )
        if match:
            if not has_send_initial:
                causes.append(
                    forbidden_cause(
                        "resourceVersionMatch",
                        "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                    )
                )
            if match != "NotOlderThan":
                causes.append(not_supported_cause("resourceVersionMatch", match, ["NotOlderThan"]))
            if has_continue:
                causes.append(_CONTINUE_WITH_MATCH)
    else:
        if match:
            if not rv:
                causes.append(
                    forbidden_cause(
                        "resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided"
                    )
                )
            if has_continue:
                causes.append(_CONTINUE_WITH_MATCH)
            if match not in ("Exact", "NotOlderThan"):
                causes.append(not_supported_cause("resourceVersionMatch", match, ["Exact", "NotOlderThan", ""]))
            if match == "Exact" and rv == "0":
                causes.append(
                    forbidden_cause(
                        "resourceVersionMatch", 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'
                    )
                )
        if has_send_initial:
            causes.append(forbidden_cause("sendInitialEvents", "sendInitialEvents is forbidden for list"))
    if causes:
        raise errors.invalid("meta.k8s.io", "ListOptions", "", causes)
