#!/usr/bin/env python3
"""HTTP/1.1 conformance, robustness and load checks against the Keel
appliance (build/keel.elf) at 10.0.2.15:80. Runs inside the test's network
namespace (netns.py); talks only to the guest. Standard library only.

  httpclient.py SCENARIO [key=value ...]

prints one JSON object, {"checks": [{"name", "ok", "why"}], ...}, and exits 0
when every check passed. Scenarios: basic, gzip, malformed, smuggling, load,
limits, timeouts, hammer. The checks live in the httpchecks package next to
this file, one module per area of behaviour (httpchecks/__init__.py lists
them); the client library they share is httpchecks/client.py.
Every socket has a timeout, every wait a deadline: nothing here hangs.
KEEL_HTTP_HOST and KEEL_HTTP_PORT point the checks at another server.
"""
import json
import sys

# Importing a module registers its checks: the order of these imports is the
# order in which a scenario's checks run (basic: routing, framing, api,
# malformed, load).
import httpchecks.routing
import httpchecks.framing
import httpchecks.api
import httpchecks.malformed
import httpchecks.load
import httpchecks.compression
import httpchecks.limits
import httpchecks.timeouts
# The library's names stay importable from here too (import httpclient).
from httpchecks.client import (ARGS, CHECKS, Closed, Conn, Fail, Response, check, expect, expect_status, get,
                               metrics, request, run, wellformed_check)
from httpchecks.compression import GZIP_SIZES
from httpchecks.limits import limits_checks
from httpchecks.load import STATS, hammer
from httpchecks.timeouts import timeouts

# Each scenario ends with its well-formedness check, over every response it
# parsed (limits: registered in main, after its size checks).
for _scenario in ("basic", "gzip", "malformed", "smuggling", "load"):
    wellformed_check(_scenario)


def main():
    scenario = sys.argv[1]
    ARGS.clear()
    ARGS.update(a.split("=", 1) for a in sys.argv[2:])
    extra = {}
    if scenario == "hammer":
        result = hammer(float(ARGS.get("seconds", 30)))
        print(json.dumps(result), flush=True)
        return 0 if result["ok"] else 1
    if scenario == "limits":
        limits_checks()
        wellformed_check("limits")
    if scenario == "timeouts":
        results = timeouts()
    else:
        results = run(scenario)
    if scenario == "load":
        extra["stats"] = STATS
    if scenario == "gzip":
        extra["sizes"] = GZIP_SIZES
    ok = all(r["ok"] for r in results)
    print(json.dumps({"ok": ok, "checks": results, **extra}), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
