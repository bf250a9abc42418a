"""One kind of custom check: a `slotConfigNames` config child must list some app settings.

A setting listed there is sticky (a slot setting): a swap leaves it with its slot. One that is not
listed moves with the swap, so the slot would run with the other slot's value.
"""

from __future__ import annotations

from typing import Any, ClassVar

from checkov.common.models.enums import CheckResult
from declared_check import DeclaredCheck
from funcapp_settings import sticky_setting_names


class StickySettingsCheck(DeclaredCheck):
    """Passes when the slotConfigNames child lists every one of `settings`."""

    resource_types = ("Microsoft.Web/sites/config",)
    settings: ClassVar[tuple[str, ...]]

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        listed = sticky_setting_names(conf)
        if listed is None:
            return CheckResult.UNKNOWN
        missing = [name for name in self.settings if name not in listed]
        if missing:
            return self.failed("not sticky: " + ", ".join(missing))
        return CheckResult.PASSED
