// The `openai` npm client against copilot-serve (tests/serve_wire.bats):
// client.responses.create, whole and streamed, on a chat-only model
// (translated) and a Responses-only one (passed through), and
// client.chat.completions.create on the Responses-only gpt-5-codex
// (translated), whole and streamed. Prints one JSON line per call; any
// error the client throws ends it with status 1.
// Usage: OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 node openai_responses.mjs
import OpenAI from "openai";

const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY || "unused", maxRetries: 0 });
const say = (o) => console.log(JSON.stringify(o));

for (const model of ["gpt-4.1", "gpt-5-codex"]) {
  const r = await client.responses.create({ model, input: "whole " + model });
  say({ call: "responses", model, text: r.output_text, status: r.status, usage: r.usage.output_tokens > 0 });

  const stream = await client.responses.create({ model, input: "streamed " + model, stream: true });
  let text = "";
  let last = "";
  for await (const ev of stream) {
    if (ev.type === "response.output_text.delta") text += ev.delta;
    last = ev.type;
  }
  say({ call: "responses-stream", model, text, last });
}

const c = await client.chat.completions.create({
  model: "gpt-5-codex",
  messages: [{ role: "user", content: "chat codex" }],
});
say({ call: "chat", model: "gpt-5-codex", text: c.choices[0].message.content, finish: c.choices[0].finish_reason });

const cs = await client.chat.completions.create({
  model: "gpt-5-codex",
  messages: [{ role: "user", content: "chat stream codex" }],
  stream: true,
});
let ctext = "";
for await (const chunk of cs) ctext += chunk.choices[0]?.delta?.content || "";
say({ call: "chat-stream", model: "gpt-5-codex", text: ctext });

// A failure in the middle of a translated stream: its last event is
// response.failed, which the SDK hands on (it throws on an `error` event).
const bad = await client.responses.create({ model: "gpt-4.1", input: "fails midway now", stream: true });
let badLast = "";
for await (const ev of bad) badLast = ev.type;
say({ call: "responses-fail", last: badLast });
