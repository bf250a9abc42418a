"""Fixtures of the identity tests: the project's root app (every workflow and the console) on a
devhost that emulates Easy Auth, with a virtual clock, and the people who act on it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.identity import Tokens
from tools.harness import REPO_ROOT, Azurite, HostProcess, make_host

CONSOLE_CSRF_KEY = "identity-tests-form-key"


@pytest.fixture(scope="package")
def root_host(azurite: Azurite) -> Iterator[HostProcess]:
    """The root app with --easy-auth (local shelter staff), sandboxes, its own hub and containers."""
    env = {
        "STORAGE_CONTAINER_PREFIX": f"id{uuid.uuid4().hex[:10]}",
        "INTEGRATIONS_MODE": "sandbox",
        # A known form-signing key, so tests can post console forms the way a browser would.
        "CONSOLE_CSRF_KEY": CONSOLE_CSRF_KEY,
    }
    host = make_host(REPO_ROOT, azurite, virtual_clock=True, env=env, easy_auth=True).start()
    yield host
    host.stop()


@pytest.fixture(scope="package")
def tokens(root_host: HostProcess) -> Tokens:
    """Session tokens of the test principals on the root host."""
    return Tokens(root_host.base_url)
