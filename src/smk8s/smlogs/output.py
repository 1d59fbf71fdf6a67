"""How events are printed (pure).

Text (the default), one line per event, fields separated by one space::

    [CHILD] STREAM TIMESTAMP MESSAGE

``[CHILD]`` only for a tuning job's training jobs (the child's SageMaker name); ``STREAM`` unless
``--hide-log-stream-name`` (as the original plugin); ``TIMESTAMP`` only with ``--timestamps`` (RFC 3339 in UTC with
milliseconds, as ``kubectl logs --timestamps`` puts the time first on the line). A message's trailing newline is not
doubled.

``-o json``: one JSON object per line with ``jobName``, ``logStreamName``, ``timestamp`` (epoch ms), ``time``
(RFC 3339), ``ingestionTime`` (when known), ``message``, and ``tuningJobName`` for a tuning job's training jobs;
``--hide-log-stream-name`` and ``--timestamps`` do not change it.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from smk8s.smlogs.events import LogEvent


def rfc3339_ms(timestamp_ms: int) -> str:
    """``2024-05-01T10:00:00.123Z`` for epoch milliseconds."""
    moment = datetime.datetime.fromtimestamp(timestamp_ms / 1000, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{timestamp_ms % 1000:03d}Z"


@dataclass(frozen=True)
class Formatter:
    """Turns an event into its output line (without the newline)."""

    output: str = "text"
    show_stream: bool = True
    timestamps: bool = False

    def line(self, event: LogEvent) -> str:
        if self.output == "json":
            return self._json(event)
        parts: list[str] = []
        if event.parent is not None:
            parts.append(f"[{event.job}]")
        if self.show_stream:
            parts.append(event.stream)
        if self.timestamps:
            parts.append(rfc3339_ms(event.timestamp))
        parts.append(event.message.removesuffix("\n"))
        return " ".join(parts)

    @staticmethod
    def _json(event: LogEvent) -> str:
        document: dict[str, Any] = {"jobName": event.job}
        if event.parent is not None:
            document["tuningJobName"] = event.parent
        document.update({"logStreamName": event.stream, "timestamp": event.timestamp,
                         "time": rfc3339_ms(event.timestamp)})
        if event.ingestion_time is not None:
            document["ingestionTime"] = event.ingestion_time
        document["message"] = event.message
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))
