"""A typed facade over :meth:`SageMakerApi.call` for SageMaker hosting: models, endpoint configurations, endpoints.

Same conventions as :mod:`smk8s.sagemaker.api` (every call logged, counted and classified there):

- ``describe_*`` return None when the resource is absent; ``delete_*`` return False when it was already absent
  (a 404 never hangs a deletion);
- ``create_*`` return the new ARN and raise :class:`~smk8s.sagemaker.errors.AlreadyExistsError` when the name is
  taken (the caller decides whether the existing one is its own, by tags);
- an endpoint that is Creating, Updating, RollingBack or Deleting refuses UpdateEndpoint,
  UpdateEndpointWeightsAndCapacities and DeleteEndpoint (SageMaker: ``ValidationException`` "Cannot update
  in-progress endpoint"): those raise :class:`EndpointBusyError`, so a caller waits instead of reporting an invalid
  spec;
- ``list_models`` / ``list_endpoint_configs`` return every (name, ARN) (all pages) whose name contains a substring
  (``NameContains``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from smk8s.sagemaker.api import LIST_PAGE_SIZE, SageMakerApi
from smk8s.sagemaker.errors import NotFoundError, SageMakerError, TerminalError

IN_PROGRESS_MESSAGE = "in-progress endpoint"
"""SageMaker's refusal of a change to an endpoint that is still changing: 'Cannot update in-progress endpoint'."""


class EndpointBusyError(SageMakerError):
    """The endpoint is changing (Creating, Updating, RollingBack, Deleting): try again once it settled. Not an
    error of the spec: SageMaker's ValidationException refusal, recognised here and nowhere else."""

    outcome = "busy"


class HostingApi:
    """Hosting calls in one region at one endpoint (wraps a :class:`SageMakerApi`)."""

    def __init__(self, api: SageMakerApi) -> None:
        self.api = api

    # -- models -----------------------------------------------------------------------------------------------

    async def describe_model(self, name: str) -> dict[str, Any] | None:
        return await self._describe("DescribeModel", name, ModelName=name)

    async def create_model(self, request: Mapping[str, Any]) -> str:
        """CreateModel from a complete request; the model's ARN."""
        result = await self.api.call("CreateModel", str(request.get("ModelName", "")), **dict(request))
        return str(result.get("ModelArn", ""))

    async def delete_model(self, name: str) -> bool:
        return await self._delete("DeleteModel", name, ModelName=name)

    async def list_models(self, name_contains: str) -> list[tuple[str, str]]:
        return await self._names("ListModels", "Models", "Model", name_contains)

    # -- endpoint configurations ------------------------------------------------------------------------------

    async def describe_endpoint_config(self, name: str) -> dict[str, Any] | None:
        return await self._describe("DescribeEndpointConfig", name, EndpointConfigName=name)

    async def create_endpoint_config(self, request: Mapping[str, Any]) -> str:
        """CreateEndpointConfig from a complete request; the configuration's ARN."""
        name = str(request.get("EndpointConfigName", ""))
        result = await self.api.call("CreateEndpointConfig", name, **dict(request))
        return str(result.get("EndpointConfigArn", ""))

    async def delete_endpoint_config(self, name: str) -> bool:
        return await self._delete("DeleteEndpointConfig", name, EndpointConfigName=name)

    async def list_endpoint_configs(self, name_contains: str) -> list[tuple[str, str]]:
        return await self._names("ListEndpointConfigs", "EndpointConfigs", "EndpointConfig", name_contains)

    # -- endpoints --------------------------------------------------------------------------------------------

    async def describe_endpoint(self, name: str) -> dict[str, Any] | None:
        return await self._describe("DescribeEndpoint", name, EndpointName=name)

    async def create_endpoint(self, request: Mapping[str, Any]) -> str:
        """CreateEndpoint from a complete request; the endpoint's ARN."""
        result = await self.api.call("CreateEndpoint", str(request.get("EndpointName", "")), **dict(request))
        return str(result.get("EndpointArn", ""))

    async def update_endpoint(self, request: Mapping[str, Any]) -> str:
        """UpdateEndpoint (to ``request['EndpointConfigName']``); EndpointBusyError while the endpoint changes,
        NotFoundError when it is absent."""
        name = str(request.get("EndpointName", ""))
        result = await self._busy_aware("UpdateEndpoint", name, **dict(request))
        return str(result.get("EndpointArn", ""))

    async def update_endpoint_weights_and_capacities(
        self, name: str, desired: Sequence[Mapping[str, Any]]
    ) -> str:
        """UpdateEndpointWeightsAndCapacities with ``DesiredWeightsAndCapacities=desired``."""
        result = await self._busy_aware("UpdateEndpointWeightsAndCapacities", name, EndpointName=name,
                                        DesiredWeightsAndCapacities=[dict(d) for d in desired])
        return str(result.get("EndpointArn", ""))

    async def delete_endpoint(self, name: str) -> bool:
        """DeleteEndpoint; False when already absent, EndpointBusyError while the endpoint changes."""
        try:
            await self._busy_aware("DeleteEndpoint", name, EndpointName=name)
        except NotFoundError:
            return False
        return True

    # -- tags -------------------------------------------------------------------------------------------------

    async def list_tags(self, arn: str) -> dict[str, str]:
        return await self.api.list_tags(arn)

    async def add_tags(self, arn: str, tags: Mapping[str, str]) -> None:
        await self.api.add_tags(arn, tags)

    async def delete_tags(self, arn: str, keys: Sequence[str]) -> None:
        await self.api.delete_tags(arn, keys)

    async def sync_tags(self, arn: str, desired: Mapping[str, str]) -> bool:
        return await self.api.sync_tags(arn, desired)

    # -- helpers ----------------------------------------------------------------------------------------------

    async def _describe(self, operation: str, name: str, **params: Any) -> dict[str, Any] | None:
        try:
            return await self.api.call(operation, name, **params)
        except NotFoundError:
            return None

    async def _delete(self, operation: str, name: str, **params: Any) -> bool:
        try:
            await self.api.call(operation, name, **params)
        except NotFoundError:
            return False
        return True

    async def _busy_aware(self, operation: str, name: str, **params: Any) -> dict[str, Any]:
        try:
            return await self.api.call(operation, name, **params)
        except TerminalError as err:
            if err.code == "ValidationException" and IN_PROGRESS_MESSAGE in err.message:
                raise EndpointBusyError(err.message, code=err.code, operation=err.operation,
                                        http_status=err.http_status, request_id=err.request_id,
                                        retry_attempts=err.retry_attempts) from err
            raise

    async def _names(self, operation: str, member: str, prefix: str, name_contains: str) -> list[tuple[str, str]]:
        names: list[tuple[str, str]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"NameContains": name_contains, "MaxResults": LIST_PAGE_SIZE}
            if token:
                params["NextToken"] = token
            result = await self.api.call(operation, None, **params)
            names.extend((str(item[f"{prefix}Name"]), str(item.get(f"{prefix}Arn", "")))
                         for item in result.get(member, []))
            token = result.get("NextToken")
            if not token:
                return names
