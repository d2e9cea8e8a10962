// A stand-in for the WhatsApp Cloud API for the browser tests (the real one cannot be
// reached from CI): POST /<phone id>/messages with the Bearer token is recorded and answered
// as the Cloud API does; GET /sent?to=<digits> lists what was sent to a number.
import http from "node:http";

const [port, phoneId, token] = process.argv.slice(2);
const sent = [];

http
  .createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    if (req.method === "GET" && url.pathname === "/sent") {
      const to = url.searchParams.get("to");
      res.setHeader("content-type", "application/json");
      return res.end(JSON.stringify(sent.filter((m) => m.to === to)));
    }
    if (req.method !== "POST" || url.pathname !== `/${phoneId}/messages`) {
      res.statusCode = 404;
      return res.end();
    }
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      if (req.headers.authorization !== `Bearer ${token}`) {
        res.statusCode = 401;
        return res.end(JSON.stringify({ error: { message: "Invalid OAuth access token.", code: 190 } }));
      }
      const message = JSON.parse(body);
      sent.push(message);
      res.end(JSON.stringify({ messaging_product: "whatsapp", messages: [{ id: `wamid.${sent.length}` }] }));
    });
  })
  .listen(Number(port), "127.0.0.1");
