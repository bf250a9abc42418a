"""One kind of custom check: a single top-level property of a resource must hold an accepted value.

Each rule is an instance (as in storage_hardening.py): its id, what it requires, the resource types,
the property and the test of its value. A missing property, or `properties` that is not an object,
is tested as None, so it fails unless the rule accepts None.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult


class ResourcePropertyCheck(BaseResourceCheck):  # type: ignore[misc]
    """Passes when `accepts(properties.<property_name>)` is true."""

    def __init__(
        self,
        check_id: str,
        name: str,
        *,
        category: CheckCategories,
        resource_types: Iterable[str],
        property_name: str,
        accepts: Callable[[Any], bool],
    ) -> None:
        self.property_name = property_name
        self.accepts = accepts
        super().__init__(
            name=name, id=check_id, categories=(category,), supported_resources=tuple(resource_types)
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        properties = conf.get("properties")
        value = properties.get(self.property_name) if isinstance(properties, dict) else None
        return CheckResult.PASSED if self.accepts(value) else CheckResult.FAILED
