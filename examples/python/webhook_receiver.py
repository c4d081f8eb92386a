#!/usr/bin/env python3
"""Receive phonestart's webhooks on :8000 and check their signature.

    PHONESTART_WEBHOOK_SECRET=... python3 webhook_receiver.py
"""
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

from phonestart import verify_signature

SECRET = os.environ["PHONESTART_WEBHOOK_SECRET"]
seen = set()  # Phonestart-Delivery IDs: a webhook may come twice; keep a durable set in real use


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not verify_signature(SECRET, self.headers.get("Phonestart-Timestamp"),
                                self.headers.get("Phonestart-Signature"), body):
            self.send_response(401)
            self.end_headers()
            return
        delivery = self.headers.get("Phonestart-Delivery")
        if delivery not in seen:
            seen.add(delivery)
            print(self.headers.get("Phonestart-Event"), json.loads(body), flush=True)
        self.send_response(204)
        self.end_headers()


HTTPServer(("", 8000), Hook).serve_forever()
