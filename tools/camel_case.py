"""The camelCase JSON form of the tools' result dataclasses, written once instead of key by key.

`camel_case_dict(result, "instance_id", "ok")` gives `{"instanceId": ..., "ok": ...}` (properties
allowed, keys in the order named); `from_camel_case_dict(Result, document)` builds the dataclass
back from the keys the document has. The names follow the app's wire models (contracts/ uses the
same pydantic `to_camel`).
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic.alias_generators import to_camel

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Result = TypeVar("Result", bound="DataclassInstance")


def camel_case_dict(instance: DataclassInstance, *names: str) -> dict[str, Any]:
    """`{camelName: value}` for `names` in that order (default: every field in field order)."""
    chosen = names or tuple(item.name for item in fields(instance))
    return {to_camel(name): getattr(instance, name) for name in chosen}


def from_camel_case_dict(cls: type[Result], document: dict[str, Any], **given: Any) -> Result:
    """The inverse of `camel_case_dict`: every field whose camelCase key is in `document`, plus `given`."""
    present = {
        item.name: document[to_camel(item.name)] for item in fields(cls) if to_camel(item.name) in document
    }
    return cls(**{**present, **given})
