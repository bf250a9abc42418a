"""`python -m ops audit`: export, verify and seal audit packets; create a local signing key.

    python -m ops audit export INSTANCE_ID [--out DIR]     (also: python -m ops audit INSTANCE_ID)
    python -m ops audit verify PACKET.json|INSTANCE_ID [--public-key FILE] [--allow-reformatted]
    python -m ops audit seal INSTANCE_ID --reason TEXT [--yes]
    python -m ops audit create-key --out FILE

export (read-only): the sealed packet as stored (`<stem>.sealed.json`, verified) with its report as
HTML and PDF, when the app has sealed it; otherwise a packet built from the history of the instance
and its sub-orchestrations (`<stem>.json`, marked as an interim snapshot) and its HTML report.

verify (read-only): checks a sealed packet file, or the one the app serves for an instance id:
canonical form, SHA-256 digest and ES256 signature, and says plainly what is wrong. The public key
comes from --public-key (a PEM, a JWK or a JWK set given to you out of band, e.g. `az keyvault key
download`), else from the app (`GET /api/audit/signing-keys`, which means trusting the app: the
command says so and prints the key thumbprints to compare).

seal: seals an instance its workflow could not seal itself (terminated, failed for good, or finished
before sealing existed) through the app (`POST /api/audit/packets/{id}/seal`). Prints its plan and
asks first unless --yes.

create-key: writes a new EC P-256 private key for local runs (`AUDIT_SIGNING_KEY_FILE`); never over an
existing file, never for Azure (the app signs with its Key Vault key there).

Exit codes: 0 ok (written, verified, sealed), 1 verification failed or the operation failed, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

from audit_packets.render_pdf import document_pdf
from audit_packets.report import render_html, report_document
from audit_packets.signing import create_key_file, jwk_thumbprint, trusted_keys_from_text
from audit_packets.verification import Verification, verify_sealed_bytes
from evidence import profile_for
from ops.app_client import AppClient, WorkflowClientError
from ops.audit.packet import build_packet
from ops.audit.redaction import REDACT_KEYS_ENV, configured_keys, redact_value
from ops.command_line import SubParsers, add_command, add_json_option, print_result
from ops.durable_client import (
    OpsError,
    add_refused_key_option,
    client_from_args,
    default_base_url,
    refused_key_given,
)
from ops.sign_in import TOKEN_ENV, token_from_args

SUMMARY = "export, verify and seal audit packets; create a local signing key"
SUBCOMMANDS = ("export", "verify", "seal", "create-key")


def rewrite_argv(argv: list[str]) -> list[str]:
    """`audit INSTANCE_ID ...` (the command before subcommands existed) means `audit export ...`."""
    if len(argv) >= 2 and argv[0] == "audit" and argv[1] not in SUBCOMMANDS and not argv[1].startswith("-"):
        return ["audit", "export", *argv[1:]]
    return argv


def file_stem(instance_id: str) -> str:
    """A file name for an instance id (ids may hold ':' or '/')."""
    return "audit-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", instance_id)


def _app(args: argparse.Namespace) -> AppClient:
    return AppClient(args.base_url, token=token_from_args(args))


def sealed_packet_bytes(app: AppClient, instance_id: str) -> tuple[bytes | None, str]:
    """The sealed packet the app serves for an instance, or None and why not."""
    response = app.request("GET", f"audit/packets/{quote(instance_id, safe='')}")
    if response.status_code == 200:
        return response.content, ""
    if response.status_code == 409:
        try:
            notice = str(response.json().get("notice") or "")
        except ValueError:
            notice = ""
        return None, notice or f"instance '{instance_id}' is not sealed yet"
    if response.status_code == 404:
        return None, f"no instance or sealed packet with ID '{instance_id}' on {app.base_url}"
    return None, f"GET /api/audit/packets/{instance_id} answered HTTP {response.status_code}"


# -- export ---------------------------------------------------------------------------------------


def run_export(args: argparse.Namespace) -> int:
    """Handle `python -m ops audit export`."""
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"Error: --out {out} is not a directory", file=sys.stderr)
        return 2
    if refused_key_given(args):
        return 2
    stem = file_stem(args.instance_id)
    try:
        content, _ = sealed_packet_bytes(_app(args), args.instance_id)
    except WorkflowClientError:
        content = None  # no app routes here (a bare Durable host): fall back to the history
    written: dict[str, str] = {}
    if content is not None:
        envelope = json.loads(content)
        profile = profile_for(args.instance_id, (envelope["packet"].get("instance") or {}).get("name"))
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "packet": out / f"{stem}.sealed.json",
            "report": out / f"{stem}.html",
            "pdf": out / f"{stem}.pdf",
        }
        paths["packet"].write_bytes(content)
        document = report_document(envelope, profile)
        paths["report"].write_text(render_html(envelope, profile), encoding="utf-8")
        paths["pdf"].write_bytes(document_pdf(document))
        written = {name: str(path) for name, path in paths.items()}
        sealed = True
    else:
        keys = configured_keys(args.redact_key or [])
        try:
            packet: dict[str, Any] = build_packet(
                client_from_args(args), args.instance_id, partial(redact_value, keys=keys)
            )
        except OpsError as error:
            print(f"Error: {error}", file=sys.stderr)
            return 1
        packet["redaction"] = {"marker": "[redacted]", "keys": sorted(keys)}
        out.mkdir(parents=True, exist_ok=True)
        json_path, html_path = out / f"{stem}.json", out / f"{stem}.html"
        envelope = {
            "interim": True,
            "notice": "built by ops audit from the history; not sealed",
            "packet": packet,
        }
        json_path.write_text(json.dumps(envelope, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        html_path.write_text(render_html(envelope, profile_for(args.instance_id)), encoding="utf-8")
        written = {"packet": str(json_path), "report": str(html_path)}
        sealed = False
    label = "Sealed packet:" if sealed else "Audit packet: "
    lines = [f"{label} {written['packet']}" + ("" if sealed else " (interim: not sealed)")]
    lines.append(f"Report:        {written['report']}")
    if "pdf" in written:
        lines.append(f"PDF report:    {written['pdf']}")
    print_result(args.json, {"ok": True, "sealed": sealed, **written}, "\n".join(lines))
    return 0


# -- verify ---------------------------------------------------------------------------------------


def _trusted_keys(args: argparse.Namespace) -> tuple[list[dict[str, Any]], str]:
    if args.public_key:
        path = Path(args.public_key)
        return trusted_keys_from_text(path.read_text(encoding="utf-8")), f"from {path}"
    body = _app(args).call("GET", "audit/signing-keys")
    keys = trusted_keys_from_text(json.dumps(body))
    prints = ", ".join(jwk_thumbprint(k) for k in keys)
    return keys, (
        f"fetched from the app at {args.base_url} (thumbprints {prints}); pass --public-key with a key "
        "you got out of band to check without trusting the app"
    )


def _print_verification(result: Verification, source: str, key_source: str) -> None:
    print(f"Packet: {source}" + (f" (instance {result.instance_id})" if result.instance_id else ""))
    print(f"Keys:   {key_source}")
    for check in result.checks:
        print(f"  ok    {check}")
    for warning in result.warnings:
        print(f"  warn  {warning}")
    for problem in result.problems:
        print(f"  FAIL  {problem}")
    print("Verified: the packet is as sealed." if result.ok else "NOT VERIFIED: see FAIL above.")


def run_verify(args: argparse.Namespace) -> int:
    """Handle `python -m ops audit verify`."""
    target = Path(args.packet)
    try:
        if target.is_file():
            content, source = target.read_bytes(), str(target)
        else:
            fetched, why = sealed_packet_bytes(_app(args), args.packet)
            if fetched is None:
                print(f"Error: {why}", file=sys.stderr)
                return 1
            content, source = fetched, f"{args.base_url}/api/audit/packets/{args.packet}"
        keys, key_source = _trusted_keys(args)
    except (OSError, ValueError, WorkflowClientError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    result = verify_sealed_bytes(content, keys, allow_reformatted=args.allow_reformatted)
    if args.json:
        print(json.dumps(result.to_dict() | {"source": source, "keys": key_source}, indent=2))
    else:
        _print_verification(result, source, key_source)
    return 0 if result.ok else 1


# -- seal ------------------------------------------------------------------------------------------


def run_seal(args: argparse.Namespace) -> int:
    """Handle `python -m ops audit seal`."""
    plan = f"Plan: seal the audit packet of '{args.instance_id}' on {args.base_url} (reason: {args.reason})"
    print(plan, file=sys.stderr)
    if not args.yes:
        answer = input("Proceed? [y/N] ").strip().lower() if sys.stdin.isatty() else ""
        if answer not in ("y", "yes"):
            print("Aborted; nothing was changed (pass --yes to run without asking).", file=sys.stderr)
            return 1
    path = f"audit/packets/{quote(args.instance_id, safe='')}/seal"
    try:
        body = _app(args).call("POST", path, {"reason": args.reason}, expected=(200, 201))
    except WorkflowClientError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    state = "was already sealed" if body.get("alreadySealed") else "sealed"
    where = f"{body.get('container')}/{body.get('blob')}"
    print_result(args.json, body, f"{args.instance_id} {state}: {where}, SHA-256 {body.get('digest')}")
    return 0


# -- create-key ------------------------------------------------------------------------------------


def run_create_key(args: argparse.Namespace) -> int:
    """Handle `python -m ops audit create-key`."""
    path = Path(args.out)
    try:
        jwk = create_key_file(path)
    except FileExistsError:
        if args.if_missing:
            return 0
        print(
            f"Error: {path} exists; a signing key is never overwritten (choose another --out)",
            file=sys.stderr,
        )
        return 1
    print_result(
        args.json,
        {"keyFile": str(path), "publicKey": jwk},
        f"Signing key: {path} (mode 0600; keep it out of version control)\nKey id:      {jwk['kid']}",
    )
    return 0


# -- parser ----------------------------------------------------------------------------------------


def _connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url", default=default_base_url(), help="app URL (default: $OPS_BASE_URL or %(default)s)"
    )
    parser.add_argument(
        "--token",
        help=f"bearer token for App Service Authentication (default: ${TOKEN_ENV}); on the devhost: "
        "`python -m ops sign-in --roles Operations.Reader` (Operations.Operator to seal)",
    )
    add_json_option(parser)


def register(subparsers: SubParsers) -> None:
    """Add the `audit` command and its subcommands."""
    parser = add_command(subparsers, "audit", SUMMARY, __doc__)
    actions = parser.add_subparsers(dest="audit_action", metavar="ACTION")

    export = actions.add_parser("export", help="write the packet (sealed if it is) and its reports")
    export.add_argument("instance_id", metavar="INSTANCE_ID", help="instance to audit")
    _connection(export)
    add_refused_key_option(export)  # the system key comes from $DURABLETASK_EXTENSION_KEY only
    export.add_argument(
        "--out", default="audit", metavar="DIR", help="folder for the files (default: audit/)"
    )
    export.add_argument(
        "--redact-key",
        action="append",
        metavar="KEY",
        help=f"extra payload key to redact in an unsealed export (repeatable; also ${REDACT_KEYS_ENV})",
    )
    export.set_defaults(handler=run_export)

    verify = actions.add_parser("verify", help="check a sealed packet's digest and signature")
    verify.add_argument(
        "packet", metavar="PACKET_OR_INSTANCE", help="a sealed packet file, or an instance id"
    )
    _connection(verify)
    verify.add_argument("--public-key", metavar="FILE", help="trusted public key: PEM, JWK or JWK set")
    verify.add_argument(
        "--allow-reformatted",
        action="store_true",
        help="accept a file whose content is intact but whose bytes were reformatted",
    )
    verify.set_defaults(handler=run_verify)

    seal = actions.add_parser("seal", help="seal a finished instance that has no sealed packet")
    seal.add_argument("instance_id", metavar="INSTANCE_ID", help="instance to seal")
    _connection(seal)
    seal.add_argument("--reason", required=True, help="why it is sealed by hand (recorded in the packet)")
    seal.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    seal.set_defaults(handler=run_seal)

    create = actions.add_parser("create-key", help="write a new local signing key (development only)")
    create.add_argument("--out", required=True, metavar="FILE", help="where to write the PEM private key")
    create.add_argument("--if-missing", action="store_true", help="do nothing (exit 0) when FILE exists")
    add_json_option(create)
    create.set_defaults(handler=run_create_key)
