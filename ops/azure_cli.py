"""The one runner every az CLI call of the ops commands goes through.

Keeping all calls here gives three properties the release process depends on:
- tests replace `run_process` with a replayer of recorded az JSON (tests/ops/recordings/);
- `dry_run` prints each command instead of running it, so a plan can be reviewed first;
- commands that carry a secret (a host key in a URL) are printed with the secret masked.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

AZ_EXECUTABLE = os.environ.get("AZ_CLI", "az")


@dataclass(frozen=True)
class ProcessResult:
    """What one az invocation returned."""

    returncode: int
    stdout: str
    stderr: str


ProcessRunner = Callable[[Sequence[str]], ProcessResult]


class AzError(Exception):
    """An az command failed; `stderr` holds the CLI's message (never printed with secrets)."""

    def __init__(self, args: Sequence[str], result: ProcessResult, masked: str) -> None:
        self.az_args = list(args)
        self.returncode = result.returncode
        self.stderr = result.stderr.strip()
        super().__init__(f"az {masked} failed (exit {result.returncode}): {self.stderr[:500]}")

    @property
    def is_forbidden(self) -> bool:
        """True when ARM refused the call for lack of permission."""
        text = self.stderr.lower()
        return "authorizationfailed" in text or "forbidden" in text or "(403)" in text

    @property
    def is_not_found(self) -> bool:
        """True when the resource does not exist."""
        text = self.stderr.lower()
        return "resourcenotfound" in text or "not found" in text or "(404)" in text


def run_subprocess(args: Sequence[str]) -> ProcessResult:
    """Run the real az CLI (the default process runner)."""
    env = dict(os.environ)
    env.setdefault("AZURE_CORE_COLLECT_TELEMETRY", "false")
    env.setdefault("AZURE_CORE_NO_COLOR", "true")
    try:
        completed = subprocess.run(
            [AZ_EXECUTABLE, *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        return ProcessResult(127, "", f"az CLI not found ({AZ_EXECUTABLE}); install azure-cli or set AZ_CLI")
    return ProcessResult(completed.returncode, completed.stdout, completed.stderr)


@dataclass
class AzureCli:
    """Runs az commands, parses their JSON, and honours dry-run for mutating commands."""

    run_process: ProcessRunner = run_subprocess
    dry_run: bool = False
    out: TextIO = field(default_factory=lambda: sys.stderr)
    secrets: list[str] = field(default_factory=list)
    history: list[list[str]] = field(default_factory=list)

    def mask(self, args: Sequence[str]) -> str:
        """The command as a shell line, with every registered secret replaced by ***."""
        line = shlex.join(args)
        for secret in self.secrets:
            if secret:
                line = line.replace(secret, "***")
        return line

    def query(self, args: Sequence[str]) -> Any:
        """Run a read-only command and return its parsed JSON output (None for empty output).

        In dry-run mode nothing runs: the command is printed and None is returned.
        """
        return self._run(args, mutating=False)

    def mutate(self, args: Sequence[str]) -> Any:
        """Run a command that changes Azure state; printed, not run, in dry-run mode."""
        return self._run(args, mutating=True)

    def _run(self, args: Sequence[str], *, mutating: bool) -> Any:
        full = [*args, "--only-show-errors", "-o", "json"] if "-o" not in args else [*args]
        if self.dry_run:
            kind = "mutating" if mutating else "read-only"
            print(f"would run ({kind}): az {self.mask(full)}", file=self.out)
            return None
        self.history.append(full)
        result = self.run_process(full)
        if result.returncode != 0:
            raise AzError(full, result, self.mask(full))
        text = result.stdout.strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise AzError(
                full, ProcessResult(1, "", f"output is not JSON: {error}"), self.mask(full)
            ) from error
