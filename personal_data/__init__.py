"""Personal data: where it lives, how long it is kept, and how it is erased.

Customer contact details, evidence text and decision notes never enter a history: the HTTP edge
claim-checks them into this task hub's payload container (`<prefix>-<hub>-payloads`, blob names
`<instance id>/...` and `<instance id>:<scope>/...`). Everything else the app keeps about a case
holds no personal data by design (histories hold references, audit packets are redacted, ledger
records hold outcomes and request fingerprints).

Retention (`PERSONAL_DATA_RETENTION`, ISO 8601 duration, default `P30D`): a case's personal
payloads are deleted once its workflow has completed and the period has passed.

1. A workflow's last step (`erasure_step.schedule_personal_data_erasure`, for instances started
   since it exists) records `erasure/<due>/<instance id>` in the payload container, due at the
   orchestration's completion time plus the period, and makes sure this hub's retention
   orchestration runs (`personal-data-retention`).
2. That orchestration (`orchestrators/personal_data_retention.py`) wakes at the next due time (at
   least daily), deletes the payloads of every case that is due and removes its record, then
   continues as new: one small instance per hub, its history never grows.
3. A lifecycle rule on the payload containers (infra/modules/storage.bicep) deletes payloads older
   than `personalDataMaxAgeDays` whatever happened: cases that failed or were terminated, and
   instances started before this step existed.

Audit packets and documents are never touched here: they hold no personal data (see
docs/data-retention.md for the period of each kind of data).
"""

from personal_data.retention import (
    DEFAULT_RETENTION,
    RETENTION_SETTING,
    ErasureRecord,
    ErasureSchedule,
    SweepResult,
    retention_period,
)

__all__ = [
    "DEFAULT_RETENTION",
    "RETENTION_SETTING",
    "ErasureRecord",
    "ErasureSchedule",
    "SweepResult",
    "retention_period",
]
