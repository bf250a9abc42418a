"""The base of the custom checks written as classes: each declares what checkov asks of a check.

checkov wants a name, an id, categories and resource types for every check. A subclass sets them as
class attributes (`check_id`, `requirement`: the name checkov reports, `category`,
`resource_types`) and implements `scan_resource_conf`; a family of checks on the same resources
sets `category` and `resource_types` once in its base (`SiteIdentityCheck` here, the app settings
checks in function_app.py). Instantiating a check registers it with checkov. (A kind of check that
varies by data only takes it as arguments instead: resource_property.py, sticky_settings.py.)
"""

from __future__ import annotations

from typing import ClassVar

from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult
from funcapp_settings import SITE_TYPES


class DeclaredCheck(BaseResourceCheck):  # type: ignore[misc]
    """A check whose id, requirement, category and resource types are class attributes."""

    check_id: ClassVar[str]
    requirement: ClassVar[str]
    category: ClassVar[CheckCategories]
    resource_types: ClassVar[tuple[str, ...]]

    def __init__(self) -> None:
        super().__init__(
            name=self.requirement,
            id=self.check_id,
            categories=(self.category,),
            supported_resources=self.resource_types,
        )

    def failed(self, problem: str) -> CheckResult:
        """FAILED, with `problem` added to the details checkov reports for this resource."""
        self.details.append(problem)
        return CheckResult.FAILED


class SiteIdentityCheck(DeclaredCheck):
    """Base for the checks on the identity a Function App site or slot carries (IAM)."""

    category = CheckCategories.IAM
    resource_types = SITE_TYPES
