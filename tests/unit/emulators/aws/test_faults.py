"""Fault decisions: seeded, filtered, capped, validated."""

from __future__ import annotations

import pytest

from smk8s.emulators.aws.faults import FaultDecision, FaultInjector, FaultRule


def kinds(injector: FaultInjector, n: int, service: str = "sagemaker", op: str = "DescribeTrainingJob") -> list[str]:
    return [str(injector.decide(service, op).kind) for _ in range(n)]


def test_the_same_seed_gives_the_same_faults() -> None:
    rule = {"internal_failure": 0.3, "service_unavailable": 0.2, "drop": 0.1}
    a, b, c = FaultInjector(), FaultInjector(), FaultInjector()
    a.configure([rule], seed=7)
    b.configure([rule], seed=7)
    c.configure([rule], seed=8)
    assert kinds(a, 200) == kinds(b, 200)
    assert kinds(a, 200) != kinds(c, 200)


def test_fractions_are_roughly_honoured() -> None:
    injector = FaultInjector()
    injector.configure([{"internal_failure": 0.25, "throttle": 0.25}], seed=1)
    seen = kinds(injector, 2000)
    assert 400 < seen.count("internal_failure") < 600
    assert 400 < seen.count("throttle") < 600
    assert seen.count("None") > 800


def test_rules_filter_by_service_and_operation() -> None:
    injector = FaultInjector()
    injector.configure([{"services": ["logs"], "operations": ["GetLogEvents"], "service_unavailable": 1.0}])
    assert injector.decide("logs", "GetLogEvents").kind == "service_unavailable"
    assert injector.decide("logs", "FilterLogEvents").kind is None
    assert injector.decide("sagemaker", "GetLogEvents").kind is None


def test_first_matching_rule_decides() -> None:
    injector = FaultInjector()
    injector.configure([{"operations": "CreateEndpoint", "drop": 1.0}, {"internal_failure": 1.0}])
    assert injector.decide("sagemaker", "CreateEndpoint").kind == "drop"
    assert injector.decide("sagemaker", "DescribeEndpoint").kind == "internal_failure"


def test_times_caps_the_faults_but_keeps_latency() -> None:
    injector = FaultInjector()
    injector.configure([{"internal_failure": 1.0, "times": 2, "latency_seconds": 0.5}])
    decisions = [injector.decide("sts", "GetCallerIdentity") for _ in range(4)]
    assert [d.kind for d in decisions] == ["internal_failure", "internal_failure", None, None]
    assert all(d.latency_seconds == 0.5 for d in decisions)
    assert injector.snapshot()["injected"] == {"internal_failure": 2}


def test_no_rules_no_faults() -> None:
    injector = FaultInjector()
    assert injector.decide("sagemaker", "X") == FaultDecision()
    injector.configure([{"drop": 1.0}])
    injector.clear()
    assert injector.decide("sagemaker", "X") == FaultDecision()


@pytest.mark.parametrize(
    "rule",
    [{"internal_failure": 1.5}, {"internal_failure": 0.6, "drop": 0.6}, {"latency_seconds": -1}, {"typo": 1}],
)
def test_bad_rules_are_rejected_and_change_nothing(rule: dict[str, object]) -> None:
    injector = FaultInjector()
    injector.configure([{"drop": 1.0}])
    with pytest.raises(ValueError):
        injector.configure([rule])
    assert injector.decide("s", "o").kind == "drop"


def test_config_forms() -> None:
    injector = FaultInjector()
    injector.configure_from({"seed": 3, "rules": [{"throttle": 1.0}]})
    assert injector.seed == 3 and injector.decide("s", "o").kind == "throttle"
    injector.configure_from({"drop": 1.0})
    assert injector.decide("s", "o").kind == "drop"
    injector.configure_from([{"internal_failure": 1.0}])
    assert injector.decide("s", "o").kind == "internal_failure"
    with pytest.raises(ValueError):
        injector.configure_from("drop")
    assert FaultRule.from_dict({"services": "logs"}).services == ("logs",)
