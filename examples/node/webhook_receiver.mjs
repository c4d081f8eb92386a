// Receive phonestart's webhooks on :8000 and check their signature.
//
//   PHONESTART_WEBHOOK_SECRET=... node webhook_receiver.mjs
import { createServer } from "node:http";
import { verifySignature } from "./phonestart.mjs";

const secret = process.env.PHONESTART_WEBHOOK_SECRET;
const seen = new Set(); // Phonestart-Delivery IDs: a webhook may come twice; keep a durable set in real use

createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  if (!verifySignature(secret, req.headers["phonestart-timestamp"], req.headers["phonestart-signature"], body)) {
    res.writeHead(401).end();
    return;
  }
  const delivery = req.headers["phonestart-delivery"];
  if (!seen.has(delivery)) {
    seen.add(delivery);
    console.log(req.headers["phonestart-event"], JSON.parse(body));
  }
  res.writeHead(204).end();
}).listen(8000);
