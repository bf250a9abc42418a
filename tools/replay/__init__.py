"""Replay check: recorded devhost histories replayed through the current orchestrator code."""
