"""A thin typed facade over Application Auto Scaling for the HostingAutoscalingPolicy controller.

Every call goes through :meth:`smk8s.sagemaker.SageMakerApi.call` with ``service="application-autoscaling"`` (same
logging, ``sagemaker_api_requests_total`` metrics and error classification as SageMaker's calls). Contracts:

- ``describe_*`` follow ``NextToken`` until the end and return plain response items;
- ``delete_scaling_policy`` / ``deregister_scalable_target`` return False when the policy or target is already gone
  (``ObjectNotFoundException``, classified :class:`~smk8s.sagemaker.errors.NotFoundError`): deleting twice is fine;
- ``register_scalable_target`` raises :class:`~smk8s.sagemaker.errors.DependencyNotReadyError` (retryable) when
  Application Auto Scaling refuses a variant whose endpoint is not InService, and ``ConcurrentUpdateException``
  is retryable: both classified in :mod:`smk8s.sagemaker.errors`, like every other answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from smk8s.sagemaker.api import SageMakerApi
from smk8s.sagemaker.errors import NotFoundError

SERVICE = "application-autoscaling"
MAX_TARGETS_PER_PAGE = 50  # DescribeScalableTargets' maximum MaxResults
MAX_POLICIES_PER_PAGE = 10  # DescribeScalingPolicies' maximum MaxResults


class AutoScalingApi:
    """Application Auto Scaling calls in the region of ``api`` (its SageMaker endpoint override does not apply)."""

    def __init__(self, api: SageMakerApi) -> None:
        self.api = api

    async def _call(self, operation: str, subject: str | None, **params: Any) -> dict[str, Any]:
        return await self.api.call(operation, subject, service=SERVICE, **params)

    async def describe_scalable_targets(
        self, namespace: str, resource_ids: Sequence[str], dimension: str | None = None
    ) -> list[dict[str, Any]]:
        """The registered targets among ``resource_ids`` (at most 50 per call, as the API allows)."""
        out: list[dict[str, Any]] = []
        ids = list(dict.fromkeys(resource_ids))
        for start in range(0, len(ids), MAX_TARGETS_PER_PAGE):
            chunk = ids[start:start + MAX_TARGETS_PER_PAGE]
            params: dict[str, Any] = {"ServiceNamespace": namespace, "ResourceIds": chunk,
                                      "MaxResults": MAX_TARGETS_PER_PAGE}
            if dimension is not None:
                params["ScalableDimension"] = dimension
            out.extend(await self._pages("DescribeScalableTargets", "ScalableTargets", params))
        return out

    async def describe_scaling_policies(
        self, namespace: str, policy_names: Sequence[str], dimension: str | None = None
    ) -> list[dict[str, Any]]:
        """Every policy of the namespace named one of ``policy_names``, whatever its resource."""
        params: dict[str, Any] = {"ServiceNamespace": namespace, "PolicyNames": list(dict.fromkeys(policy_names)),
                                  "MaxResults": MAX_POLICIES_PER_PAGE}
        if dimension is not None:
            params["ScalableDimension"] = dimension
        return await self._pages("DescribeScalingPolicies", "ScalingPolicies", params)

    async def register_scalable_target(self, request: Mapping[str, Any]) -> str:
        """Register (or update) a scalable target; returns its ARN (may be empty for old API versions)."""
        result = await self._call("RegisterScalableTarget", str(request.get("ResourceId", "")), **dict(request))
        return str(result.get("ScalableTargetARN", ""))

    async def put_scaling_policy(self, request: Mapping[str, Any]) -> str:
        """Create or replace a scaling policy; returns its ARN."""
        result = await self._call("PutScalingPolicy", str(request.get("ResourceId", "")), **dict(request))
        return str(result.get("PolicyARN", ""))

    async def delete_scaling_policy(self, namespace: str, resource_id: str, dimension: str, name: str) -> bool:
        """Delete a policy; False when it did not exist."""
        try:
            await self._call("DeleteScalingPolicy", resource_id, ServiceNamespace=namespace, ResourceId=resource_id,
                             ScalableDimension=dimension, PolicyName=name)
        except NotFoundError:
            return False
        return True

    async def deregister_scalable_target(self, namespace: str, resource_id: str, dimension: str) -> bool:
        """Deregister a target (AWS deletes its policies with it); False when it was not registered."""
        try:
            await self._call("DeregisterScalableTarget", resource_id, ServiceNamespace=namespace,
                             ResourceId=resource_id, ScalableDimension=dimension)
        except NotFoundError:
            return False
        return True

    async def _pages(self, operation: str, member: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = await self._call(operation, None, **params, **({"NextToken": token} if token else {}))
            out.extend(page.get(member, []))
            token = page.get("NextToken")
            if not token:
                return out
