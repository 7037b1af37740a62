"""The OpenAI Responses API of Copilot (POST /responses): the request checks
the real service makes, the `response` object, and its event stream
(`event:` lines, sequence_number). README.md, "`responses`"."""

import time

from .copilot import (answer_plan, count_tokens, default_reply, framer,
                      guarded, metered, model_error, quota_refusal, split_args)
from .state import STATE, is_num
from .wire import Response, copilot_error, json_response

KNOWN = {"model", "input", "instructions", "tools", "tool_choice", "max_output_tokens",
         "reasoning", "stream", "store", "temperature", "top_p", "parallel_tool_calls",
         "metadata", "include", "text", "truncation", "user", "previous_response_id",
         "prompt_cache_key", "safety_identifier", "stream_options", "top_logprobs",
         "max_tool_calls", "background"}
REFUSED = {"service_tier"}          # Copilot refuses these (issue 15)
ROLES = ("assistant", "system", "developer", "user")
INPUT_PARTS = ("input_text", "input_image", "input_file")
OUTPUT_PARTS = ("output_text", "refusal")
SUMMARIES = ("auto", "concise", "detailed")
REASONING_TEXT = "Thinking about how to answer."


class Invalid(Exception):
    def __init__(self, message, param=None, code="invalid_value"):
        super().__init__(message)
        self.param = param
        self.code = code


def bad(e):
    return copilot_error(400, str(e), e.code, {"param": e.param, "type": "invalid_request_error"})


def kind(v):
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    if v is None:
        return "null"
    return "an object"


def want(v, ok, param, what):
    if not ok:
        raise Invalid("Invalid type for '%s': expected %s, but got %s instead."
                      % (param, what, kind(v)), param, "invalid_type")


def one_of(v, allowed, param):
    if v not in allowed:
        raise Invalid("Invalid value: '%s'. Supported values are: %s."
                      % (v, ", ".join("'%s'" % a for a in allowed)), param)


def check_items(items):
    """The input item list, checked as the service does; returns the user texts."""
    calls = set()
    for i, it in enumerate(items):
        p = "input[%d]" % i
        want(it, isinstance(it, dict), p, "an object")
        t = it.get("type", "message" if "role" in it else None)
        if t is None:
            raise Invalid("Missing required parameter: '%s.type'." % p, p + ".type",
                          "missing_required_parameter")
        one_of(t, ("message", "function_call", "function_call_output", "reasoning"), p + ".type")
        if t == "message":
            one_of(it.get("role"), ROLES, p + ".role")
            c = it.get("content")
            want(c, isinstance(c, (str, list)), p + ".content",
                 "one of a string or array of content parts")
            if isinstance(c, list):
                parts = OUTPUT_PARTS if it["role"] == "assistant" else INPUT_PARTS
                for j, part in enumerate(c):
                    q = "%s.content[%d]" % (p, j)
                    want(part, isinstance(part, dict), q, "an object")
                    one_of(part.get("type"), parts, q + ".type")
                    if part["type"] in ("input_text", "output_text"):
                        want(part.get("text"), isinstance(part.get("text"), str),
                             q + ".text", "a string")
                    if part["type"] == "input_image" and not (
                            isinstance(part.get("image_url"), str)
                            or isinstance(part.get("file_id"), str)):
                        raise Invalid("Missing required parameter: '%s.image_url'." % q,
                                      q + ".image_url", "missing_required_parameter")
        elif t == "function_call":
            for k in ("call_id", "name", "arguments"):
                if not isinstance(it.get(k), str):
                    raise Invalid("Missing required parameter: '%s.%s'." % (p, k),
                                  "%s.%s" % (p, k), "missing_required_parameter")
            calls.add(it["call_id"])
        elif t == "function_call_output":
            if not isinstance(it.get("call_id"), str):
                raise Invalid("Missing required parameter: '%s.call_id'." % p,
                              p + ".call_id", "missing_required_parameter")
            want(it.get("output"), isinstance(it.get("output"), (str, list)), p + ".output",
                 "one of a string or array of content parts")
            if it["call_id"] not in calls:
                raise Invalid("No tool call found for function call output with call_id %s."
                              % it["call_id"], "input", None)
        else:
            want(it.get("summary"), isinstance(it.get("summary"), list), p + ".summary",
                 "an array")


def check(body, model):
    """Raise Invalid for what the real /responses refuses."""
    for k in body:
        if k in REFUSED:
            raise Invalid("Unsupported parameter: '%s'." % k, k, "unsupported_parameter")
        if k not in KNOWN:
            raise Invalid("Unknown parameter: '%s'." % k, k, "unknown_parameter")
    if "input" not in body:
        raise Invalid("Missing required parameter: 'input'.", "input",
                      "missing_required_parameter")
    inp = body["input"]
    want(inp, isinstance(inp, (str, list)), "input",
         "one of a string or array of input items")
    if isinstance(inp, list):
        check_items(inp)
    ins = body.get("instructions")
    want(ins, ins is None or isinstance(ins, str), "instructions", "a string")
    tools = body.get("tools", [])
    want(tools, isinstance(tools, list), "tools", "an array")
    names = []
    for i, t in enumerate(tools):
        p = "tools[%d]" % i
        want(t, isinstance(t, dict), p, "an object")
        one_of(t.get("type"), ("function",), p + ".type")
        if not isinstance(t.get("name"), str):
            raise Invalid("Missing required parameter: '%s.name'." % p, p + ".name",
                          "missing_required_parameter")
        if "parameters" in t:
            want(t["parameters"], isinstance(t["parameters"], dict), p + ".parameters",
                 "an object")
        names.append(t["name"])
    tc = body.get("tool_choice", "auto")
    if isinstance(tc, dict):
        one_of(tc.get("type"), ("function",), "tool_choice.type")
        if tc.get("name") not in names:
            raise Invalid("Tool choice '%s' not found in 'tools' parameter." % tc.get("name"),
                          "tool_choice")
    else:
        one_of(tc, ("auto", "none", "required"), "tool_choice")
    mot = body.get("max_output_tokens")
    if mot is not None:
        want(mot, isinstance(mot, int) and not isinstance(mot, bool), "max_output_tokens",
             "an integer")
        if mot < 16:
            raise Invalid("Invalid 'max_output_tokens': integer below minimum value. Expected "
                          "a value >= 16, but got %d instead." % mot, "max_output_tokens",
                          "integer_below_min_value")
    reasoning = body.get("reasoning")
    if reasoning is not None:
        want(reasoning, isinstance(reasoning, dict), "reasoning", "an object")
        efforts = model.get("capabilities", {}).get("supports", {}).get("reasoning_effort")
        if "effort" in reasoning and reasoning["effort"] is not None:
            if not efforts:
                raise Invalid("Unsupported parameter: 'reasoning.effort' is not supported "
                              "with this model.", "reasoning.effort", "unsupported_parameter")
            one_of(reasoning["effort"], efforts, "reasoning.effort")
        if reasoning.get("summary") is not None:
            one_of(reasoning["summary"], SUMMARIES, "reasoning.summary")
    for k in ("stream", "store", "parallel_tool_calls", "background"):
        if k in body and body[k] is not None:
            want(body[k], isinstance(body[k], bool), k, "a boolean")
    if body.get("background"):
        raise Invalid("Unsupported parameter: 'background'.", "background",
                      "unsupported_parameter")
    for k, hi in (("temperature", 2), ("top_p", 1)):
        v = body.get(k)
        if v is not None:
            want(v, is_num(v), k, "a number")
            if not 0 <= v <= hi:
                raise Invalid("Invalid '%s': must be between 0 and %d." % (k, hi), k)
    prev = body.get("previous_response_id")
    if prev is not None:       # Copilot stores nothing: no response can be continued
        raise Invalid("Previous response with id '%s' not found." % prev,
                      "previous_response_id", "previous_response_not_found")


def text_of(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def input_texts(body):
    inp = body["input"]
    if isinstance(inp, str):
        return [inp], inp
    texts, last = [], ""
    for it in inp:
        t = it.get("type", "message")
        if t == "message":
            s = text_of(it.get("content"))
            if it.get("role") == "user":
                last = s
        elif t == "function_call":
            s = it["arguments"]
        elif t == "function_call_output":
            s = text_of(it["output"])
        else:
            s = ""
        texts.append(s)
    return texts, last


@guarded(json_body=True)
def responses(req, r):
    body = req.json()
    if "model" not in body:
        return bad(Invalid("Missing required parameter: 'model'.", "model",
                           "missing_required_parameter"))
    mid = body["model"]
    err = model_error(mid, "chat", "/responses")
    if err:
        return err
    model = STATE.find_model(mid)
    try:
        check(body, model)
    except Invalid as e:
        return bad(e)
    err = quota_refusal(req, mid)
    if err:
        return err
    texts, last = input_texts(body)
    input_tokens = sum(count_tokens(t) for t in texts) + count_tokens(body.get("instructions"))
    asked = body.get("reasoning") or {}
    think = None
    if asked.get("summary") or asked.get("effort"):
        think = REASONING_TEXT
    pieces, calls, think = answer_plan(r, default_reply(last), think)
    opts = r.get("stream") or {}
    with STATE.lock:
        STATE.n_responses += 1
        n = STATE.n_responses
    ctx = Ctx(n, mid, body, opts, pieces, calls, think, input_tokens,
              bool(asked.get("summary")) or "reasoning" in opts)
    if body.get("stream") is True:
        return metered(req, Response(200, ctx.events(), content_type="text/event-stream",
                                     length=None), mid)
    return metered(req, json_response(ctx.final()), mid)


class Ctx:
    """One response being built: its items, in order, as objects and as events."""

    def __init__(self, n, mid, body, opts, pieces, calls, think, input_tokens, summarize):
        self.n, self.mid, self.body, self.opts = n, mid, body, opts
        self.pieces, self.calls, self.think = pieces, calls, think
        self.summarize = summarize
        self.input_tokens = input_tokens
        self.id = "resp_fake%d" % n
        self.created = int(time.time())
        self.seq = 0
        self.items = []        # (kind, item id) in output order
        if think is not None:
            self.items.append(("reasoning", "rs_fake%d_%d" % (n, len(self.items))))
        if pieces or not calls:
            self.items.append(("message", "msg_fake%d_%d" % (n, len(self.items))))
        for i, c in enumerate(calls):
            c["id"] = c["id"] or "call_fake%d_%d" % (n, i)
            self.items.append(("function_call", "fc_fake%d_%d" % (n, len(self.items)), c))
        self.status, self.incomplete = "completed", None
        if opts.get("finish_reason") == "length":
            self.status, self.incomplete = "incomplete", {"reason": "max_output_tokens"}

    def envelope(self, status, output, usage):
        b = self.body
        reasoning = b.get("reasoning") or {}
        return {
            "id": self.id, "object": "response", "created_at": self.created,
            "status": status, "background": False, "error": None,
            "incomplete_details": self.incomplete if status == "incomplete" else None,
            "instructions": b.get("instructions"),
            "max_output_tokens": b.get("max_output_tokens"),
            "model": self.mid, "output": output,
            "parallel_tool_calls": b.get("parallel_tool_calls", True),
            "previous_response_id": None,
            "reasoning": {"effort": reasoning.get("effort"),
                          "summary": reasoning.get("summary")},
            "store": b.get("store", False),
            "temperature": b.get("temperature", 1.0),
            "text": b.get("text", {"format": {"type": "text"}}),
            "tool_choice": b.get("tool_choice", "auto"),
            "tools": b.get("tools", []),
            "top_p": b.get("top_p", 1.0),
            "truncation": b.get("truncation", "disabled"),
            "usage": usage, "user": b.get("user"), "metadata": b.get("metadata", {}),
        }

    def item(self, entry, status="completed"):
        kind, iid = entry[0], entry[1]
        if kind == "reasoning":
            it = {"id": iid, "type": "reasoning",
                  "summary": ([{"type": "summary_text", "text": self.think}]
                              if self.summarize and status == "completed" else [])}
            if "reasoning.encrypted_content" in (self.body.get("include") or []):
                it["encrypted_content"] = "fake-encrypted-%s" % iid
            return it
        if kind == "message":
            return {"id": iid, "type": "message", "status": status, "role": "assistant",
                    "content": ([self.part()] if status == "completed" else [])}
        c = entry[2]
        return {"id": iid, "type": "function_call", "status": status,
                "arguments": c["arguments"] if status == "completed" else "",
                "call_id": c["id"], "name": c["name"]}

    def part(self):
        return {"type": "output_text", "annotations": [], "logprobs": [],
                "text": "".join(self.pieces)}

    def usage(self):
        reasoning = count_tokens(self.think) if self.think else 0
        out = (count_tokens("".join(self.pieces)) + reasoning
               + sum(count_tokens(c["arguments"]) for c in self.calls))
        cached = self.opts.get("cached_tokens", 0)
        return {"input_tokens": self.input_tokens,
                "input_tokens_details": {"cached_tokens": cached},
                "output_tokens": out,
                "output_tokens_details": {"reasoning_tokens": reasoning},
                "total_tokens": self.input_tokens + out}

    def final(self):
        return self.envelope(self.status, [self.item(e) for e in self.items], self.usage())

    # -- the stream
    def ev(self, frame, name, obj):
        obj = dict({"type": name, "sequence_number": self.seq}, **obj)
        self.seq += 1
        return frame(name, obj)

    def failure(self, frame):
        o = self.opts
        code = o.get("error_code", "server_error")
        msg = o.get("error_message", "fake mid-stream error")
        if o.get("error_event") == "error":
            return self.ev(frame, "error", {"code": code, "message": msg, "param": None})
        env = self.envelope("failed", [], None)
        env["error"] = {"code": code, "message": msg}
        return self.ev(frame, "response.failed", {"response": env})

    def events(self):
        o = self.opts
        frame = framer(o)
        error_after = o.get("error_after")
        if o.get("bom"):
            yield b"\xef\xbb\xbf"
        start = self.envelope("in_progress", [], None)
        yield self.ev(frame, "response.created", {"response": start})
        yield self.ev(frame, "response.in_progress", {"response": start})
        sent = 0
        for idx, e in enumerate(self.items):
            kind, iid = e[0], e[1]
            yield self.ev(frame, "response.output_item.added",
                          {"output_index": idx, "item": self.item(e, "in_progress")})
            if kind == "reasoning" and self.summarize:
                base = {"item_id": iid, "output_index": idx, "summary_index": 0}
                yield self.ev(frame, "response.reasoning_summary_part.added",
                              dict(base, part={"type": "summary_text", "text": ""}))
                for piece in split_args(self.think):
                    yield self.ev(frame, "response.reasoning_summary_text.delta",
                                  dict(base, delta=piece))
                yield self.ev(frame, "response.reasoning_summary_text.done",
                              dict(base, text=self.think))
                yield self.ev(frame, "response.reasoning_summary_part.done",
                              dict(base, part={"type": "summary_text", "text": self.think}))
            elif kind == "message":
                base = {"item_id": iid, "output_index": idx, "content_index": 0}
                yield self.ev(frame, "response.content_part.added",
                              dict(base, part=dict(self.part(), text="")))
                for piece in self.pieces:
                    if error_after is not None and sent >= error_after:
                        yield self.failure(frame)
                        return
                    yield self.ev(frame, "response.output_text.delta",
                                  dict(base, delta=piece, logprobs=[]))
                    sent += 1
                text = "".join(self.pieces)
                yield self.ev(frame, "response.output_text.done",
                              dict(base, text=text, logprobs=[]))
                yield self.ev(frame, "response.content_part.done", dict(base, part=self.part()))
            elif kind == "function_call":
                base = {"item_id": iid, "output_index": idx}
                for piece in split_args(e[2]["arguments"]):
                    yield self.ev(frame, "response.function_call_arguments.delta",
                                  dict(base, delta=piece))
                yield self.ev(frame, "response.function_call_arguments.done",
                              dict(base, arguments=e[2]["arguments"]))
            yield self.ev(frame, "response.output_item.done",
                          {"output_index": idx, "item": self.item(e)})
        if error_after is not None:
            yield self.failure(frame)
            return
        name = "response.completed" if self.status == "completed" else "response.incomplete"
        yield self.ev(frame, name, {"response": self.final()})

