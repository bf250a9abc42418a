"""`python -m ops release`: infra what-if + deploy, package to staging, gates, then slot swap.

Steps (each mutating one asks for confirmation unless --yes; --dry-run prints every az command
and runs none):
1. show the target (az account show) and refuse another subscription;
2. infra: `az deployment group what-if` (refuse any Delete; show Modify on app settings and role
   assignments), then `az deployment group create --mode Incremental` (never Complete);
3. package: the deploy package of `python -m ops package` (built from HEAD unless `--package`
   names one; a zip holding files .funcignore leaves out is refused); upload it to the private
   package container under a content-hashed name, point the staging slot's
   WEBSITE_RUN_FROM_PACKAGE at it with `appsettings set` (a merge of one setting; the whole list is
   never replaced), sync triggers;
4. preflight (read-only; the same checks as `python -m ops preflight`);
5. production task hub: list Running/Pending/Suspended instances through the Durable management
   API; refuse to swap when there are some, unless --drain (wait for zero) or --versioning
   (host.json defaultVersion set, so old instances keep their version);
6. replay check of recorded histories against the new build (pluggable command, see
   REPLAY_CHECK_COMMAND); a failure refuses the swap;
7. swap staging into production, then preflight again.

Exit codes: 0 released (or dry run printed), 1 refused or failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from audit_packets.sealing import app_identity
from ops.azure_cli import AzError, AzureCli
from ops.command_line import SubParsers, add_command, add_json_option, options_from
from ops.package import PackageError, build_package, format_manifest, package_problems
from ops.preflight import ARM, WEB_API_VERSION, Preflight, Target, format_summary
from personal_data.erasure_step import RETENTION_INSTANCE_ID

SUMMARY = "what-if + deploy infra, package to staging, preflight, in-flight and replay gates, swap"
REPO_ROOT = Path(__file__).resolve().parent.parent
# The replay check comes from the ops issue; until it exists under this name, pass
# --replay-check-command (or set OPS_REPLAY_CHECK_COMMAND). It receives the package path as its
# last argument and must exit 0 only when every recorded history replays without error.
REPLAY_CHECK_COMMAND = (sys.executable, "-m", "ops", "replay-check", "--package")
# Deployment outputs of infra/main.bicep this module reads (tests/infra asserts main.bicep has them).
DEPLOYMENT_OUTPUTS_READ = (
    "STORAGE_ACCOUNT_NAME",
    "PACKAGE_CONTAINER_NAME",
    "PACKAGE_BLOB_ENDPOINT",
    "APPLICATION_INSIGHTS_NAME",
    "PRODUCTION_TASK_HUB",
    "FUNCTION_APP_HOST_NAME",
    "AUTH_CLIENT_ID",
)
ACTIVE_STATUSES = ("Running", "Pending", "Suspended")
REVIEW_TYPES = (
    "microsoft.web/sites/config",
    "microsoft.web/sites/slots/config",
    "microsoft.authorization/roleassignments",
)


def resource_type(resource_id: str) -> str:
    """`Namespace/type/childType` of an ARM resource ID (names dropped), lower-case."""
    tail = resource_id.lower().rsplit("/providers/", 1)[-1].strip("/").split("/")
    if len(tail) < 2:
        return ""
    return "/".join([tail[0], *tail[1::2]])


class ReleaseRefusedError(Exception):
    """A gate refused the release; the message says why and what to do."""


@dataclass
class ReleaseOptions:
    """Parsed release arguments."""

    resource_group: str
    app: str
    package: Path | None
    slot: str = "staging"
    subscription: str | None = None
    template: Path = REPO_ROOT / "infra" / "main.bicep"
    parameters: Path = REPO_ROOT / "infra" / "main.parameters.json"
    deployment_name: str = "workflows-infra"
    skip_infra: bool = False
    drain: bool = False
    drain_timeout: float = 1800.0
    drain_poll: float = 30.0
    versioning: bool = False
    replay_check_command: Sequence[str] = REPLAY_CHECK_COMMAND
    host_json: Path = REPO_ROOT / "host.json"
    yes: bool = False
    dry_run: bool = False


@dataclass
class ReleaseLog:
    """What the release did, printed as --json at the end."""

    steps: list[dict[str, Any]] = field(default_factory=list)

    def add(self, step: str, status: str, detail: str = "", **extra: Any) -> None:
        """Record one step."""
        self.steps.append({"step": step, "status": status, "detail": detail, **extra})


def run_replay_check(command: Sequence[str], package: Path | None) -> subprocess.CompletedProcess[str]:
    """Run the replay check of recorded histories against the new build (the pluggable hook)."""
    argv = [*command, str(package) if package else ""]
    return subprocess.run([a for a in argv if a], capture_output=True, text=True, check=False, cwd=REPO_ROOT)


@contextlib.contextmanager
def secret_json_file(content: dict[str, str]) -> Iterator[Path]:
    """A JSON file readable by this user only, deleted on exit (for secrets az reads with `@file`)."""
    handle, name = tempfile.mkstemp(prefix="ops-", suffix=".json")
    path = Path(name)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(content, stream)
        yield path
    finally:
        path.unlink(missing_ok=True)


def package_blob_name(app: str, package: Path) -> str:
    """Content-addressed blob name: a rebuild gets a new name, so no slot's package is overwritten."""
    digest = hashlib.sha256(package.read_bytes()).hexdigest()[:16]
    return f"{app}-{digest}.zip"


def read_versioning(host_json: Path) -> dict[str, Any]:
    """durableTask versioning settings and the extension bundle range of the local host.json."""
    data = json.loads(host_json.read_text(encoding="utf-8"))
    durable = (data.get("extensions") or {}).get("durableTask") or {}
    return {
        "defaultVersion": durable.get("defaultVersion"),
        "versionMatchStrategy": durable.get("versionMatchStrategy", "CurrentOrOlder"),
        "versionFailureStrategy": durable.get("versionFailureStrategy", "Reject"),
        "extensionBundle": (data.get("extensionBundle") or {}).get("version"),
    }


def bundle_supports_versioning(version_range: str | None) -> bool:
    """True when the bundle range's lower bound is >= 4.30.0 (needed for orchestration versioning)."""
    if not version_range:
        return False
    lower = version_range.strip("[( ").split(",")[0].strip()
    parts = [p for p in lower.replace("*", "0").split(".") if p]
    try:
        numbers = tuple(int(p) for p in parts) + (0,) * (3 - len(parts))
    except ValueError:
        return False
    return numbers >= (4, 30, 0)


@dataclass
class Release:
    """The release flow; every az call goes through `az`, every prompt through `confirm`.

    `o` holds the options; `log`, `outputs` (the infra deployment's outputs) and `subscription_id`
    fill in as the steps run.
    """

    o: ReleaseOptions
    az: AzureCli
    confirm: Callable[[str], bool]
    _: KW_ONLY
    out: TextIO = sys.stderr
    replay_check: Callable[[Sequence[str], Path | None], subprocess.CompletedProcess[str]] = run_replay_check
    sleep: Callable[[float], None] = time.sleep
    log: ReleaseLog = field(default_factory=ReleaseLog, init=False)
    outputs: dict[str, Any] = field(default_factory=dict, init=False)
    subscription_id: str = field(default="", init=False)

    def say(self, message: str) -> None:
        """Progress line on stderr."""
        print(message, file=self.out)

    def ask(self, step: str, question: str) -> None:
        """Confirm a mutating step; refuse the release when the operator says no."""
        if self.o.yes or self.o.dry_run:
            return
        if not self.confirm(question):
            raise ReleaseRefusedError(f"{step}: not confirmed; nothing further was changed")

    def slot_args(self) -> list[str]:
        """The az arguments naming the slot that receives the build (`-g`, `-n`, `--slot`)."""
        return ["-g", self.o.resource_group, "-n", self.o.app, "--slot", self.o.slot]

    # --- 1 target ------------------------------------------------------------------------
    def show_target(self) -> None:
        """Print and check the subscription the release would change."""
        account = self.az.query(["account", "show"])
        if self.o.dry_run:
            self.subscription_id = "<subscription-id>"
            return
        self.subscription_id = str(account.get("id"))
        self.say(
            f"Target: tenant {account.get('tenantId')} / subscription {self.subscription_id} "
            f"({account.get('name')}) "
            f"/ group {self.o.resource_group} / app {self.o.app} / slot {self.o.slot}. "
            "This release changes staging, then swaps it into PRODUCTION."
        )
        if self.o.subscription and self.o.subscription not in (self.subscription_id, account.get("name")):
            raise ReleaseRefusedError(
                f"logged in to subscription {self.subscription_id}, expected {self.o.subscription}; "
                f"run `az account set --subscription {self.o.subscription}`"
            )
        self.log.add("target", "ok", f"subscription {self.subscription_id}")

    # --- 2 infra -------------------------------------------------------------------------
    def infra(self) -> None:
        """what-if, review, then an incremental deployment; reads the outputs scripts use."""
        if self.o.skip_infra:
            self.log.add("infra", "skipped", "--skip-infra")
            outputs = self.az.query(
                ["deployment", "group", "show", "-g", self.o.resource_group, "-n", self.o.deployment_name]
            )
            self.outputs = self._outputs(outputs)
            return
        base = ["-g", self.o.resource_group, "-f", str(self.o.template), "-p", f"@{self.o.parameters}"]
        what_if = self.az.query(
            [
                "deployment",
                "group",
                "what-if",
                *base,
                "--result-format",
                "FullResourcePayloads",
                "--no-pretty-print",
            ]
        )
        if not self.o.dry_run:
            changes = (what_if or {}).get("changes", [])
            deletes = [c.get("resourceId") for c in changes if c.get("changeType") == "Delete"]
            if deletes:
                raise ReleaseRefusedError(
                    "what-if would DELETE: " + ", ".join(map(str, deletes)) + ". Nothing was deployed; "
                    "review the template (never use --mode Complete)."
                )
            review = [
                c.get("resourceId")
                for c in changes
                if c.get("changeType") == "Modify" and resource_type(str(c.get("resourceId"))) in REVIEW_TYPES
            ]
            counts: dict[str, int] = {}
            for change in changes:
                counts[str(change.get("changeType"))] = counts.get(str(change.get("changeType")), 0) + 1
            self.say(f"what-if: {json.dumps(counts, sort_keys=True)}")
            for resource_id in review:
                self.say(f"  review (restarts the app / changes access): Modify {resource_id}")
            self.log.add("what-if", "ok", json.dumps(counts, sort_keys=True), review=review)
        self.ask("infra", "Deploy infra (incremental) as shown by what-if?")
        result = self.az.mutate(
            ["deployment", "group", "create", "-n", self.o.deployment_name, *base, "--mode", "Incremental"]
        )
        self.outputs = self._outputs(result)
        self.log.add("infra", "ok" if not self.o.dry_run else "planned", "incremental deployment")

    def _outputs(self, deployment: Any) -> dict[str, Any]:
        if self.o.dry_run or not isinstance(deployment, dict):
            return {n: f"<{n}>" for n in DEPLOYMENT_OUTPUTS_READ}
        outputs = (deployment.get("properties") or {}).get("outputs") or {}
        values = {k: (v or {}).get("value") for k, v in outputs.items()}
        missing = [
            n
            for n in ("STORAGE_ACCOUNT_NAME", "PACKAGE_CONTAINER_NAME", "PACKAGE_BLOB_ENDPOINT")
            if not values.get(n)
        ]
        if missing:
            raise ReleaseRefusedError(
                f"deployment outputs lack {', '.join(missing)}; deploy infra/main.bicep first"
            )
        return values

    # --- 3 package -----------------------------------------------------------------------
    def deploy_package(self) -> None:
        """Upload the package and point only the staging slot at it."""
        if self.o.package is None:
            self.log.add("package", "skipped", "no --package")
            return
        blob = package_blob_name(self.o.app, self.o.package)
        account = self.outputs["STORAGE_ACCOUNT_NAME"]
        container = self.outputs["PACKAGE_CONTAINER_NAME"]
        url = f"{str(self.outputs['PACKAGE_BLOB_ENDPOINT']).rstrip('/')}/{container}/{blob}"
        self.ask(
            "package",
            f"Upload {self.o.package.name} and run it on slot {self.o.slot} (restarts staging only)?",
        )
        self.az.mutate(
            [
                "storage",
                "blob",
                "upload",
                "--auth-mode",
                "login",
                "--account-name",
                account,
                "--container-name",
                container,
                "--name",
                blob,
                "--file",
                str(self.o.package),
                "--overwrite",
                "false",
            ]
        )
        # `appsettings set` reads the current list and writes it back with these settings
        # changed: a merge, never a replacement of the whole collection.
        build = app_identity({})  # the checkout's version (pyproject.toml) and git commit
        self.az.mutate(
            [
                "functionapp",
                "config",
                "appsettings",
                "set",
                *self.slot_args(),
                "--settings",
                f"WEBSITE_RUN_FROM_PACKAGE={url}",
                # Sealed audit packets name the code that sealed them (audit_packets.sealing).
                f"APP_VERSION={build['version']}",
                f"APP_COMMIT={build['commit']}",
            ]
        )
        sync = (
            f"{ARM}/subscriptions/{self.subscription_id}/resourceGroups/{self.o.resource_group}/providers/"
            f"Microsoft.Web/sites/{self.o.app}/slots/{self.o.slot}/syncfunctiontriggers"
            f"?api-version={WEB_API_VERSION}"
        )
        self.az.mutate(["rest", "--method", "post", "--url", sync])
        self.log.add("package", "ok" if not self.o.dry_run else "planned", url)

    # --- 4 preflight ---------------------------------------------------------------------
    def preflight(self, label: str) -> None:
        """Run the read-only checks; a failed check stops the release."""
        if self.o.dry_run:
            self.say(
                f"would run ({label}): python -m ops preflight -g {self.o.resource_group} -n {self.o.app}"
            )
            self.log.add(label, "planned")
            return
        target = Target(
            resource_group=self.o.resource_group,
            app=self.o.app,
            slot=self.o.slot,
            subscription=self.o.subscription,
            app_insights=self.outputs.get("APPLICATION_INSIGHTS_NAME"),
            storage_account=self.outputs.get("STORAGE_ACCOUNT_NAME"),
            release_permissions=True,
        )
        report = Preflight(self.az, target, self.o.host_json).run()
        self.say(format_summary(report))
        self.log.add(label, "ok" if report.ok else "failed", report=report.to_dict())
        if not report.ok:
            raise ReleaseRefusedError(f"{label} failed; fix the checks marked FAIL before swapping")

    # --- 5 in-flight instances -----------------------------------------------------------
    def active_instances(self) -> list[dict[str, Any]]:
        """Running/Pending/Suspended instances on the production hub (Durable management API)."""
        keys = self.az.query(["functionapp", "keys", "list", "-g", self.o.resource_group, "-n", self.o.app])
        host = self.outputs.get("FUNCTION_APP_HOST_NAME") or f"{self.o.app}.azurewebsites.net"
        hub = self.outputs.get("PRODUCTION_TASK_HUB")
        key = "<durabletask_extension system key>"
        if isinstance(keys, dict):
            key = str((keys.get("systemKeys") or {}).get("durabletask_extension") or "")
            if not key:
                raise ReleaseRefusedError(
                    "the production app has no durabletask_extension system key (is the Durable extension "
                    "loaded?); cannot check in-flight instances"
                )
            self.az.secrets.append(key)
        url = (
            f"https://{host}/runtime/webhooks/durabletask/instances?runtimeStatus={','.join(ACTIVE_STATUSES)}"
            f"&top=100&showInput=false" + (f"&taskHub={quote(str(hub))}" if hub else "")
        )
        # App Service Authentication answers 401 to a call without an Entra token, so az attaches one
        # for the app registration (--resource); the extension's system key travels as a header,
        # never in the URL (URLs end up in logs).
        client_id = self.outputs.get("AUTH_CLIENT_ID")
        if not client_id:
            raise ReleaseRefusedError(
                "the deployment has no AUTH_CLIENT_ID output (the Entra app registration of App Service "
                "Authentication); redeploy infra/ with authClientId set"
            )
        # The key goes to az in a file only this user can read (`@file`), never on az's command line,
        # which other users of the machine can see (ps) and CI logs keep.
        with secret_json_file({"x-functions-key": key}) as headers:
            result = self.az.query(
                [
                    "rest",
                    "--method",
                    "get",
                    "--url",
                    url,
                    "--resource",
                    f"api://{client_id}",
                    "--headers",
                    f"@{headers}",
                ]
            )
        # The hub's retention orchestration always runs (one activity and one timer per execution):
        # it is not a case the swap must wait for. If its own code changes, terminate it; the next
        # completed case starts it again (personal_data/).
        return [
            i
            for i in result or []
            if isinstance(i, dict)
            and i.get("runtimeStatus") in ACTIVE_STATUSES
            and i.get("instanceId") != RETENTION_INSTANCE_ID
        ]

    def check_in_flight(self) -> None:
        """Refuse the swap while the production hub has active instances, unless drained/versioned."""
        instances = self.active_instances()
        if self.o.dry_run:
            self.log.add("in-flight", "planned")
            return
        counts: dict[str, int] = {}
        for instance in instances:
            counts[instance["runtimeStatus"]] = counts.get(instance["runtimeStatus"], 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"
        self.say(
            f"production task hub {self.outputs.get('PRODUCTION_TASK_HUB')}: active instances: {summary}"
        )
        if not instances:
            self.log.add("in-flight", "ok", "no active instances")
            return
        if self.o.versioning:
            versioning = read_versioning(self.o.host_json)
            if not versioning["defaultVersion"]:
                raise ReleaseRefusedError(
                    f"{summary} active and --versioning given, but host.json has no "
                    "extensions.durableTask.defaultVersion; bump it for this breaking change, or use --drain"
                )
            if not bundle_supports_versioning(versioning["extensionBundle"]):
                raise ReleaseRefusedError(
                    f"extension bundle range {versioning['extensionBundle']} may resolve below 4.30.0, which "
                    "lacks orchestration versioning; set the range to start at 4.30.0"
                )
            self.log.add(
                "in-flight", "ok", f"{summary}; versioning defaultVersion={versioning['defaultVersion']}"
            )
            return
        if self.o.drain:
            self.drain()
            return
        raise ReleaseRefusedError(
            f"production task hub has {summary} instance(s); the new code would replay them. Rerun with "
            "--drain to wait until they finish, or bump extensions.durableTask.defaultVersion in host.json "
            "and rerun with --versioning (see docs/deploy-to-azure.md, 'Releases with active instances')"
        )

    def drain(self) -> None:
        """Wait until the production hub has no active instances (new starts must be stopped first)."""
        deadline = time.monotonic() + self.o.drain_timeout
        while True:
            self.sleep(self.o.drain_poll)
            remaining = self.active_instances()
            if not remaining:
                self.log.add("in-flight", "ok", "drained")
                return
            self.say(f"draining: {len(remaining)} instance(s) still active")
            if time.monotonic() >= deadline:
                raise ReleaseRefusedError(
                    f"{len(remaining)} instance(s) still active after {self.o.drain_timeout:.0f}s; "
                    "raise --drain-timeout, or terminate/await them (docs/deploy-to-azure.md)"
                )

    # --- 6 replay check ------------------------------------------------------------------
    def replay(self) -> None:
        """Recorded histories must replay against the new build before it meets production state."""
        command = list(self.o.replay_check_command)
        if self.o.dry_run:
            self.say(f"would run (read-only): {shlex.join(command)} {self.o.package or ''}".rstrip())
            self.log.add("replay-check", "planned")
            return
        try:
            result = self.replay_check(command, self.o.package)
        except OSError as error:
            raise ReleaseRefusedError(
                f"replay check command {shlex.join(command)!r} could not start ({error}); "
                "pass --replay-check-command"
            ) from error
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip()[-500:]
            raise ReleaseRefusedError(f"replay check failed (exit {result.returncode}): {tail}")
        self.log.add("replay-check", "ok", shlex.join(command))

    # --- 7 swap --------------------------------------------------------------------------
    def swap(self) -> None:
        """Swap staging into production (new code starts on the production task hub)."""
        self.ask("swap", f"Swap {self.o.slot} into PRODUCTION for {self.o.app}?")
        self.az.mutate(
            [
                "functionapp",
                "deployment",
                "slot",
                "swap",
                *self.slot_args(),
                "--target-slot",
                "production",
            ]
        )
        self.log.add("swap", "ok" if not self.o.dry_run else "planned")

    def run(self) -> None:
        """The whole flow; raises ReleaseRefusedError or AzError to stop."""
        self.show_target()
        self.infra()
        self.deploy_package()
        self.preflight("preflight")
        self.check_in_flight()
        self.replay()
        self.swap()
        self.preflight("post-swap preflight")


def prompt(question: str) -> bool:
    """Ask on the terminal; anything but y/yes is a no."""
    if not sys.stdin.isatty():
        raise ReleaseRefusedError(f"{question} needs confirmation but stdin is not a terminal; pass --yes")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def options_from_args(args: argparse.Namespace) -> ReleaseOptions:
    """Build ReleaseOptions from parsed arguments."""
    command = args.replay_check_command or os.environ.get("OPS_REPLAY_CHECK_COMMAND")
    return options_from(
        ReleaseOptions, args, replay_check_command=shlex.split(command) if command else REPLAY_CHECK_COMMAND
    )


def handle(
    args: argparse.Namespace, az: AzureCli | None = None, confirm: Callable[[str], bool] = prompt
) -> int:
    """Entry point of `python -m ops release`."""
    if args.drain and args.versioning:
        print("Error: --drain and --versioning exclude each other; choose one.", file=sys.stderr)
        return 2
    if args.package is not None:
        if not args.package.is_file():
            print(
                f"Error: --package {args.package} is not a file; build it with python -m ops package.",
                file=sys.stderr,
            )
            return 2
        problems = package_problems(args.package)
        if problems:
            print(
                f"Error: --package {args.package} is not a deploy package: {'; '.join(problems)}. "
                "Build it with python -m ops package.",
                file=sys.stderr,
            )
            return 2
    elif not getattr(args, "no_package", False):
        if args.dry_run:
            print("would run (local): python -m ops package (the deploy package of HEAD)")
        else:
            try:
                manifest = build_package()
            except PackageError as error:
                print(f"Error: {error}", file=sys.stderr)
                return 1
            print(format_manifest(manifest), file=sys.stderr if args.json else sys.stdout)
            args.package = Path(manifest.output)
    options = options_from_args(args)
    # A dry run's plan is the command's output: stdout, unless stdout carries the --json document.
    client = az or AzureCli(dry_run=options.dry_run, out=sys.stderr if args.json else sys.stdout)
    client.dry_run = options.dry_run
    release = Release(options, client, confirm)
    status = 0
    try:
        release.run()
        release.say("Dry run: nothing was changed." if options.dry_run else "Release complete.")
    except ReleaseRefusedError as refusal:
        release.log.add("refused", "failed", str(refusal))
        print(f"Error: release refused: {refusal}", file=sys.stderr)
        status = 1
    except AzError as error:
        release.log.add("az", "failed", str(error))
        print(
            f"Error: {error}. Nothing after this step ran; rerun preflight to see the state.", file=sys.stderr
        )
        status = 1
    if args.json:
        print(
            json.dumps({"ok": status == 0, "dryRun": options.dry_run, "steps": release.log.steps}, indent=2)
        )
    return status


def register(subparsers: SubParsers) -> None:
    """Add the `release` subcommand."""
    parser = add_command(subparsers, "release", SUMMARY, __doc__, handle)
    parser.add_argument("-g", "--resource-group", required=True, help="resource group of the app")
    parser.add_argument("-n", "--app", required=True, help="Function App name (output FUNCTION_APP_NAME)")
    parser.add_argument(
        "--package",
        type=Path,
        help="the deploy package built by python -m ops package (default: build it now from HEAD)",
    )
    parser.add_argument(
        "--no-package", action="store_true", help="deploy no code (infra, gates and swap only)"
    )
    parser.add_argument("--slot", default="staging", help="slot that receives the build (default: staging)")
    parser.add_argument("--subscription", help="expected subscription ID or name; anything else is refused")
    parser.add_argument(
        "--template", type=Path, default=REPO_ROOT / "infra" / "main.bicep", help="Bicep template"
    )
    parser.add_argument(
        "--parameters",
        type=Path,
        default=REPO_ROOT / "infra" / "main.parameters.json",
        help="JSON parameter file",
    )
    parser.add_argument("--deployment-name", default="workflows-infra", help="ARM deployment name")
    parser.add_argument(
        "--skip-infra", action="store_true", help="skip what-if/create; read the last deployment"
    )
    parser.add_argument(
        "--drain", action="store_true", help="wait until the production hub has no active instances"
    )
    parser.add_argument("--drain-timeout", type=float, default=1800.0, help="seconds to wait when draining")
    parser.add_argument(
        "--versioning",
        action="store_true",
        help="swap despite active instances: host.json defaultVersion was bumped for this change",
    )
    parser.add_argument(
        "--replay-check-command",
        help="command replaying recorded histories against the build (default: python -m ops replay-check; "
        "env OPS_REPLAY_CHECK_COMMAND); the package path is appended",
    )
    parser.add_argument("--yes", action="store_true", help="do not ask before each mutating step")
    parser.add_argument("--dry-run", action="store_true", help="print every az command, run none")
    add_json_option(parser, "print one JSON document (the step log) on stdout")
