"""The test harness, as a library: hosts, the virtual clock, polling, a storage-cutting proxy, and
every instance a host lists (`tools.harness.instances.list_all_instances`, all pages).

    from tools.harness import Azurite, VirtualClock, make_host, poll_until

    azurite = Azurite.start()
    host = make_host(REPO_ROOT, azurite, virtual_clock=True, env={...}).start()  # a DevHost
    VirtualClock(host).advance(3600)
    host.wait_for("maintenance-o-1", "Completed")   # devhost.testing.HostClient: status, raw history
    host.raw_history("maintenance-o-1")

Built on the public `devhost.testing` library (DevHost, HostClient), with the repository's
defaults (hosts.py). The tests, the fuzzing, the soak, the demo and the benchmarks import it
directly (tests/support/ keeps only pytest glue); nothing outside tests/ imports the test tree.
"""

from devhost.testing import HostClient, blob_connection_string, free_port, wait_for_port
from tools.harness.clock import VirtualClock, advance_clock
from tools.harness.hosts import (
    ARTIFACTS,
    AZURITE_BIN,
    PLAIN_WEDNESDAY,
    REPO_ROOT,
    TEST_SIGNING_KEY,
    Azurite,
    HostProcess,
    host_kind,
    make_host,
    signing_key_for_tests,
)
from tools.harness.polling import PollTimeoutError, poll_until, wait_until
from tools.harness.tcp_proxy import TcpProxy

__all__ = [
    "ARTIFACTS",
    "AZURITE_BIN",
    "PLAIN_WEDNESDAY",
    "REPO_ROOT",
    "TEST_SIGNING_KEY",
    "Azurite",
    "HostClient",
    "HostProcess",
    "PollTimeoutError",
    "TcpProxy",
    "VirtualClock",
    "advance_clock",
    "blob_connection_string",
    "free_port",
    "host_kind",
    "make_host",
    "poll_until",
    "signing_key_for_tests",
    "wait_for_port",
    "wait_until",
]
