"""Audit export: an instance and its sub-orchestrations as a JSON packet and an HTML report."""
