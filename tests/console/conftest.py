"""Fixtures of the console tests: the root app on Azurite (virtual clock, Easy Auth emulated) and
headless Chromium.

The browser is Debian's Chromium (`/usr/bin/chromium`, installed by scripts/bootstrap) driven by
Playwright with that executable: Playwright's own browser download is never used. Pages sign in
through the devhost's sign-in form (`sign_in`), as a person would. Screenshots go to
`.artifacts/console/`.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from ops.sign_in import LocalPrincipal
from tools.clients import Cast
from tools.harness import ARTIFACTS, REPO_ROOT, Azurite, HostProcess, make_host

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ARTIFACTS / "console"
# Flags for a sandbox-less, offline machine: no GPU, no background connections to Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def console_env() -> dict[str, str]:
    """App settings of the module's host: own containers, sandboxed outside systems."""
    return {"STORAGE_CONTAINER_PREFIX": f"co{uuid.uuid4().hex[:10]}", "INTEGRATIONS_MODE": "sandbox"}


@pytest.fixture(scope="module")
def console_host(azurite: Azurite, console_env: dict[str, str]) -> Iterator[HostProcess]:
    """The project's root app (every workflow and the console) with a virtual clock."""
    host = make_host(REPO_ROOT, azurite, virtual_clock=True, env=console_env, easy_auth=True).start()
    yield host
    host.stop()


@pytest.fixture(scope="module")
def cast(console_host: HostProcess) -> Cast:
    """The workflows' own HTTP API as its callers use it: the portal starts cases, a reader reads."""
    return Cast.sign_in(console_host.base_url)


def sign_in(page: Page, base_url: str, principal: LocalPrincipal, then: str = "/api/console") -> None:
    """Sign in through the devhost's sign-in form (Easy Auth emulation), then land on `then`."""
    page.goto(f"{base_url}/.auth/login/aad?post_login_redirect_uri={quote(then, safe='')}")
    page.get_by_label("User ID").fill(principal.user_id)
    page.get_by_label("User details").fill(principal.name)
    page.get_by_label("User roles").fill(",".join(str(role) for role in principal.roles))
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium under Playwright."""
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        raise RuntimeError(
            f"{CHROMIUM} is missing: run ./scripts/bootstrap as root (it installs Debian's chromium)"
        )
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (own cookies) and page, 1280 px wide."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as `.artifacts/console/<name>.png` (and the first screen, `-top`)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-top.png"), full_page=False)
    return path
