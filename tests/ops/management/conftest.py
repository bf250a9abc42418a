"""One devhost on Azurite, running tests/ops/apps/ops_app, for the instances, audit and record tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ops.__main__ import main
from tests.support.durable_http import DurableApi
from tools.harness import Azurite, HostProcess, make_host

APP = Path(__file__).resolve().parents[1] / "apps" / "ops_app"
REFUND_REQUEST = {
    "claimId": "c-1",
    "customerEmail": "pat@example.com",
    "phone": "+44 7700 900123",
    "card": "4111 1111 1111 1111",
    "amount": 42,
    "timeoutSeconds": 60,
}


@pytest.fixture(scope="package")
def ops_host(azurite: Azurite) -> Iterator[HostProcess]:
    host = make_host(APP, azurite).start()
    yield host
    host.stop()


@pytest.fixture
def api(ops_host: HostProcess) -> DurableApi:
    return DurableApi(ops_host.base_url)


def run_ops(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `python -m ops ...` in-process; returns (exit code, stdout, stderr)."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code, out, _ = run_ops(capsys, *argv, "--json")
    return code, json.loads(out) if out.strip() else None
