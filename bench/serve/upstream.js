#!/usr/bin/env node
// bench/serve/upstream.js: a fast fake of the Copilot API for the proxy
// benchmarks of issue 14 (Node 20, no npm packages). The Python fake in
// tests/fake-github is the tests' oracle, with a thread per connection and a
// GIL: about 2,000 requests/s whoever asks, so it would be the ceiling of every
// proxy. This one answers from prebuilt buffers on one event loop.
//
//   node upstream.js --port-file FILE [--port 0] [--slow-ms MS] [--chunks N]
//                    [--first-gap-ms MS] [--watch-pid PID]
//
// Routes (with or without a /v1 or /api prefix):
//   POST /chat/completions           a ~500-byte completion, or with
//                                    "stream":true a few SSE chunks and
//                                    `data: [DONE]` (--chunks N of them,
//                                    default 6); --slow-ms spaces them;
//                                    --first-gap-ms pauses after the first
//   GET  /models                     one model
//   GET  /copilot_internal/v2/token  a Copilot token whose endpoints.api is
//                                    this server (refresh_in 1500 s)
//   GET  /user                       a login (copilot-api asks for it)
//   GET  /_stats                     {"requests": N, "streams_done": N}
// Listens on 127.0.0.1 only, HTTP/1.1 keep-alive; writes its port to
// --port-file; exits when --watch-pid is gone (so no run leaves it behind).
"use strict";
const http = require("node:http");
const fs = require("node:fs");

const opt = { port: 0, portFile: "", slowMs: 0, chunks: 6, firstGapMs: 0, watchPid: 0, content: "" };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i], v = process.argv[i + 1];
  const take = () => { i++; return v; };
  if (a === "--port") opt.port = Number(take());
  else if (a === "--port-file") opt.portFile = take();
  else if (a === "--slow-ms") opt.slowMs = Number(take());
  else if (a === "--chunks") opt.chunks = Number(take());
  else if (a === "--first-gap-ms") opt.firstGapMs = Number(take());
  else if (a === "--watch-pid") opt.watchPid = Number(take());
  else { process.stderr.write(`upstream.js: unknown argument ${a}\n`); process.exit(2); }
}

let base = "";  // http://127.0.0.1:PORT, known once listening
let requests = 0, streamsDone = 0;

const completion = Buffer.from(JSON.stringify({
  choices: [{ finish_reason: "stop", index: 0, message: { content:
    "Hello! This is the benchmark upstream answering a chat completion with a short, fixed reply " +
    "of about the size a one-line answer has.", role: "assistant" } }],
  created: 1764000000, id: "chatcmpl-bench0001", model: "gpt-4.1",
  system_fingerprint: "fp_bench", object: "chat.completion",
  usage: { completion_tokens: 28, prompt_tokens: 12, total_tokens: 40,
    prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
}));
// ~100 bytes an event, so that 100,000 chunks make the 10 MB answer.
const chunk = Buffer.from('data: {"choices":[{"delta":{"content":"word "}}],' +
  '"created":1764000000,"id":"c1","model":"gpt-4.1"}\n\n');
const lastChunk = Buffer.from('data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],' +
  '"created":1764000000,"id":"c1","model":"gpt-4.1"}\n\ndata: [DONE]\n\n');
const models = Buffer.from(JSON.stringify({ object: "list", data: [
  { id: "gpt-4.1", object: "model", vendor: "Azure OpenAI", name: "GPT-4.1", version: "gpt-4.1",
    model_picker_enabled: true, preview: false,
    capabilities: { family: "gpt-4.1", type: "chat", tokenizer: "o200k_base",
      limits: { max_context_window_tokens: 128000, max_output_tokens: 16384, max_prompt_tokens: 128000 },
      supports: { streaming: true, tool_calls: true } } }] }));
const user = Buffer.from('{"login":"bench","id":1}');

function tokenDoc() {
  const now = Math.floor(Date.now() / 1000);
  return Buffer.from(JSON.stringify({
    token: `tid=bench;exp=${now + 1800};sku=free_limited_copilot;proxy-ep=127.0.0.1:bench`,
    expires_at: now + 1800, refresh_in: 1500, sku: "free_limited_copilot",
    chat_enabled: true, endpoints: { api: base }, individual: true,
  }));
}

function send(res, status, body, type = "application/json") {
  res.writeHead(status, { "Content-Type": type, "Content-Length": body.length });
  res.end(body);
}

// The stream: chunks written as fast as the socket takes them (one write of
// many chunks when nothing spaces them), or one by one --slow-ms apart.
function stream(res) {
  res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
  const n = Math.max(1, opt.chunks);
  let sent = 0;
  const finish = () => { res.end(lastChunk); streamsDone++; };
  if (!opt.slowMs && !opt.firstGapMs) {
    if (n <= 64) { res.end(Buffer.concat([...Array(n).fill(chunk), lastChunk])); streamsDone++; return; }
    const batch = Buffer.concat(Array(1000).fill(chunk));
    const pump = () => {
      while (sent < n) {
        const k = Math.min(1000, n - sent);
        sent += k;
        const ok = res.write(k === 1000 ? batch : batch.subarray(0, k * chunk.length));
        if (!ok) { res.once("drain", pump); return; }
      }
      finish();
    };
    pump();
    return;
  }
  // Spaced events: the first, then --first-gap-ms, then the rest --slow-ms apart.
  res.write(chunk);
  sent = 1;
  res.socket && res.socket.setNoDelay(true);
  const rest = () => {
    if (res.destroyed) return;
    if (sent >= n) { finish(); return; }
    if (opt.slowMs) { res.write(chunk); sent++; setTimeout(rest, opt.slowMs); return; }
    // no spacing after the gap: the rest at full speed
    const batch = Buffer.concat(Array(Math.min(1000, n - sent)).fill(chunk));
    const pump = () => {
      while (sent < n) {
        const k = Math.min(1000, n - sent);
        sent += k;
        if (!res.write(k * chunk.length === batch.length ? batch : batch.subarray(0, k * chunk.length))) {
          res.once("drain", pump); return;
        }
      }
      finish();
    };
    pump();
  };
  setTimeout(rest, opt.firstGapMs || opt.slowMs);
}

const server = http.createServer({ keepAliveTimeout: 120000, noDelay: true }, (req, res) => {
  requests++;
  const path = req.url.split("?")[0].replace(/^\/(v1|api)(?=\/)/, "");
  if (req.method === "POST" && path === "/chat/completions") {
    const parts = [];
    req.on("data", (d) => parts.push(d));
    req.on("end", () => {
      // A cheap look for "stream":true (spaces allowed): no JSON parse, as
      // the upstream's cost is not what is measured.
      const wantsStream = /"stream"\s*:\s*true/.test(Buffer.concat(parts).toString("latin1"));
      if (wantsStream) stream(res); else send(res, 200, completion);
    });
    return;
  }
  req.resume();
  if (req.method === "GET" && path === "/models") return send(res, 200, models);
  if (req.method === "GET" && path === "/copilot_internal/v2/token") return send(res, 200, tokenDoc());
  if (req.method === "GET" && path === "/user") return send(res, 200, user);
  if (req.method === "GET" && path === "/_stats")
    return send(res, 200, Buffer.from(JSON.stringify({ requests, streams_done: streamsDone })));
  send(res, 404, Buffer.from('{"error":{"message":"not found"}}'));
});
server.headersTimeout = 60000;
server.requestTimeout = 0;
server.maxRequestsPerSocket = 0;
server.listen(opt.port, "127.0.0.1", 1024, () => {
  base = `http://127.0.0.1:${server.address().port}`;
  if (opt.portFile) fs.writeFileSync(opt.portFile, String(server.address().port));
});
if (opt.watchPid) {
  setInterval(() => {
    try { process.kill(opt.watchPid, 0); } catch { process.exit(0); }
  }, 500).unref();
}
process.on("SIGTERM", () => process.exit(0));
