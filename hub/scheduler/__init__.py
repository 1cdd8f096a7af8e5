"""The scheduler: per-connection schedules, run leases, the run pipeline."""

from __future__ import annotations

from .lease import Lease
from .pipeline import PipelineRun, Runner, Step, SyncStep, default_steps
from .service import HubScheduler, build_trigger

__all__ = [
    "HubScheduler",
    "Lease",
    "PipelineRun",
    "Runner",
    "Step",
    "SyncStep",
    "build_trigger",
    "default_steps",
]
