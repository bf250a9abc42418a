"""`python -m devhost.worker`: one language-worker process (started by the host, not by hand).

It imports the app, reports its functions, then runs invocations until the host says stop or its
socket closes (the host is gone: a worker never outlives its host).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import traceback
from pathlib import Path

from devhost import fast_timestamps
from devhost.loader import AppLoadError, load_app
from devhost.worker.protocol import Header, read_frame, write_frame
from devhost.worker.runner import FunctionRunner, thread_count


async def serve(connection: socket.socket, script_root: Path) -> int:
    reader, writer = await asyncio.open_connection(sock=connection)
    try:
        index = load_app(script_root)
    except AppLoadError as error:
        write_frame(writer, {"op": "load_error", "message": str(error)})
        await writer.drain()
        return 1
    except BaseException:  # any import failure of user code is reported, with its traceback
        message = (
            "function_app.py failed to import:\n"
            if index_model(script_root) == "v2"
            else ("a function script failed to import:\n")
        )
        write_frame(writer, {"op": "load_error", "message": message + traceback.format_exc()})
        await writer.drain()
        return 1
    runner = FunctionRunner(index, str(script_root), thread_count())
    write_frame(writer, {"op": "ready", "pid": os.getpid(), "index": index.metadata()})
    await writer.drain()
    tasks: set[asyncio.Task[None]] = set()

    async def invoke(header: Header, body: bytes) -> None:
        result, result_body = await runner.run(header, body)
        result["op"] = "result"
        result["id"] = header["id"]
        write_frame(writer, result, result_body)

    while True:
        try:
            header, body = await read_frame(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            break  # the host is gone
        if header.get("op") == "stop":
            break
        task = asyncio.get_running_loop().create_task(invoke(header, body))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    return 0


def index_model(script_root: Path) -> str:
    return "v2" if (script_root / "function_app.py").exists() else "v1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devhost.worker")
    parser.add_argument("--script-root", type=Path, required=True)
    parser.add_argument("--fd", type=int, required=True, help="the host's end of the socket pair")
    parser.add_argument("--dateutil-timestamps", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("azure").setLevel(logging.WARNING)
    # Ctrl-C reaches the whole process group: the host decides when its workers stop (a `stop`
    # frame, or its end of the socket closing), so an interrupt never looks like a crash.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not args.dateutil_timestamps:
        fast_timestamps.enable()
    connection = socket.socket(fileno=args.fd)
    code = asyncio.run(serve(connection, args.script_root.resolve()))
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    # User code may have left non-daemon threads behind; the host decides when a worker ends.
    os._exit(code)


if __name__ == "__main__":
    main()
