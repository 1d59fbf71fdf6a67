"""The EndpointConfig controller's kind: a SageMaker endpoint configuration per ``EndpointConfig`` object.

Everything but what is specific to endpoint configurations is :mod:`.resources_reconciler`'s (shared with Model).
A configuration is in use while an endpoint serves it or is being updated to it. Its variants' ``modelName`` is a
SageMaker model name: while that model does not exist, CreateEndpointConfig's "Could not find model" is a missing
dependency (retried, shown as a condition), not an invalid spec.
"""

from __future__ import annotations

from smk8s.api.v1 import convert
from smk8s.api.v1.endpoint_config import EndpointConfigSpec
from smk8s.controllers.hosting.resources_reconciler import ResourceKind, endpoint_config_names_in_use

ENDPOINT_CONFIG = ResourceKind(
    kind="EndpointConfig", plural="endpointconfigs", label="endpoint configuration", spec_model=EndpointConfigSpec,
    request=convert.endpoint_config_request, status_fields=convert.endpoint_config_status,
    api_name="EndpointConfig", name_status_field="sageMakerEndpointConfigName", in_use=endpoint_config_names_in_use,
)
