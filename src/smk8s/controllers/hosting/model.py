"""The Model controller's kind: a SageMaker model per ``Model`` object (CreateModel, DescribeModel, DeleteModel).

Everything but what is specific to models is :mod:`.resources_reconciler`'s (shared with EndpointConfig). A model is
in use while an endpoint's serving (or pending) endpoint configuration names it.
"""

from __future__ import annotations

from smk8s.api.v1 import convert
from smk8s.api.v1.model import ModelSpec
from smk8s.controllers.hosting.resources_reconciler import ResourceKind, model_names_in_use

MODEL = ResourceKind(
    kind="Model", plural="models", label="model", spec_model=ModelSpec, request=convert.model_request,
    status_fields=convert.model_status, api_name="Model", name_status_field="sageMakerModelName",
    in_use=model_names_in_use,
)
