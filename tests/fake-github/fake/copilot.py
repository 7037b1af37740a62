"""The Copilot API side: models, chat completions (streamed as SSE or not) and
embeddings, behind the Copilot token check. Each route is a function of the
request and the scripted answer R (whose `stream` options shape the chat)."""

import functools
import hashlib
import re
import time

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
    err = model_error(model, "chat")
    if err:
        return err
    reply = STATE.cfg("reply")
    if reply is None:
        last = ""
        for m in msgs:
            if isinstance(m, dict) and m.get("role") == "user":
                last = message_text(m.get("content"))
        reply = "You said: " + last
    prompt_tokens = sum(count_tokens(message_text(m.get("content")))
                        for m in msgs if isinstance(m, dict))
    with STATE.lock:
        STATE.n_chat += 1
        cid = "chatcmpl-fake%d" % STATE.n_chat
    created = int(time.time())
    opts = r.get("stream") or {}
    if body.get("stream") is True:
        content = opts["chunks"] if "chunks" in opts else (
            [] if "repeat_chunk" in opts else split_reply(reply))
        return Response(200, sse_gen(cid, created, model, content, opts, prompt_tokens),
                        content_type="text/event-stream", length=None)
    text = "".join(opts["chunks"]) if "chunks" in opts else reply
    ct = count_tokens(text)
    return json_response({
        "id": cid, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "finish_reason": opts.get("finish_reason", "stop"),
                     "message": {"role": "assistant", "content": text}}],
        "prompt_filter_results": PROMPT_FILTER,
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": ct,
                  "total_tokens": prompt_tokens + ct}})


def sse_gen(cid, created, model, content, opts, prompt_tokens):
    """The chat SSE byte stream as a generator of bytes, shaped by the stream options."""
    eol = "\r\n" if opts.get("crlf") else ("\r" if opts.get("cr") else "\n")
    comment = (": keep-alive" + eol + eol) if opts.get("comments") else ""

    def ev(obj):
        data = obj if isinstance(obj, str) else jdump(obj)
        return (comment + "data: " + data + eol + eol).encode("utf-8")

    def chunk(delta, finish=None):
        c = {"index": 0, "delta": delta}
        if finish is not None:
            c["finish_reason"] = finish
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

    if error_after is not None:
        yield err_ev
        return
    yield ev(chunk({}, opts.get("finish_reason", "stop")))
    if not opts.get("no_usage"):
        ct = max(1, chars // 4) if chars else 0
        yield ev({"id": cid, "object": "chat.completion.chunk", "created": created,
                  "model": model, "choices": [],
                  "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": ct,
                            "total_tokens": prompt_tokens + ct}})
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
