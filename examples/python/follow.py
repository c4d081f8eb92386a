#!/usr/bin/env python3
"""Print a request's events as they come, resuming after the last one if the connection drops.

    python3 follow.py REQUEST [LAST_EVENT_ID]
"""
import json
import os
import sys

from phonestart import Client

c = Client(os.environ.get("PHONESTART_API_URL", "http://127.0.0.1:8080"), os.environ["PHONESTART_API_TOKEN"])
last = sys.argv[2] if len(sys.argv) > 2 else "0"  # "0": from the oldest event kept
for event_id, kind, data in c.events(request=sys.argv[1], last_event_id=last):
    if kind == "reset":
        print("events were trimmed before we read them; re-reading the request:", file=sys.stderr)
        print(json.dumps(c.outcome(sys.argv[1])))
        continue
    e = json.loads(data)
    print(event_id, e["phone"], e["event"], e.get("code", 0), e.get("url", ""), flush=True)
