"""The host ↔ worker wire: frames of a small JSON header and a raw body.

Frame: `>II` (header length, body length), the header as compact JSON, then the body bytes. Trigger
payloads and results are already JSON text, so they travel as the body untouched: one copy, no
re-encoding. Messages (`op` in the header):

- worker → host, once: `ready` {functions metadata, pid} or `load_error` {message}
- host → worker: `invoke` {id, kind, function, ...} with the payload as body; `stop`
- worker → host: `result` {id, ok, ...} with the result as body
"""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

PREFIX = struct.Struct(">II")

Header = dict[str, Any]


def encode_header(header: Header) -> bytes:
    return json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()


def write_frame(writer: asyncio.StreamWriter, header: Header, body: bytes = b"") -> None:
    """Queue one frame on the writer (no copy of the body)."""
    head = encode_header(header)
    writer.writelines((PREFIX.pack(len(head), len(body)), head, body))


async def read_frame(reader: asyncio.StreamReader) -> tuple[Header, bytes]:
    """The next frame; raises asyncio.IncompleteReadError when the other side is gone."""
    head_length, body_length = PREFIX.unpack(await reader.readexactly(PREFIX.size))
    data = await reader.readexactly(head_length + body_length)
    header: Header = json.loads(data[:head_length])
    return header, data[head_length:]
