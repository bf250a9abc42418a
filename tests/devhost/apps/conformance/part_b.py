"""Functions for conformance items 36-70 that core.py does not provide."""

import azure.durable_functions as df

bp = df.Blueprint()
