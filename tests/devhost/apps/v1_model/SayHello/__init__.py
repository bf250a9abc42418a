"""A v1 activity: the input arrives as the JSON value it was scheduled with."""

from ..shared_code import greeting


def main(payload: dict) -> str:
    return greeting(payload["city"])
