"""Which shelters each `Relief.ShelterStaff` principal may confirm deliveries for: one file.

The assignments live in the JSON file named by the app setting `RELIEF_SHELTER_STAFF_FILE`
(relative paths are from the project root; default `data/shelter_staff.json`, which ships with no
one assigned). Each entry names a principal by its stable id (the Entra object id, never a name)
and the shelters they work at:

    {"staff": [{"principalId": "<object id>", "name": "Bayview desk",
                "shelterIds": ["shelter-bayview-school"]}]}

A shelter staff member confirms only for their shelters (403 otherwise). The file is read when it
changes (cached by modification time and size), so a redeploy or an edit takes effect without a
restart. Local runs use `data/shelter_staff.local.json` (local.settings.json.example names it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from contracts import ContractModel
from contracts.setting_files import SettingFile

STAFF_FILE_SETTING = "RELIEF_SHELTER_STAFF_FILE"
DEFAULT_STAFF_FILE = Path("data") / "shelter_staff.json"
_IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class ShelterStaffMember(ContractModel):
    """One principal and the shelters they may confirm for."""

    principal_id: Annotated[str, Field(min_length=1, max_length=256)]
    name: Annotated[str, Field(max_length=256)] | None = None
    shelter_ids: Annotated[list[Annotated[str, Field(pattern=_IDENTIFIER)]], Field(max_length=200)]


class ShelterStaffAssignments(ContractModel):
    """The whole file: every staff member's shelters (a principal appears at most once)."""

    description: str | None = None
    staff: Annotated[list[ShelterStaffMember], Field(max_length=10_000)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_entry_per_principal(self) -> ShelterStaffAssignments:
        ids = [member.principal_id for member in self.staff]
        duplicates = sorted({item for item in ids if ids.count(item) > 1})
        if duplicates:
            raise ValueError(f"principals listed more than once: {duplicates}")
        return self

    def shelters_of(self, principal_id: str) -> frozenset[str]:
        """The shelters `principal_id` is assigned to (empty when none)."""
        for member in self.staff:
            if member.principal_id == principal_id:
                return frozenset(member.shelter_ids)
        return frozenset()


# The staff file: `staff_file_setting()` (its path), `load_assignments(path)`, and
# `assignments_from_settings()` (the file the app settings name, validated).
STAFF_FILE = SettingFile(STAFF_FILE_SETTING, DEFAULT_STAFF_FILE, ShelterStaffAssignments)
staff_file_setting = STAFF_FILE.path
load_assignments = STAFF_FILE.load
assignments_from_settings = STAFF_FILE.from_settings
