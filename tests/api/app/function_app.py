"""Only the health endpoint: tests it without the workflows."""

import azure.durable_functions as df

from api.health import bp as health_bp

app = df.DFApp()
app.register_functions(health_bp)
