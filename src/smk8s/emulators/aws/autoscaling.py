"""Placeholder: Application Auto Scaling (owner replaces it)."""

from __future__ import annotations


class AutoScalingState:
    """Placeholder store."""
