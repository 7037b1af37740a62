"""The scripted answers ("R", queued with POST /_control/script): what each
field may hold, how an answer is built from R and the route's default, and the
faults on the wire: delay, hang, TCP reset, a body cut short, dripped or split."""

import io
import select
import socket
import struct
import time

from .routes import default_answer, generic_error
from .state import STOP, is_num, is_str_list
from .wire import Response, jdump
from . import github

R_FIELDS = {"repeat", "status", "headers", "body", "content_type", "chunked",
            "error", "error_description", "error_uri", "interval",
            "retry_after", "delay", "hang", "reset", "cut", "drip", "split",
            "one_write", "big_body", "stream"}
STREAM_FIELDS = {"chunks", "no_done", "error_after", "error_message", "error_code",
                 "crlf", "cr", "bom", "split", "comments", "repeat_chunk", "count",
                 "no_usage", "no_empty_first", "finish_reason",
                 "tool_calls", "reasoning", "cached_tokens", "error_event"}
STREAM_ROUTES = ("chat", "responses", "messages")
TOOL_CALL_FIELDS = {"id", "name", "arguments"}


def fields_error(obj, known, noun, not_object):
    """Why obj is not an object of known fields, or None."""
    if not isinstance(obj, dict):
        return not_object
    bad = set(obj) - known
    if bad:
        return "unknown %s field(s): %s" % (noun, ", ".join(sorted(bad)))
    return None


def validate_r(r):
    """None if R is a valid scripted answer, else why not."""
    err = fields_error(r, R_FIELDS, "response", "each response must be an object")
    if err:
        return err
    if "repeat" in r and not isinstance(r["repeat"], int):
        return "repeat must be an integer"
    if "status" in r and not (isinstance(r["status"], int) and 100 <= r["status"] <= 999):
        return "status must be an integer HTTP status"
    if "headers" in r and not (isinstance(r["headers"], dict)
                               and all(isinstance(v, (str, int, float))
                                       for v in r["headers"].values())):
        return "headers must be an object of strings"
    for k in ("content_type", "error", "error_description", "error_uri"):
        if k in r and not isinstance(r[k], str):
            return "%s must be a string" % k
    for k in ("hang", "reset", "chunked", "one_write"):
        if k in r and not isinstance(r[k], bool):
            return "%s must be true or false" % k
    if "retry_after" in r and not (is_num(r["retry_after"]) or isinstance(r["retry_after"], str)):
        return "retry_after must be a number or a string"
    if "interval" in r and not is_num(r["interval"]):
        return "interval must be a number"
    for k in ("delay", "drip"):
        if k in r and not (is_num(r[k]) and r[k] >= 0):
            return "%s must be a non-negative number" % k
    for k in ("cut", "big_body", "split"):
        if k in r and not (isinstance(r[k], int) and r[k] >= 0):
            return "%s must be a non-negative integer" % k
    if r.get("one_write") and any(r.get(k) for k in ("drip", "split", "cut")):
        return "one_write goes without drip, split and cut"
    if "stream" in r:
        return validate_stream(r["stream"])
    return None


def validate_stream(s):
    err = fields_error(s, STREAM_FIELDS, "stream", "stream must be an object")
    if err:
        return err
    if "chunks" in s and not is_str_list(s["chunks"]):
        return "stream.chunks must be a list of strings"
    if "repeat_chunk" in s and not (isinstance(s["repeat_chunk"], str) and s["repeat_chunk"]):
        return "stream.repeat_chunk must be a non-empty string"
    for k in ("error_after", "count", "split", "cached_tokens"):
        if k in s and not (isinstance(s[k], int) and s[k] >= 0):
            return "stream.%s must be a non-negative integer" % k
    for k in ("reasoning", "error_message", "error_code", "finish_reason"):
        if k in s and not isinstance(s[k], str):
            return "stream.%s must be a string" % k
    if "error_event" in s and s["error_event"] not in ("failed", "error"):
        return 'stream.error_event must be "failed" or "error"'
    if "tool_calls" in s:
        calls = s["tool_calls"]
        if not isinstance(calls, list):
            return "stream.tool_calls must be a list"
        for c in calls:
            err = fields_error(c, TOOL_CALL_FIELDS, "tool call",
                               "each stream.tool_calls item must be an object")
            if err:
                return err
            if not isinstance(c.get("name"), str):
                return "stream.tool_calls[].name must be a string"
            if "id" in c and not isinstance(c["id"], str):
                return "stream.tool_calls[].id must be a string"
            if "arguments" in c and not isinstance(c["arguments"], (dict, str)):
                return "stream.tool_calls[].arguments must be an object or a string"
    return None


def big_body_gen(n):
    """Exactly n bytes, made lazily: {"filler": "xxx…"} (only x's if n < 14)."""
    prefix = b'{"filler": "'
    suffix = b'"}'
    if n < len(prefix) + len(suffix):
        yield b"x" * n
        return
    yield prefix
    left = n - len(prefix) - len(suffix)
    block = b"x" * 65536
    while left > 0:
        k = min(left, len(block))
        yield block[:k]
        left -= k
    yield suffix


def answer(handler, route, req, r):
    """The Response for R on this route, or None when nothing is to be sent
    (hang, reset). See README.md, "How an answer is built"."""
    if r.get("delay"):
        STOP.wait(r["delay"])
    if r.get("hang"):
        hang(handler)
        return None
    if r.get("reset"):
        reset(handler)
        return None
    if "big_body" in r:
        n = r["big_body"]
        resp = Response(r.get("status", 200), big_body_gen(n), length=n)
    elif "body" in r:
        b = r["body"]
        if isinstance(b, str):
            ct = "application/json; charset=utf-8"
            if route in STREAM_ROUTES and req.json().get("stream") is True:
                ct = "text/event-stream"     # a hand-written SSE body just works
            resp = Response(r.get("status", 200), b, content_type=ct)
        else:
            resp = Response(r.get("status", 200), jdump(b))
    elif "error" in r:
        resp = github.oauth_error(r["error"], req, status=r.get("status"),
                                  description=r.get("error_description"),
                                  interval=r.get("interval"), uri=r.get("error_uri"))
    elif r.get("status", 200) >= 400:
        resp = generic_error(route, r["status"])   # the default does not run: no token issued
    else:
        resp = default_answer(route, req, r)
        if "status" in r:
            resp.status = r["status"]
    if "content_type" in r:
        resp.content_type = r["content_type"]
    if "retry_after" in r:
        resp.headers.append(("Retry-After", str(r["retry_after"])))
    for k, v in (r.get("headers") or {}).items():
        resp.headers = [(hk, hv) for hk, hv in resp.headers if hk.lower() != k.lower()]
        resp.headers.append((k, str(v)))
    if r.get("chunked"):
        resp.length = None
    return resp


def hang(handler):
    """Never answer: wait until the client goes away (or 300 s / shutdown)."""
    sock = handler.connection
    deadline = time.time() + 300
    try:
        while not STOP.is_set() and time.time() < deadline:
            rd, _, _ = select.select([sock], [], [], 0.1)
            if rd:
                try:
                    data = sock.recv(65536, socket.MSG_PEEK)
                except OSError:
                    break
                if not data:
                    break
                time.sleep(0.1)
    finally:
        handler.close_connection = True


def reset(handler):
    """Close the connection with a TCP RST (SO_LINGER 0), sending nothing."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                      struct.pack("ii", 1, 0))
    except OSError:
        pass
    for f in (handler.rfile, handler.wfile):
        try:
            f.close()
        except OSError:
            pass
    try:
        handler.connection.close()
    except OSError:
        pass
    # http.server flushes wfile after the handler returns: give it harmless files.
    handler.rfile, handler.wfile = io.BytesIO(), io.BytesIO()


def write_body(handler, resp, r):
    """Write resp's body after its headers, shaped by R's cut, drip and split."""
    chunked = resp.length is None
    cut = r.get("cut")
    drip = r.get("drip")
    split = r.get("split") or (r.get("stream") or {}).get("split")
    sent = 0
    w = handler.wfile

    def frame(b):
        if chunked:
            w.write(b"%x\r\n" % len(b) + b + b"\r\n")
        else:
            w.write(b)

    for piece in resp.pieces():
        if cut is not None:
            piece = piece[:max(0, cut - sent)]
            if not piece:
                break
        if drip:
            for i in range(len(piece)):
                frame(piece[i:i + 1])
                w.flush()
                if STOP.wait(drip):
                    raise ConnectionError("shutdown")
        elif split:
            for i in range(0, len(piece), split):
                frame(piece[i:i + split])
                w.flush()
                time.sleep(0.01)
        else:
            frame(piece)
        sent += len(piece)
        if cut is not None and sent >= cut:
            break
    if cut is not None:
        # no final chunk: the client sees the body end early (FIN)
        w.flush()
        handler.close_connection = True
        try:
            handler.connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        return
    if chunked:
        w.write(b"0\r\n\r\n")
    w.flush()
