"""The workbook and alert rules of infra/modules/operations-monitoring.bicep, and their KQL.

Every query file parses and analyses cleanly with Microsoft's Kusto parser (Kusto.Language from npm,
offline, with the real column names of the tables read), and the Bicep loads exactly those files:
the workbook's five sections and the five alert rules the operators rely on.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

from .conftest import INFRA, REPO_ROOT

QUERIES = INFRA / "monitoring" / "queries"
CHECKER = INFRA / "monitoring" / "kql_check.js"
MODULE = "modules/operations-monitoring.bicep"
WORKBOOK_SECTIONS = {
    "instances-by-status-and-workflow.kql",
    "failed-activities.kql",
    "pending-external-events.kql",
    "long-running-instances-by-region.kql",
    "sla-breaches.kql",
}
ALERTS = {
    "activity-failure-rate": "alert-activity-failure-rate.kql",
    "stuck-instances": "alert-stuck-instances.kql",
    "sla-breach": "alert-sla-breach.kql",
    "storage-throttling": "alert-storage-throttling.kql",
    "gave-up": "alert-gave-up.kql",
}
# telemetry.py's correlation dimensions: the queries may read no other app dimension.
APP_DIMENSIONS = {"instance_id", "workflow", "step", "region", "outcome", "unresolved", "gave_up"}


def run_checker(*paths: str) -> tuple[int, dict[str, Any]]:
    node = shutil.which("node")
    assert node, "node is required (scripts/bootstrap installs the npm packages)"
    completed = subprocess.run(
        [node, str(CHECKER), *paths], capture_output=True, text=True, cwd=REPO_ROOT, check=False
    )
    assert completed.returncode in (0, 1), completed.stderr
    return completed.returncode, json.loads(completed.stdout)


def test_every_query_is_valid_kql_for_the_tables_it_reads() -> None:
    files = sorted(str(path) for path in QUERIES.glob("*.kql"))
    assert len(files) == len(WORKBOOK_SECTIONS) + len(ALERTS)
    code, report = run_checker(*files)
    problems = {path: found for path, found in report["files"].items() if found}
    assert code == 0 and not problems, json.dumps(problems, indent=1)


def test_the_checker_reports_unknown_names_and_syntax_errors(tmp_path: Any) -> None:
    bad = tmp_path / "bad.kql"
    bad.write_text("traces | where nosuchcolumn == 1 | summarize count() by\n", encoding="utf-8")
    code, report = run_checker(str(bad))
    messages = [d["message"] for d in report["files"][str(bad)]]
    assert code == 1 and any("nosuchcolumn" in m for m in messages) and len(messages) >= 2


def test_queries_read_only_the_dimensions_telemetry_writes() -> None:
    import telemetry

    assert set(telemetry.DIMENSIONS) <= APP_DIMENSIONS
    for path in QUERIES.glob("*.kql"):
        used = set(re.findall(r"customDimensions\.([A-Za-z_]+)", path.read_text(encoding="utf-8")))
        app_fields = {name for name in used if not name.startswith("prop__") and name != "Category"}
        assert app_fields <= APP_DIMENSIONS, f"{path.name}: {app_fields - APP_DIMENSIONS}"


def test_the_module_loads_every_query_file_and_nothing_else(bicep: dict[str, Any]) -> None:
    text = (INFRA / MODULE).read_text(encoding="utf-8")
    loaded = set(re.findall(r"loadTextContent\('\.\./monitoring/queries/([^']+)'\)", text))
    assert loaded == WORKBOOK_SECTIONS | set(ALERTS.values())
    for name, file in ALERTS.items():
        assert re.search(
            rf"name: '{name}'[^}}]*loadTextContent\('\.\./monitoring/queries/{file}'\)", text, re.S
        )
    resources = bicep[MODULE]["resources"]
    assert {r["type"] for r in resources.values()} == {
        "Microsoft.Insights/workbooks",
        "Microsoft.Insights/actionGroups",
        "Microsoft.Insights/scheduledQueryRules",
    }


def test_main_wires_the_module_with_the_component_and_the_workspace(bicep: dict[str, Any]) -> None:
    text = (INFRA / "main.bicep").read_text(encoding="utf-8")
    block = text.split("module operationsMonitoring 'modules/operations-monitoring.bicep'", 1)[1].split(
        "\n}\n", 1
    )[0]
    assert "appInsightsId: monitoring.outputs.appInsightsId" in block
    assert "workspaceId: monitoring.outputs.workspaceId" in block
    for parameters in ("main.parameters.json", "main.dts-private.parameters.json"):
        values = json.loads((INFRA / parameters).read_text(encoding="utf-8"))["parameters"]
        assert "@" in values["alertEmail"]["value"], parameters
