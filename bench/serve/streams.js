#!/usr/bin/env node
// bench/serve/streams.js URL N TIMEOUT_S: N concurrent streamed chat
// completions to URL (each on its own connection), all opened at once; prints
// {"opened": N, "done": K, "errors": E, "seconds": S} where done counts the
// streams whose answer ended with `data: [DONE]`. Exits by TIMEOUT_S whatever
// happens (the streams still open count as not done).
"use strict";
const http = require("node:http");
const [url, nArg, tArg] = process.argv.slice(2);
const n = Number(nArg), timeout = Number(tArg || 60) * 1000;
const u = new URL(url);
const body = '{"model":"gpt-4.1","messages":[{"role":"user","content":"slow"}],"stream":true}';
let done = 0, errors = 0, finished = 0;
const t0 = Date.now();
const report = () => {
  process.stdout.write(JSON.stringify({ opened: n, done, errors, seconds: (Date.now() - t0) / 1000 }) + "\n");
  process.exit(0);
};
setTimeout(report, timeout).unref();
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
for (let i = 0; i < n; i++) {
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", agent,
    headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } }, (res) => {
    let tail = "";
    res.setEncoding("latin1");
    res.on("data", (d) => { tail = (tail + d).slice(-64); });
    res.on("end", () => {
      if (res.statusCode === 200 && tail.includes("data: [DONE]")) done++; else errors++;
      if (++finished === n) report();
    });
    res.on("error", () => { errors++; if (++finished === n) report(); });
  });
  req.on("error", () => { errors++; if (++finished === n) report(); });
  req.end(body);
}
