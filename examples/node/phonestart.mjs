// A small client of the phonestart HTTP API (`phonestart api`): Node 18+, no dependencies.
//
//   import { Client } from "./phonestart.mjs";
//   const c = new Client("http://127.0.0.1:8080", token);
//   const r = await c.start(["557712345678901234"], { label: "etl-42" });
//   const outcome = await c.wait(r.request, 900);
//
// Every POST carries an Idempotency-Key, so a retry after a lost answer does nothing twice.
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";

export class APIError extends Error {
  constructor(status, problem) {
    super(`${status} ${problem.title}: ${problem.field ?? ""} ${problem.detail}`);
    this.status = status;
    this.problem = problem;
    this.field = problem.field;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Client {
  constructor(baseURL, token) {
    this.baseURL = baseURL.replace(/\/$/, "");
    this.token = token;
  }

  // call retries 429, 5xx and lost connections; a POST keeps its Idempotency-Key.
  async call(method, path, body, headers = {}, tries = 5) {
    for (let attempt = 0; ; attempt++) {
      let res;
      try {
        res = await fetch(this.baseURL + path, {
          method,
          headers: { Authorization: `Bearer ${this.token}`, ...(body ? { "Content-Type": "application/json" } : {}), ...headers },
          body: body ? JSON.stringify(body) : undefined,
        });
      } catch (e) {
        if (attempt >= tries - 1) throw e;
        await sleep(1000 * 2 ** attempt);
        continue;
      }
      if (res.ok) return res.json();
      const problem = await res.json().catch(() => ({}));
      if ((res.status === 429 || res.status >= 500) && attempt < tries - 1) {
        await sleep(1000 * Number(res.headers.get("Retry-After") ?? 2 ** attempt));
        continue;
      }
      throw new APIError(res.status, problem);
    }
  }

  post(path, body, key = randomUUID()) {
    return this.call("POST", path, body, { "Idempotency-Key": key });
  }

  // fields: options, at, in, stop_after, label, notify_url, notify_each
  start(ids, fields = {}, key) { return this.post("/v1/starts", { ...fields, ids }, key); }
  stop(ids, fields = {}, key) { return this.post("/v1/stops", { ...fields, ids }, key); }
  cancel(ids, key) { return this.post("/v1/cancels", { ids }, key); }

  outcome(request, waitSeconds) {
    return this.call("GET", `/v1/requests/${request}${waitSeconds ? `?wait=${waitSeconds}s` : ""}`);
  }

  // wait returns the outcome once every phone ended, or as it is after timeoutSeconds.
  async wait(request, timeoutSeconds) {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
      const left = (deadline - Date.now()) / 1000;
      const o = await this.outcome(request, left > 0 ? Math.max(1, Math.min(Math.floor(left), 300)) : 0);
      if (o.ended || left <= 0) return o;
    }
  }

  // events yields {id, event, data} from GET /v1/events, resuming after the last id seen when the
  // connection drops. event is "message", or "reset" when events were trimmed before they were
  // read: re-read the state then.
  async *events({ lastEventId, signal, ...filters } = {}) {
    while (!signal?.aborted) {
      const q = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
      let res;
      try {
        res = await fetch(`${this.baseURL}/v1/events?${q}`, {
          headers: { Authorization: `Bearer ${this.token}`, ...(lastEventId ? { "Last-Event-ID": lastEventId } : {}) },
          signal,
        });
      } catch (e) {
        if (signal?.aborted) return;
        await sleep(1000);
        continue;
      }
      if (!res.ok) throw new APIError(res.status, await res.json().catch(() => ({})));
      const decoder = new TextDecoder();
      let buf = "", event = "message", data = [];
      try {
        for await (const chunk of res.body) {
          buf += decoder.decode(chunk, { stream: true });
          let nl;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).replace(/\r$/, "");
            buf = buf.slice(nl + 1);
            if (line === "") {
              if (data.length) yield { id: lastEventId, event, data: data.join("\n") };
              event = "message";
              data = [];
            } else if (!line.startsWith(":")) {
              const i = line.indexOf(":");
              const field = i < 0 ? line : line.slice(0, i);
              const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
              if (field === "id") lastEventId = value; // moves on id-only blocks too
              else if (field === "event") event = value;
              else if (field === "data") data.push(value);
            }
          }
        }
      } catch (e) {
        if (signal?.aborted) return;
      }
    }
  }
}

// verifySignature tells whether a webhook is phonestart's: Phonestart-Signature is v1= and the hex
// HMAC-SHA256 of Phonestart-Timestamp + "." + the raw body (a Buffer), keyed with
// PHONESTART_WEBHOOK_SECRET, and the timestamp is within toleranceSeconds.
export function verifySignature(secret, timestamp, signature, body, toleranceSeconds = 300, now = Date.now() / 1000) {
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(now - ts) > toleranceSeconds) return false;
  const want = Buffer.from("v1=" + createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex"));
  const got = Buffer.from(String(signature ?? ""));
  return got.length === want.length && timingSafeEqual(got, want);
}
