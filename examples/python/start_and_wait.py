#!/usr/bin/env python3
"""Start phones and wait until each is ready or dead.

    PHONESTART_API_URL=http://127.0.0.1:8080 PHONESTART_API_TOKEN=pst_... \
        python3 start_and_wait.py 557712345678901234 557712345678901235
"""
import json
import os
import sys

from phonestart import Client

c = Client(os.environ.get("PHONESTART_API_URL", "http://127.0.0.1:8080"), os.environ["PHONESTART_API_TOKEN"])
r = c.start(sys.argv[1:], label="example", options={"width": 400})
print("request", r["request"], "enqueued", r["enqueued"], "duplicates", len(r["duplicates"]), file=sys.stderr)
outcome = c.wait(r["request"], timeout=float(os.environ.get("WAIT_SECONDS", "900")))
print(json.dumps(outcome))
sys.exit(0 if outcome["ended"] and not outcome["dead"] else 1)
