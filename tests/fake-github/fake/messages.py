"""The Anthropic Messages API of Copilot (POST /v1/messages), for the models
whose supported_endpoints list it: the checks Anthropic's API makes, the
`message` object and its event stream, errors in Anthropic's shape.
README.md, "`messages`"."""

import json

from .copilot import (answer_plan, count_tokens, default_reply, framer, guarded,
                      metered, model_error, quota_refusal, split_args)
from .state import STATE, is_num, is_str_list
from .wire import Response, anthropic_error, json_response

KNOWN = {"model", "messages", "max_tokens", "system", "tools", "tool_choice", "thinking",
         "stream", "temperature", "top_p", "top_k", "stop_sequences", "metadata",
         "service_tier"}
BLOCKS = ("text", "image", "document", "tool_use", "tool_result", "thinking",
          "redacted_thinking")
THINKING_TEXT = "Thinking about how to answer."
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


class Invalid(Exception):
    pass


def text_of(content):
    if isinstance(content, str):
        return content
    out = []
    for b in content if isinstance(content, list) else []:
        if isinstance(b, dict):
            if isinstance(b.get("text"), str):
                out.append(b["text"])
            elif b.get("type") == "tool_result":
                out.append(text_of(b.get("content", "")))
    return "".join(out)


def check_block(b, p, role):
    if not isinstance(b, dict):
        raise Invalid("%s: Input should be a valid dictionary" % p)
    t = b.get("type")
    if t not in BLOCKS:
        raise Invalid("%s.type: Input tag '%s' found using 'type' does not match any of the "
                      "expected tags: %s" % (p, t, ", ".join("'%s'" % x for x in BLOCKS)))
    if t == "text" and not isinstance(b.get("text"), str):
        raise Invalid("%s.text: Field required" % p)
    if t == "image":
        src = b.get("source")
        if not isinstance(src, dict) or src.get("type") not in ("base64", "url"):
            raise Invalid("%s.source: Input tag '%s' found using 'type' does not match any of "
                          "the expected tags: 'base64', 'url'"
                          % (p, (src or {}).get("type") if isinstance(src, dict) else None))
        if src["type"] == "base64" and not (isinstance(src.get("data"), str)
                                            and isinstance(src.get("media_type"), str)):
            raise Invalid("%s.source.base64: media_type and data are required" % p)
        if src["type"] == "url" and not isinstance(src.get("url"), str):
            raise Invalid("%s.source.url.url: Field required" % p)
    if t == "tool_use":
        if role != "assistant":
            raise Invalid("%s: tool_use blocks are only allowed in assistant messages" % p)
        if not isinstance(b.get("id"), str) or not isinstance(b.get("name"), str):
            raise Invalid("%s: tool_use blocks need an id and a name" % p)
        if not isinstance(b.get("input"), dict):
            raise Invalid("%s.input: Input should be a valid dictionary" % p)
    if t == "tool_result":
        if role != "user":
            raise Invalid("%s: tool_result blocks are only allowed in user messages" % p)
        if not isinstance(b.get("tool_use_id"), str):
            raise Invalid("%s.tool_use_id: Field required" % p)
        c = b.get("content", "")
        if not isinstance(c, (str, list)):
            raise Invalid("%s.content: Input should be a valid string or list" % p)
        if "is_error" in b and not isinstance(b["is_error"], bool):
            raise Invalid("%s.is_error: Input should be a valid boolean" % p)
    if t == "thinking" and not (isinstance(b.get("thinking"), str)
                                and isinstance(b.get("signature"), str)):
        raise Invalid("%s: thinking blocks need thinking and signature" % p)


def ids_of(content, kind, key):
    if not isinstance(content, list):
        return []
    return [b[key] for b in content if isinstance(b, dict) and b.get("type") == kind]


def check_messages(msgs):
    if not isinstance(msgs, list):
        raise Invalid("messages: Input should be a valid list")
    if not msgs:
        raise Invalid("messages: at least one message is required")
    for i, m in enumerate(msgs):
        p = "messages.%d" % i
        if not isinstance(m, dict):
            raise Invalid("%s: Input should be a valid dictionary" % p)
        role = m.get("role")
        if role == "system":
            raise Invalid('messages: Unexpected role "system". The Messages API accepts a '
                          'top-level `system` parameter, not "system" as an input message role.')
        if role not in ("user", "assistant"):
            raise Invalid("%s.role: Input should be 'user' or 'assistant'" % p)
        c = m.get("content")
        if isinstance(c, list):
            if not c and i != len(msgs) - 1:
                raise Invalid("%s: all messages must have non-empty content except for the "
                              "optional final assistant message" % p)
            for j, b in enumerate(c):
                check_block(b, "%s.content.%d" % (p, j), role)
        elif not isinstance(c, str):
            raise Invalid("%s.content: Field required" % p if c is None else
                          "%s.content: Input should be a valid string or list" % p)
    # each tool_use is answered by a tool_result in the very next message, and back
    for i, m in enumerate(msgs):
        uses = ids_of(m["content"], "tool_use", "id")
        nxt = msgs[i + 1]["content"] if i + 1 < len(msgs) else None
        if uses and nxt is not None:
            missing = [u for u in uses if u not in ids_of(nxt, "tool_result", "tool_use_id")]
            if missing:
                raise Invalid("messages.%d: `tool_use` ids were found without `tool_result` "
                              "blocks immediately after: %s. Each `tool_use` block must have a "
                              "corresponding `tool_result` block in the next message."
                              % (i, ", ".join(missing)))
        results = ids_of(m["content"], "tool_result", "tool_use_id")
        prev = ids_of(msgs[i - 1]["content"], "tool_use", "id") if i > 0 else []
        stray = [r for r in results if r not in prev]
        if stray:
            raise Invalid("messages.%d.content.0: unexpected `tool_use_id` found in "
                          "`tool_result` blocks: %s. Each `tool_result` block must have a "
                          "corresponding `tool_use` block in the previous message."
                          % (i, ", ".join(stray)))


def check(body, headers):
    for k in body:
        if k not in KNOWN:
            raise Invalid("%s: Extra inputs are not permitted" % k)
    for k in ("model", "messages", "max_tokens"):
        if k not in body:
            raise Invalid("%s: Field required" % k)
    mt = body["max_tokens"]
    if not (isinstance(mt, int) and not isinstance(mt, bool)) or mt < 1:
        raise Invalid("max_tokens: Input should be a valid integer greater than or equal to 1")
    check_messages(body["messages"])
    sysp = body.get("system")
    if sysp is not None and not isinstance(sysp, str):
        if not isinstance(sysp, list) or not all(
                isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
                for b in sysp):
            raise Invalid("system: Input should be a valid string or a list of text blocks")
    tools = body.get("tools", [])
    if not isinstance(tools, list):
        raise Invalid("tools: Input should be a valid list")
    names = []
    for i, t in enumerate(tools):
        p = "tools.%d" % i
        if not isinstance(t, dict):
            raise Invalid("%s: Input should be a valid dictionary" % p)
        if t.get("type", "custom") != "custom":
            raise Invalid("%s.type: tool type '%s' is not supported" % (p, t.get("type")))
        if not isinstance(t.get("name"), str) or not t["name"]:
            raise Invalid("%s.custom.name: Field required" % p)
        schema = t.get("input_schema")
        if not isinstance(schema, dict):
            raise Invalid("%s.custom.input_schema: Field required" % p)
        if schema.get("type") != "object":
            raise Invalid("%s.custom.input_schema.type: Input should be 'object'" % p)
        names.append(t["name"])
    tc = body.get("tool_choice")
    if tc is not None:
        if not isinstance(tc, dict) or tc.get("type") not in ("auto", "any", "tool", "none"):
            raise Invalid("tool_choice: Input tag '%s' found using 'type' does not match any of "
                          "the expected tags: 'auto', 'any', 'tool', 'none'"
                          % (tc.get("type") if isinstance(tc, dict) else tc))
        if tc["type"] == "tool" and tc.get("name") not in names:
            raise Invalid("tool_choice: tool '%s' not found in tools" % tc.get("name"))
    th = body.get("thinking")
    if th is not None:
        if not isinstance(th, dict) or th.get("type") not in ("enabled", "disabled", "adaptive"):
            raise Invalid("thinking: Input tag found using 'type' does not match any of the "
                          "expected tags: 'enabled', 'disabled', 'adaptive'")
        if th["type"] == "enabled":
            bt = th.get("budget_tokens")
            if not isinstance(bt, int) or isinstance(bt, bool) or bt < 1024:
                raise Invalid("thinking.enabled.budget_tokens: Input should be greater than "
                              "or equal to 1024")
            if bt >= mt:
                raise Invalid("`max_tokens` must be greater than `thinking.budget_tokens`.")
    for k, hi in (("temperature", 1), ("top_p", 1)):
        v = body.get(k)
        if v is not None and not (is_num(v) and 0 <= v <= hi):
            raise Invalid("%s: Input should be a number between 0 and %d" % (k, hi))
    if "top_k" in body and not (isinstance(body["top_k"], int) and body["top_k"] >= 0):
        raise Invalid("top_k: Input should be a valid integer")
    if "stop_sequences" in body and not is_str_list(body["stop_sequences"]):
        raise Invalid("stop_sequences: Input should be a valid list of strings")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise Invalid("stream: Input should be a valid boolean")
    if "metadata" in body and not isinstance(body["metadata"], dict):
        raise Invalid("metadata: Input should be a valid dictionary")
    # the headers
    if STATE.cfg("require_anthropic_version") and not headers.get("anthropic-version"):
        raise Invalid("anthropic-version: header is required")
    allowed = STATE.cfg("anthropic_betas")
    if allowed is not None:
        betas = [b.strip() for b in (headers.get("anthropic-beta") or "").split(",") if b.strip()]
        bad = [b for b in betas if b not in allowed]
        if bad:
            raise Invalid("Unexpected value(s) `%s` for the `anthropic-beta` header. Please "
                          "consult our documentation at docs.anthropic.com or try again "
                          "without the header." % ", ".join(bad))


@guarded(json_body=False)
def messages(req, r):
    body = req.json()
    if not req.json_ok:
        return anthropic_error(400, "There was an error parsing the body of your request.")
    if "model" not in body:
        return anthropic_error(400, "model: Field required")
    mid = body["model"]
    err = model_error(mid, "chat", "/v1/messages")
    if err:
        return err
    try:
        check(body, req.headers)
    except Invalid as e:
        return anthropic_error(400, str(e))
    err = quota_refusal(req, mid)
    if err:
        return err
    msgs = body["messages"]
    last = ""
    for m in msgs:
        if m["role"] == "user":
            last = text_of(m["content"])
    sysp = body.get("system")
    input_tokens = (sum(count_tokens(text_of(m["content"])) for m in msgs)
                    + count_tokens(text_of(sysp) if sysp is not None else ""))
    think = None
    if (body.get("thinking") or {}).get("type") in ("enabled", "adaptive"):
        think = THINKING_TEXT
    pieces, calls, think = answer_plan(r, default_reply(last), think)
    opts = r.get("stream") or {}
    with STATE.lock:
        STATE.n_messages += 1
        n = STATE.n_messages
    msg = Msg(n, mid, opts, pieces, calls, think, input_tokens)
    if body.get("stream") is True:
        return metered(req, Response(200, msg.events(), content_type="text/event-stream",
                                     length=None), mid)
    return metered(req, json_response(msg.final()), mid)


class Msg:
    """One message being built, as an object and as its event stream."""

    def __init__(self, n, mid, opts, pieces, calls, think, input_tokens):
        self.id = "msg_fake%d" % n
        self.mid, self.opts, self.pieces, self.calls, self.think = mid, opts, pieces, calls, think
        self.input_tokens = input_tokens
        for i, c in enumerate(calls):
            c["id"] = c["id"] or "toolu_fake%d_%d" % (n, i)
        fin = opts.get("finish_reason")
        self.stop_reason = (STOP_REASONS.get(fin, fin) if fin
                            else ("tool_use" if calls else "end_turn"))
        self.blocks = []
        if think is not None:
            self.blocks.append("thinking")
        if pieces or not calls:
            self.blocks.append("text")
        self.blocks += [("tool_use", c) for c in calls]

    def usage(self, output_tokens):
        return {"input_tokens": self.input_tokens, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": self.opts.get("cached_tokens", 0),
                "output_tokens": output_tokens, "service_tier": "standard"}

    def output_tokens(self):
        return (count_tokens("".join(self.pieces)) + count_tokens(self.think or "")
                + sum(count_tokens(c["arguments"]) for c in self.calls))

    def block(self, b, done=True):
        if b == "thinking":
            return {"type": "thinking", "thinking": self.think if done else "",
                    "signature": "fake-signature" if done else ""}
        if b == "text":
            return {"type": "text", "text": "".join(self.pieces) if done else ""}
        c = b[1]
        return {"type": "tool_use", "id": c["id"], "name": c["name"],
                "input": json_loads(c["arguments"]) if done else {}}

    def envelope(self, content, stop_reason, usage):
        return {"id": self.id, "type": "message", "role": "assistant", "model": self.mid,
                "content": content, "stop_reason": stop_reason, "stop_sequence": None,
                "usage": usage}

    def final(self):
        return self.envelope([self.block(b) for b in self.blocks], self.stop_reason,
                             self.usage(self.output_tokens()))

    def events(self):
        o = self.opts
        frame = framer(o)
        error_after = o.get("error_after")
        err = frame("error", {"type": "error", "error": {
            "type": o.get("error_code", "overloaded_error"),
            "message": o.get("error_message", "fake mid-stream error")}})
        if o.get("bom"):
            yield b"\xef\xbb\xbf"
        yield frame("message_start", {"type": "message_start",
                                      "message": self.envelope([], None, self.usage(1))})
        sent = 0
        for idx, b in enumerate(self.blocks):
            yield frame("content_block_start", {"type": "content_block_start", "index": idx,
                                                "content_block": self.block(b, False)})
            if idx == 0:
                yield frame("ping", {"type": "ping"})

            def delta(d):
                return frame("content_block_delta", {"type": "content_block_delta",
                                                     "index": idx, "delta": d})
            if b == "thinking":
                for piece in split_args(self.think):
                    yield delta({"type": "thinking_delta", "thinking": piece})
                yield delta({"type": "signature_delta", "signature": "fake-signature"})
            elif b == "text":
                for piece in self.pieces:
                    if error_after is not None and sent >= error_after:
                        yield err
                        return
                    yield delta({"type": "text_delta", "text": piece})
                    sent += 1
            else:
                for piece in split_args(b[1]["arguments"]):
                    yield delta({"type": "input_json_delta", "partial_json": piece})
            yield frame("content_block_stop", {"type": "content_block_stop", "index": idx})
        if error_after is not None:
            yield err
            return
        yield frame("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": self.stop_reason,
                                                "stop_sequence": None},
                                      "usage": {"output_tokens": self.output_tokens()}})
        yield frame("message_stop", {"type": "message_stop"})


def json_loads(s):
    try:
        v = json.loads(s)
    except ValueError:
        return {}
    return v if isinstance(v, dict) else {}
