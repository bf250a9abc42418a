"""The canonical bytes of an audit packet, and their digest.

A sealed packet is signed over its RFC 8785 (JSON Canonicalization Scheme) serialisation: keys
sorted by UTF-16 code units, no whitespace, ECMAScript number form, UTF-8. Any party can rebuild the
same bytes from the JSON with any JCS implementation (`rfc8785` here), so the digest does not depend
on how the file was pretty-printed, re-indented or re-encoded on its way to an auditor.

Numbers follow the JCS (ECMAScript) form, the shortest text that reads back as the same double, so
a float such as a route's `2.9` km survives any JSON round trip; money is text anyway. NaN, the
infinities, integers beyond 2^53 and non-text keys cannot be put in canonical form and are refused.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

CANONICALIZATION = "RFC 8785 (JCS)"
DIGEST_ALGORITHM = "SHA-256"


class NotCanonicalizableError(ValueError):
    """The value holds something JCS cannot carry exactly (NaN, infinity, a huge integer, a non-text key)."""


def canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 serialisation of `value` (UTF-8)."""
    _check_exact(value, "packet")
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError) as error:
        raise NotCanonicalizableError(str(error)) from None


def digest_hex(value: Any) -> str:
    """SHA-256 of the canonical bytes, lower-case hex."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()


def _check_exact(value: Any, path: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonicalizableError(f"{path}: key {key!r} is not text")
            _check_exact(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_exact(item, f"{path}[{index}]")
