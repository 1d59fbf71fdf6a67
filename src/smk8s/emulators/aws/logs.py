"""Placeholder: CloudWatch Logs (owner replaces it)."""

from __future__ import annotations


class LogStore:
    """Placeholder store."""
