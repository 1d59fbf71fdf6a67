"""Retry-After parsing and the wait it gives."""

from __future__ import annotations

import pytest

from smk8s.kube import RetryPolicy


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), (" 2 ", 2.0), ("0", 0.0), (None, 1.0), ("soon", 1.0), ("1.5", 1.0), ("600", 10.0), ("-4", 0.0)],
)
def test_retry_after_seconds(header: str | None, expected: float) -> None:
    assert RetryPolicy().delay(header) == expected
