"""Replays recorded az CLI output (tests/ops/recordings/*.json) in place of the real CLI.

Each recording holds the command it was captured from, its exit code, its JSON stdout and its
stderr. A command is matched by `command_key`: the az sub-command words, plus `--slot`, the
provider namespace, or the REST method and URL path. Tests start from the healthy recordings and
replace single answers to drive each failure branch.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ops.azure_cli import AzureCli, ProcessResult

RECORDINGS = Path(__file__).parent / "recordings"


def _option(args: Sequence[str], name: str) -> str | None:
    return args[list(args).index(name) + 1] if name in args else None


def command_key(args: Sequence[str]) -> str:
    """The lookup key of an az command line."""
    words: list[str] = []
    for arg in args:
        if arg.startswith("-"):
            break
        words.append(arg)
    if words[:1] == ["rest"]:
        url = _option(args, "--url") or ""
        return f"rest {_option(args, '--method')} {urlsplit(url).path}"
    key = " ".join(words)
    if (slot := _option(args, "--slot")) is not None:
        key += f" --slot {slot}"
    if (namespace := _option(args, "--namespace")) is not None:
        key += f" {namespace}"
    return key


def load(name: str) -> dict[str, Any]:
    """One recording by file name (without .json)."""
    data: dict[str, Any] = json.loads((RECORDINGS / f"{name}.json").read_text(encoding="utf-8"))
    return data


# The recordings of a healthy production app with a staging slot, keyed by command.
HEALTHY = (
    "account_show",
    "permissions",
    "provider_web",
    "provider_storage",
    "provider_insights",
    "functionapp_show_production",
    "functionapp_show_staging",
    "appsettings_production",
    "appsettings_staging",
    "configreferences_production",
    "configreferences_staging",
    "authsettings_production",
    "authsettings_staging",
    "slot_list",
    "appinsights_component_show",
    "appinsights_resource_show",
    "storage_account_show",
    "role_assignments_resource_group",
    "slotsdiffs",
    "deployment_what_if",
    "deployment_create",
    "deployment_show",
    "functionapp_keys",
    "durable_instances_none",
    "blob_upload",
    "appsettings_set_staging",
    "sync_triggers",
    "slot_swap",
)


@dataclass
class FakeAz:
    """A process runner answering from recordings; records every command it was asked."""

    recordings: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[list[str]] = field(default_factory=list)
    routes: list[tuple[Callable[[Sequence[str]], bool], dict[str, Any]]] = field(default_factory=list)
    sequences: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def healthy(cls) -> FakeAz:
        """A fake loaded with the healthy recordings."""
        fake = cls()
        for name in HEALTHY:
            fake.use(name)
        return fake

    def use(self, name: str) -> dict[str, Any]:
        """Answer the recording's command with that recording (replacing any previous answer)."""
        recording = load(name)
        self.recordings[recording["key"]] = recording
        return recording

    def answer_in_turn(self, *names: str) -> None:
        """Answer successive calls of the recordings' command with each recording in turn (the
        last one repeats)."""
        recordings = [load(name) for name in names]
        self.sequences[recordings[0]["key"]] = recordings

    def stdout(self, key: str) -> Any:
        """The (mutable) JSON answer for a key, for tests to edit in place."""
        return self.recordings[key]["stdout"]

    def set(self, key: str, stdout: Any = None, exit_code: int = 0, stderr: str = "") -> None:
        """Answer `key` with the given output."""
        self.recordings[key] = {"key": key, "exit_code": exit_code, "stdout": stdout, "stderr": stderr}

    def __call__(self, args: Sequence[str]) -> ProcessResult:
        self.calls.append(list(args))
        for predicate, recording in self.routes:
            if predicate(args):
                return self._result(recording)
        key = command_key(args)
        if self.sequences.get(key):
            queue = self.sequences[key]
            return self._result(queue.pop(0) if len(queue) > 1 else queue[0])
        if key not in self.recordings:
            return ProcessResult(2, "", f"ERROR: no recording for {key!r}")
        return self._result(self.recordings[key])

    @staticmethod
    def _result(recording: dict[str, Any]) -> ProcessResult:
        stdout = recording.get("stdout")
        text = "" if stdout is None else json.dumps(copy.deepcopy(stdout))
        return ProcessResult(int(recording.get("exit_code", 0)), text, str(recording.get("stderr", "")))

    def cli(self, *, dry_run: bool = False) -> AzureCli:
        """An AzureCli wired to this fake."""
        return AzureCli(run_process=self, dry_run=dry_run)

    def keys_called(self) -> list[str]:
        """Command keys in call order."""
        return [command_key(c) for c in self.calls]
