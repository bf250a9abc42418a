"""The rule table: one replay hazard per rule, each with a stable id and the safe replacement.

Ids are stable: a rule is never renumbered or reused, because suppression comments and CI
configuration refer to them. Add new rules at the end.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One lint rule: what it flags and what to write instead."""

    id: str
    name: str
    what: str
    instead: str

    def to_dict(self) -> dict[str, str]:
        """Return the rule as a JSON-ready dict."""
        return {"id": self.id, "name": self.name, "what": self.what, "instead": self.instead}


RULES: tuple[Rule, ...] = (
    Rule(
        "DF000",
        "bad-suppression",
        "a `# durable-lint: ignore[...]` comment without a known rule id or without a reason",
        "write `# durable-lint: ignore[DF001] <why this is safe>`",
    ),
    Rule(
        "DF001",
        "wall-clock",
        "datetime.now/utcnow/today, date.today, time.time/monotonic/perf_counter: "
        "the clock differs on every replay",
        "use context.current_utc_datetime",
    ),
    Rule(
        "DF002",
        "sleep",
        "time.sleep / asyncio.sleep block the worker and are not recorded in history",
        "yield context.create_timer(context.current_utc_datetime + timedelta(...))",
    ),
    Rule(
        "DF003",
        "random-uuid",
        "uuid.uuid1 / uuid.uuid4 give a new id on every replay",
        "use context.new_uuid()",
    ),
    Rule(
        "DF004",
        "random",
        "the random or secrets module (or os.urandom) gives new values on every replay",
        "derive values from context.new_uuid(), or draw them in an activity and pass them in",
    ),
    Rule(
        "DF005",
        "environment",
        "os.environ / os.getenv / settings reads (also module-level constants read from the "
        "environment) can change between replays and deployments",
        "read configuration in an activity, or pass it in the orchestration input",
    ),
    Rule(
        "DF006",
        "io",
        "file, network, storage or database I/O and SDK clients (open, requests, httpx, aiohttp, "
        "urllib, socket, subprocess, azure.storage.* clients, ...)",
        "move the I/O into an activity and call it with context.call_activity (HTTP: context.call_http)",
    ),
    Rule(
        "DF007",
        "threads",
        "threading, concurrent.futures, multiprocessing and asyncio tasks run outside the replay",
        "fan out with context.task_all / context.task_any over activity tasks",
    ),
    Rule(
        "DF008",
        "async-orchestrator",
        "`async def` orchestrators: the Python SDK drives orchestrators as generators",
        "write the orchestrator as a plain `def` that yields durable tasks",
    ),
    Rule(
        "DF009",
        "set-iteration",
        "iterating over a set (or turning one into a list): string hashing, and so the order, "
        "changes between processes",
        "iterate over sorted(...) or keep the values in a list",
    ),
    Rule(
        "DF010",
        "global-state",
        "`global` statements and mutation of module-level containers: the state outlives one "
        "replay and is shared between instances",
        "keep state in local variables, the orchestration input or a durable entity",
    ),
    Rule(
        "DF011",
        "unguarded-logging",
        "logging or print not guarded by `if not context.is_replaying` repeats on every replay",
        "wrap it in `if not context.is_replaying:`",
    ),
    Rule(
        "DF012",
        "unknown-activity",
        "call_activity(_with_retry) with a name that no activity_trigger in the app registers",
        "use the registered activity name (preferably a shared UPPER_SNAKE constant)",
    ),
    Rule(
        "DF013",
        "unknown-orchestrator",
        "call_sub_orchestrator(_with_retry) with a name that no orchestration_trigger in the app registers",
        "use the registered orchestrator name (preferably a shared UPPER_SNAKE constant)",
    ),
    Rule(
        "DF014",
        "unknown-entity",
        "EntityId(...) with an entity name that no entity_trigger in the app registers",
        "use the registered entity name (preferably a shared UPPER_SNAKE constant)",
    ),
    Rule(
        "DF015",
        "non-serialisable-input",
        "lambdas, functions, sets, generators, open files, bytes, datetime objects or class "
        "instances passed as activity, sub-orchestrator, entity, custom status or continue_as_new "
        "input: the SDK's JSON encoder rejects them or writes class paths into history",
        "pass plain JSON values (dict, list, str, number); datetimes as .isoformat(), models as .to_dict()",
    ),
    Rule(
        "DF016",
        "process-identity",
        "hash(), id(), os.getpid(), threading.get_ident(), socket.gethostname(): values that differ "
        "between worker processes",
        "use stable values from the orchestration input, context.instance_id or context.new_uuid()",
    ),
)

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
