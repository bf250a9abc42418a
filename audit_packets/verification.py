"""Checking a sealed audit packet with nothing but its bytes and the publisher's public key(s).

A sealed packet file is the RFC 8785 canonical JSON of `{"format", "packet", "seal"}` (one line,
as the app stored it). `verify_sealed_bytes` checks, in order, and says plainly what is wrong:
1. the bytes are JSON (a changed byte often breaks it: the position is named);
2. the envelope has a packet and a complete seal (digest, signature, key id, ES256);
3. the SHA-256 of the packet's canonical form equals the recorded digest (else the content changed);
4. the signing key is one of the trusted keys (else the packet was sealed, or re-sealed, by a key
   nobody published);
5. the signature verifies with that key (else the seal itself was altered);
6. the file's bytes are exactly the canonical form (else the content is intact but the file was
   reformatted or had whitespace changed, at the byte named).
Any failed check fails the verification; `allow_reformatted` turns only the last one into a warning.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from audit_packets.canonical import canonical_bytes
from audit_packets.signing import (
    SIGNATURE_ALGORITHM,
    b64url_decode,
    jwk_thumbprint,
    public_key_from_jwk,
    verify_digest_signature,
)

SEALED_FORMAT = "durable-audit-sealed/1"


@dataclass
class Verification:
    """The outcome: `ok` when nothing failed; `problems` and `warnings` in plain words."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    instance_id: str | None = None
    digest: str | None = None
    key_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON form for `--json`."""
        return {
            "ok": self.ok,
            "instanceId": self.instance_id,
            "digest": self.digest,
            "keyId": self.key_id,
            "checks": self.checks,
            "problems": self.problems,
            "warnings": self.warnings,
        }


def _first_difference(left: bytes, right: bytes) -> int:
    for index, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return index
    return min(len(left), len(right))


def verify_sealed_bytes(
    content: bytes, trusted_keys: Iterable[Mapping[str, Any]], *, allow_reformatted: bool = False
) -> Verification:
    """Check a sealed packet file against the trusted public JWKs (each with a `kid`)."""
    result = Verification()
    try:
        envelope = json.loads(content.decode("utf-8"))
    except UnicodeDecodeError as error:
        result.problems.append(f"the file is not UTF-8 text (byte {error.start}): it was changed or damaged")
        return result
    except json.JSONDecodeError as error:
        result.problems.append(
            f"the file is not valid JSON ({error.msg} at byte {error.pos}): it was changed or truncated"
        )
        return result
    result.checks.append("the file is JSON")
    if not isinstance(envelope, dict) or not isinstance(envelope.get("packet"), dict):
        result.problems.append("no 'packet' object: this is not a sealed audit packet file")
        return result
    packet = envelope["packet"]
    result.instance_id = str((packet.get("instance") or {}).get("instanceId") or "") or None
    if envelope.get("format") != SEALED_FORMAT:
        if envelope.get("interim"):
            result.problems.append(
                "this is an interim snapshot, not a sealed packet: it has no seal to verify"
            )
        else:
            result.problems.append(f"unknown format {envelope.get('format')!r} (expected {SEALED_FORMAT})")
        return result
    seal = envelope.get("seal")
    if not isinstance(seal, dict):
        result.problems.append("the seal is missing: the packet carries no digest or signature")
        return result
    missing = [name for name in ("digest", "signature", "keyId", "signatureAlgorithm") if not seal.get(name)]
    if missing:
        result.problems.append(f"the seal is incomplete: {', '.join(missing)} missing")
        return result
    result.digest, result.key_id = str(seal["digest"]), str(seal["keyId"])
    if seal.get("signatureAlgorithm") != SIGNATURE_ALGORITHM:
        result.problems.append(f"unsupported signature algorithm {seal.get('signatureAlgorithm')!r}")
        return result

    try:
        packet_bytes = canonical_bytes(packet)
    except ValueError as error:
        result.problems.append(f"the packet cannot be put in canonical form: {error}")
        return result
    digest = hashlib.sha256(packet_bytes).digest()
    if digest.hex() != str(seal["digest"]).lower():
        result.problems.append(
            "the packet's content does not match its sealed digest: it was changed after sealing "
            f"(sealed SHA-256 {seal['digest']}, now {digest.hex()})"
        )
    else:
        result.checks.append("the packet's SHA-256 matches the sealed digest")

    keys = [dict(key) for key in trusted_keys]
    key = next((k for k in keys if str(k.get("kid")) == result.key_id), None)
    if key is None and seal.get("keyThumbprint"):
        key = next((k for k in keys if jwk_thumbprint(k) == seal.get("keyThumbprint")), None)
    if key is None:
        known = ", ".join(str(k.get("kid")) for k in keys) or "none"
        result.problems.append(
            f"the packet was signed with key {result.key_id}, which is not a trusted key (trusted: {known})"
        )
        return result
    try:
        signature = b64url_decode(str(seal["signature"]))
    except ValueError:
        result.problems.append("the signature is not base64url text: the seal was changed")
        return result
    if verify_digest_signature(public_key_from_jwk(key), digest, signature):
        result.checks.append(f"the ES256 signature verifies with key {key.get('kid')}")
    elif not result.problems:
        result.problems.append(
            f"the signature does not verify with key {key.get('kid')}: the seal was altered, or it was made "
            "with a different key"
        )
    else:
        result.problems.append(f"the signature does not verify with key {key.get('kid')} either")

    expected = canonical_bytes(envelope)
    stripped = content[:-1] if content.endswith(b"\n") else content
    if stripped != expected:
        at = _first_difference(stripped, expected)
        message = (
            f"the file's bytes differ from the sealed canonical form from byte {at} on: it was reformatted "
            "or edited"
        )
        if result.problems:
            pass  # the content problems above already explain it
        elif allow_reformatted:
            result.warnings.append(message + " (content intact; accepted with --allow-reformatted)")
        else:
            result.problems.append(
                message + "; the content itself is intact (digest and signature are valid)"
            )
    else:
        result.checks.append("the file is byte for byte the sealed canonical form")
    return result
