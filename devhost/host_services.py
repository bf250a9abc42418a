"""What the engine's components share: one bundle of the task hub's collaborators, built once.

The activity runner, the entity host, the episode runner, sub-orchestrations and recovery all work
on the same hub through the same function index, store, clock, worker pool and instance records,
and all call back into the engine for the same three things: run work in the background, deliver a
work result to an instance, start what a scheduling event asks for. The engine builds one
`HostServices` and hands it to each component, which then names only what is its own (a setting,
another component).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from devhost.clock import Clock
from devhost.history import Event
from devhost.instance import Instance
from devhost.loader import FunctionIndex
from devhost.records import InstanceRecords
from devhost.store import BlobStore
from devhost.worker.pool import WorkerPool


@dataclass(frozen=True)
class HostServices:
    """The hub's shared parts, and the engine operations every component may call."""

    index: FunctionIndex
    store: BlobStore
    clock: Clock
    invoker: WorkerPool
    records: InstanceRecords
    # Run work in the background, logging (not losing) its failure (Engine.spawn).
    spawn: Callable[[Awaitable[Any]], None]
    # deliver_result(instance id, execution id, event): the engine's non-durable delivery of an
    # activity result, timer firing, child outcome or entity reply; it becomes durable with the
    # episode that consumes it. False when the target is gone or finished.
    deliver_result: Callable[[str, str | None, Event], Awaitable[bool]]
    # Start what a scheduling event asks for: timer, activity, child, entity message (from an
    # episode, or on recovery).
    start_work: Callable[[Instance, Event], None]
