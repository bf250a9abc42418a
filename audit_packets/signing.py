"""Signing sealed audit packets, and checking a signature with nothing but the public key.

The app signs the SHA-256 digest of a packet's canonical bytes with ES256 (ECDSA P-256):
- on Azure with an Azure Key Vault key (`AUDIT_SIGNING_KEY_URI`, e.g.
  `https://<vault>.vault.azure.net/keys/audit-packet-signing`), through `CryptographyClient` and the
  app's managed identity (`AUDIT_SIGNING_KEY__clientId`, else `AzureWebJobsStorage__clientId`).
  The identity may only read the public key, sign and verify (infra/modules/audit-evidence.bicep);
  the private key never leaves the vault.
- locally with a PEM key file (`AUDIT_SIGNING_KEY_FILE`; a relative path is taken from the app
  folder) that `scripts/dev` and the test harness create with `python -m ops audit create-key` and
  that is never committed.

A signature is the JWS form of ES256 (r || s, 32 bytes each, base64url), which is what Key Vault
returns; it is an ordinary ECDSA-with-SHA-256 signature over the canonical bytes, so `openssl dgst
-sha256 -verify` checks it too once converted to DER. Each signature names its key: the Key Vault
key identifier with its version, or `local:<RFC 7638 thumbprint>` for a key file. Public keys are
published as a JWK set (`GET /api/audit/signing-keys`) and can be fetched from the vault by an
auditor with read access to the key (`az keyvault key download`), so a third party verifies without
trusting the app.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

from contracts.setting_files import PROJECT_ROOT

SIGNATURE_ALGORITHM = "ES256"
KEY_URI_SETTING = "AUDIT_SIGNING_KEY_URI"
KEY_FILE_SETTING = "AUDIT_SIGNING_KEY_FILE"
KEY_CLIENT_ID_SETTING = "AUDIT_SIGNING_KEY__clientId"
STORAGE_CLIENT_ID_SETTING = "AzureWebJobsStorage__clientId"
LOCAL_KEY_PREFIX = "local:"
_COORDINATE_BYTES = 32  # P-256


class SigningKeyNotConfiguredError(RuntimeError):
    """Neither a Key Vault key nor a key file is configured, so nothing can be sealed."""


class InvalidKeyError(ValueError):
    """A public key that is not an EC P-256 key in a form we read (PEM, JWK, JWK set)."""


@dataclass(frozen=True)
class Signature:
    """One signature: which key made it, with which algorithm, and its bytes (r || s)."""

    key_id: str
    algorithm: str
    value: bytes

    @property
    def value_b64url(self) -> str:
        """The signature as unpadded base64url (JWS form)."""
        return b64url(self.value)


class PacketSigner(Protocol):
    """What sealing needs: sign a SHA-256 digest; list the public keys to publish."""

    def sign_digest(self, digest: bytes) -> Signature:
        """ES256 signature of a SHA-256 digest."""
        ...

    def public_keys(self) -> list[dict[str, Any]]:
        """The public JWKs (with `kid`) of every key version signatures may name."""
        ...


# -- encodings -------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Decode unpadded (or padded) base64url; ValueError on anything else."""
    cleaned = text.strip()
    if not cleaned or any(
        c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=" for c in cleaned
    ):
        raise ValueError("not base64url text")
    return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))


def public_jwk(public_key: ec.EllipticCurvePublicKey, key_id: str | None = None) -> dict[str, Any]:
    """The public JWK of a P-256 key (`kty`, `crv`, `x`, `y`, plus `kid`, `alg`, `use`)."""
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise InvalidKeyError("the audit signing key must be an EC P-256 key")
    numbers = public_key.public_numbers()
    jwk: dict[str, Any] = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(_COORDINATE_BYTES, "big")),
        "y": b64url(numbers.y.to_bytes(_COORDINATE_BYTES, "big")),
    }
    thumbprint = jwk_thumbprint(jwk)
    jwk.update(kid=key_id or f"{LOCAL_KEY_PREFIX}{thumbprint}", alg=SIGNATURE_ALGORITHM, use="sig")
    return jwk


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint of an EC JWK (SHA-256 over its required members), base64url."""
    required = {name: str(jwk[name]) for name in ("crv", "kty", "x", "y")}
    text = json.dumps(required, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(text.encode()).digest())


def public_key_from_jwk(jwk: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    """The P-256 public key of a JWK; InvalidKeyError for anything else."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise InvalidKeyError("expected an EC P-256 JWK (kty EC, crv P-256)")
    try:
        x = int.from_bytes(b64url_decode(str(jwk["x"])), "big")
        y = int.from_bytes(b64url_decode(str(jwk["y"])), "big")
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except (KeyError, ValueError) as error:
        raise InvalidKeyError(f"unreadable EC JWK: {error}") from None


def trusted_keys_from_text(text: str) -> list[dict[str, Any]]:
    """Public keys from a PEM public key, a JWK or a JWK set (`{"keys": [...]}`), as JWKs with `kid`."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(stripped.encode())
        except ValueError as error:
            raise InvalidKeyError(f"unreadable PEM public key: {error}") from None
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise InvalidKeyError("the PEM key is not an EC key")
        return [public_jwk(key)]
    try:
        document = json.loads(stripped)
    except ValueError:
        raise InvalidKeyError("expected a PEM public key, a JWK or a JWK set") from None
    entries = document.get("keys") if isinstance(document, dict) and "keys" in document else [document]
    if not isinstance(entries, list):
        raise InvalidKeyError("a JWK set's 'keys' must be a list")
    keys = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise InvalidKeyError("every JWK must be a JSON object")
        public = public_jwk(public_key_from_jwk(entry), str(entry["kid"]) if entry.get("kid") else None)
        keys.append(public)
    return keys


# -- verification (public key only) ----------------------------------------------------------------


def verify_digest_signature(public_key: ec.EllipticCurvePublicKey, digest: bytes, signature: bytes) -> bool:
    """True when `signature` (r || s) is the key's ES256 signature of the SHA-256 `digest`."""
    if len(signature) != 2 * _COORDINATE_BYTES or len(digest) != hashlib.sha256().digest_size:
        return False
    r = int.from_bytes(signature[:_COORDINATE_BYTES], "big")
    s = int.from_bytes(signature[_COORDINATE_BYTES:], "big")
    try:
        public_key.verify(encode_dss_signature(r, s), digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    except InvalidSignature:
        return False
    return True


# -- signers ---------------------------------------------------------------------------------------


class KeyFileSigner:
    """A local EC P-256 private key in a PEM file (development and tests only)."""

    def __init__(self, path: Path) -> None:
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError:
            raise SigningKeyNotConfiguredError(
                f"{KEY_FILE_SETTING} names {path}, which does not exist: create it with "
                f"`python -m ops audit create-key --out {path}`"
            ) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise InvalidKeyError(f"{path} is not an EC P-256 private key")
        self._key = key
        self.jwk = public_jwk(key.public_key())
        self.key_id = str(self.jwk["kid"])

    def sign_digest(self, digest: bytes) -> Signature:
        """ES256 over the digest, returned in JWS form like Key Vault's."""
        der = self._key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        r, s = decode_dss_signature(der)
        raw = r.to_bytes(_COORDINATE_BYTES, "big") + s.to_bytes(_COORDINATE_BYTES, "big")
        return Signature(self.key_id, SIGNATURE_ALGORITHM, raw)

    def public_keys(self) -> list[dict[str, Any]]:
        """The one public key."""
        return [dict(self.jwk)]


class KeyVaultSigner:
    """An Azure Key Vault EC key, used through the app's managed identity (sign and read only)."""

    def __init__(self, key_uri: str, client_id: str | None = None) -> None:
        from azure.identity import DefaultAzureCredential  # noqa: PLC0415 (Azure only; keeps local imports light)

        self.key_uri = key_uri.rstrip("/")
        parts = self.key_uri.split("/")
        if len(parts) < 5 or parts[3] != "keys" or not parts[0].startswith("https"):
            raise SigningKeyNotConfiguredError(
                f"{KEY_URI_SETTING} must look like https://<vault>.vault.azure.net/keys/<name>[/<version>]"
            )
        self.vault_url = "/".join(parts[:3])
        self.key_name = parts[4]
        self._credential = DefaultAzureCredential(managed_identity_client_id=client_id or None)

    def sign_digest(self, digest: bytes) -> Signature:
        """Key Vault signs; the result names the key version that signed."""
        from azure.keyvault.keys.crypto import CryptographyClient, SignatureAlgorithm  # noqa: PLC0415

        client = CryptographyClient(self.key_uri, self._credential)
        result = client.sign(SignatureAlgorithm.es256, digest)
        return Signature(str(result.key_id), SIGNATURE_ALGORITHM, bytes(result.signature))

    def public_keys(self) -> list[dict[str, Any]]:
        """Every enabled version of the key as a public JWK whose `kid` is the versioned key id."""
        from azure.keyvault.keys import KeyClient  # noqa: PLC0415

        client = KeyClient(self.vault_url, self._credential)
        keys = []
        for properties in client.list_properties_of_key_versions(self.key_name):
            if not properties.enabled:
                continue
            key = client.get_key(self.key_name, properties.version).key
            # JsonWebKey exposes the JWK members as attributes only at run time.
            x, y = bytes(getattr(key, "x", None) or b""), bytes(getattr(key, "y", None) or b"")
            jwk = {"kty": "EC", "crv": "P-256", "x": b64url(x), "y": b64url(y)}
            keys.append(public_jwk(public_key_from_jwk(jwk), str(getattr(key, "kid", ""))))
        return keys


def signer_from_settings(environ: Mapping[str, str] | None = None) -> PacketSigner:
    """The Key Vault signer when `AUDIT_SIGNING_KEY_URI` is set, else the key file, else an error."""
    env = os.environ if environ is None else environ
    key_uri = env.get(KEY_URI_SETTING, "").strip()
    if key_uri:
        client_id = (
            env.get(KEY_CLIENT_ID_SETTING, "").strip() or env.get(STORAGE_CLIENT_ID_SETTING, "").strip()
        )
        return KeyVaultSigner(key_uri, client_id or None)
    key_file = env.get(KEY_FILE_SETTING, "").strip()
    if key_file:
        path = Path(key_file)
        return KeyFileSigner(path if path.is_absolute() else PROJECT_ROOT / path)
    raise SigningKeyNotConfiguredError(
        f"no audit signing key: set {KEY_URI_SETTING} (Azure Key Vault key) or {KEY_FILE_SETTING} "
        "(a local PEM key; `python -m ops audit create-key --out FILE` makes one)"
    )


def create_key_file(path: Path) -> dict[str, Any]:
    """Write a new EC P-256 private key (PEM, mode 0600) to `path`, never over an existing file."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    return public_jwk(key.public_key())
