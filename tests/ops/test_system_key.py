"""The Durable system key reaches the management API only from the environment, as a header.

On Azure the `durabletask_extension` key opens terminate, purge, raise-any-event and every input;
the app never hands it out (its starters answer with their own status resources), and the ops
commands never take it from a command line, where other users see it (ps) and shell history and CI
logs keep it.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import pytest
import requests

from ops.__main__ import main
from ops.durable_client import SYSTEM_KEY_ENV
from ops.instances import client_from_args

UNREACHABLE = "http://127.0.0.1:9"


@pytest.mark.parametrize(
    "argv",
    [
        ["instances", "list", "--base-url", UNREACHABLE, "--code", "s3cret-key"],
        ["instances", "terminate", "some-id", "--base-url", UNREACHABLE, "--code", "s3cret-key", "--yes"],
        ["audit", "some-id", "--base-url", UNREACHABLE, "--code", "s3cret-key"],
        [
            "replay-record",
            "--base-url",
            UNREACHABLE,
            "--instance",
            "x",
            "--out",
            "x.json",
            "--code",
            "s3cret-key",
        ],
    ],
)
def test_a_system_key_on_the_command_line_is_refused(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert SYSTEM_KEY_ENV in error and "command line" in error
    assert "s3cret-key" not in error


def test_the_key_comes_from_the_environment_and_travels_as_a_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SYSTEM_KEY_ENV, "from-the-environment")
    client = client_from_args(argparse.Namespace(base_url=UNREACHABLE, token=None))
    sent: list[tuple[str, Any]] = []

    def capture(method: str, url: str, **options: Any) -> requests.Response:
        sent.append((url, options.get("params")))
        response = requests.Response()
        response.status_code = 200
        response._content = b"[]"
        return response

    monkeypatch.setattr(client.session, "request", capture)
    client.query()
    [(url, params)] = sent
    assert "from-the-environment" not in url + json.dumps(params)
    assert client.session.headers["x-functions-key"] == "from-the-environment"
