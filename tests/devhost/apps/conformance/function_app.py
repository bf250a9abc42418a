"""The conformance app: small functions that exercise one protocol feature each (spec §15)."""

import azure.durable_functions as df
import azure.functions as func
import core
import part_a
import part_b

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(core.bp)
app.register_functions(part_a.bp)
app.register_functions(part_b.bp)
