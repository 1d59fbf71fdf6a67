#!/usr/bin/env python3
"""Generate ``config/crd``: one apiextensions.k8s.io/v1 CustomResourceDefinition per kind, and a kustomization.

The CRDs are made from the pydantic models (``smk8s.api.v1.registry.INFO``) by :mod:`smk8s.api.v1.crds`: structural
schemas, the status subresource, printer columns, short names, the ``sagemaker`` category, CEL rules that keep
immutable fields, and descriptions trimmed to fit the 256 KiB last-applied annotation of a client-side
``kubectl apply``. Usage: ``python hack/generate_crds.py [--output-dir DIR]`` (default: the checked-in
``config/crd``). tests/unit/api/v1/test_crds.py fails when the checked-in files differ from a regeneration.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from smk8s.api.v1 import crds
from smk8s.api.v1.registry import INFO

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "config" / "crd"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    files = crds.render(INFO.values())
    bases = args.output_dir / "bases"
    bases.mkdir(parents=True, exist_ok=True)
    for stale in bases.glob("*.yaml"):
        if f"bases/{stale.name}" not in files:
            stale.unlink()
    for name, text in files.items():
        (args.output_dir / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
