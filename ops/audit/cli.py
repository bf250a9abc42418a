"""`python -m ops audit <instance-id>`: write the audit packet (JSON) and an HTML report.

Read-only. The packet covers the instance and, nested, its sub-orchestrations: activities with
their attempts, external events with who/when, timers, entity operations, current custom status,
outcome and a timeline. Sensitive fields are redacted (telemetry.redact plus --redact-key keys).

Exit codes: 0 written, 1 the instance could not be read (unreachable host, unknown id), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from functools import partial
from pathlib import Path
from typing import Any

from ops.audit.packet import build_packet
from ops.audit.redaction import REDACT_KEYS_ENV, configured_keys, redact_value
from ops.audit.report import render_html
from ops.durable_client import SYSTEM_KEY_ENV, DurableClient, OpsError, default_base_url
from ops.sign_in import TOKEN_ENV


def file_stem(instance_id: str) -> str:
    """A file name for an instance id (ids may hold ':' or '/')."""
    return "audit-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", instance_id)


def run(args: argparse.Namespace) -> int:
    """Handle `python -m ops audit`."""
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"Error: --out {out} is not a directory", file=sys.stderr)
        return 2
    keys = configured_keys(args.redact_key or [])
    client = DurableClient(
        args.base_url,
        code=args.code or os.environ.get(SYSTEM_KEY_ENV),
        token=args.token or os.environ.get(TOKEN_ENV) or None,
    )
    try:
        packet: dict[str, Any] = build_packet(client, args.instance_id, partial(redact_value, keys=keys))
    except OpsError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    packet["redactedKeys"] = sorted(keys)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{file_stem(args.instance_id)}.json"
    html_path = out / f"{file_stem(args.instance_id)}.html"
    json_path.write_text(json.dumps(packet, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    html_path.write_text(render_html(packet), encoding="utf-8")
    if args.json:
        print(json.dumps({"ok": True, "packet": str(json_path), "report": str(html_path)}, indent=2))
    else:
        print(f"Audit packet: {json_path}\nReport:       {html_path}")
    return 0


def register(subparsers: Any) -> None:
    """Add the `audit` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "audit",
        help="write the audit packet (JSON) and HTML report of an instance and its sub-orchestrations",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("instance_id", metavar="INSTANCE_ID", help="instance to audit")
    parser.add_argument(
        "--base-url", default=default_base_url(), help="host URL (default: $OPS_BASE_URL or %(default)s)"
    )
    parser.add_argument(
        "--code",
        help=f"durabletask_extension system key for Azure, sent as a header (default: ${SYSTEM_KEY_ENV})",
    )
    parser.add_argument(
        "--token",
        help=f"bearer token for App Service Authentication (default: ${TOKEN_ENV}); on the devhost: "
        "`python -m ops sign-in --roles Operations.Reader`",
    )
    parser.add_argument(
        "--out", default="audit", metavar="DIR", help="folder for the two files (default: audit/)"
    )
    parser.add_argument(
        "--redact-key",
        action="append",
        metavar="KEY",
        help=f"extra payload key to redact (repeatable; also ${REDACT_KEYS_ENV}, comma-separated)",
    )
    parser.add_argument("--json", action="store_true", help="print the written paths as one JSON document")
    parser.set_defaults(handler=run)
