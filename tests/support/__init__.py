"""Test support: pytest-side helpers over the harness library (`tools.harness` starts Azurite and the
Durable hosts): signing test callers in, the Durable HTTP management API, devhost wire views."""
