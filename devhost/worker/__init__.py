"""The language worker: user code runs here, in processes of its own, as on Azure Functions.

The host (`devhost.worker.pool`) starts `FUNCTIONS_WORKER_PROCESS_COUNT` worker processes
(`python -m devhost.worker`), each of which imports the app, reports its functions and then runs
invocations (orchestrator episodes through the SDK, activities, entity batches, HTTP functions)
sent over a socket pair (`devhost.worker.protocol`). A worker that dies is restarted and its
in-flight invocations are sent again.
"""
