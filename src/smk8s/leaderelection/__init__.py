"""Leader election on a ``coordination.k8s.io/v1`` Lease with client-go's algorithm (see :mod:`.elector`)."""

from smk8s.leaderelection.elector import LeaderElectionMetrics, LeaderElector, default_identity
from smk8s.leaderelection.lease_lock import (
    LeaderElectionRecord,
    LeaseLock,
    LockNotFoundError,
    ResourceLock,
    lease_spec_from_record,
    record_from_lease_spec,
)

__all__ = [
    "LeaderElectionMetrics",
    "LeaderElectionRecord",
    "LeaderElector",
    "LeaseLock",
    "LockNotFoundError",
    "ResourceLock",
    "default_identity",
    "lease_spec_from_record",
    "record_from_lease_spec",
]
