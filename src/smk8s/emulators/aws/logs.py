"""Emulated CloudWatch Logs: log groups, streams and events as SageMaker jobs write them and clients read them.

Two faces:

- :class:`LogStore`, the state. Producers (the emulated SageMaker jobs) call :meth:`LogStore.put_log_events`,
  which creates the group and stream on demand; the control API shows :meth:`LogStore.snapshot`.
- ``OPERATIONS``: the ``Logs_20140328.*`` handlers (AWS JSON 1.1 members in, members out): CreateLogGroup,
  CreateLogStream, DescribeLogGroups, DescribeLogStreams, GetLogEvents, FilterLogEvents, PutLogEvents,
  DeleteLogGroup. The server validates requests against botocore's model first, so handlers only do the semantic
  checks the service does. Every timestamp is epoch **milliseconds** (the Logs model's ``Timestamp`` is a long).

Ordering and paging (the part clients such as ``kubectl smlogs`` depend on):

- Each event gets a store-wide ingestion sequence number ``seq``; events are kept sorted per stream by
  ``(timestamp, seq)``, which is the service's documented order (timestamp, then ingestion time, then request).
- Paging tokens encode *positions* in that order, never offsets, so events appended between pages neither shift a
  page nor get skipped or repeated. GetLogEvents tokens look like the service's (``f/<56 digits>/s``,
  ``b/<56 digits>/s``): a forward token means "events after this position", a backward token "events before it".
  A page that finds nothing returns the token it was given, which is how clients detect the end.
  FilterLogEvents tokens carry one position per stream already read, so a stream lagging behind the others (its
  new events older than the last event returned from another stream) is still read completely.

What differs from CloudWatch Logs (also in docs/emulators.md):

- Consistency is immediate: ``lastEventTimestamp``, ``storedBytes`` and searches see an event as soon as it is put
  (the service updates ``lastEventTimestamp`` "on an eventual consistency basis", and pages may be empty while more
  events exist; here a page is empty only when no event is left).
- FilterLogEvents omits ``nextToken`` as soon as no matching event is left *at the time of the call*; a follower
  starts a new search (``startTime`` = the last timestamp it saw, de-duplicating by ``eventId``) to see later
  events. GetLogEvents forward tokens can be polled for ever, as on the service.
- GetLogEvents: a token bounds the range and ``startFromHead`` chooses which end of it a page is taken from, so a
  forward token used with ``startFromHead`` false (the default) returns the *latest* events after the position and
  can skip some, which is the service's documented pitfall ("If you are using a previous nextForwardToken ... you
  must specify true for startFromHead").
- DescribeLogStreams ordered by LastEventTime pages by ``(lastEventTimestamp, name)``: a stream written between
  pages can move across the position and be listed twice or not at all (the service's order is eventually
  consistent, with the same hazard). Streams without events sort as if their last event were at 0.
- FilterLogEvents ignores ``logStreamNames`` that do not exist (not verified against the service).
- An event appended to a stream with a timestamp *before* a position a client already read past is not returned by
  that client's later pages (the service behaves the same for late events; emulated jobs never write them).
- Filter patterns: terms (substring, case-sensitive, all must match), ``"quoted phrases"``, ``?term`` (at least
  one of them), ``-term`` (exclusion) and ``%regex%`` (Python ``re`` syntax); JSON (``{ $.x = ... }``) and
  space-delimited (``[a, b]``) patterns answer InvalidParameterException. Unquoted terms may contain any
  non-space characters (the service asks for quotes around non-alphanumerics).
- ``storedBytes`` of a group is the uncompressed size (UTF-8 message + 26 bytes per event); a stream's is 0, as the
  service has reported since June 2019. ``searchedLogStreams`` is always empty, as the service has answered since
  May 2020; ``interleaved`` is ignored (always interleaved, as since June 2019).
- No retention, KMS, data protection, metric filters, subscriptions, Insights queries, cross-account observability,
  tag operations, ``unmask``, or token expiry after 24 hours. Messages marked "not verified" in the code are
  plausible texts for errors whose real wording could not be confirmed.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import heapq
import json
import re
import shlex
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any, NamedTuple

from smk8s.emulators.aws.errors import AwsError

if TYPE_CHECKING:
    from smk8s.emulators.aws.world import Handler, World

# Page bounds (GetLogEvents/FilterLogEvents documentation: "up to 1 MB of log events or up to 10,000 log events").
MAX_PAGE_BYTES = 1_048_576
MAX_EVENTS_PER_PAGE = 10_000
# Sizes as PutLogEvents counts them: "the sum of all event messages in UTF-8, plus 26 bytes for each log event".
EVENT_OVERHEAD_BYTES = 26
MAX_PUT_BATCH_BYTES = 1_048_576
DESCRIBE_DEFAULT_LIMIT = 50
# PutLogEvents: events more than 2 hours in the future or older than 14 days are rejected; a batch of valid events
# may not span more than 24 hours.
TOO_NEW_MS = 2 * 3600 * 1000
TOO_OLD_MS = 14 * 24 * 3600 * 1000
MAX_BATCH_SPAN_MS = 24 * 3600 * 1000
# FilterLogEvents with startFromHead=false "is supported only when startTime is on or after Jan 1, 2024".
DESCENDING_FILTER_MIN_START_MS = 1_704_067_200_000

_GET_TOKEN = re.compile(r"([fb])/(\d{20})(\d{36})/s")


class LogEvent(NamedTuple):
    """One stored event; tuples order by ``(timestamp, key)``, ``key`` = 2 x the store-wide ingestion sequence."""

    timestamp: int
    key: int
    ingestion_time: int
    message: str
    size: int  # UTF-8 bytes + 26, as the service counts an event

    @property
    def event_id(self) -> str:
        """A 56-digit id unique in the store, shaped like the service's."""
        return f"{self.timestamp:020d}{self.key:036d}"


# A position between events: (timestamp, odd number); events with a smaller (timestamp, key) lie before it.
Position = tuple[int, int]


def _sort_key(event: LogEvent) -> Position:
    return (event.timestamp, event.key)


def _after(event: LogEvent) -> Position:
    return (event.timestamp, event.key + 1)


def _before(event: LogEvent) -> Position:
    return (event.timestamp, event.key - 1)


def _at_time(timestamp_ms: int) -> Position:
    """The position before every event at ``timestamp_ms`` (keys are even and at least 2)."""
    return (timestamp_ms, 1)


@dataclass
class LogStream:
    """A log stream: events sorted by ``(timestamp, key)``."""

    name: str
    creation_time: int
    events: list[LogEvent] = field(default_factory=list)
    last_ingestion_time: int | None = None
    uploads: int = 0

    def index(self, position: Position) -> int:
        """How many events lie before ``position``."""
        return bisect.bisect_left(self.events, position, key=_sort_key)

    @property
    def stored_bytes(self) -> int:
        return sum(event.size for event in self.events)

    @property
    def upload_sequence_token(self) -> str:
        """A 56-digit sequence token that changes with every upload (the service ignores them since 2023)."""
        return f"49{self.uploads:054d}"


@dataclass
class LogGroup:
    name: str
    creation_time: int
    log_group_class: str = "STANDARD"
    kms_key_id: str | None = None
    deletion_protection: bool | None = None
    tags: dict[str, str] = field(default_factory=dict)
    streams: dict[str, LogStream] = field(default_factory=dict)
    stored_bytes: int = 0


class LogStore:
    """Every log group of the emulated account and region.

    ``now`` gives the virtual epoch seconds used as ingestion and creation time for producers' events (pass the
    world clock's ``now``); without it, a producer's batch is ingested at its latest event timestamp. Handlers
    pass the request's instant explicitly.
    """

    def __init__(self, now: Callable[[], float] | None = None) -> None:
        self.groups: dict[str, LogGroup] = {}
        self._now = now
        self._seq = 0

    # -- producers -------------------------------------------------------------------------------------------------

    def put_log_events(self, group: str, stream: str, events: Sequence[tuple[int, str]]) -> None:
        """Append ``(timestamp_ms, message)`` events to ``group``/``stream``, creating either on demand.

        Events may come in any order; each stream stays sorted by timestamp (ties keep ingestion order). No
        PutLogEvents limits apply: this is the emulated service writing its own logs.
        """
        if self._now is not None:
            now_ms = int(self._now() * 1000)
        else:
            now_ms = max((timestamp for timestamp, _ in events), default=0)
        log_group = self.groups.get(group) or self.create_group(group, now_ms)
        log_stream = log_group.streams.get(stream) or self.create_stream(log_group, stream, now_ms)
        self.append(log_group, log_stream, events, now_ms)

    # -- state -----------------------------------------------------------------------------------------------------

    def create_group(self, name: str, now_ms: int, *, log_group_class: str = "STANDARD",
                     kms_key_id: str | None = None, deletion_protection: bool | None = None,
                     tags: Mapping[str, str] | None = None) -> LogGroup:
        if name in self.groups:
            raise AwsError("ResourceAlreadyExistsException", "The specified log group already exists")
        group = LogGroup(name, now_ms, log_group_class, kms_key_id, deletion_protection, dict(tags or {}))
        self.groups[name] = group
        return group

    def create_stream(self, group: LogGroup, name: str, now_ms: int) -> LogStream:
        if name in group.streams:
            raise AwsError("ResourceAlreadyExistsException", "The specified log stream already exists")
        stream = LogStream(name, now_ms)
        group.streams[name] = stream
        return stream

    def group(self, name: str) -> LogGroup:
        try:
            return self.groups[name]
        except KeyError:
            raise _group_not_found() from None

    def stream(self, group: LogGroup, name: str) -> LogStream:
        try:
            return group.streams[name]
        except KeyError:
            raise AwsError("ResourceNotFoundException", "The specified log stream does not exist.") from None

    def delete_group(self, name: str) -> None:
        self.group(name)
        del self.groups[name]

    def append(self, group: LogGroup, stream: LogStream, events: Sequence[tuple[int, str]], now_ms: int) -> None:
        """Store ``events`` (already accepted) as one upload ingested at ``now_ms``."""
        for timestamp, message in events:
            self._seq += 1
            event = LogEvent(timestamp, 2 * self._seq, now_ms, message,
                             len(message.encode()) + EVENT_OVERHEAD_BYTES)
            if not stream.events or _sort_key(stream.events[-1]) < _sort_key(event):
                stream.events.append(event)
            else:
                bisect.insort(stream.events, event, key=_sort_key)
            group.stored_bytes += event.size
        stream.uploads += 1
        if events:
            stream.last_ingestion_time = now_ms

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able summary for the control API: groups, streams, event counts and time ranges (no messages)."""
        return {"logGroups": [
            {
                "logGroupName": group.name,
                "creationTime": group.creation_time,
                "storedBytes": group.stored_bytes,
                "logStreams": [
                    {
                        "logStreamName": stream.name,
                        "creationTime": stream.creation_time,
                        "events": len(stream.events),
                        "firstEventTimestamp": stream.events[0].timestamp if stream.events else None,
                        "lastEventTimestamp": stream.events[-1].timestamp if stream.events else None,
                        "lastIngestionTime": stream.last_ingestion_time,
                    }
                    for stream in sorted(group.streams.values(), key=lambda s: s.name)
                ],
            }
            for group in sorted(self.groups.values(), key=lambda g: g.name)
        ]}


# -- errors ------------------------------------------------------------------------------------------------------


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


def _group_not_found() -> AwsError:
    return AwsError("ResourceNotFoundException", "The specified log group does not exist.")


def _invalid_token() -> AwsError:
    # As the service answers (boto/boto3#1467).
    return _invalid("The specified nextToken is invalid.")


# -- pure paging logic -------------------------------------------------------------------------------------------


def encode_get_token(direction: str, position: Position) -> str:
    """``f/<56 digits>/s`` or ``b/...``: the service's token shape, here the position's timestamp and key."""
    timestamp, key = position
    return f"{direction}/{timestamp:020d}{key:036d}/s"


def decode_get_token(token: str) -> tuple[str, Position]:
    match = _GET_TOKEN.fullmatch(token)
    if match is None or int(match.group(3)) % 2 == 0:
        raise _invalid_token()
    return match.group(1), (int(match.group(2)), int(match.group(3)))


def _take(events: Sequence[LogEvent], lo: int, hi: int, limit: int, from_head: bool) -> tuple[int, int]:
    """The index range of at most ``limit`` events (and at most 1 MB, at least one event) at one end of lo..hi."""
    budget = MAX_PAGE_BYTES
    count = 0
    indexes = range(lo, hi) if from_head else range(hi - 1, lo - 1, -1)
    for index in indexes:
        size = events[index].size
        if count >= limit or (count and size > budget):
            break
        budget -= size
        count += 1
    return (lo, lo + count) if from_head else (hi - count, hi)


@dataclass(frozen=True)
class EventsPage:
    events: list[LogEvent]
    forward_token: str
    backward_token: str


def get_events_page(stream: LogStream, *, start_time: int | None, end_time: int | None, token: str | None,
                    start_from_head: bool, limit: int) -> EventsPage:
    """GetLogEvents on one stream (see the module docstring for the token semantics).

    The window is ``start_time <= timestamp < end_time``; a forward token keeps events after its position, a
    backward one events before; the page is taken from the head of what is left when ``start_from_head`` else from
    its tail. An empty page returns the given token (and the opposite token at the same position).
    """
    events = stream.events
    lo = stream.index(_at_time(start_time)) if start_time is not None else 0
    hi = stream.index(_at_time(end_time)) if end_time is not None else len(events)
    anchor: Position = _at_time(start_time or 0)
    if token is not None:
        direction, anchor = decode_get_token(token)
        if direction == "f":
            lo = max(lo, stream.index(anchor))
        else:
            hi = min(hi, stream.index(anchor))
    if lo >= hi:
        return EventsPage([], encode_get_token("f", anchor), encode_get_token("b", anchor))
    first, stop = _take(events, lo, hi, limit, start_from_head)
    page = events[first:stop]
    return EventsPage(page, encode_get_token("f", _after(page[-1])), encode_get_token("b", _before(page[0])))


# A filter cursor per stream: the position of the last event returned from it.
Cursors = dict[str, Position]


def encode_filter_token(ascending: bool, cursors: Cursors) -> str:
    body = json.dumps({"v": 1, "a": ascending, "c": cursors}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_filter_token(token: str) -> tuple[bool, Cursors]:
    try:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        ascending = body["a"]
        cursors = {str(name): (int(pos[0]), int(pos[1])) for name, pos in body["c"].items()}
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError, IndexError):
        raise _invalid_token() from None
    if body.get("v") != 1 or not isinstance(ascending, bool) or any(p[1] % 2 == 0 for p in cursors.values()):
        raise _invalid_token()
    return ascending, cursors


@dataclass(frozen=True)
class FilterPage:
    events: list[tuple[str, LogEvent]]  # (stream name, event) in page order
    next_token: str | None


def filter_events_page(streams: Sequence[LogStream], *, start_time: int | None, end_time: int | None,
                       matches: Callable[[str], bool], token: str | None, ascending: bool,
                       limit: int) -> FilterPage:
    """FilterLogEvents over ``streams``: matching events with ``start_time <= timestamp <= end_time``, merged in
    ``(timestamp, ingestion)`` order (newest first unless ``ascending``), at most ``limit`` and 1 MB.

    The token remembers, per stream, the last event returned from it; the next page continues each stream from
    there. ``next_token`` is None when no matching event is left.
    """
    cursors: Cursors = {}
    if token is not None:
        ascending, cursors = decode_filter_token(token)

    def walk(stream: LogStream) -> Iterator[tuple[int, int, str, LogEvent]]:
        events = stream.events
        lo = stream.index(_at_time(start_time)) if start_time is not None else 0
        hi = stream.index(_at_time(end_time + 1)) if end_time is not None else len(events)
        cursor = cursors.get(stream.name)
        if cursor is not None:
            if ascending:
                lo = max(lo, stream.index(cursor))
            else:
                hi = min(hi, stream.index(cursor))
        indexes = range(lo, hi) if ascending else range(hi - 1, lo - 1, -1)
        for index in indexes:
            event = events[index]
            if matches(event.message):
                yield event.timestamp, event.key, stream.name, event

    merged = heapq.merge(*(walk(stream) for stream in streams), reverse=not ascending)
    page: list[tuple[str, LogEvent]] = []
    budget = MAX_PAGE_BYTES
    more = False
    for _, _, name, event in merged:
        if len(page) >= limit or (page and event.size > budget):
            more = True
            break
        budget -= event.size
        page.append((name, event))
    if not more:
        return FilterPage(page, None)
    for name, event in page:
        cursors[name] = _after(event) if ascending else _before(event)
    return FilterPage(page, encode_filter_token(ascending, cursors))


# -- filter patterns ---------------------------------------------------------------------------------------------


def compile_filter_pattern(pattern: str) -> Callable[[str], bool]:
    """A predicate on messages for the supported subset of the filter pattern syntax (module docstring)."""
    text = pattern.strip()
    if not text:
        return lambda message: True
    if len(text) >= 2 and text.startswith("%") and text.endswith("%"):
        try:
            regex = re.compile(text[1:-1])
        except re.error:
            raise _invalid(f"Invalid regex in filter pattern: {text}") from None  # not verified
        return lambda message: regex.search(message) is not None
    if text[0] in "{[":
        raise _invalid("JSON and space-delimited filter patterns are not supported by the emulator")
    try:
        lexer = shlex.shlex(text, posix=True)
        lexer.whitespace_split = True
        lexer.quotes = '"'
        lexer.escape = "\\"
        lexer.escapedquotes = '"'
        words = list(lexer)
    except ValueError:
        raise _invalid(f"Invalid filter pattern: {text}") from None  # not verified
    required: list[str] = []
    optional: list[str] = []
    excluded: list[str] = []
    for word in words:
        if word.startswith("?") and len(word) > 1:
            optional.append(word[1:])
        elif word.startswith("-") and len(word) > 1:
            excluded.append(word[1:])
        else:
            required.append(word)

    def matches(message: str) -> bool:
        return (all(term in message for term in required)
                and not any(term in message for term in excluded)
                and (not optional or any(term in message for term in optional)))

    return matches


# -- handlers ----------------------------------------------------------------------------------------------------


def _now_ms(world: World) -> int:
    return int(world.clock.now() * 1000)


def _group_arn(world: World, name: str) -> str:
    return world.arn("logs", f"log-group:{name}")


def _group_from_request(world: World, request: Mapping[str, Any]) -> LogGroup:
    """The group named by ``logGroupName`` or ``logGroupIdentifier`` (a name or an ARN, with or without ``:*``)."""
    name = request.get("logGroupName")
    identifier = request.get("logGroupIdentifier")
    if name is not None and identifier is not None:
        raise _invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.")  # not verified
    if name is None and identifier is None:
        raise _invalid("Either the logGroupName or the logGroupIdentifier must be specified.")  # not verified
    if name is None:
        assert identifier is not None
        if identifier.startswith("arn:"):
            arn = identifier.removesuffix(":*")
            prefix = _group_arn(world, "")
            if not arn.startswith(prefix):
                raise _group_not_found()
            name = arn[len(prefix):]
        else:
            name = identifier
    return world.logs.group(name)


def create_log_group(world: World, request: dict[str, Any]) -> dict[str, Any]:
    name: str = request["logGroupName"]
    if name.startswith("aws/"):
        # "Log group names can't start with the string aws/" (CreateLogGroup documentation).
        raise _invalid("Log group names starting with 'aws/' are reserved.")  # not verified
    world.logs.create_group(name, _now_ms(world), log_group_class=request.get("logGroupClass", "STANDARD"),
                            kms_key_id=request.get("kmsKeyId"),
                            deletion_protection=request.get("deletionProtectionEnabled"),
                            tags=request.get("tags"))
    return {}


def create_log_stream(world: World, request: dict[str, Any]) -> dict[str, Any]:
    group = world.logs.group(request["logGroupName"])
    world.logs.create_stream(group, request["logStreamName"], _now_ms(world))
    return {}


def delete_log_group(world: World, request: dict[str, Any]) -> dict[str, Any]:
    group = world.logs.group(request["logGroupName"])
    if group.deletion_protection:
        raise AwsError("ValidationException", "Deletion protection is enabled for this log group.")  # not verified
    world.logs.delete_group(group.name)
    return {}


def _describe_group(world: World, group: LogGroup, *, brief: bool) -> dict[str, Any]:
    described: dict[str, Any] = {
        "logGroupName": group.name,
        "creationTime": group.creation_time,
        "arn": _group_arn(world, group.name) + ":*",
    }
    if brief:  # "If you specify logGroupNamePattern ... only arn, creationTime, and logGroupName are included"
        return described
    described.update({
        "metricFilterCount": 0,
        "storedBytes": group.stored_bytes,
        "logGroupClass": group.log_group_class,
        "logGroupArn": _group_arn(world, group.name),
    })
    if group.kms_key_id is not None:
        described["kmsKeyId"] = group.kms_key_id
    if group.deletion_protection is not None:
        described["deletionProtectionEnabled"] = group.deletion_protection
    return described


def describe_log_groups(world: World, request: dict[str, Any]) -> dict[str, Any]:
    """ASCII-sorted by name; the token is the last name returned (the service's tokens are group names too)."""
    prefix = request.get("logGroupNamePrefix")
    pattern = request.get("logGroupNamePattern")
    identifiers = request.get("logGroupIdentifiers")
    if prefix is not None and pattern is not None:
        raise _invalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")  # nv
    if identifiers is not None and (prefix is not None or pattern is not None):
        raise _invalid("logGroupIdentifiers cannot be combined with logGroupNamePrefix or logGroupNamePattern.")  # nv
    names = sorted(world.logs.groups)
    if prefix is not None:
        names = [name for name in names if name.startswith(prefix)]
    if pattern:
        names = [name for name in names if pattern in name]
    if identifiers is not None:
        wanted = {ident.removesuffix(":*").removeprefix(_group_arn(world, "")) for ident in identifiers}
        names = [name for name in names if name in wanted]
    if "logGroupClass" in request:
        names = [name for name in names if world.logs.groups[name].log_group_class == request["logGroupClass"]]
    token = request.get("nextToken")
    if token is not None:
        names = names[bisect.bisect_right(names, token):]
    limit = request.get("limit", DESCRIBE_DEFAULT_LIMIT)
    page = names[:limit]
    response: dict[str, Any] = {
        "logGroups": [_describe_group(world, world.logs.groups[name], brief=pattern is not None) for name in page]
    }
    if len(names) > limit:
        response["nextToken"] = page[-1]
    return response


def _describe_stream(world: World, group: LogGroup, stream: LogStream) -> dict[str, Any]:
    described: dict[str, Any] = {
        "logStreamName": stream.name,
        "creationTime": stream.creation_time,
        "arn": world.arn("logs", f"log-group:{group.name}:log-stream:{stream.name}"),
        "storedBytes": 0,  # "deprecated for log streams, and is always reported as zero" (since June 2019)
    }
    if stream.events:
        described["firstEventTimestamp"] = stream.events[0].timestamp
        described["lastEventTimestamp"] = stream.events[-1].timestamp
    if stream.last_ingestion_time is not None:
        described["lastIngestionTime"] = stream.last_ingestion_time
    if stream.uploads:
        described["uploadSequenceToken"] = stream.upload_sequence_token
    return described


def describe_log_streams(world: World, request: dict[str, Any]) -> dict[str, Any]:
    """Ordered by name or by ``(lastEventTimestamp, name)``; the token encodes the last stream's sort key."""
    group = _group_from_request(world, request)
    order = request.get("orderBy", "LogStreamName")
    prefix = request.get("logStreamNamePrefix")
    descending = bool(request.get("descending", False))
    if order == "LastEventTime" and prefix is not None:
        # The service's wording (turbot/steampipe-plugin-aws#1949).
        raise _invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")

    def sort_key(stream: LogStream) -> tuple[int, str]:
        if order == "LastEventTime":
            return (stream.events[-1].timestamp if stream.events else 0, stream.name)
        return (0, stream.name)

    streams = [s for s in group.streams.values() if prefix is None or s.name.startswith(prefix)]
    keyed = sorted(((sort_key(stream), stream) for stream in streams), key=lambda item: item[0],
                   reverse=descending)
    token = request.get("nextToken")
    if token is not None:
        last = _decode_streams_token(token, order, descending)
        keyed = [item for item in keyed if (item[0] < last if descending else item[0] > last)]
    limit = request.get("limit", DESCRIBE_DEFAULT_LIMIT)
    page = keyed[:limit]
    response: dict[str, Any] = {"logStreams": [_describe_stream(world, group, stream) for _, stream in page]}
    if len(keyed) > limit:
        response["nextToken"] = _encode_streams_token(page[-1][0], order, descending)
    return response


def _encode_streams_token(key: tuple[int, str], order: str, descending: bool) -> str:
    body = json.dumps({"o": order, "d": descending, "k": list(key)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def _decode_streams_token(token: str, order: str, descending: bool) -> tuple[int, str]:
    try:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        key = (int(body["k"][0]), str(body["k"][1]))
        same_query = body["o"] == order and body["d"] == descending
    except (binascii.Error, ValueError, KeyError, TypeError, IndexError):
        raise _invalid_token() from None
    if not same_query:
        raise _invalid_token()
    return key


def get_log_events(world: World, request: dict[str, Any]) -> dict[str, Any]:
    group = _group_from_request(world, request)
    stream = world.logs.stream(group, request["logStreamName"])
    page = get_events_page(stream, start_time=request.get("startTime"), end_time=request.get("endTime"),
                           token=request.get("nextToken"), start_from_head=bool(request.get("startFromHead", False)),
                           limit=request.get("limit", MAX_EVENTS_PER_PAGE))
    return {
        "events": [{"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time}
                   for e in page.events],
        "nextForwardToken": page.forward_token,
        "nextBackwardToken": page.backward_token,
    }


def filter_log_events(world: World, request: dict[str, Any]) -> dict[str, Any]:
    group = _group_from_request(world, request)
    names = request.get("logStreamNames")
    prefix = request.get("logStreamNamePrefix")
    if names is not None and prefix is not None:
        # The documented rule; the wording is not verified.
        raise _invalid("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
    start_time = request.get("startTime")
    ascending = bool(request.get("startFromHead", True))
    if not ascending and request.get("nextToken") is None and (start_time or 0) < DESCENDING_FILTER_MIN_START_MS:
        raise _invalid("startFromHead=false is supported only when startTime is on or after "  # not verified
                       "Jan 1, 2024 00:00:00 UTC.")
    if names is not None:
        streams = [group.streams[name] for name in dict.fromkeys(names) if name in group.streams]
    else:
        streams = [s for s in group.streams.values() if prefix is None or s.name.startswith(prefix)]
    page = filter_events_page(streams, start_time=start_time, end_time=request.get("endTime"),
                              matches=compile_filter_pattern(request.get("filterPattern", "")),
                              token=request.get("nextToken"), ascending=ascending,
                              limit=request.get("limit", MAX_EVENTS_PER_PAGE))
    response: dict[str, Any] = {
        "events": [{"logStreamName": name, "timestamp": e.timestamp, "message": e.message,
                    "ingestionTime": e.ingestion_time, "eventId": e.event_id} for name, e in page.events],
        "searchedLogStreams": [],  # "As of May 15, 2020, this parameter is no longer supported ... an empty list"
    }
    if page.next_token is not None:
        response["nextToken"] = page.next_token
    return response


def put_log_events(world: World, request: dict[str, Any]) -> dict[str, Any]:
    """PutLogEvents with the service's batch rules; too old / too new events are rejected, the rest stored."""
    group = world.logs.group(request["logGroupName"])
    stream = world.logs.stream(group, request["logStreamName"])
    batch: list[tuple[int, str]] = [(e["timestamp"], e["message"]) for e in request["logEvents"]]
    if any(later[0] < earlier[0] for earlier, later in pairwise(batch)):
        raise _invalid("Log events in a single PutLogEvents request must be in chronological order.")
    size = sum(len(message.encode()) + EVENT_OVERHEAD_BYTES for _, message in batch)
    if size > MAX_PUT_BATCH_BYTES:
        raise _invalid(f"Upload too large: {size} bytes exceeds limit of {MAX_PUT_BATCH_BYTES}")  # not verified
    now_ms = _now_ms(world)
    too_old = [i for i, (timestamp, _) in enumerate(batch) if timestamp < now_ms - TOO_OLD_MS]
    too_new = [i for i, (timestamp, _) in enumerate(batch) if timestamp > now_ms + TOO_NEW_MS]
    first = too_old[-1] + 1 if too_old else 0
    stop = too_new[0] if too_new else len(batch)
    accepted = batch[first:stop]
    if accepted and accepted[-1][0] - accepted[0][0] > MAX_BATCH_SPAN_MS:
        raise _invalid("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
    world.logs.append(group, stream, accepted, now_ms)
    response: dict[str, Any] = {"nextSequenceToken": stream.upload_sequence_token}
    rejected: dict[str, int] = {}
    if too_old:
        rejected["tooOldLogEventEndIndex"] = too_old[-1]
    if too_new:
        rejected["tooNewLogEventStartIndex"] = too_new[0]
    if rejected:
        response["rejectedLogEventsInfo"] = rejected
    return response


OPERATIONS: Mapping[str, Handler] = {
    "CreateLogGroup": create_log_group,
    "CreateLogStream": create_log_stream,
    "DeleteLogGroup": delete_log_group,
    "DescribeLogGroups": describe_log_groups,
    "DescribeLogStreams": describe_log_streams,
    "GetLogEvents": get_log_events,
    "FilterLogEvents": filter_log_events,
    "PutLogEvents": put_log_events,
}
