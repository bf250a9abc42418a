"""The operations console: a server-rendered web UI served by the Functions app itself.

Support staff, supervisors and operators see where every workflow instance stands without an
engineer's log search: the instance list (filters and paging over the Durable management API), one
instance (custom status, why it waits or failed, activities with attempts and durations, events,
timers, sub-orchestrations, the history timeline, the audit packet as JSON or HTML), the queue of
pending human decisions with forms that go to the workflows' own event endpoints, and the operator
actions suspend, resume, terminate and rewind, each behind a confirmation (never purge).

- `routes.py`: the HTTP functions (`bp`, registered in function_app.py), under `/api/console`.
- `management.py`: instance queries with continuation-token paging and the console's own filters.
- `catalogue.py`: what the console adds to the workflow catalogue (regions of a relief request).
- `decisions.py`: pending decisions from custom status; decision forms → endpoint requests.
- `pages.py`: the HTML (stdlib, every value escaped, strict CSP, no script).
- `csrf.py`: the forms' CSRF cookie and tokens.

How operators use it: docs/operations-console.md.
"""
