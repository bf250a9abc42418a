"""Test support: starting Azurite and a Durable host (devhost or `func start`) for end-to-end tests."""
