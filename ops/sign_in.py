"""Signing in to the devhost's Easy Auth emulation, and the local principals the tools act as.

`python -m devhost start --easy-auth` (what `./scripts/dev` runs) answers `POST /.auth/login/aad`
with JSON `{"userId", "userDetails", "userRoles", "claims"}` by a session token, the emulation's
stand-in for an Entra ID token: `Authorization: Bearer <token>` on later requests. The demo, the
benchmarks, the soak, the fuzzer and the tests act through it as the roles they need, each
principal a different person, so maker-checker holds for them as for anyone.

On Azure there is no such form: callers bring real Entra ID tokens (`az account get-access-token`,
or a client-credential token of a service principal with the app role as application permission;
docs/deploy-to-azure.md), passed to the tools with `--token` / `WORKFLOWS_TOKEN`.

`python -m ops sign-in --roles Operations.Operator` prints a devhost token for `curl` or
`python -m ops instances --token`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import requests

from identity import Role
from ops.command_line import SubParsers, add_command, add_json_option, comma_separated

SUMMARY = "print a session token from the devhost's emulated Easy Auth (--easy-auth)"
SIGN_IN_PATH = "/.auth/login/aad"
TOKEN_ENV = "WORKFLOWS_TOKEN"
DEFAULT_BASE_URL = "http://127.0.0.1:7071"


class SignInError(Exception):
    """Signing in failed; the message says why and what to do."""


@dataclass(frozen=True)
class LocalPrincipal:
    """A person or service as the devhost's sign-in form takes it (userId, userDetails, userRoles)."""

    user_id: str
    name: str
    roles: tuple[Role | str, ...]
    claims: tuple[tuple[str, str], ...] = field(default=())

    def sign_in_body(self) -> dict[str, Any]:
        """The JSON body of `POST /.auth/login/aad`."""
        return {
            "userId": self.user_id,
            "userDetails": self.name,
            "userRoles": ",".join(str(role) for role in self.roles),
            "claims": [{"typ": typ, "val": val} for typ, val in self.claims],
        }


# The principals the demo, benchmarks and soak act as locally (never valid on Azure: the ids are not
# Entra object ids). Shelter staff ids match data/shelter_staff.local.json.
LOCAL_SUBMITTER = LocalPrincipal(
    "local-portal", "Customer portal (local)", (Role.WORKFLOW_SUBMITTER,), (("appid", "local-portal"),)
)
LOCAL_APPROVER = LocalPrincipal("local-approver-ada", "Ada Approver", (Role.MAINTENANCE_APPROVER,))
LOCAL_SUPERVISOR = LocalPrincipal("local-supervisor-sam", "Sam Supervisor", (Role.FARE_DISPUTE_SUPERVISOR,))
LOCAL_SHELTER_STAFF = {
    "shelter-bayview-school": LocalPrincipal(
        "local-shelter-staff-bayview", "Bayview School desk (local)", (Role.RELIEF_SHELTER_STAFF,)
    ),
    "shelter-hilltop-center": LocalPrincipal(
        "local-shelter-staff-hilltop", "Hilltop Center desk (local)", (Role.RELIEF_SHELTER_STAFF,)
    ),
    "shelter-riverside-arena": LocalPrincipal(
        "local-shelter-staff-hilltop", "Hilltop Center desk (local)", (Role.RELIEF_SHELTER_STAFF,)
    ),
    "shelter-lighthouse-church": LocalPrincipal(
        "local-shelter-staff-coast", "Coast shelters desk (local)", (Role.RELIEF_SHELTER_STAFF,)
    ),
    "shelter-marsh-road-clinic": LocalPrincipal(
        "local-shelter-staff-coast", "Coast shelters desk (local)", (Role.RELIEF_SHELTER_STAFF,)
    ),
}
LOCAL_READER = LocalPrincipal("local-reader-rita", "Rita Reader", (Role.OPERATIONS_READER,))
LOCAL_OPERATOR = LocalPrincipal("local-operator-omar", "Omar Operator", (Role.OPERATIONS_OPERATOR,))


def sign_in(base_url: str, principal: LocalPrincipal, timeout: float = 30.0) -> str:
    """A session token for `principal` from the devhost's emulated sign-in (`SignInError` otherwise)."""
    url = f"{base_url.rstrip('/')}{SIGN_IN_PATH}"
    try:
        response = requests.post(url, json=principal.sign_in_body(), timeout=timeout)
    except requests.RequestException as error:
        raise SignInError(
            f"cannot reach {base_url} — is the app running? start it with ./scripts/dev"
        ) from error
    if response.status_code == 404:
        raise SignInError(
            f"{base_url} offers no emulated sign-in ({SIGN_IN_PATH} is 404): start the devhost with "
            "--easy-auth (./scripts/dev does); on Azure pass an Entra ID token with --token"
        )
    try:
        body = response.json()
    except ValueError:
        body = {}
    token = body.get("authenticationToken") if isinstance(body, dict) else None
    if response.status_code != 200 or not isinstance(token, str):
        detail = body.get("error") if isinstance(body, dict) else response.text[:200]
        raise SignInError(f"signing in as {principal.name} failed: HTTP {response.status_code}: {detail}")
    return token


def token_from_args(args: argparse.Namespace) -> str | None:
    """A command's bearer token: its --token, else `$WORKFLOWS_TOKEN` (None without either)."""
    return getattr(args, "token", None) or os.environ.get(TOKEN_ENV) or None


def bearer(token: str | None) -> dict[str, str]:
    """The `Authorization` header for `token` (none without one)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def handle(args: argparse.Namespace) -> int:
    """Entry point of `python -m ops sign-in`."""
    principal = LocalPrincipal(args.user_id, args.name, tuple(args.roles))
    try:
        token = sign_in(args.base_url, principal)
    except SignInError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"token": token, "principal": principal.sign_in_body()}))
    else:
        print(token)
    return 0


def register(subparsers: SubParsers) -> None:
    """Add the `sign-in` subcommand."""
    parser = add_command(subparsers, "sign-in", SUMMARY, __doc__, handle)
    parser.add_argument(
        "--base-url",
        default=os.environ.get("OPS_BASE_URL", DEFAULT_BASE_URL),
        help=f"the devhost (default {DEFAULT_BASE_URL}, or OPS_BASE_URL)",
    )
    parser.add_argument("--user-id", default="local-operator-omar", help="the principal's stable id")
    parser.add_argument("--name", default="Omar Operator", help="the principal's display name")
    parser.add_argument(
        "--roles",
        type=comma_separated,
        default=Role.OPERATIONS_OPERATOR.value,
        help=f"app roles, comma-separated (default {Role.OPERATIONS_OPERATOR.value}); see identity/roles.py",
    )
    add_json_option(parser, "print the token and principal as JSON")
