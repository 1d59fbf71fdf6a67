"""Informers: caches of API objects kept current by list+watch, with event handlers (client-go tools/cache).

Modules, top-down: :mod:`~smk8s.informers.factory` (shared informers per resource and scope),
:mod:`~smk8s.informers.informer` (cache, transform, handlers, resync), :mod:`~smk8s.informers.reflector`
(list+watch, relist, backoff), :mod:`~smk8s.informers.listwatch` (the HTTP side, over kubernetes_asyncio's
``ApiClient``), :mod:`~smk8s.informers.store` (objects by key, indexes).
"""

from smk8s.informers.factory import SharedInformerFactory
from smk8s.informers.informer import (
    HandlerRegistration,
    SharedInformer,
    Transform,
    drop_fields,
    strip_managed_fields,
)
from smk8s.informers.listwatch import (
    ApiError,
    ApiListerWatcher,
    ListerWatcher,
    ListPage,
    ResourceScope,
    TransportError,
    WatchEvent,
)
from smk8s.informers.reflector import Backoff, Reflector, ReflectorStore
from smk8s.informers.store import (
    NAMESPACE_INDEX,
    DeletedFinalStateUnknown,
    IndexFunc,
    Store,
    namespace_index,
    object_key,
)

Indexer = Store

__all__ = [
    "NAMESPACE_INDEX",
    "ApiError",
    "ApiListerWatcher",
    "Backoff",
    "DeletedFinalStateUnknown",
    "HandlerRegistration",
    "IndexFunc",
    "Indexer",
    "ListPage",
    "ListerWatcher",
    "Reflector",
    "ReflectorStore",
    "ResourceScope",
    "SharedInformer",
    "SharedInformerFactory",
    "Store",
    "Transform",
    "TransportError",
    "WatchEvent",
    "drop_fields",
    "namespace_index",
    "object_key",
    "strip_managed_fields",
]
