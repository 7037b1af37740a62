// The `@anthropic-ai/sdk` npm client against copilot-serve
// (tests/serve_clients.bats). Runs the named steps in order on one model and
// prints one JSON line per step; anything the client throws that a step did
// not expect ends it with status 1.
//   create      messages.create, not streamed
//   stream      messages.stream: the text events and finalMessage()
//   count       messages.countTokens
//   tools       a tool_use round trip: the answer asks for get_weather, the
//               client sends a tool_result, the final answer is text
//   tools-stream  the same round trip with both turns streamed
//   ratelimit   expects a RateLimitError (the suite scripts a 429; no retries)
//   auth        expects an AuthenticationError (a wrong x-api-key)
// Usage: ANTHROPIC_BASE_URL=http://127.0.0.1:PORT ANTHROPIC_API_KEY=KEY \
//          node anthropic_sdk.mjs MODEL STEP...
import Anthropic from "@anthropic-ai/sdk";

const [model, ...steps] = process.argv.slice(2);
const client = new Anthropic({ maxRetries: 0, timeout: 30000 });
const say = (o) => console.log(JSON.stringify(o));
const textOf = (m) => m.content.filter((b) => b.type === "text").map((b) => b.text).join("");
const user = (content) => [{ role: "user", content }];

const weather = {
  name: "get_weather",
  description: "The weather in a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

// The round trip: the first answer must be a tool_use (the suite scripts it),
// the client answers it with a tool_result, the second answer is text.
async function roundTrip(streamed) {
  const messages = user("What is the weather in Paris?");
  const ask = { model, max_tokens: 256, tools: [weather], messages };
  const first = streamed ? await client.messages.stream(ask).finalMessage()
                         : await client.messages.create(ask);
  const use = first.content.find((b) => b.type === "tool_use");
  if (!use) throw new Error("no tool_use in " + JSON.stringify(first));
  messages.push({ role: "assistant", content: first.content });
  messages.push({
    role: "user",
    content: [{ type: "tool_result", tool_use_id: use.id, content: "sunny, 21 C in " + use.input.city }],
  });
  const second = streamed ? await client.messages.stream(ask).finalMessage()
                          : await client.messages.create(ask);
  return { first: first.stop_reason, name: use.name, input: use.input, idOk: /^[A-Za-z0-9_-]+$/.test(use.id),
           second: second.stop_reason, text: textOf(second) };
}

// expectError(step, Class, call): the call must throw exactly that SDK error.
async function expectError(step, cls, call) {
  try {
    await call();
  } catch (e) {
    if (!(e instanceof cls)) throw e;
    say({ step, error: e.constructor.name, status: e.status, type: e.error?.error?.type ?? null });
    return;
  }
  throw new Error(step + ": no error");
}

for (const step of steps) {
  if (step === "create") {
    const m = await client.messages.create({ model, max_tokens: 256, messages: user("whole " + model) });
    say({ step, type: m.type, role: m.role, text: textOf(m), stop_reason: m.stop_reason,
          usage: m.usage.input_tokens > 0 && m.usage.output_tokens > 0 });
  } else if (step === "stream") {
    const s = client.messages.stream({ model, max_tokens: 256, messages: user("streamed " + model) });
    let text = "";
    const events = new Set();
    s.on("text", (delta) => { text += delta; });
    s.on("streamEvent", (ev) => events.add(ev.type));
    const m = await s.finalMessage();
    say({ step, text, final: textOf(m), stop_reason: m.stop_reason,
          events: [...events].sort().join(","), usage: m.usage.output_tokens > 0 });
  } else if (step === "count") {
    const c = await client.messages.countTokens({
      model, system: "You are terse.", tools: [weather],
      messages: user("count these few words please"),
    });
    say({ step, positive: Number.isInteger(c.input_tokens) && c.input_tokens > 0 });
  } else if (step === "tools" || step === "tools-stream") {
    say({ step, ...(await roundTrip(step === "tools-stream")) });
  } else if (step === "ratelimit") {
    await expectError(step, Anthropic.RateLimitError, () =>
      client.messages.create({ model, max_tokens: 16, messages: user("too many") }));
  } else if (step === "auth") {
    const wrong = new Anthropic({ apiKey: "sk-wrong-key-for-this-server", maxRetries: 0 });
    await expectError(step, Anthropic.AuthenticationError, () =>
      wrong.messages.create({ model, max_tokens: 16, messages: user("who am I") }));
  } else {
    throw new Error("unknown step " + step);
  }
}
