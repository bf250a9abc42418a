"""HTTP calls to a real outside system: base URL and secret from app settings, Idempotency-Key sent.

App settings per system (`<SYSTEM>` is e.g. `PAYMENTS`, `CUSTOMER_MESSAGING`):
- `<SYSTEM>_BASE_URL`: the API root, https in a deployment;
- `<SYSTEM>_API_KEY`: the secret, sent as `Authorization: Bearer ...`; in Azure this setting is a
  Key Vault reference (`@Microsoft.KeyVault(SecretUri=...)`), so the secret is never in config;
- `<SYSTEM>_TIMEOUT`: ISO 8601 duration per call (default PT30S).

Errors are mapped for retry policies: timeouts, connection errors, 429 and 5xx are transient (retry
with the same key); other 4xx are rejections. Messages hold the system, method, path and status
only, never request or response bodies (they may carry contact or payment data).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TypeVar

import requests

from contracts import ContractModel, duration_setting
from integrations.errors import (
    IntegrationNotConfiguredError,
    IntegrationRejectedError,
    IntegrationTimeoutError,
    TransientIntegrationError,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TIMEOUT = "PT30S"
ReceiptT = TypeVar("ReceiptT", bound=ContractModel)


class HttpTransport:
    """JSON over HTTPS to one system, with the idempotency key on every mutating call."""

    def __init__(
        self,
        system: str,
        base_url: str,
        secret: str,
        timeout_seconds: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        if not base_url:
            raise IntegrationNotConfiguredError(f"{system}: base URL is empty")
        self.system = system
        self.base_url = base_url.rstrip("/")
        self._secret = secret
        self._timeout = timeout_seconds
        self._session = session or requests.Session()

    @classmethod
    def from_settings(cls, system: str, environ: Mapping[str, str] | None = None) -> HttpTransport:
        """Configured by `<SYSTEM>_BASE_URL`, `<SYSTEM>_API_KEY` and `<SYSTEM>_TIMEOUT`."""
        env = os.environ if environ is None else environ
        prefix = system.upper()
        base_url = env.get(f"{prefix}_BASE_URL", "").strip()
        secret = env.get(f"{prefix}_API_KEY", "").strip()
        if not base_url or not secret:
            raise IntegrationNotConfiguredError(
                f"set {prefix}_BASE_URL and {prefix}_API_KEY for the {system} API"
            )
        timeout = duration_setting(f"{prefix}_TIMEOUT", DEFAULT_TIMEOUT, env).total_seconds()
        return cls(system, base_url, secret, timeout)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET `path` and return the JSON body."""
        return self._send("GET", path, params=params)

    def post(self, path: str, body: Mapping[str, Any], idempotency_key: str) -> Any:
        """POST `body` as JSON with the `Idempotency-Key` header; return the JSON body."""
        if not idempotency_key:
            raise ValueError(f"{self.system} POST {path}: an idempotency key is required")
        return self._send("POST", path, json_body=body, headers={IDEMPOTENCY_HEADER: idempotency_key})

    def post_model(
        self, path: str, request: ContractModel, idempotency_key: str, receipt_type: type[ReceiptT]
    ) -> ReceiptT:
        """POST a typed request with the `Idempotency-Key` header and parse the typed answer."""
        return receipt_type.from_dict(self.post(path, request.to_dict(), idempotency_key))

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        all_headers = {"Authorization": f"Bearer {self._secret}", "Accept": "application/json"}
        all_headers.update(headers or {})
        where = f"{method} {path}"
        try:
            response = self._session.request(
                method,
                f"{self.base_url}/{path.lstrip('/')}",
                params=params,
                json=json_body,
                headers=all_headers,
                timeout=self._timeout,
            )
        except requests.Timeout:
            raise IntegrationTimeoutError(self.system, f"{where}: timed out") from None
        except requests.RequestException as error:
            raise TransientIntegrationError(self.system, f"{where}: {type(error).__name__}") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientIntegrationError(self.system, f"{where}: HTTP {status}")
        if status == 409 and response.headers.get("Idempotent-Replayed") is None:
            # Providers answer 409 while a request with the same key is still in progress.
            raise TransientIntegrationError(self.system, f"{where}: HTTP 409 (request in progress)")
        if status >= 400:
            raise IntegrationRejectedError(self.system, f"{where}: HTTP {status}", status)
        if status == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise TransientIntegrationError(self.system, f"{where}: response is not JSON") from None


class HttpAdapter:
    """Base of each system's HTTP implementation: the transport its calls go through."""

    def __init__(self, transport: HttpTransport) -> None:
        self._transport = transport
