// Start phones and wait until each is ready or dead.
//
//   PHONESTART_API_URL=http://127.0.0.1:8080 PHONESTART_API_TOKEN=pst_... \
//     node start_and_wait.mjs 557712345678901234 557712345678901235
import { Client } from "./phonestart.mjs";

const c = new Client(process.env.PHONESTART_API_URL ?? "http://127.0.0.1:8080", process.env.PHONESTART_API_TOKEN);
const r = await c.start(process.argv.slice(2), { label: "example", options: { width: 400 } });
console.error(`request ${r.request} enqueued ${r.enqueued} duplicates ${r.duplicates.length}`);
const outcome = await c.wait(r.request, Number(process.env.WAIT_SECONDS ?? 900));
console.log(JSON.stringify(outcome));
process.exitCode = outcome.ended && outcome.dead.length === 0 ? 0 : 1;
