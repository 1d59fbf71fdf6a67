"""A rate-limited, delaying work queue with client-go's contract (see ``queue``, ``delaying``, ``rate_limiting``).

An item is processed by at most one worker at a time; adds while queued collapse into one; an add while processing
causes exactly one more pass after ``done``; ``add_after`` keeps the earliest deadline; items from the initial list
and resyncs can be added at low priority, behind real changes. Metrics follow controller-runtime (``metrics``).
"""

from smk8s.workqueue.delaying import DelayingQueue
from smk8s.workqueue.metrics import WorkqueueMetrics, WorkqueueMetricsProvider
from smk8s.workqueue.queue import Queue, ShutDown
from smk8s.workqueue.rate_limiters import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    default_controller_rate_limiter,
)
from smk8s.workqueue.rate_limiting import RateLimitingQueue

__all__ = [
    "BucketRateLimiter",
    "DelayingQueue",
    "ItemExponentialFailureRateLimiter",
    "MaxOfRateLimiter",
    "Queue",
    "RateLimiter",
    "RateLimitingQueue",
    "ShutDown",
    "WorkqueueMetrics",
    "WorkqueueMetricsProvider",
    "default_controller_rate_limiter",
]
