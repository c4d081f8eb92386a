"""A small client of the phonestart HTTP API (`phonestart api`), standard library only.

    from phonestart import Client
    c = Client("http://127.0.0.1:8080", token)
    r = c.start(["557712345678901234"], label="etl-42")
    outcome = c.wait(r["request"], timeout=900)

Every POST carries an Idempotency-Key, so a retry after a lost answer does nothing twice.
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid


class APIError(Exception):
    """An answer of 4xx or 5xx: problem is its application/problem+json body."""

    def __init__(self, status, problem):
        self.status = status
        self.problem = problem
        self.field = problem.get("field")
        super().__init__(f"{status} {problem.get('title')}: {problem.get('field') or ''} {problem.get('detail')}")


class Client:
    def __init__(self, base_url, token, timeout=60):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _request(self, method, path, body=None, headers=None, timeout=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        return urllib.request.urlopen(req, timeout=timeout or self.timeout)

    def _call(self, method, path, body=None, headers=None, timeout=None, tries=5):
        """One call, retried on 429, 5xx and lost connections (POSTs keep their Idempotency-Key)."""
        for attempt in range(tries):
            try:
                with self._request(method, path, body, headers, timeout) as resp:
                    return json.load(resp)
            except urllib.error.HTTPError as e:
                problem = json.loads(e.read() or b"{}")
                if (e.code == 429 or e.code >= 500) and attempt < tries - 1:
                    time.sleep(float(e.headers.get("Retry-After") or 2 ** attempt))
                    continue
                raise APIError(e.code, problem) from None
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if attempt == tries - 1:
                    raise
                time.sleep(2 ** attempt)

    def _post(self, path, body, idempotency_key=None):
        key = idempotency_key or str(uuid.uuid4())
        return self._call("POST", path, body, {"Idempotency-Key": key})

    def start(self, ids, idempotency_key=None, **fields):
        """POST /v1/starts: fields are options, at, in, stop_after, label, notify_url, notify_each."""
        return self._post("/v1/starts", dict(fields, ids=list(ids)), idempotency_key)

    def stop(self, ids, idempotency_key=None, **fields):
        return self._post("/v1/stops", dict(fields, ids=list(ids)), idempotency_key)

    def cancel(self, ids, idempotency_key=None):
        return self._post("/v1/cancels", {"ids": list(ids)}, idempotency_key)

    def outcome(self, request, wait=None):
        """GET /v1/requests/{request}; with wait (seconds), held until it ended or wait ran out."""
        q = "" if not wait else "?wait=%ds" % wait
        return self._call("GET", "/v1/requests/" + request + q, timeout=(wait or 0) + self.timeout)

    def wait(self, request, timeout):
        """The request's outcome once every phone ended, or as it is after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            o = self.outcome(request, wait=max(1, min(int(left), 300)) if left > 0 else None)
            if o["ended"] or left <= 0:
                return o
            # The server holds a wait at most 5 minutes: ask again.

    def events(self, last_event_id=None, stop=None, **filters):
        """Yields (id, event, data) from GET /v1/events, resuming after the last id seen when
        the connection drops. event is "message", or "reset" when events were trimmed before
        they were read: re-read the state then. stop(), when given, ends it between events."""
        while stop is None or not stop():
            q = {k: v for k, v in filters.items() if v}
            headers = {"Accept": "text/event-stream"}
            if last_event_id:
                headers["Last-Event-ID"] = last_event_id
            try:
                resp = self._request("GET", "/v1/events?" + urllib.parse.urlencode(q), headers=headers)
            except urllib.error.HTTPError as e:
                raise APIError(e.code, json.loads(e.read() or b"{}")) from None
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(1)
                continue
            try:
                kind, data = "message", []
                for raw in resp:
                    line = raw.decode().rstrip("\r\n")
                    if line == "":
                        if data:
                            yield last_event_id, kind, "\n".join(data)
                            if stop is not None and stop():
                                return
                        kind, data = "message", []
                    elif line.startswith(":"):
                        continue
                    else:
                        field, _, value = line.partition(":")
                        value = value[1:] if value.startswith(" ") else value
                        if field == "id":
                            last_event_id = value  # moves on id-only blocks too
                        elif field == "event":
                            kind = value
                        elif field == "data":
                            data.append(value)
            except (ConnectionError, TimeoutError, OSError):
                pass  # reconnect after last_event_id
            finally:
                resp.close()


def verify_signature(secret, timestamp, signature, body, tolerance=300, now=None):
    """Whether a webhook is phonestart's: Phonestart-Signature is v1= and the hex
    HMAC-SHA256 of Phonestart-Timestamp + "." + the raw body, keyed with
    PHONESTART_WEBHOOK_SECRET, and the timestamp is within tolerance seconds."""
    if isinstance(secret, str):
        secret = secret.encode()
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance:
        return False
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("v1=" + mac, signature or "")
