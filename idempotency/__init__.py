"""Idempotent side effects: keys derived from the orchestration, and the effect ledger that uses them.

Orchestrators call `orchestration_effect_key(context, step, item)` and pass the key in the activity
input; activities call `EffectLedger.from_settings().run_once(key, effect, request=work)`.
"""

from idempotency.keys import effect_key, orchestration_effect_key
from idempotency.ledger import EffectKeyReusedError, EffectLedger, EffectOutcome, EffectRecord

__all__ = [
    "EffectKeyReusedError",
    "EffectLedger",
    "EffectOutcome",
    "EffectRecord",
    "effect_key",
    "orchestration_effect_key",
]
