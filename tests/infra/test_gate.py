"""The offline infra gate: the real infra/ passes; planted bad, unparseable and empty templates
and a checks directory without __init__.py all fail it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ops import infra_validate
from ops.infra_validate import GateReport, evaluate, expected_custom_checks, validate

from .conftest import INFRA, REPO_ROOT

FIXTURES = Path(__file__).parent / "fixtures"
CHECKS = INFRA / "checks"


@pytest.fixture(scope="module")
def real_infra(checkov_venv: Path) -> GateReport:
    return validate(INFRA, CHECKS, checkov_venv)


def test_real_infra_passes_with_every_custom_check_run(real_infra: GateReport) -> None:
    assert real_infra.ok, real_infra.problems
    assert real_infra.summary["failed"] == 0
    assert real_infra.summary["parsing_errors"] == 0
    assert real_infra.summary["resource_count"] > 40
    assert set(real_infra.custom_checks_seen) == expected_custom_checks(CHECKS)
    assert len(expected_custom_checks(CHECKS)) == 16
    assert real_infra.advisories == []  # tree-sitter-bicep sees no syntax error either


@pytest.fixture(scope="module")
def planted(checkov_venv: Path) -> GateReport:
    """One checkov run over all planted templates (bad/, unparseable/, no_resources/): each run
    costs ~6 s of checkov start-up on a 2-core machine."""
    return validate(FIXTURES, CHECKS, checkov_venv, syntax=False)


def test_planted_bad_template_fails_every_custom_check(planted: GateReport) -> None:
    assert not planted.ok
    failed = {f["check_id"] for f in planted.failed_checks if f["file"].endswith("bad/insecure.bicep")}
    assert expected_custom_checks(CHECKS) <= failed, sorted(expected_custom_checks(CHECKS) - failed)
    # stock checks still apply next to the custom ones
    assert {"CKV_AZURE_3", "CKV_AZURE_44", "CKV_AZURE_70", "CKV_AZURE_78"} <= failed


def test_easy_auth_that_lets_anyone_in_or_is_missing_fails_the_gate(planted: GateReport) -> None:
    """The site's authsettingsV2 allows anonymous callers (CKV_FUNCAPP_12); the slot has none at all."""
    [auth] = [f for f in planted.failed_checks if f["check_id"] == "CKV_FUNCAPP_12"]
    assert auth["resource"] == "Microsoft.Web/sites/config.auth"
    [missing] = [p for p in planted.problems if "App Service Authentication (authsettingsV2)" in p]
    assert missing.startswith("/bad/insecure.bicep: 1 slot(s) but 0 ")


def test_an_identity_shared_by_the_site_and_the_slot_fails_the_gate(planted: GateReport) -> None:
    """The planted site and slot carry one identity (and the site a second one: CKV_FUNCAPP_14)."""
    [shared] = [p for p in planted.problems if "share the identity" in p]
    assert "site, slot share the identity ${sharedIdentity.id}" in shared
    failed = {(f["check_id"], f["resource"]) for f in planted.failed_checks}
    assert ("CKV_FUNCAPP_14", "Microsoft.Web/sites.site") in failed
    assert ("CKV_FUNCAPP_13", "Microsoft.Authorization/roleAssignments.ownerRole") in failed


def test_unparseable_template_fails_although_checkov_would_exit_0(planted: GateReport) -> None:
    assert planted.summary["parsing_errors"] == 1
    assert any(
        p.startswith("parsing error") and p.endswith("unparseable/spread.bicep") for p in planted.problems
    )


def test_template_without_resources_fails(checkov_venv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ops.__main__ import main

    assert main(["infra-validate", "--directory", str(FIXTURES / "no_resources"), "--no-syntax"]) == 1
    assert "Error: checkov scanned zero resources" in capsys.readouterr().err


def test_checks_dir_without_init_is_caught(checkov_venv: Path, tmp_path: Path) -> None:
    checks = tmp_path / "checks"
    shutil.copytree(CHECKS, checks, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    gate = validate(FIXTURES / "bad", checks, checkov_venv, syntax=False)
    assert not gate.ok
    never_ran = next(p for p in gate.problems if p.startswith("custom checks never ran"))
    assert "CKV_FUNCAPP_2" in never_ran


def test_crashed_check_counts_unless_skipped() -> None:
    report = {
        "check_type": "bicep",
        "summary": {"passed": 1, "failed": 0, "skipped": 1, "parsing_errors": 0, "resource_count": 2},
        "results": {
            "passed_checks": [{"check_id": "CKV_FUNCAPP_1", "resource": "a"}],
            "failed_checks": [],
            "skipped_checks": [{"check_id": "CKV_AZURE_189", "resource": "Microsoft.KeyVault/vaults.vault"}],
        },
    }
    log = (
        "[ERROR]  Failed to run check CKV_AZURE_189 on infra/kv.bicep:Microsoft.KeyVault/vaults.vault\n"
        "[ERROR]  Failed to run check CKV_AZURE_59 on infra/st.bicep:Microsoft.Storage/storageAccounts.st\n"
        "[ERROR]  Cannot load external check 'function_app' from infra/checks/function_app.py\n"
    )
    gate = evaluate(report, log, {"CKV_FUNCAPP_1"})
    assert gate.problems == [
        "check CKV_AZURE_59 crashed on Microsoft.Storage/storageAccounts.st; its result is unknown",
        "custom check module function_app failed to load",
    ]


def test_cli_usage_and_setup_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ops.__main__ import main

    assert main(["infra-validate", "--directory", str(tmp_path / "missing")]) == 2
    assert main(["infra-validate", "--checks-dir", str(tmp_path)]) == 1
    assert "__init__.py" in capsys.readouterr().err
    assert main(["infra-validate", "--checkov-venv", str(tmp_path)]) == 1
    assert "scripts/bootstrap" in capsys.readouterr().err
    assert infra_validate.DEFAULT_CHECKOV_VENV == REPO_ROOT / ".venv-checkov"
