"""Entry point of the ``kubectl-smlogs`` console script (being built: issue 8)."""

from __future__ import annotations


def main() -> int:
    raise SystemExit("kubectl smlogs is not built yet")
