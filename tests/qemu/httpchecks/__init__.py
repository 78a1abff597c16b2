"""The checks that tests/qemu/httpclient.py runs against the Keel appliance,
one module per area of behaviour; httpclient.py is the entry point (run it,
do not run these) and imports them in the order their checks run.

  client       the library: connection, Response parsing, lint, expect
               helpers, the check registry and the runner
  routing      basic: routes, methods, status codes, redirects
  framing      basic: message syntax, keep-alive, pipelining (RFC 9112)
  api          basic: /echo bodies and 100-continue, /api/users, /metrics,
               /debug/tasks
  malformed    basic: no reflection; the malformed and smuggling scenarios
  load         basic: port reuse; the load scenario; the shutdown hammer
  compression  the gzip scenario
  limits       the limits scenario (max_conns, max_uri, max_header_bytes)
  timeouts     the timeouts scenario (slowloris, idle, slow read, ...)

A new check: a function decorated with @check(scenario, name) in the
module of its area (from .client import check, expect, ...). Within a
scenario, checks run in registration order; the scenario's well-formedness
check is registered last, by httpclient.py.
"""
