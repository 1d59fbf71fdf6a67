"""The checked-in generated models are exactly what hack/generate_api.py makes from the installed botocore."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import botocore

from smk8s.api.v1 import _generated

ROOT = Path(__file__).resolve().parents[4]
CHECKED_IN = ROOT / "src" / "smk8s" / "api" / "v1" / "_generated.py"


def test_regeneration_changes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "_generated.py"
    subprocess.run([sys.executable, str(ROOT / "hack" / "generate_api.py"), "--output", str(out)], check=True)
    assert out.read_text() == CHECKED_IN.read_text(), (
        "src/smk8s/api/v1/_generated.py is stale: run python hack/generate_api.py")


def test_header_records_the_botocore_version() -> None:
    assert f"botocore {botocore.__version__} " in CHECKED_IN.read_text().splitlines()[1]


def test_every_current_training_member_is_there() -> None:
    fields = {f.alias for f in _generated.TrainingJobSpecBase.model_fields.values()}
    assert {"retryStrategy", "profilerConfig", "environment", "infraCheckConfig", "hyperParameters"} <= fields
