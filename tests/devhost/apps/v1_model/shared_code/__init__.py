"""Code shared by the v1 functions, imported relatively (`from ..shared_code import ...`)."""


def greeting(city: str) -> str:
    return f"Hello {city}"
