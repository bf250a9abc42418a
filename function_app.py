"""The Functions app: registration only. Each workflow lives in its own blueprint module."""

import azure.durable_functions as df

app = df.DFApp()
