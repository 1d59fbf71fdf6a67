"""The controller-manager: controllers reconciling informer events, run by a manager (controller-runtime style).

- ``controller``: :class:`Controller`, :class:`Request`, :class:`Result`, :class:`TerminalError`,
  :class:`ReconcileError`, :class:`ControllerMetrics`;
- ``manager``: :class:`Manager` (metrics and probe servers, informers, leader election, graceful shutdown),
  :class:`LeaderElectionOptions`, :class:`LeaderElectionLost`;
- ``cli``: the ``smk8s manager`` command.
"""

from smk8s.manager.controller import (
    Controller,
    ControllerMetrics,
    ReconcileError,
    Reconciler,
    Request,
    Result,
    TerminalError,
)
from smk8s.manager.manager import LeaderElectionLost, LeaderElectionOptions, Manager, new_registry

__all__ = [
    "Controller",
    "ControllerMetrics",
    "LeaderElectionLost",
    "LeaderElectionOptions",
    "Manager",
    "ReconcileError",
    "Reconciler",
    "Request",
    "Result",
    "TerminalError",
    "new_registry",
]
