"""The sample order the tests and the drivers file (tools/clients.py) needs every sandbox supplier."""

from __future__ import annotations

import hashlib

from integrations.suppliers import SANDBOX_SUPPLIERS
from tools.clients import SAMPLE_PART_NUMBERS, maintenance_order_body


def supplier_of(part_number: str) -> str:
    """The sandbox supplier that stocks a part (the sandbox spreads parts by their SHA-256)."""
    return SANDBOX_SUPPLIERS[hashlib.sha256(part_number.encode()).digest()[0] % len(SANDBOX_SUPPLIERS)]


def test_the_sample_order_needs_parts_from_all_three_suppliers() -> None:
    body = maintenance_order_body("sample")
    parts = {part for finding in body["inspection"]["findings"] for part in finding["partNumbers"]}
    assert parts == set(SAMPLE_PART_NUMBERS)
    assert {supplier_of(part) for part in parts} == set(SANDBOX_SUPPLIERS)
    assert len(SANDBOX_SUPPLIERS) == 3
