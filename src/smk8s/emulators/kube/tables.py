"""``meta.k8s.io/v1`` Table responses, as kube-apiserver renders them for ``kubectl get``.

kubectl asks for ``application/json;as=Table;v=v1;g=meta.k8s.io`` and prints the cells it gets back;
columns with ``priority > 0`` only show with ``-o wide`` (the server always sends the wide cells). Per kind:

* custom resources: ``Name`` plus the version's ``additionalPrinterColumns`` evaluated with Kubernetes
  JSONPath (apiextensions-apiserver ``registry/customresource/tableconvertor``), or ``Name`` + ``Age`` when it
  has none (``serveDefaultColumnsIfEmpty``). Missing values are ``None`` (kubectl prints ``<none>``);
  ``date`` columns are sent already humanised (``5m``), like every built-in age;
* built-ins with a printer in ``pkg/printers/internalversion/printers.go`` (namespaces, configmaps, secrets,
  serviceaccounts, leases, events, role bindings): those columns and cells;
* everything else (CRDs, roles, cluster roles, ...): the default convertor's ``Name`` + ``Created At``
  (``apiserver/pkg/registry/rest/table.go``), the latter an RFC 3339 timestamp.

Rows carry the object as ``includeObject`` asks: ``None`` (null), ``Metadata`` (default: a
``PartialObjectMetadata``) or ``Object`` (the object itself).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from smk8s.emulators.kube.jsonpath import JSONPathError, find, format_value, parse
from smk8s.emulators.kube.openapi import field_description
from smk8s.emulators.kube.resources import ResourceType

INCLUDE_OBJECT_VALUES = ("None", "Metadata", "Object")

_NAME_DESCRIPTION = field_description("V1ObjectMeta", "name")
_CREATION_DESCRIPTION = field_description("V1ObjectMeta", "creation_timestamp")
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def human_duration(duration: timedelta) -> str:
    """k8s.io/apimachinery/pkg/util/duration ``HumanDuration``: ~2-3 significant figures (``3m10s``,
    ``47h``, ``2d1h``, ``367d``, ``2y1d``); ``0s`` for up to 2s in the future, ``<invalid>`` beyond."""
    total = duration.total_seconds()
    seconds = int(total)  # truncates toward zero, as Go's int(d.Seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (``metav1.Time``) as an aware datetime; ``None`` if absent or not RFC 3339."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        return None
    text = value.upper().replace("Z", "+00:00")
    whole, _, fraction_and_zone = text.partition(".")
    if fraction_and_zone:  # Python accepts at most 6 fractional digits
        digits = re.match(r"\d+", fraction_and_zone)
        assert digits is not None
        text = f"{whole}.{digits.group(0)[:6].ljust(6, '0')}{fraction_and_zone[digits.end():]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def age(timestamp: Any, now: datetime) -> str:
    """``translateTimestampSince``: the humanised time since ``timestamp``, ``<unknown>`` when unset."""
    when = parse_time(timestamp)
    return "<unknown>" if when is None else human_duration(now - when)


def _column(
    name: str, type_: str, description: str, *, format_: str = "", priority: int = 0
) -> dict[str, Any]:
    """A ``TableColumnDefinition`` (all five fields are always present on the wire)."""
    return {"name": name, "type": type_, "format": format_, "description": description, "priority": priority}


def _name_column() -> dict[str, Any]:
    return _column("Name", "string", _NAME_DESCRIPTION, format_="name")


def _age_column() -> dict[str, Any]:
    return _column("Age", "string", _CREATION_DESCRIPTION)


Row = Callable[[dict[str, Any], datetime], list[Any]]


@dataclass(frozen=True)
class _Printer:
    columns: tuple[dict[str, Any], ...]
    row: Row


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _name(obj: dict[str, Any]) -> str:
    return str(_meta(obj).get("name", ""))


def _created(obj: dict[str, Any], now: datetime) -> str:
    return age(_meta(obj).get("creationTimestamp"), now)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _namespace_row(obj: dict[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), str(_dict(obj.get("status")).get("phase", "")), _created(obj, now)]


def _configmap_row(obj: dict[str, Any], now: datetime) -> list[Any]:
    count = len(_dict(obj.get("data"))) + len(_dict(obj.get("binaryData")))
    return [_name(obj), count, _created(obj, now)]


def _secret_row(obj: dict[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), str(obj.get("type", "")), len(_dict(obj.get("data"))), _created(obj, now)]


def _serviceaccount_row(obj: dict[str, Any], now: datetime) -> list[Any]:
    secrets = obj.get("secrets")
    return [_name(obj), len(secrets) if isinstance(secrets, list) else 0, _created(obj, now)]


def _lease_row(obj: dict[str, Any], now: datetime) -> list[Any]:
    holder = _dict(obj.get("spec")).get("holderIdentity")
    return [_name(obj), holder if isinstance(holder, str) else "", _created(obj, now)]


def _subjects(obj: dict[str, Any]) -> tuple[str, str, str]:
    """rbac ``SubjectsStrings``: users, groups and ``namespace/name`` service accounts, comma-joined."""
    users: list[str] = []
    groups: list[str] = []
    accounts: list[str] = []
    for subject in obj.get("subjects") or []:
        if not isinstance(subject, dict):
            continue
        kind, name = subject.get("kind"), str(subject.get("name", ""))
        if kind == "ServiceAccount":
            accounts.append(f"{subject.get('namespace', '')}/{name}")
        elif kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
    return ", ".join(users), ", ".join(groups), ", ".join(accounts)


def _binding_row(obj: dict[str, Any], now: datetime) -> list[Any]:
    ref = _dict(obj.get("roleRef"))
    return [_name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}", _created(obj, now), *_subjects(obj)]


def _core_event_view(obj: dict[str, Any]) -> dict[str, Any]:
    """An ``events.k8s.io/v1`` Event in the shape of ``v1`` Event (both print through the core printer)."""
    if "regarding" not in obj and "note" not in obj and "deprecatedSource" not in obj:
        return obj
    return {
        "metadata": _meta(obj),
        "involvedObject": _dict(obj.get("regarding")),
        "message": obj.get("note", ""),
        "reason": obj.get("reason", ""),
        "type": obj.get("type", ""),
        "source": _dict(obj.get("deprecatedSource")),
        "firstTimestamp": obj.get("deprecatedFirstTimestamp"),
        "lastTimestamp": obj.get("deprecatedLastTimestamp"),
        "count": obj.get("deprecatedCount", 0),
        "eventTime": obj.get("eventTime"),
        "series": obj.get("series"),
        "reportingComponent": obj.get("reportingController", ""),
        "reportingInstance": obj.get("reportingInstance", ""),
    }


def _event_row(raw: dict[str, Any], now: datetime) -> list[Any]:
    """``printEvent`` (wide form): Last Seen, Type, Reason, Object, Subobject, Source, Message, First Seen,
    Count, Name."""
    obj = _core_event_view(raw)
    first_seen = age(obj.get("firstTimestamp"), now)
    if parse_time(obj.get("firstTimestamp")) is None:
        first_seen = age(obj.get("eventTime"), now)
    last_seen = age(obj.get("lastTimestamp"), now) if parse_time(obj.get("lastTimestamp")) else first_seen
    count = obj.get("count") or 0
    series = obj.get("series")
    if isinstance(series, dict):
        last_seen = age(series.get("lastObservedTime"), now)
        count = series.get("count") or 0
    elif count == 0:
        count = 1  # singleton events have no count in the events.k8s.io API
    involved = _dict(obj.get("involvedObject"))
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = _dict(obj.get("source"))
    component = source.get("component") or obj.get("reportingComponent") or ""
    host = source.get("host") or obj.get("reportingInstance") or ""
    return [last_seen, obj.get("type", ""), obj.get("reason", ""), target, involved.get("fieldPath", ""),
            f"{component}, {host}" if host else component, str(obj.get("message", "")).strip(), first_seen,
            int(count), _name(obj)]


def _event_columns() -> tuple[dict[str, Any], ...]:
    event = "CoreV1Event"
    return (
        _column("Last Seen", "string", field_description(event, "last_timestamp")),
        _column("Type", "string", field_description(event, "type")),
        _column("Reason", "string", field_description(event, "reason")),
        _column("Object", "string", field_description(event, "involved_object")),
        _column("Subobject", "string", field_description("V1ObjectReference", "field_path"), priority=1),
        _column("Source", "string", field_description(event, "source"), priority=1),
        _column("Message", "string", field_description(event, "message")),
        _column("First Seen", "string", field_description(event, "first_timestamp"), priority=1),
        _column("Count", "string", field_description(event, "count"), priority=1),
        _column("Name", "string", _NAME_DESCRIPTION, format_="name", priority=1),
    )


def _binding_columns(kind: str) -> tuple[dict[str, Any], ...]:
    binding = "roleBinding" if kind == "RoleBinding" else "clusterRoleBinding"
    return (
        _name_column(),
        _column("Role", "string", field_description(f"V1{kind}", "role_ref")),
        _age_column(),
        _column("Users", "string", f"Users in the {binding}", priority=1),
        _column("Groups", "string", f"Groups in the {binding}", priority=1),
        _column("ServiceAccounts", "string", f"ServiceAccounts in the {binding}", priority=1),
    )


def _builtin_printer(rt: ResourceType) -> _Printer | None:
    key = (rt.group, rt.plural)
    if key == ("", "namespaces"):
        status = _column("Status", "string", "The status of the namespace")
        return _Printer((_name_column(), status, _age_column()), _namespace_row)
    if key == ("", "configmaps"):
        data = _column("Data", "string", field_description("V1ConfigMap", "data"))
        return _Printer((_name_column(), data, _age_column()), _configmap_row)
    if key == ("", "secrets"):
        columns = (_name_column(), _column("Type", "string", field_description("V1Secret", "type")),
                   _column("Data", "string", field_description("V1Secret", "data")), _age_column())
        return _Printer(columns, _secret_row)
    if key == ("", "serviceaccounts"):
        secrets = _column("Secrets", "string", field_description("V1ServiceAccount", "secrets"))
        return _Printer((_name_column(), secrets, _age_column()), _serviceaccount_row)
    if key == ("coordination.k8s.io", "leases"):
        holder = _column("Holder", "string", field_description("V1LeaseSpec", "holder_identity"))
        return _Printer((_name_column(), holder, _age_column()), _lease_row)
    if key in (("", "events"), ("events.k8s.io", "events")):
        return _Printer(_event_columns(), _event_row)
    if rt.group == "rbac.authorization.k8s.io" and rt.plural in ("rolebindings", "clusterrolebindings"):
        return _Printer(_binding_columns(rt.kind), _binding_row)
    return None


def _default_printer() -> _Printer:
    """``rest.NewDefaultTableConvertor``: Name and the creation time as RFC 3339 (UTC)."""

    def row(obj: dict[str, Any], now: datetime) -> list[Any]:
        created = parse_time(_meta(obj).get("creationTimestamp"))
        if created is None:
            return [_name(obj), "0001-01-01T00:00:00Z"]
        return [_name(obj), created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")]

    return _Printer((_name_column(), _column("Created At", "date", _CREATION_DESCRIPTION)), row)


# --- custom resources --------------------------------------------------------------------------------------


def _custom_columns(rt: ResourceType) -> list[dict[str, Any]]:
    """The version's printer columns, or the default ``Age`` column (``serveDefaultColumnsIfEmpty``)."""
    if rt.printer_columns:
        return [dict(c) for c in rt.printer_columns]
    return [{"name": "Age", "type": "date", "description": _CREATION_DESCRIPTION,
             "jsonPath": ".metadata.creationTimestamp"}]


def cell_for_value(column_type: str, value: Any, now: datetime) -> Any:
    """``cellForJSONValue``: a JSONPath result as the column's type, or ``None`` where it does not fit."""
    if value is None:
        return None
    if column_type == "integer":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return int(value)
    if column_type == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value)
    if column_type == "boolean":
        return value if isinstance(value, bool) else None
    if column_type == "string":
        return value if isinstance(value, str) else None
    if column_type == "date":
        if not isinstance(value, str):
            return None
        if value in ("", "null"):
            return "<unknown>"
        when = parse_time(value)
        return "<invalid>" if when is None else human_duration(now - when)
    return None


def _custom_printer(rt: ResourceType) -> _Printer:
    """apiextensions ``tableconvertor.New``: columns stop at the first unparsable path, as upstream's do."""
    columns = [_name_column()]
    paths = []
    for spec in _custom_columns(rt):
        json_path = str(spec.get("jsonPath", ""))
        try:
            paths.append(parse(json_path))
        except JSONPathError:
            break
        description = (spec.get("description")
                       or f"Custom resource definition column (in JSONPath format): {json_path}")
        columns.append(_column(str(spec.get("name", "")), str(spec.get("type", "")), str(description),
                               format_=str(spec.get("format", "")), priority=int(spec.get("priority", 0))))

    def row(obj: dict[str, Any], now: datetime) -> list[Any]:
        cells: list[Any] = [_name(obj)]
        for column, path in zip(columns[1:], paths, strict=True):
            try:
                results = find(path, obj)
            except JSONPathError:
                results = []
            if not results:
                cells.append(None)
            elif column["type"] == "string":
                cells.append(format_value(results[0]))
            else:
                cells.append(cell_for_value(column["type"], results[0], now))
        return cells

    return _Printer(tuple(columns), row)


def _printer_for(rt: ResourceType) -> _Printer:
    if rt.is_custom:
        return _custom_printer(rt)
    return _builtin_printer(rt) or _default_printer()


def column_definitions(rt: ResourceType) -> list[dict[str, Any]]:
    """The ``columnDefinitions`` of ``rt``'s tables."""
    return [dict(c) for c in _printer_for(rt).columns]


def _row_object(obj: dict[str, Any], include_object: str) -> dict[str, Any] | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": _meta(obj)}


def to_table(
    rt: ResourceType,
    objects: Sequence[dict[str, Any]],
    *,
    include_object: str = "Metadata",
    list_meta: dict[str, Any] | None,
    now: datetime,
    no_headers: bool = False,
) -> dict[str, Any]:
    """A ``meta.k8s.io/v1`` Table of ``objects`` (all of type ``rt``, already in the requested version).

    ``list_meta`` is the list's metadata (``resourceVersion``, ``continue``, ``remainingItemCount`` carry
    over); pass ``None`` for a single-object GET, whose table takes the object's ``resourceVersion``.
    ``include_object`` is ``None`` | ``Metadata`` | ``Object``; ``no_headers`` (``TableOptions.noHeaders``)
    leaves ``columnDefinitions`` null. ``now`` is the reference time for ages (timezone-aware).
    """
    if include_object not in INCLUDE_OBJECT_VALUES:
        raise ValueError(f"includeObject must be one of {INCLUDE_OBJECT_VALUES}, got {include_object!r}")
    printer = _printer_for(rt)
    metadata: dict[str, Any] = {}
    if list_meta is not None:
        metadata = {k: list_meta[k] for k in ("resourceVersion", "continue", "remainingItemCount")
                    if list_meta.get(k) not in (None, "")}
    elif objects and _meta(objects[0]).get("resourceVersion"):
        metadata = {"resourceVersion": _meta(objects[0])["resourceVersion"]}
    rows = [{"cells": printer.row(obj, now), "object": _row_object(obj, include_object)} for obj in objects]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": None if no_headers else [dict(c) for c in printer.columns],
        "rows": rows,
    }
