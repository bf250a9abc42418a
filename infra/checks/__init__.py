"""Custom checkov checks for infra/ (loaded with --external-checks-dir infra/checks).

This file must exist: without an __init__.py checkov silently skips every Python check in the
directory (zero results, exit 0). `python -m ops infra-validate` also fails when no CKV_FUNCAPP
check ran, so a missing file cannot pass unnoticed.
"""
