"""Idempotent side effects: keys derived from the orchestration, and the effect ledger that uses them.

Orchestrators call `orchestration_effect_key(context, step, item)` and pass the key in the activity
input; activities call `EffectLedger.from_settings().run_once(key, effect)`.
"""

from idempotency.keys import effect_key, orchestration_effect_key
from idempotency.ledger import EffectLedger, EffectOutcome, EffectRecord

__all__ = ["EffectLedger", "EffectOutcome", "EffectRecord", "effect_key", "orchestration_effect_key"]
