"""One kind of custom check: a `slotConfigNames` config child must list some app settings.

A setting listed there is sticky (a slot setting): a swap leaves it with its slot. One that is not
listed moves with the swap, so the slot would run with the other slot's value. Each rule is an
instance (as in resource_property.py): its id, what it requires, its category and the settings.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult
from funcapp_settings import sticky_setting_names


class StickySettingsCheck(BaseResourceCheck):  # type: ignore[misc]
    """Passes when the slotConfigNames child lists every one of `settings`."""

    def __init__(
        self, check_id: str, name: str, *, category: CheckCategories, settings: Iterable[str]
    ) -> None:
        self.settings = tuple(settings)
        super().__init__(
            name=name,
            id=check_id,
            categories=(category,),
            supported_resources=("Microsoft.Web/sites/config",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        listed = sticky_setting_names(conf)
        if listed is None:
            return CheckResult.UNKNOWN
        missing = [name for name in self.settings if name not in listed]
        if missing:
            self.details.append("not sticky: " + ", ".join(missing))
            return CheckResult.FAILED
        return CheckResult.PASSED
