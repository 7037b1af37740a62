"""The Copilot API side: models, chat completions (streamed as SSE or not) and
embeddings, behind the Copilot token check. Each route is a function of the
request and the scripted answer R (whose `stream` options shape the chat)."""

import functools
import hashlib
import re
import time
import urllib.parse

from .state import STATE, is_str_list
from .wire import Response, copilot_error, jdump, json_response

PROMPT_FILTER = [{"prompt_index": 0, "content_filter_results": {
    "hate": {"filtered": False, "severity": "safe"},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": False, "severity": "safe"}}}]


def guarded(json_body):
    """A Copilot route behind its checks, in order: Editor-Version, a valid
    Copilot token (Bearer only), then, if json_body, a JSON object body."""
    def wrap(route):
        @functools.wraps(route)
        def checked(req, r):
            if not req.headers.get("editor-version"):
                return copilot_error(400, "missing Editor-Version header", "bad_request")
            tok = req.auth_token(("bearer",))
            st = STATE.copilot_token_status(tok) if tok else None
            if st != "valid":
                msg = "unauthorized: token expired\n" if st == "expired" else \
                    "unauthorized: invalid token\n"
                return Response(401, msg, content_type="text/plain; charset=utf-8")
            if json_body:
                req.json()
                if not req.json_ok:
                    return copilot_error(400, "invalid JSON body", "bad_request")
            return route(req, r)
        return checked
    return wrap


# endpoint -> the real service's message when a known model lacks it
UNSUPPORTED_API = {
    "/chat/completions": 'model "%s" is not accessible via the /chat/completions endpoint',
    "/responses": "model %s is not supported via Responses API.",
    "/v1/messages": "model %s is not supported via Messages API.",
}


def endpoints_of(m):
    """The endpoints a model entry accepts: supported_endpoints, or (older
    entries without it) /chat/completions."""
    eps = m.get("supported_endpoints")
    return eps if isinstance(eps, list) else ["/chat/completions"]


def model_error(mid, kind, endpoint="/chat/completions"):
    """None if mid names a model of this kind ("chat" or "embeddings") that
    accepts endpoint; else the real service's 400."""
    m = STATE.find_model(mid) if isinstance(mid, str) else None
    if m is None or m.get("capabilities", {}).get("type", "chat") != kind:
        return copilot_error(400, "The requested model is not supported.", "model_not_supported",
                             {"param": "model", "type": "invalid_request_error"})
    if kind == "chat" and endpoint not in endpoints_of(m):
        return copilot_error(400, UNSUPPORTED_API[endpoint] % mid, "unsupported_api_for_model",
                             {"param": "model", "type": "invalid_request_error"})
    return None


def last_user_text(msgs, text_of=None):
    """The text of the last message with role user (chat or Messages shape)."""
    last = ""
    for m in msgs:
        if isinstance(m, dict) and m.get("role") == "user":
            last = (text_of or message_text)(m.get("content"))
    return last


def answer_plan(r, reply, reasoning=None):
    """What the answer holds, from R's stream options or the defaults: the text
    pieces, the tool calls ([{id, name, arguments (a JSON string)}]) and the
    reasoning text (or None). Shared by chat, responses and messages."""
    opts = r.get("stream") or {}
    calls = []
    for i, c in enumerate(opts.get("tool_calls") or []):
        args = c.get("arguments", {})
        calls.append({"id": c.get("id"), "name": c["name"],
                      "arguments": args if isinstance(args, str) else jdump(args)})
    if "chunks" in opts:
        pieces = list(opts["chunks"])
    elif calls or "repeat_chunk" in opts:
        pieces = []
    else:
        pieces = split_reply(reply)
    reasoning = opts.get("reasoning", reasoning)
    return pieces, calls, reasoning


def default_reply(last):
    reply = STATE.cfg("reply")
    return ("You said: " + last) if reply is None else reply


def split_args(args):
    """Tool-call arguments in a few pieces, as the real streams send them."""
    n = max(1, (len(args) + 2) // 3)
    return [args[i:i + n] for i in range(0, len(args), n)] or [""]


def framer(opts):
    """ev(event_name_or_None, obj_or_str) -> SSE bytes, shaped by the stream
    options crlf, cr and comments (bom is the caller's first piece)."""
    eol = "\r\n" if opts.get("crlf") else ("\r" if opts.get("cr") else "\n")
    comment = (": keep-alive" + eol + eol) if opts.get("comments") else ""

    def ev(name, obj):
        data = obj if isinstance(obj, str) else jdump(obj)
        head = ("event: " + name + eol) if name else ""
        return (comment + head + "data: " + data + eol + eol).encode("utf-8")
    return ev


# -- quota: the x-quota-snapshot-* and x-usage-ratelimit-* headers (README.md, "Quota headers")

def quota_value(snap, used, ent_scale=True):
    """The header value of a snapshot (a string is sent as is)."""
    if isinstance(snap, str):
        return snap
    ent = snap.get("ent", 0)
    rem = float(snap.get("rem", 100.0))
    ov = float(snap.get("ov", 0.0))
    if ent_scale and is_pos(ent) and used:
        left = ent * rem / 100.0 - used
        if left < 0:
            ov += -left
            left = 0.0
        rem = round(left * 100.0 / ent, 4)
    return urllib.parse.urlencode([
        ("ent", fmt_num(ent)), ("ov", repr(round(float(ov), 4))),
        ("ovPerm", "true" if snap.get("ovPerm") else "false"),
        ("rem", repr(float(rem))), ("rst", str(snap.get("rst", "")))])


def is_pos(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0


def fmt_num(v):
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


PREMIUM_SNAPSHOTS = ("premium_interactions", "premium_models")


def premium_cost(req, m):
    """What this request costs in premium requests: the model's multiplier when
    it is premium and the request is the user's (X-Initiator user or absent:
    the service counts a request without it as the user's)."""
    b = m.get("billing") or {}
    if not b.get("is_premium"):
        return 0
    if (req.headers.get("x-initiator") or "user").strip().lower() != "user":
        return 0
    mult = b.get("multiplier", 1)
    return mult if isinstance(mult, (int, float)) and not isinstance(mult, bool) else 1


def quota_refusal(req, mid):
    """402 quota_exceeded when a premium request would overdraw a premium
    snapshot whose overage is not permitted; else None."""
    m = STATE.find_model(mid) or {}
    cost = premium_cost(req, m)
    if not cost:
        return None
    snaps = STATE.cfg("quota_snapshots") or {}
    with STATE.lock:
        used = STATE.premium_used
    for name in PREMIUM_SNAPSHOTS:
        snap = snaps.get(name)
        if not isinstance(snap, dict) or snap.get("ovPerm") or not is_pos(snap.get("ent", 0)):
            continue
        left = snap["ent"] * float(snap.get("rem", 100.0)) / 100.0 - used
        if left < cost:
            return copilot_error(402, "You have no premium requests left this month.",
                                 "quota_exceeded")
    return None


def metered(req, resp, mid):
    """Count the request against the premium quota and add the quota headers
    to a default answer of chat, responses or messages."""
    m = STATE.find_model(mid) or {}
    cost = premium_cost(req, m)
    with STATE.lock:
        STATE.premium_used += cost
        used = STATE.premium_used
    for name, snap in sorted((STATE.cfg("quota_snapshots") or {}).items()):
        if snap is not None:
            resp.headers.append(("x-quota-snapshot-" + name,
                                 quota_value(snap, used if name in PREMIUM_SNAPSHOTS else 0)))
    for name, snap in sorted((STATE.cfg("ratelimits") or {}).items()):
        if snap is not None:
            resp.headers.append(("x-usage-ratelimit-" + name, quota_value(snap, 0, False)))
    return resp


def split_reply(text):
    words = re.findall(r"\S+\s*|\s+", text)
    return ["".join(words[i:i + 2]) for i in range(0, len(words), 2)] or ([text] if text else [])


def message_text(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def count_tokens(text):
    return max(1, len(re.findall(r"\S+", text))) if text else 0


@guarded(json_body=False)
def models(req, r):
    return json_response({"data": STATE.models(), "object": "list"})


@guarded(json_body=True)
def chat(req, r):
    body = req.json()
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return copilot_error(400, "messages must be a non-empty array", "bad_request",
                             {"param": "messages", "type": "invalid_request_error"})
    model = body.get("model")
    err = model_error(model, "chat") or quota_refusal(req, model)
    if err:
        return err
    reply = default_reply(last_user_text(msgs))
    prompt_tokens = sum(count_tokens(message_text(m.get("content")))
                        for m in msgs if isinstance(m, dict))
    with STATE.lock:
        STATE.n_chat += 1
        n = STATE.n_chat
    cid = "chatcmpl-fake%d" % n
    created = int(time.time())
    opts = r.get("stream") or {}
    pieces, calls, _ = answer_plan(r, reply)
    for i, c in enumerate(calls):
        c["id"] = c["id"] or "call_fake%d_%d" % (n, i)
    finish = opts.get("finish_reason", "tool_calls" if calls else "stop")
    cached = opts.get("cached_tokens", 0)
    if body.get("stream") is True:
        return metered(req, Response(200, sse_gen(cid, created, model, pieces, calls, finish,
                                                  opts, prompt_tokens, cached),
                                     content_type="text/event-stream", length=None), model)
    text = "".join(pieces)
    if "repeat_chunk" in opts and "chunks" not in opts and not calls:
        text = reply                       # repeat_chunk shapes streams only
    ct = count_tokens(text) + sum(count_tokens(c["arguments"]) for c in calls)
    msg = {"role": "assistant", "content": text if (text or not calls) else None}
    if calls:
        msg["tool_calls"] = [{"id": c["id"], "type": "function",
                              "function": {"name": c["name"], "arguments": c["arguments"]}}
                             for c in calls]
    return metered(req, json_response({
        "id": cid, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "finish_reason": finish, "message": msg}],
        "prompt_filter_results": PROMPT_FILTER,
        "usage": chat_usage(prompt_tokens, ct, cached)}), model)


def chat_usage(prompt_tokens, ct, cached):
    u = {"prompt_tokens": prompt_tokens, "completion_tokens": ct,
         "total_tokens": prompt_tokens + ct}
    if cached:
        u["prompt_tokens_details"] = {"cached_tokens": cached}
    return u


def sse_gen(cid, created, model, content, calls, finish, opts, prompt_tokens, cached=0):
    """The chat SSE byte stream as a generator of bytes, shaped by the stream options."""
    frame = framer(opts)

    def ev(obj):
        return frame(None, obj)

    def chunk(delta, fin=None):
        c = {"index": 0, "delta": delta}
        if fin is not None:
            c["finish_reason"] = fin
        return {"id": cid, "object": "chat.completion.chunk", "created": created,
                "model": model, "choices": [c]}

    if opts.get("bom"):
        yield b"\xef\xbb\xbf"
    if not opts.get("no_empty_first"):
        yield ev({"choices": [], "created": 0, "id": "", "prompt_filter_results": PROMPT_FILTER})

    error_after = opts.get("error_after")
    err_ev = ev({"error": {"message": opts.get("error_message", "fake mid-stream error"),
                           "code": opts.get("error_code", "server_error")}})
    sent = 0
    chars = 0
    for piece in content:
        if error_after is not None and sent >= error_after:
            yield err_ev
            return
        yield ev(chunk({"content": piece}))
        sent += 1
        chars += len(piece)

    rep = opts.get("repeat_chunk")
    if rep is not None:
        count = int(opts.get("count", 1))
        if error_after is not None:
            count = max(0, min(count, error_after - sent))
        one = ev(chunk({"content": rep}))
        per = max(1, 65536 // len(one))   # lazily, in ~64 KB batches
        left = count
        while left > 0:
            k = min(per, left)
            yield one * k
            left -= k
        sent += count
        chars += len(rep) * count

    if error_after is not None and not calls:
        yield err_ev
        return
    for i, c in enumerate(calls):
        yield ev(chunk({"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                                        "function": {"name": c["name"], "arguments": ""}}]}))
        for piece in split_args(c["arguments"]):
            yield ev(chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
        chars += len(c["arguments"])
        if error_after is not None:
            yield err_ev
            return
    yield ev(chunk({}, finish))
    if not opts.get("no_usage"):
        ct = max(1, chars // 4) if chars else 0
        yield ev({"id": cid, "object": "chat.completion.chunk", "created": created,
                  "model": model, "choices": [],
                  "usage": chat_usage(prompt_tokens, ct, cached)})
    if not opts.get("no_done"):
        yield ev("[DONE]")


@guarded(json_body=True)
def embeddings(req, r):
    body = req.json()
    inp = body.get("input")
    if isinstance(inp, str):
        inp = [inp]
    if not is_str_list(inp) or not inp:
        return copilot_error(400, "input must be a string or an array of strings",
                             "bad_request", {"param": "input"})
    model = body.get("model", "text-embedding-3-small")
    err = model_error(model, "embeddings")
    if err:
        return err
    data = []
    for i, text in enumerate(inp):
        d = hashlib.sha256(text.encode("utf-8")).digest()
        vec = [round((b - 127.5) / 127.5, 6) for b in d[:8]]
        data.append({"object": "embedding", "index": i, "embedding": vec})
    pt = sum(count_tokens(t) for t in inp)
    return json_response({"object": "list", "data": data, "model": model,
                          "usage": {"prompt_tokens": pt, "total_tokens": pt}})
