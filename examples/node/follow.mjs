// Print a request's events as they come, resuming after the last one if the connection drops.
//
//   node follow.mjs REQUEST [LAST_EVENT_ID]
import { Client } from "./phonestart.mjs";

const c = new Client(process.env.PHONESTART_API_URL ?? "http://127.0.0.1:8080", process.env.PHONESTART_API_TOKEN);
const [request, last = "0"] = process.argv.slice(2); // "0": from the oldest event kept
for await (const { id, event, data } of c.events({ request, lastEventId: last })) {
  if (event === "reset") {
    console.error("events were trimmed before we read them; re-reading the request:");
    console.log(JSON.stringify(await c.outcome(request)));
    continue;
  }
  const e = JSON.parse(data);
  console.log(id, e.phone, e.event, e.code, e.url ?? "");
}
