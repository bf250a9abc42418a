"""Tamper evidence without a host: canonical form, digest, ES256 signature and what `verify` says
when one byte, the key or the signature is wrong."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from audit_packets.canonical import NotCanonicalizableError, canonical_bytes, digest_hex
from audit_packets.signing import (
    KeyFileSigner,
    create_key_file,
    jwk_thumbprint,
    public_key_from_jwk,
    trusted_keys_from_text,
    verify_digest_signature,
)
from audit_packets.verification import SEALED_FORMAT, verify_sealed_bytes

PACKET: dict[str, Any] = {
    "format": "durable-audit/2",
    "instance": {"instanceId": "maintenance-o-1", "name": "maintenance_order"},
    "outcome": {"status": "Completed", "output": {"outcome": "released", "distanceKm": 2.9}},
    "approval": {"approvedBy": "Ada Approver", "approvedAt": "2026-11-11T09:00:00Z"},
    "note": "Zoë approved — ✓",
}


def seal(packet: dict[str, Any], signer: KeyFileSigner) -> bytes:
    """What the app stores: the canonical envelope of the packet and its seal."""
    digest = bytes.fromhex(digest_hex(packet))
    signature = signer.sign_digest(digest)
    envelope = {
        "format": SEALED_FORMAT,
        "packet": packet,
        "seal": {
            "canonicalization": "RFC 8785 (JCS)",
            "digestAlgorithm": "SHA-256",
            "digest": digest.hex(),
            "signatureAlgorithm": signature.algorithm,
            "signature": signature.value_b64url,
            "keyId": signature.key_id,
            "keyThumbprint": jwk_thumbprint(signer.jwk),
        },
    }
    return canonical_bytes(envelope)


@pytest.fixture
def signer(tmp_path: Path) -> KeyFileSigner:
    create_key_file(tmp_path / "signing.pem")
    return KeyFileSigner(tmp_path / "signing.pem")


def test_canonical_form_ignores_key_order_and_whitespace_but_not_values() -> None:
    shuffled = json.loads(json.dumps(PACKET, indent=4, sort_keys=True))
    assert canonical_bytes(shuffled) == canonical_bytes(PACKET)
    assert b'"distanceKm":2.9' in canonical_bytes(PACKET), "floats keep their shortest round-trip form"
    changed = json.loads(json.dumps(PACKET))
    changed["approval"]["approvedBy"] = "Eve Approver"
    assert digest_hex(changed) != digest_hex(PACKET)
    with pytest.raises(NotCanonicalizableError):
        canonical_bytes({"x": float("nan")})
    with pytest.raises(NotCanonicalizableError):
        canonical_bytes({1: "not a text key"})


def test_a_sealed_packet_verifies_with_its_public_key(signer: KeyFileSigner) -> None:
    result = verify_sealed_bytes(seal(PACKET, signer), signer.public_keys())
    assert result.ok, result.problems
    assert result.instance_id == "maintenance-o-1" and result.key_id == signer.key_id
    assert len(result.checks) == 4 and result.warnings == []


def test_one_changed_byte_in_the_content_is_named_as_a_changed_packet(signer: KeyFileSigner) -> None:
    sealed = seal(PACKET, signer)
    tampered = sealed.replace(b"Ada Approver", b"Ada Approves", 1)
    assert len(tampered) == len(sealed) and sum(a != b for a, b in zip(tampered, sealed, strict=True)) == 1
    result = verify_sealed_bytes(tampered, signer.public_keys())
    assert not result.ok
    assert "does not match its sealed digest: it was changed after sealing" in result.problems[0]


def test_one_changed_byte_that_breaks_the_json_names_the_position(signer: KeyFileSigner) -> None:
    sealed = seal(PACKET, signer)
    position = sealed.index(b'"packet"')
    tampered = sealed[:position] + b"'" + sealed[position + 1 :]
    result = verify_sealed_bytes(tampered, signer.public_keys())
    assert not result.ok and f"at byte {position}" in result.problems[0]


def test_reformatting_keeps_the_content_but_is_reported_unless_allowed(signer: KeyFileSigner) -> None:
    pretty = json.dumps(json.loads(seal(PACKET, signer)), indent=2).encode()
    result = verify_sealed_bytes(pretty, signer.public_keys())
    assert not result.ok and "content itself is intact" in result.problems[0]
    allowed = verify_sealed_bytes(pretty, signer.public_keys(), allow_reformatted=True)
    assert allowed.ok and "reformatted" in allowed.warnings[0]


def test_a_wrong_key_is_refused(signer: KeyFileSigner, tmp_path: Path) -> None:
    create_key_file(tmp_path / "other.pem")
    other = KeyFileSigner(tmp_path / "other.pem")
    sealed = seal(PACKET, signer)
    unknown = verify_sealed_bytes(sealed, other.public_keys())
    assert (
        not unknown.ok
        and f"signed with key {signer.key_id}, which is not a trusted key" in unknown.problems[0]
    )
    # The right key id but another key's material (a forged key set): the signature does not verify.
    impostor = [dict(other.jwk, kid=signer.key_id)]
    forged = verify_sealed_bytes(sealed, impostor)
    assert not forged.ok and "the signature does not verify" in forged.problems[-1]


def test_a_missing_or_altered_signature_is_refused(signer: KeyFileSigner) -> None:
    envelope = json.loads(seal(PACKET, signer))
    without = dict(envelope, seal={k: v for k, v in envelope["seal"].items() if k != "signature"})
    result = verify_sealed_bytes(canonical_bytes(without), signer.public_keys())
    assert not result.ok and result.problems == ["the seal is incomplete: signature missing"]
    no_seal = verify_sealed_bytes(canonical_bytes({k: v for k, v in envelope.items() if k != "seal"}), [])
    assert no_seal.problems == ["the seal is missing: the packet carries no digest or signature"]
    raw = bytearray(base64.urlsafe_b64decode(envelope["seal"]["signature"] + "=="))
    raw[10] ^= 1
    altered = dict(
        envelope, seal=dict(envelope["seal"], signature=base64.urlsafe_b64encode(raw).decode().rstrip("="))
    )
    result = verify_sealed_bytes(canonical_bytes(altered), signer.public_keys())
    assert not result.ok and "the seal was altered" in result.problems[0]


def test_an_interim_snapshot_is_not_a_sealed_packet() -> None:
    interim = canonical_bytes({"format": "durable-audit-interim/1", "interim": True, "packet": PACKET})
    result = verify_sealed_bytes(interim, [])
    assert result.problems == ["this is an interim snapshot, not a sealed packet: it has no seal to verify"]


def test_public_keys_are_read_as_pem_jwk_or_jwk_set(signer: KeyFileSigner, tmp_path: Path) -> None:
    private = serialization.load_pem_private_key((tmp_path / "signing.pem").read_bytes(), password=None)
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    from_pem = trusted_keys_from_text(pem.decode())
    from_jwk = trusted_keys_from_text(json.dumps(signer.jwk))
    from_set = trusted_keys_from_text(json.dumps({"keys": signer.public_keys()}))
    assert from_pem == from_jwk == from_set == [signer.jwk]
    digest = bytes.fromhex(digest_hex(PACKET))
    assert verify_digest_signature(public_key_from_jwk(from_pem[0]), digest, signer.sign_digest(digest).value)
    with pytest.raises(ValueError, match="PEM public key, a JWK or a JWK set"):
        trusted_keys_from_text("not a key")


def test_a_key_file_is_never_overwritten(tmp_path: Path) -> None:
    create_key_file(tmp_path / "k.pem")
    before = (tmp_path / "k.pem").read_bytes()
    with pytest.raises(FileExistsError):
        create_key_file(tmp_path / "k.pem")
    assert (tmp_path / "k.pem").read_bytes() == before
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
