"""The hosting controllers: HostingDeployment (``deployment*``), Model, EndpointConfig, HostingAutoscalingPolicy.

:mod:`.common` holds what they share (owner tags, names derived from content, deletion policy).
"""
