"""Registered-name discovery and constant resolution across an app folder."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.tools.determinism_lint.helpers import BAD_APP, GOOD_APP, write_app
from tools.determinism_lint.registry import AppIndex, find_app_root


def names(index: AppIndex, kind: str) -> set[str]:
    return {r.name for r in index.registrations if r.kind == kind}


def test_registered_names_follow_the_extension_priority() -> None:
    """Trigger name argument first, then @function_name, then the Python function name."""
    index = AppIndex.scan(GOOD_APP)

    assert names(index, "activity") == {
        "reserve_stock",  # activity=RESERVE_STOCK_ACTIVITY on reserve_stock_activity()
        "notify_approver",  # function name
        "load_order",  # @bp.function_name(name="load_order") on load_order_activity()
        "read_limits",
        "legacy_notify",  # v1 folder with function.json
    }
    assert names(index, "orchestrator") >= {"shipping", "legacy_approval", "clock_orchestrator"}
    assert names(index, "entity") == {"counter"}


def test_tests_and_virtualenv_folders_are_not_part_of_the_app(tmp_path: Path) -> None:
    """Fixture apps under tests/ must not register names for the project."""
    decorated = """
        import azure.durable_functions as df
        bp = df.Blueprint()
        @bp.activity_trigger(input_name="x")
        def {name}(x):
            return x
    """
    app = write_app(
        tmp_path,
        {
            "activities/real.py": decorated.format(name="real_activity"),
            "tests/fake.py": decorated.format(name="test_only_activity"),
            ".venv/lib/site.py": decorated.format(name="venv_activity"),
        },
    )

    assert names(AppIndex.scan(app), "activity") == {"real_activity"}


def test_constants_resolve_through_imports_reexports_and_concatenation(tmp_path: Path) -> None:
    """Absolute and relative imports, package re-exports, `+` and str Enum members all resolve."""
    app = write_app(
        tmp_path,
        {
            "names/__init__.py": "from .activities import RESERVE as RESERVE_REEXPORTED\n",
            "names/activities.py": """
                from enum import StrEnum
                PREFIX = "reserve"
                RESERVE = PREFIX + "_stock"
                class Names(StrEnum):
                    SHIP = "ship_order"
            """,
            "orchestrators/flow.py": """
                import names.activities as n
                from names import RESERVE_REEXPORTED
                from ..names.activities import Names
                LOCAL = RESERVE_REEXPORTED
            """,
        },
    )
    index = AppIndex.scan(app)
    flow = index.modules["orchestrators.flow"]

    def resolve(source: str) -> str | None:
        expression = ast.parse(source, mode="eval").body
        return index.resolve_string(flow, expression)

    assert resolve("RESERVE_REEXPORTED") == "reserve_stock"
    assert resolve("LOCAL") == "reserve_stock"
    assert resolve("n.RESERVE") == "reserve_stock"
    assert resolve("Names.SHIP") == "ship_order"
    assert resolve("Names.SHIP.value") == "ship_order"
    assert resolve("unknown_name") is None
    assert resolve("f'{LOCAL}'") is None


def test_constant_cycles_do_not_recurse_forever(tmp_path: Path) -> None:
    app = write_app(tmp_path, {"a.py": "from b import Y\nX = Y\n", "b.py": "from a import X\nY = X\n"})
    index = AppIndex.scan(app)

    assert index.resolve_string(index.modules["a"], ast.Name(id="X", ctx=ast.Load())) is None


def test_a_registration_with_a_dynamic_name_is_reported_as_a_warning(tmp_path: Path) -> None:
    app = write_app(
        tmp_path,
        {
            "activities/dynamic.py": """
                import azure.durable_functions as df
                bp = df.Blueprint()
                @bp.activity_trigger(input_name="x", activity=make_name())
                def dynamic(x):
                    return x
            """
        },
    )
    index = AppIndex.scan(app)

    assert names(index, "activity") == set()
    assert [message for _, _, message in index.unresolved_registrations] == [
        "activity name of dynamic() is not a constant"
    ]


def test_app_root_is_the_nearest_folder_with_host_json() -> None:
    assert find_app_root(BAD_APP / "orchestrators" / "df001_clock.py") == BAD_APP.resolve()
    assert find_app_root(Path("/")) is None
