"""Storage account flags that no stock checkov check covers for ARM/Bicep (Terraform only)."""

from __future__ import annotations

from checkov.arm.base_resource_value_check import BaseResourceValueCheck
from checkov.common.models.enums import CheckCategories, CheckResult


class StorageFlagMustBeFalse(BaseResourceValueCheck):  # type: ignore[misc]
    """A storage account must set `properties.<key>` to false; absent means the insecure default."""

    def __init__(self, check_id: str, key: str, name: str) -> None:
        self._key = key
        super().__init__(
            name=name,
            id=check_id,
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=("Microsoft.Storage/storageAccounts",),
            missing_block_result=CheckResult.FAILED,
        )

    def get_inspected_key(self) -> str:
        return f"properties/{self._key}"

    def get_expected_value(self) -> bool:
        return False


blob_public_access = StorageFlagMustBeFalse(
    "CKV_FUNCAPP_1", "allowBlobPublicAccess", "Storage account must disable public blob access"
)
shared_key_access = StorageFlagMustBeFalse(
    "CKV_FUNCAPP_2", "allowSharedKeyAccess", "Storage account must disable shared-key access (identity only)"
)
