"""The pure parts of ``smk8s dev``: the manager's command line and environment, the hint, the CRD files."""

from __future__ import annotations

from pathlib import Path

import pytest

from smk8s import dev
from smk8s.cli import build_parser


def test_defaults_make_a_sample_training_job_finish_within_a_minute() -> None:
    args = build_parser().parse_args(["dev"])
    assert args.dir == Path(".smk8s")
    # A default training job: 90 + 60 + 30 + 600 + 20 virtual seconds, then at most two polls to notice.
    assert 800 / dev.time_scale(args.time_scale, {}) + 2 * args.poll_interval < 60


def test_the_manager_runs_against_the_emulators_only(tmp_path: Path) -> None:
    paths = dev.Paths(tmp_path)
    command = dev.manager_command(paths, 0.5, ["--log-level=debug"])
    assert command[1:4] == ["-m", "smk8s", "manager"]
    assert command[command.index("--kubeconfig") + 1] == str(tmp_path / "kubeconfig")
    assert command[command.index("--poll-interval") + 1] == "0.5"
    assert command[command.index("--metrics-bind-address") + 1] == "0"
    assert command[-1] == "--log-level=debug"
    aws = dev.aws_environment("http://127.0.0.1:1234", "us-west-2")
    env = dev.manager_environment({"PATH": "/bin", "AWS_PROFILE": "prod", "AWS_ENDPOINT_URL_SAGEMAKER": "https://x",
                                   "AWS_DEFAULT_SAGEMAKER_ENDPOINT": "https://y", "AWS_ROLE_ARN": "arn"}, aws, paths)
    assert env["PATH"] == "/bin"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1234"
    assert env["AWS_DEFAULT_REGION"] == env["AWS_REGION"] == "us-west-2"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    stripped = {"AWS_PROFILE", "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_DEFAULT_SAGEMAKER_ENDPOINT", "AWS_ROLE_ARN"}
    assert not stripped & set(env)
    assert env["KUBECONFIG"] == str(tmp_path / "kubeconfig")


def test_the_hint_names_the_kubeconfig_and_a_training_sample(tmp_path: Path) -> None:
    text = dev.hint(dev.Paths(tmp_path), dev.project_root())
    assert f"export KUBECONFIG={tmp_path / 'kubeconfig'}" in text
    assert "kubectl apply -f " in text and "trainingjob-xgboost-mnist.yaml" in text
    assert "kubectl get trainingjobs -w" in text


def test_crd_files_are_the_checkouts_and_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    files = dev.crd_files(dev.default_crd_dir())
    assert len(files) == 8 and all(f.name.startswith("sagemaker.aws.amazon.com_") for f in files)
    with pytest.raises(FileNotFoundError):
        dev.crd_files(tmp_path / "missing")


def test_time_scale_flag_wins_over_the_aws_config_file_which_wins_over_the_default() -> None:
    args = build_parser().parse_args(["dev"])
    assert args.time_scale is None  # not given: the config file may set it
    assert dev.time_scale(None, {}) == dev.DEFAULT_TIME_SCALE
    assert dev.time_scale(None, {"time_scale": 500}) == 500.0
    assert dev.time_scale(1.0, {"time_scale": 500}) == 1.0
