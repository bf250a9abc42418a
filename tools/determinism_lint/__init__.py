"""Determinism linter for Durable Functions orchestrators (`python -m ops lint`).

Modules: `rules` (the rule table), `registry` (registered names and constants of an app folder),
`analyzer` (the AST checks), `linter` (files in, report out), `cli` (the subcommand).
"""
