"""The storage-cutting TCP proxy, for the tests: tools/harness/tcp_proxy.py (the library)."""

from tools.harness.tcp_proxy import TcpProxy

__all__ = ["TcpProxy"]
