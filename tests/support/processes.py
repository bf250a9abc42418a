"""The test harness's hosts, for the tests: tools/harness (the library) under its old name here.

Kept so the tests' imports stay short and stable; new code imports `tools.harness`.
"""

from tools.harness import (
    ARTIFACTS,
    AZURITE_BIN,
    PLAIN_WEDNESDAY,
    REPO_ROOT,
    TEST_SIGNING_KEY,
    Azurite,
    HostProcess,
    blob_connection_string,
    free_port,
    host_kind,
    make_host,
    signing_key_for_tests,
    wait_for_port,
)

__all__ = [
    "ARTIFACTS",
    "AZURITE_BIN",
    "PLAIN_WEDNESDAY",
    "REPO_ROOT",
    "TEST_SIGNING_KEY",
    "Azurite",
    "HostProcess",
    "blob_connection_string",
    "free_port",
    "host_kind",
    "make_host",
    "signing_key_for_tests",
    "wait_for_port",
]
