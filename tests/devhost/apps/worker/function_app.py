"""An app that shows where its code runs and how it survives a crashing worker process.

Activities record each attempt in a folder the test gives them (one file per attempt), so a test
can tell a first attempt from its retry after the worker died.
"""

import ctypes
import os
import threading
import time
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
CALLS = {"count": 0}  # module state: one per worker process, as on Azure


def _attempt(folder: str, name: str) -> int:
    """Record an attempt of `name`; returns how many attempts there were before this one."""
    base = Path(folder)
    earlier = len(list(base.glob(f"{name}.*")))
    (base / f"{name}.{earlier}.{os.getpid()}").write_text("")
    return earlier


@app.route(route="pid", methods=["GET"])
def pid(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(str(os.getpid()))


@app.route(route="crash", methods=["POST"])
def crash(req: func.HttpRequest) -> func.HttpResponse:
    os._exit(3)


@app.orchestration_trigger(context_name="context")
def where(context: df.DurableOrchestrationContext):
    work = yield context.call_activity("whoami", None)
    return {"activity": work}


@app.activity_trigger(input_name="unused")
def whoami(unused: None) -> dict:
    CALLS["count"] += 1
    return {"pid": os.getpid(), "calls": CALLS["count"], "thread": threading.current_thread().name}


@app.orchestration_trigger(context_name="context")
def overlap(context: df.DurableOrchestrationContext):
    spans = yield context.task_all(
        [context.call_activity("hold", i) for i in range(context.get_input()["count"])]
    )
    return spans


@app.activity_trigger(input_name="index")
def hold(index: int) -> list:
    started = time.monotonic()
    time.sleep(0.4)
    return [started, time.monotonic(), os.getpid()]


@app.orchestration_trigger(context_name="context")
def survive(context: df.DurableOrchestrationContext):
    request = context.get_input()
    result = yield context.call_activity(request["activity"], request["folder"])
    return result


@app.activity_trigger(input_name="folder")
def slow_step(folder: str) -> str:
    attempt = _attempt(folder, "slow_step")
    if attempt == 0:
        time.sleep(30)  # the test kill -9s this worker meanwhile
    return f"done after {attempt} crash(es)"


@app.activity_trigger(input_name="folder")
def exit_once(folder: str) -> str:
    if _attempt(folder, "exit_once") == 0:
        os._exit(1)
    return "survived os._exit"


@app.activity_trigger(input_name="folder")
def segfault_once(folder: str) -> str:
    if _attempt(folder, "segfault_once") == 0:
        ctypes.string_at(0)  # SIGSEGV in the worker process
    return "survived a segfault"


@app.activity_trigger(input_name="folder")
def always_exit(folder: str) -> str:
    _attempt(folder, "always_exit")
    os._exit(1)


@app.orchestration_trigger(context_name="context")
def replay_crash(context: df.DurableOrchestrationContext):
    folder = context.get_input()["folder"]
    # A crash during the replay (test code: orchestrators must never do I/O like this).
    if not context.is_replaying and _attempt(folder, "replay_crash") == 0:
        os._exit(1)
    value = yield context.call_activity("whoami", None)
    return value["pid"] > 0
