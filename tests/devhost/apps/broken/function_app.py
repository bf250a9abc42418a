"""An app that fails to import: the devhost must stop with this traceback and a non-zero exit."""

import azure.durable_functions as df

app = df.DFApp()

raise RuntimeError("configuration module missing: SETTINGS_PATH")
