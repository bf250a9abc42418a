"""Functions for conformance items 1-35 that core.py does not provide."""

import azure.durable_functions as df

bp = df.Blueprint()
