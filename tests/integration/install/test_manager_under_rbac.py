"""The manager under exactly the installer's RBAC: sufficient (every sample reconciles, nothing is denied) and minimal
(taking away any one verb of any rule makes the API server deny a request the manager needs); its /metrics.

The emulated API server runs in RBAC mode with TLS; the objects of ``release/installer.yaml`` it serves (namespace,
CRDs, ServiceAccount, roles, bindings) are created as they are; the manager (every setup function of
``smk8s.manager.cli.CONTROLLERS``, so the hosting controllers join these tests as soon as they are registered) runs
in-process with a token of the ServiceAccount and leader election on, against the AWS emulator.

Which requests the server denied is read from its authorizer: the server's own decisions, as an audit log would show
them. Waiting is on informer events and on those decisions, never on sleeps; ``DEADLINE`` is a safety net.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import yaml
from aiobotocore.session import AioSession
from prometheus_client.parser import text_string_to_metric_families

from smk8s import rbac
from smk8s.api.v1.common import GROUP, VERSION
from smk8s.api.v1.registry import INFO
from smk8s.emulators.aws.server import AwsEmulator
from smk8s.emulators.kube.auth import RequestAttributes
from smk8s.emulators.kube.rbac import ClusterAuthorizer
from smk8s.emulators.kube.server import KubeEmulator
from smk8s.informers import SharedInformer, SharedInformerFactory
from smk8s.kube import load_api_client, request_json
from smk8s.manager import Controller, Manager
from smk8s.manager import cli as manager_cli
from smk8s.manager.manager import LeaderElectionOptions, new_registry
from tests.integration.install.rendering import OPERATOR_NAMESPACE, ROOT

pytestmark = pytest.mark.asyncio(loop_scope="module")

INSTALLER = ROOT / "release" / "installer.yaml"
NAMESPACED_OPERATOR = ROOT / "release" / "namespaced" / "operator.yaml"
SAMPLES = ROOT / "config" / "samples"
SERVICE_ACCOUNT = "sagemaker-k8s-operator-default"
SA_USER = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{SERVICE_ACCOUNT}"
MANAGER_ROLE = ("clusterroles", "", "sagemaker-k8s-operator-manager-role")
LEADER_ROLE = ("roles", OPERATOR_NAMESPACE, "sagemaker-k8s-operator-leader-election-role")
AWS_TIME_SCALE = 10_000.0
POLL = "0.02"
DEADLINE = 30.0
PROBE = "rbac-probe"  # a long-running TrainingJob whose warm-pool keep-alive is edited twice: a repeated Event
RBAC_KINDS = ("Namespace", "CustomResourceDefinition", "ServiceAccount", "Role", "ClusterRole", "RoleBinding",
              "ClusterRoleBinding")
PATHS = {
    "Namespace": "/api/v1/namespaces",
    "CustomResourceDefinition": "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
    "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
    "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
}
Obj = dict[str, Any]
Grant = tuple[str, str, str]


class AuditingAuthorizer(ClusterAuthorizer):
    """The server's authorizer, remembering every request it denied (and waking whoever waits on one)."""

    def __init__(self, inner: ClusterAuthorizer) -> None:
        super().__init__(inner.rbac)
        self.denied: list[RequestAttributes] = []
        self._changed = asyncio.Event()

    def authorize(self, attrs: RequestAttributes) -> tuple[bool, str]:
        allowed, reason = super().authorize(attrs)
        if not allowed:
            self.denied.append(attrs)
            self._changed.set()
        return allowed, reason

    def denials(self, user: str = SA_USER) -> list[Grant]:
        return [as_grant(a) for a in self.denied if a.user.username == user]

    async def wait_for(self, grant: Grant) -> None:
        while grant not in self.denials():
            self._changed.clear()
            await self._changed.wait()


def as_grant(attrs: RequestAttributes) -> Grant:
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    return (attrs.api_group, resource, attrs.verb) if attrs.is_resource_request else ("", attrs.path, attrs.verb)


class RecordingManager(Manager):
    """A Manager that keeps the controllers its setup functions add (to know which kinds are reconciled)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.added: list[Controller] = []

    def add_controller(self, controller: Controller) -> None:
        self.added.append(controller)
        super().add_controller(controller)


def controlled_kinds(controllers: list[Controller]) -> set[str]:
    """The kinds the controllers reconcile, from their names (a plural or a lower-cased kind)."""
    names = {c.name for c in controllers}
    kinds = {info.kind for info in INFO.values() if names & {info.plural, info.kind.lower(), info.singular}}
    assert len(kinds) == len(names), f"controllers not matched to kinds: {names}"
    return kinds


def samples(kinds: set[str], namespace: str, aws_url: str) -> list[Obj]:
    """The samples of ``kinds`` in config/samples/kustomization.yaml's order, ready to create in ``namespace``."""
    listed = yaml.safe_load((SAMPLES / "kustomization.yaml").read_text())["resources"]
    found: list[Obj] = []
    for name in listed:
        doc: Obj = yaml.safe_load((SAMPLES / name).read_text())
        if doc["kind"] not in kinds:
            continue
        doc["metadata"]["namespace"] = namespace
        if "sageMakerEndpoint" in doc["spec"]:  # a VPC endpoint in the sample: the emulator here
            doc["spec"]["sageMakerEndpoint"] = aws_url
        found.append(doc)
    return found


def probe_job(namespace: str) -> Obj:
    doc: Obj = yaml.safe_load((SAMPLES / "trainingjob-xgboost-mnist.yaml").read_text())
    doc["metadata"] = {"name": PROBE, "namespace": namespace}
    doc["spec"]["resourceConfig"]["keepAlivePeriodInSeconds"] = 60
    doc["spec"]["stoppingCondition"] = {"maxRuntimeInSeconds": 2_419_200}  # SageMaker's maximum: runs all test long
    doc["spec"]["tags"] = [{"key": "emulator.smk8s/duration-seconds", "value": "100000000"}]
    return doc


def plural(kind: str) -> str:
    return next(info.plural for info in INFO.values() if info.kind == kind)


def is_ready(obj: Obj | None) -> bool:
    conditions = ((obj or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


@dataclass
class Cluster:
    """The emulated API server with the installer's RBAC objects, an admin client and the ServiceAccount's token."""

    kube: KubeEmulator
    audit: AuditingAuthorizer
    admin: Any
    sa_kubeconfig: dict[str, Any]
    roles: dict[tuple[str, str, str], Obj] = field(default_factory=dict)

    async def set_rules(self, role: tuple[str, str, str], rules: list[Obj]) -> None:
        plural_, namespace, name = role
        path = (f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/{plural_}/{name}" if namespace
                else f"/apis/rbac.authorization.k8s.io/v1/{plural_}/{name}")
        current = await request_json(self.admin, "GET", path)
        await request_json(self.admin, "PUT", path, body={**current, "rules": rules})

    async def sar(self, namespace: str, grant: Grant) -> bool:
        """A SubjectAccessReview for the ServiceAccount, as an admission plugin asks it."""
        group, resource, verb = grant
        name, _, sub = resource.partition("/")
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": {
            "user": SA_USER, "groups": ["system:serviceaccounts", f"system:serviceaccounts:{OPERATOR_NAMESPACE}",
                                        "system:authenticated"],
            "resourceAttributes": {"namespace": namespace, "verb": verb, "group": group, "resource": name,
                                   "subresource": sub}}}
        review = await request_json(self.admin, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                                    body=body)
        return bool(review["status"]["allowed"])


@pytest.fixture(scope="module")
def aws_environment() -> Iterator[None]:
    """Dummy credentials and region for the manager's AWS SDK (the endpoint is set per run)."""
    saved = dict(os.environ)
    os.environ.update({"AWS_ACCESS_KEY_ID": "AKIDEMULATOR", "AWS_SECRET_ACCESS_KEY": "emulator-secret",
                       "AWS_DEFAULT_REGION": "us-west-2", "AWS_REGION": "us-west-2",
                       "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull,
                       "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    for key in ("AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_SESSION_TOKEN",
                "AWS_DEFAULT_SAGEMAKER_ENDPOINT"):
        os.environ.pop(key, None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(aws_environment: None) -> AsyncIterator[Cluster]:
    async with KubeEmulator(tls=True, rbac_enabled=True) as kube:
        audit = AuditingAuthorizer(kube.authorizer)
        kube.authorizer = audit
        admin = await load_api_client(kube.kubeconfig)
        try:
            installed = [doc for doc in yaml.safe_load_all(INSTALLER.read_text())
                         if doc and doc["kind"] in RBAC_KINDS]
            for doc in installed:
                path = PATHS[doc["kind"]].format(ns=doc["metadata"].get("namespace", ""))
                await request_json(admin, "POST", path, body=doc)
            for doc in installed:
                if doc["kind"] == "CustomResourceDefinition":
                    await established(admin, doc["metadata"]["name"])
            token = await request_json(
                admin, "POST", f"/api/v1/namespaces/{OPERATOR_NAMESPACE}/serviceaccounts/{SERVICE_ACCOUNT}/token",
                body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
            sa_kubeconfig = copy.deepcopy(kube.kubeconfig)
            for user in sa_kubeconfig["users"]:
                user["user"] = {"token": token["status"]["token"]}
            yield Cluster(kube, audit, admin, sa_kubeconfig,
                          roles={(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d
                                 for d in installed})
        finally:
            await admin.close()


async def established(api: Any, name: str) -> None:
    factory = SharedInformerFactory(api)
    informer = factory.informer("apiextensions.k8s.io", "v1", "customresourcedefinitions", namespaced=False)
    factory.start()
    try:
        await until([informer], lambda: any(
            c["type"] == "Established" and c["status"] == "True"
            for c in ((informer.store.get(name) or {}).get("status") or {}).get("conditions") or []))
    finally:
        await factory.shutdown()


async def until(informers: list[SharedInformer], check: Callable[[], bool]) -> None:
    """Wait until ``check()`` holds, re-evaluated on every event of ``informers``."""
    done = asyncio.Event()

    def poke(*_: Any) -> None:
        if check():
            done.set()

    registrations = [i.add_event_handler(poke, poke, poke) for i in informers]
    try:
        poke()
        await done.wait()
    finally:
        for registration in registrations:
            registration.remove()


@dataclass
class Run:
    """One manager run under the ServiceAccount, and what it left behind."""

    manager: RecordingManager
    namespace: str
    aws: AwsEmulator
    metrics: str = ""


@asynccontextmanager
async def manager_run(cluster: Cluster, namespace: str, *, scoped: bool, kubeconfig: dict[str, Any] | None = None,
                      lease_namespace: str = OPERATOR_NAMESPACE) -> AsyncIterator[Run]:
    """A fresh AWS emulator, ``namespace`` (created unless it exists), and a running manager (watching only
    ``namespace`` when ``scoped``) as the installer's ServiceAccount (or with ``kubeconfig``)."""
    async with AwsEmulator(time_scale=AWS_TIME_SCALE, config={"rates": {"*": None}}) as aws:
        os.environ["AWS_ENDPOINT_URL"] = aws.url
        existing = await request_json(cluster.admin, "GET", "/api/v1/namespaces")
        if namespace not in {ns["metadata"]["name"] for ns in existing["items"]}:
            await request_json(cluster.admin, "POST", "/api/v1/namespaces", body={"metadata": {"name": namespace}})
        registry = new_registry()
        api = await load_api_client(kubeconfig or cluster.sa_kubeconfig, registry=registry)
        parser = argparse.ArgumentParser()
        manager_cli.add_arguments(parser)
        args = parser.parse_args(["--poll-interval", POLL])
        manager = RecordingManager(
            api, metrics_bind_address="127.0.0.1:0", health_probe_bind_address="0", registry=registry,
            namespaces=[namespace] if scoped else None, graceful_shutdown_timeout=1.0,
            leader_election=LeaderElectionOptions(id=f"{namespace}.{manager_cli.DEFAULT_LEADER_ELECTION_ID}",
                                                  namespace=lease_namespace, retry_period=0.05),
        )
        for setup in manager_cli.CONTROLLERS:
            setup(manager, args)
        task = asyncio.create_task(manager.run())
        try:
            yield Run(manager, namespace, aws)
        finally:
            manager.stop()
            await asyncio.gather(task, return_exceptions=True)
            await api.close()


async def scenario(cluster: Cluster, run: Run, only: set[str] | None = None) -> None:
    """What a user does and expects: every sample (of the kinds ``only``, if given) reaches Ready; two edits of a
    running job give one Event series."""
    kinds = controlled_kinds(run.manager.added)
    docs = samples(kinds if only is None else kinds & only, run.namespace, run.aws.url)
    factory = SharedInformerFactory(cluster.admin, namespaces=[run.namespace])
    informers = {kind: factory.informer(GROUP, VERSION, plural(kind)) for kind in kinds | {"TrainingJob"}}
    events = factory.informer("events.k8s.io", "v1", "events")
    factory.start()
    try:
        # Samples naming an existing SageMaker model (by SageMaker name, which a Model object's generated name is not).
        models = {d["spec"]["modelName"] for d in docs if d["kind"] == "BatchTransformJob"}
        models |= {v["modelName"] for d in docs if d["kind"] == "EndpointConfig"
                   for v in d["spec"]["productionVariants"]}
        session = AioSession()
        async with session.create_client("sagemaker", **run.aws.client_kwargs()) as sagemaker:
            for model in sorted(models):
                await sagemaker.create_model(
                    ModelName=model,
                    ExecutionRoleArn="arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
                    PrimaryContainer={"Image": "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1",
                                      "ModelDataUrl": "s3://my-bucket/xgboost-mnist/output/model.tar.gz"})
        for doc in [*docs, probe_job(run.namespace)]:
            await request_json(cluster.admin, "POST", f"/apis/{GROUP}/{VERSION}/namespaces/{run.namespace}/"
                                                      f"{plural(doc['kind'])}", body=doc)

        async def all_ready() -> None:
            await until(list(informers.values()), lambda: all(
                is_ready(informers[d["kind"]].store.get(f"{run.namespace}/{d['metadata']['name']}")) for d in docs))

        async def repeated_event() -> None:
            training = informers["TrainingJob"]
            key = f"{run.namespace}/{PROBE}"
            await until([training], lambda: ((training.store.get(key) or {}).get("status") or {}).get(
                "trainingJobStatus") == "InProgress")
            for keep_alive, count in ((120, 1), (180, 2)):
                await request_json(
                    cluster.admin, "PATCH", f"/apis/{GROUP}/{VERSION}/namespaces/{run.namespace}/trainingjobs/{PROBE}",
                    body={"spec": {"resourceConfig": {"keepAlivePeriodInSeconds": keep_alive}}},
                    content_type="application/merge-patch+json")
                await until([events], lambda count=count: any(  # type: ignore[misc]
                    e["regarding"]["name"] == PROBE and e["reason"] == "Updated"
                    and (e.get("series") or {}).get("count", 1) >= count for e in events.store.list()))

        await asyncio.gather(all_ready(), repeated_event())
    finally:
        await factory.shutdown()


async def complete(cluster: Cluster, run: Run) -> None:
    """Run the scenario to its end; on timeout, fail naming the objects that are not Ready and their conditions."""
    try:
        async with asyncio.timeout(DEADLINE):
            await scenario(cluster, run)
    except TimeoutError:
        stuck = []
        for kind in controlled_kinds(run.manager.added):
            listed = await request_json(cluster.admin, "GET",
                                        f"/apis/{GROUP}/{VERSION}/namespaces/{run.namespace}/{plural(kind)}")
            stuck += [(kind, o["metadata"]["name"], (o.get("status") or {}).get("conditions"))
                      for o in listed["items"] if not is_ready(o)]
        pytest.fail(f"not Ready after {DEADLINE} s: {stuck}; denied: {cluster.audit.denied[-5:]}")


async def scrape(run: Run) -> str:
    assert run.manager.metrics_address is not None
    host, port = run.manager.metrics_address
    async with aiohttp.ClientSession() as session, session.get(f"http://{host}:{port}/metrics") as response:
        assert response.status == 200
        return await response.text()


@dataclass
class FullRun:
    kinds: set[str]
    controllers: list[str]
    metrics: str
    denials: list[Grant]
    children: list[Obj]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def full_run(cluster: Cluster) -> FullRun:
    """The manager cluster-wide under the installer's RBAC, through the whole scenario."""
    async with manager_run(cluster, "sufficient", scoped=False) as run:
        await complete(cluster, run)
        metrics = await scrape(run)
        children = [o for o in (await request_json(
            cluster.admin, "GET", f"/apis/{GROUP}/{VERSION}/namespaces/sufficient/trainingjobs"))["items"]
            if o["metadata"].get("ownerReferences")]
    return FullRun(controlled_kinds(run.manager.added), [c.name for c in run.manager.added], metrics,
                   cluster.audit.denials(), children)


async def test_the_installer_rbac_is_sufficient_for_every_sample(cluster: Cluster, full_run: FullRun) -> None:
    assert {"TrainingJob", "ProcessingJob", "BatchTransformJob", "HyperparameterTuningJob"} <= full_run.kinds
    assert full_run.denials == []
    # Tuning children block their owner's deletion: the OwnerReferencesPermissionEnforcement admission plugin lets
    # only users who may update the owner's finalizers subresource set that (the emulator has no admission plugins,
    # so the review it would make is made here).
    assert full_run.children
    for child in full_run.children:
        owner = child["metadata"]["ownerReferences"][0]
        assert owner["kind"] == "HyperparameterTuningJob" and owner["blockOwnerDeletion"] is True
        assert await cluster.sar("sufficient", (GROUP, "hyperparametertuningjobs/finalizers", "update"))


async def test_metrics_have_controller_runtime_and_workqueue_series_for_every_controller(full_run: FullRun) -> None:
    samples_by_name: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(full_run.metrics):
        for sample in family.samples:
            samples_by_name.setdefault(sample.name, []).append(sample)

    def labelled(name: str, label: str, value: str) -> list[Any]:
        return [s for s in samples_by_name.get(name, []) if s.labels.get(label) == value]

    assert full_run.controllers
    for controller in full_run.controllers:
        reconciles = labelled("controller_runtime_reconcile_total", "controller", controller)
        assert sum(s.value for s in reconciles) > 0, controller
        assert labelled("controller_runtime_reconcile_errors_total", "controller", controller), controller
        assert labelled("controller_runtime_reconcile_time_seconds_count", "controller", controller), controller
        assert labelled("controller_runtime_max_concurrent_reconciles", "controller", controller), controller
        assert labelled("controller_runtime_active_workers", "controller", controller), controller
        assert sum(s.value for s in labelled("workqueue_adds_total", "name", controller)) > 0, controller
        for series in ("workqueue_depth", "workqueue_queue_duration_seconds_count",
                       "workqueue_work_duration_seconds_count", "workqueue_retries_total",
                       "workqueue_unfinished_work_seconds", "workqueue_longest_running_processor_seconds"):
            assert labelled(series, "name", controller), (series, controller)
    assert samples_by_name.get("rest_client_requests_total")
    assert samples_by_name.get("sagemaker_api_requests_total")


def manager_grants(cluster: Cluster) -> list[tuple[tuple[str, str, str], Grant]]:
    found: list[tuple[tuple[str, str, str], Grant]] = []
    for role in (MANAGER_ROLE, LEADER_ROLE):
        kind = "ClusterRole" if role[0] == "clusterroles" else "Role"
        obj = cluster.roles[(kind, role[1], role[2])]
        found.extend((role, grant) for grant in rbac.grants(obj["rules"]))
    return found


def exercising(grant: Grant) -> set[str]:
    """The kinds whose samples make the manager use ``grant`` (events and leases: the probe job suffices)."""
    group, resource, verb = grant
    if group != GROUP:
        return set()
    if (resource, verb) == ("trainingjobs", "create"):
        return {"HyperparameterTuningJob"}  # its children
    return {info.kind for info in INFO.values() if info.plural == resource.split("/")[0]}


def needed(grant: Grant, kinds: set[str]) -> bool:
    """Grants on kinds without a registered controller cannot be exercised yet (hosting controllers, for now)."""
    group, resource, _ = grant
    if group != GROUP:
        return True
    return resource.split("/")[0] in {plural(kind) for kind in kinds}


async def test_every_verb_of_every_rule_is_needed(cluster: Cluster, full_run: FullRun) -> None:
    """Take away one verb of one rule, run the scenario again: the server denies exactly that request."""
    unexercised = []
    exercised = 0
    for number, (role, grant) in enumerate(manager_grants(cluster)):
        if not needed(grant, full_run.kinds):
            unexercised.append(grant)
            continue
        kind = "ClusterRole" if role[0] == "clusterroles" else "Role"
        rules = cluster.roles[(kind, role[1], role[2])]["rules"]
        await cluster.set_rules(role, rbac.without_grant(rules, grant))
        try:
            if grant[1].endswith("/finalizers"):  # needed by admission (see the sufficiency test), not requested
                assert not await cluster.sar("sufficient", grant), grant
                exercised += 1
                continue
            async with manager_run(cluster, f"without-{number}", scoped=True) as run:
                scenario_task = asyncio.create_task(scenario(cluster, run, exercising(grant)))
                denied = asyncio.create_task(cluster.audit.wait_for(grant))
                await asyncio.wait([scenario_task, denied], timeout=DEADLINE, return_when=asyncio.FIRST_COMPLETED)
                scenario_task.cancel()
                await asyncio.gather(scenario_task, return_exceptions=True)
            # Stopping releases the lease (an update): a denial then counts too.
            await asyncio.wait([denied], timeout=DEADLINE)
            if not denied.done():
                denied.cancel()
                pytest.fail(f"without {grant} of {role}, nothing was denied: the rule grants more than needed "
                            f"(denied: {cluster.audit.denials()[-5:]})")
            exercised += 1
        finally:
            await cluster.set_rules(role, rules)
    assert exercised == len(manager_grants(cluster)) - len(unexercised)
    hosting = {plural(k) for k in ("HostingDeployment", "Model", "EndpointConfig", "HostingAutoscalingPolicy")}
    assert all(g[1].split("/")[0] in hosting for g in unexercised), unexercised


async def test_the_proxy_and_metrics_reader_roles_are_sufficient_and_minimal(cluster: Cluster) -> None:
    """kube-rbac-proxy (running as the manager's ServiceAccount) reviews a scraper's token, then asks whether it may
    ``get /metrics``: allowed once the scraper is bound to metrics-reader; each proxy rule is needed."""
    admin = cluster.admin
    await request_json(admin, "POST", "/api/v1/namespaces", body={"metadata": {"name": "monitoring"}})
    await request_json(admin, "POST", "/api/v1/namespaces/monitoring/serviceaccounts",
                       body={"metadata": {"name": "prometheus"}})
    scraper = await request_json(admin, "POST", "/api/v1/namespaces/monitoring/serviceaccounts/prometheus/token",
                                 body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    proxy = await load_api_client(cluster.sa_kubeconfig)

    async def review() -> bool:
        reviewed = await request_json(proxy, "POST", "/apis/authentication.k8s.io/v1/tokenreviews", body={
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": scraper["status"]["token"]}})
        user = reviewed["status"]["user"]
        assert user["username"] == "system:serviceaccount:monitoring:prometheus"
        access = await request_json(proxy, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body={
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": user["username"], "groups": user.get("groups", []),
                     "nonResourceAttributes": {"path": "/metrics", "verb": "get"}}})
        return bool(access["status"].get("allowed"))

    try:
        assert not await review()  # not bound yet
        await request_json(admin, "POST", PATHS["ClusterRoleBinding"], body={
            "metadata": {"name": "prometheus-metrics-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "sagemaker-k8s-operator-metrics-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "prometheus", "namespace": "monitoring"}]})
        assert await review()
        role = ("clusterroles", "", "sagemaker-k8s-operator-proxy-role")
        rules = cluster.roles[("ClusterRole", "", role[2])]["rules"]
        for grant in rbac.grants(rules):
            await cluster.set_rules(role, rbac.without_grant(rules, grant))
            try:
                before = len(cluster.audit.denials())
                with pytest.raises(Exception, match=r"403|[Ff]orbidden"):
                    await review()
                assert cluster.audit.denials()[before:] == [grant]
            finally:
                await cluster.set_rules(role, rules)
        reader = ("clusterroles", "", "sagemaker-k8s-operator-metrics-reader")
        await cluster.set_rules(reader, [])
        try:
            assert not await review()
        finally:
            await cluster.set_rules(reader, cluster.roles[("ClusterRole", "", reader[2])]["rules"])
    finally:
        await proxy.close()


async def test_the_namespaced_installation_reconciles_every_sample_in_its_namespace_only(cluster: Cluster) -> None:
    """release/namespaced/operator.yaml with its placeholder replaced, as users do: the manager under its Role
    reconciles every sample in its namespace without a single denied request."""
    namespace = "ml-team"
    user = f"system:serviceaccount:{namespace}:{SERVICE_ACCOUNT}"
    await request_json(cluster.admin, "POST", "/api/v1/namespaces", body={"metadata": {"name": namespace}})
    text = NAMESPACED_OPERATOR.read_text().replace("PLACEHOLDER-NAMESPACE", namespace)
    docs = [d for d in yaml.safe_load_all(text) if d and d["kind"] in RBAC_KINDS]
    assert {d["kind"] for d in docs} == {"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
    for doc in docs:
        if doc["kind"] == "ClusterRole":  # the same proxy and metrics-reader roles as the cluster-wide installation
            continue
        await request_json(cluster.admin, "POST", PATHS[doc["kind"]].format(ns=doc["metadata"].get("namespace")),
                           body=doc)
    token = await request_json(
        cluster.admin, "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{SERVICE_ACCOUNT}/token",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    kubeconfig = copy.deepcopy(cluster.sa_kubeconfig)
    for entry in kubeconfig["users"]:
        entry["user"] = {"token": token["status"]["token"]}
    async with manager_run(cluster, namespace, scoped=True, kubeconfig=kubeconfig, lease_namespace=namespace) as run:
        await complete(cluster, run)
    assert cluster.audit.denials(user) == []
    review = await request_json(cluster.admin, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body={
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": user, "resourceAttributes": {"namespace": "default", "verb": "list", "group": GROUP,
                                                      "resource": "trainingjobs"}}})
    assert review["status"]["allowed"] is False  # nothing outside its namespace
