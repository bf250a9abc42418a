"""Waiting for something asynchronous to become true: tools/harness/polling.py, for the tests."""

from tools.harness.polling import poll_until, wait_until

__all__ = ["poll_until", "wait_until"]
