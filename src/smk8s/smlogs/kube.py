"""Reading the job object: which configuration and namespace kubectl would use, then one GET.

Configuration, in kubectl's order (client-go's ``ClientConfigLoadingRules`` and ``DeferredLoadingClientConfig``):
``--kubeconfig``, then ``$KUBECONFIG`` (a list joined by ``:``), then ``~/.kube/config``, and only when none of
them exists the pod's service account (in-cluster configuration, so the plugin works in a notebook pod). The
namespace: ``-n``, else the namespace of the context in use, else the pod's (``POD_NAMESPACE``, then the service
account's ``namespace`` file, as client-go's in-cluster config reads it), else ``default``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from kubernetes_asyncio.client.exceptions import ApiException

from smk8s.kube.client import (
    DEFAULT_KUBECONFIG,
    SERVICE_ACCOUNT_DIR,
    ConfigError,
    in_cluster_namespace,
    load_api_client,
    request_json,
)
from smk8s.smlogs.errors import PluginError, object_not_found, resource_type_missing
from smk8s.smlogs.kinds import GROUP, VERSION, JobKind

DEFAULT_NAMESPACE = "default"
REQUEST_TIMEOUT = 30.0  # seconds; kubectl has no default, but a plugin that hangs for ever helps nobody


@dataclass(frozen=True)
class ConfigChoice:
    """Which configuration to load: kubeconfig files (empty: in-cluster)."""

    kubeconfig_files: tuple[str, ...]

    @property
    def in_cluster(self) -> bool:
        return not self.kubeconfig_files


def choose_config(flag: str | None, environ: Mapping[str, str], home_config: Path | None) -> ConfigChoice:
    """kubectl's precedence (module docstring); ``home_config`` is ``~/.kube/config`` when it exists."""
    if flag:
        return ConfigChoice((flag,))
    listed = tuple(path for path in environ.get("KUBECONFIG", "").split(os.pathsep) if path)
    if listed:
        return ConfigChoice(listed)
    if home_config is not None:
        return ConfigChoice((str(home_config),))
    return ConfigChoice(())


def context_namespace(documents: Sequence[Mapping[str, Any]], context: str | None) -> str | None:
    """The namespace of ``context`` (default: the current context) in kubeconfig ``documents``, merged as client-go
    merges a ``KUBECONFIG`` list: the first file setting ``current-context`` wins, and so does the first file
    defining a context name."""
    wanted = context
    if wanted is None:
        for document in documents:
            current = document.get("current-context")
            if current:
                wanted = str(current)
                break
    if wanted is None:
        return None
    for document in documents:
        for entry in document.get("contexts") or []:
            if isinstance(entry, Mapping) and entry.get("name") == wanted:
                namespace = (entry.get("context") or {}).get("namespace")
                return str(namespace) if namespace else None
    return None


def resolve_namespace(flag: str | None, choice: ConfigChoice, documents: Sequence[Mapping[str, Any]],
                      context: str | None, environ: Mapping[str, str], pod_namespace: str | None) -> str:
    """The namespace to read the object from (module docstring)."""
    if flag:
        return flag
    if not choice.in_cluster:
        return context_namespace(documents, context) or DEFAULT_NAMESPACE
    return environ.get("POD_NAMESPACE") or pod_namespace or DEFAULT_NAMESPACE


def _read_documents(paths: Sequence[str]) -> list[Mapping[str, Any]]:
    documents: list[Mapping[str, Any]] = []
    for path in paths:
        try:
            loaded = yaml.safe_load(Path(path).expanduser().read_text())
        except FileNotFoundError:
            continue  # client-go skips missing files of a KUBECONFIG list
        except (OSError, yaml.YAMLError) as exc:
            raise PluginError(f"cannot read kubeconfig {path}: {exc}") from None
        if isinstance(loaded, Mapping):
            documents.append(loaded)
    return documents


def _home_config() -> Path | None:
    path = DEFAULT_KUBECONFIG.expanduser()
    return path if path.is_file() else None


async def read_job_object(kind: JobKind, name: str, *, namespace_flag: str | None, kubeconfig: str | None,
                          context: str | None, environ: Mapping[str, str] | None = None,
                          service_account_dir: Path = SERVICE_ACCOUNT_DIR) -> tuple[str, dict[str, Any]]:
    """``(namespace, object)`` of the job object, read as kubectl would (module docstring).

    Raises :class:`PluginError` for a missing object, a missing CRD, a refused request or an unreachable server.
    """
    env = os.environ if environ is None else environ
    choice = choose_config(kubeconfig, env, _home_config())
    documents = _read_documents(choice.kubeconfig_files)
    if not choice.in_cluster and not documents:
        raise PluginError(f"no kubeconfig found at {', '.join(choice.kubeconfig_files)}")
    namespace = resolve_namespace(namespace_flag, choice, documents, context, env,
                                  in_cluster_namespace(service_account_dir) if choice.in_cluster else None)
    try:
        if choice.in_cluster:
            if context is not None:
                raise PluginError(f'--context "{context}" needs a kubeconfig, and none was found')
            api = await load_api_client(None, None, environ={k: v for k, v in env.items() if k != "KUBECONFIG"},
                                        service_account_dir=service_account_dir)
        else:
            api = await load_api_client(os.pathsep.join(choice.kubeconfig_files), context, environ=env)
    except ConfigError as exc:
        raise PluginError(str(exc)) from None
    except PluginError:
        raise
    except Exception as exc:  # kubernetes_asyncio's ConfigException: a context or user that does not exist, ...
        raise PluginError(f"invalid kubeconfig: {exc}") from None
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{kind.plural}/{name}"
    try:
        obj = await request_json(api, "GET", path, request_timeout=REQUEST_TIMEOUT)
    except ApiException as exc:
        raise _kube_error(exc, kind, name, namespace) from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise PluginError(f"unable to connect to the server: {exc}") from None
    finally:
        await api.close()
    if not isinstance(obj, dict):
        raise PluginError(f"unexpected answer to GET {path}")
    return namespace, obj


def _kube_error(exc: ApiException, kind: JobKind, name: str, namespace: str) -> PluginError:
    status = _status_body(exc)
    if exc.status == 404:
        details = status.get("details") or {}
        if details.get("name") == name:
            return object_not_found(kind, name, namespace)
        return resource_type_missing(kind)
    message = status.get("message") or exc.reason or "error"
    reason = status.get("reason") or exc.reason or ""
    return PluginError(f"Error from server ({reason}): {message}")


def _status_body(exc: ApiException) -> dict[str, Any]:
    try:
        body = json.loads(exc.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
