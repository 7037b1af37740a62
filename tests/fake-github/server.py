#!/usr/bin/env python3
"""Fake github.com + api.github.com + Copilot API server for copilot-utils tests.

Python 3 standard library only.  Binds 127.0.0.1 only.  See README.md next to
this file for the routes, the control API (/_control/...) and every knob.

    python3 tests/fake-github/server.py [--port N] [--port-file FILE]
                                        [--watch-pid PID] [--verbose]

The first line of stdout is the port number.
"""

import argparse
import copy
import hashlib
import hmac
import http.server
import io
import json
import os
import re
import secrets
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import urllib.parse

STOP = threading.Event()          # set when the server is shutting down
VERBOSE = False
MAC_KEY = b"fake-github-not-a-secret"

DOCS_URL = "https://docs.github.com/rest"
OAUTH_ERROR_URI = ("https://docs.github.com/developers/apps/building-oauth-apps/"
                   "authorizing-oauth-apps#error-codes-for-the-device-flow")
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"

OAUTH_ERROR_DESCRIPTIONS = {
    "authorization_pending": "The authorization request is still pending.",
    "slow_down": "Too many requests have been made in the same timeframe.",
    "expired_token": "The device_code has expired.",
    "access_denied": "The authorization request was denied.",
    "incorrect_device_code": "The device_code provided is not valid.",
    "incorrect_client_credentials": "The client_id and/or client_secret passed are incorrect.",
    "unsupported_grant_type": "The grant type is not supported.",
    "device_flow_disabled": "Device flow is disabled for this application.",
}


def _model(mid, name, vendor, version, family, ctx, out, prompt,
           kind="chat", streaming=True, tools=True, picker=True):
    return {
        "id": mid,
        "name": name,
        "vendor": vendor,
        "version": version,
        "object": "model",
        "preview": False,
        "model_picker_enabled": picker,
        "capabilities": {
            "type": kind,
            "family": family,
            "object": "model_capabilities",
            "tokenizer": "o200k_base" if vendor != "Anthropic" else "o200k_base",
            "limits": {
                "max_context_window_tokens": ctx,
                "max_output_tokens": out,
                "max_prompt_tokens": prompt,
            },
            "supports": {"streaming": streaming, "tool_calls": tools},
        },
    }


DEFAULT_MODELS = [
    _model("gpt-4.1", "GPT-4.1", "Azure OpenAI", "gpt-4.1-2025-04-14",
           "gpt-4.1", 128000, 16384, 128000),
    _model("gpt-4o", "GPT-4o", "Azure OpenAI", "gpt-4o-2024-11-20",
           "gpt-4o", 128000, 4096, 64000),
    _model("gpt-4o-mini", "GPT-4o mini", "Azure OpenAI", "gpt-4o-mini-2024-07-18",
           "gpt-4o-mini", 128000, 4096, 64000, picker=False),
    _model("gpt-5-mini", "GPT-5 mini", "Azure OpenAI", "gpt-5-mini",
           "gpt-5-mini", 264000, 64000, 128000),
    _model("claude-sonnet-4", "Claude Sonnet 4", "Anthropic", "claude-sonnet-4",
           "claude-sonnet-4", 216000, 16000, 128000),
    _model("o3-mini", "o3-mini", "Azure OpenAI", "o3-mini-2025-01-31",
           "o3-mini", 200000, 100000, 64000, tools=True),
    _model("text-embedding-3-small", "Embedding V3 small", "Azure OpenAI",
           "text-embedding-3-small", "text-embedding-3-small", 8191, 0, 8191,
           kind="embeddings", streaming=False, tools=False, picker=False),
]

DEFAULT_CONFIG = {
    "interval": 5,
    "expires_in": 900,
    "approval": "auto",
    "oauth_error_status": 200,
    "enforce_interval": False,
    "user": "octocat",
    "github_tokens": ["ghu_fake_valid"],
    "no_copilot_tokens": [],
    "unusable_tokens": [],
    "token_ttl": 1800,
    "refresh_in": 1500,
    "sku": "free_limited_copilot",
    "api_endpoint": "https://api.individual.githubcopilot.com",
    "reply": None,
    "models": DEFAULT_MODELS,
}


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_str_list(v):
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


CONFIG_CHECKS = {
    "interval": (_is_num, "a number"),
    "expires_in": (_is_num, "a number"),
    "approval": (lambda v: v in ("auto", "manual"), '"auto" or "manual"'),
    "oauth_error_status": (lambda v: v in (200, 400), "200 or 400"),
    "enforce_interval": (lambda v: isinstance(v, bool), "a boolean"),
    "user": (lambda v: isinstance(v, str), "a string"),
    "github_tokens": (_is_str_list, "a list of strings"),
    "no_copilot_tokens": (_is_str_list, "a list of strings"),
    "unusable_tokens": (_is_str_list, "a list of strings"),
    "token_ttl": (_is_num, "a number"),
    "refresh_in": (_is_num, "a number"),
    "sku": (lambda v: isinstance(v, str), "a string"),
    "api_endpoint": (lambda v: isinstance(v, str), "a string"),
    "reply": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "models": (lambda v: isinstance(v, list)
               and all(isinstance(m, (str, dict)) for m in v),
               "a list of model objects or model id strings"),
}

R_FIELDS = {"repeat", "status", "headers", "body", "content_type", "chunked",
            "error", "error_description", "error_uri", "interval",
            "retry_after", "delay", "hang", "reset", "cut", "drip", "split",
            "big_body", "stream"}
STREAM_FIELDS = {"chunks", "no_done", "error_after", "error_message", "error_code",
                 "crlf", "cr", "bom", "split", "comments", "repeat_chunk", "count",
                 "no_usage", "no_empty_first", "finish_reason"}

# route name -> (allowed methods, error style)
ROUTES = {
    "device_code": (("POST",), "github"),
    "access_token": (("POST",), "github"),
    "device_page": (("GET",), "github"),
    "user": (("GET",), "github"),
    "copilot_token": (("GET",), "github"),
    "models": (("GET",), "copilot"),
    "chat": (("POST",), "copilot"),
    "embeddings": (("POST",), "copilot"),
}


def match_route(path):
    """Map a request path (no query) to a route name, or None."""
    if path == "/login/device/code":
        return "device_code"
    if path == "/login/oauth/access_token":
        return "access_token"
    if path == "/login/device":
        return "device_page"
    for prefix in ("", "/api", "/api/v3"):
        if path == prefix + "/user":
            return "user"
        if path == prefix + "/copilot_internal/v2/token":
            return "copilot_token"
    for prefix in ("", "/v1"):
        if path == prefix + "/models":
            return "models"
        if path == prefix + "/chat/completions":
            return "chat"
        if path == prefix + "/embeddings":
            return "embeddings"
    return None


def jdump(v):
    return json.dumps(v, separators=(",", ":"))


# --------------------------------------------------------------------------- state

class State:
    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self.config = copy.deepcopy(DEFAULT_CONFIG)
            self.log = []
            self.log_seq = 0
            self.scripts = {}            # route -> list of [R, remaining]
            self.device_codes = {}       # device_code -> record
            self.github_issued = {}      # token -> record
            self.copilot_issued = {}     # token -> record
            self.n_device = 0
            self.n_github = 0
            self.n_copilot = 0
            self.n_chat = 0

    # -- log
    def add_log(self, entry):
        with self.lock:
            self.log_seq += 1
            entry["seq"] = self.log_seq
            self.log.append(entry)

    def set_status(self, entry, status):
        with self.lock:
            entry["status"] = status

    def log_snapshot(self, route=None):
        with self.lock:
            reqs = [dict(e) for e in self.log if route is None or e["route"] == route]
        return reqs

    # -- scripts
    def add_script(self, route, responses):
        with self.lock:
            q = self.scripts.setdefault(route, [])
            for r in responses:
                n = r.get("repeat", 1)
                if n == 0:
                    continue
                q.append([r, n])
            return len(q)

    def next_script(self, route):
        with self.lock:
            q = self.scripts.get(route)
            if not q:
                return None
            item = q[0]
            r = item[0]
            if item[1] > 0:
                item[1] -= 1
                if item[1] == 0:
                    q.pop(0)
            return r  # repeat < 0: used forever

    # -- config helpers
    def cfg(self, key):
        with self.lock:
            return self.config[key]

    def models(self):
        with self.lock:
            out = []
            for m in self.config["models"]:
                if isinstance(m, str):
                    m = _model(m, m, "Fake", m, m, 128000, 4096, 64000)
                out.append(m)
            return copy.deepcopy(out)

    # -- tokens
    def github_token_kind(self, tok):
        """'valid', 'no_copilot', 'unusable' or None."""
        with self.lock:
            if tok is None:
                return None
            if tok in self.config["no_copilot_tokens"]:
                return "no_copilot"
            if tok in self.config["unusable_tokens"]:
                return "unusable"
            if tok in self.config["github_tokens"] or tok in self.github_issued:
                return "valid"
            return None

    def issue_github_token(self, scope, client_id):
        with self.lock:
            self.n_github += 1
            tok = "ghu_fake_%d" % self.n_github
            self.github_issued[tok] = {"scope": scope, "client_id": client_id,
                                       "issued_at": time.time()}
            return tok

    def mint_copilot(self, github_token, ttl=None):
        with self.lock:
            c = self.config
            now = int(time.time())
            if ttl is None:
                ttl = c["token_ttl"]
            exact_expiry = time.time() + ttl
            expires_at = int(now + ttl)
            self.n_copilot += 1
            n = self.n_copilot
            sku = c["sku"]
            fields = ("tid=fake%d;exp=%d;sku=%s;proxy-ep=proxy.individual.githubcopilot.com;"
                      "st=dotcom;chat=1;malfil=1;agent_mode=1;8kp=1" % (n, expires_at, sku))
            mac = hmac.new(MAC_KEY, fields.encode(), hashlib.sha256).hexdigest()
            token = fields + ":" + mac
            self.copilot_issued[token] = {"expires_at": expires_at, "github_token": github_token,
                                          "issued_at": now, "n": n, "expiry": exact_expiry}
            refresh_in = c["refresh_in"]
            if isinstance(refresh_in, float) and refresh_in.is_integer():
                refresh_in = int(refresh_in)
            return {
                "agent_mode_auto_approval": True,
                "annotations_enabled": True,
                "azure_only": False,
                "blackbird_clientside_indexing": False,
                "chat_enabled": True,
                "chat_jetbrains_enabled": True,
                "code_quote_enabled": True,
                "code_review_enabled": False,
                "codesearch": False,
                "copilotignore_enabled": False,
                "endpoints": {
                    "api": c["api_endpoint"],
                    "origin-tracker": "https://origin-tracker.individual.githubcopilot.com",
                    "proxy": "https://proxy.individual.githubcopilot.com",
                    "telemetry": "https://telemetry.individual.githubcopilot.com",
                },
                "expires_at": expires_at,
                "individual": True,
                "limited_user_quotas": None,
                "limited_user_reset_date": None,
                "prompt_8k": True,
                "public_suggestions": "disabled",
                "refresh_in": refresh_in,
                "sku": sku,
                "snippy_load_test_enabled": False,
                "telemetry": "disabled",
                "token": token,
                "tracking_id": "fake-tracking-%d" % n,
                "vsc_electron_fetcher_v2": False,
                "xcode": True,
                "xcode_chat": False,
            }

    def copilot_token_status(self, tok):
        """'valid', 'expired' or None (unknown)."""
        with self.lock:
            rec = self.copilot_issued.get(tok)
            if rec is None:
                return None
            if time.time() >= rec["expiry"]:
                return "expired"
            return "valid"

    def snapshot(self):
        with self.lock:
            now = time.time()
            return {
                "config": copy.deepcopy(self.config),
                "github_tokens": {k: dict(v) for k, v in self.github_issued.items()},
                "copilot_tokens": {
                    k: dict(v, expired=now >= v["expiry"])
                    for k, v in self.copilot_issued.items()},
                "device_codes": {k: dict(v) for k, v in self.device_codes.items()},
                "scripts": {k: [{"response": r, "remaining": n} for r, n in q]
                            for k, q in self.scripts.items() if q},
                "time": now,
            }


STATE = State()


# --------------------------------------------------------------------------- responses

class Response:
    """status, headers (list of (name, value)), body: bytes or iterable of bytes.
    length: int (Content-Length) or None (chunked)."""

    def __init__(self, status=200, body=b"", content_type="application/json; charset=utf-8",
                 headers=None, length="auto"):
        self.status = status
        self.headers = list(headers or [])
        self.content_type = content_type
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.body = body
        if length == "auto":
            length = len(body) if isinstance(body, (bytes, bytearray)) else None
        self.length = length

    def pieces(self):
        if isinstance(self.body, (bytes, bytearray)):
            if self.body:
                yield bytes(self.body)
        else:
            for p in self.body:
                if p:
                    yield p


def json_response(obj, status=200, headers=None):
    return Response(status, jdump(obj), headers=headers)


def form_response(obj, status=200):
    body = urllib.parse.urlencode({k: ("" if v is None else v) for k, v in obj.items()})
    return Response(status, body, content_type="application/x-www-form-urlencoded; charset=utf-8")


def wants_json(headers):
    return "json" in (headers.get("accept") or "").lower()


def oauth_answer(obj, status, req_headers):
    """GitHub answers the OAuth endpoints form-encoded unless Accept asks for JSON."""
    if wants_json(req_headers):
        return json_response(obj, status)
    return form_response(obj, status)


def oauth_error(code, req_headers, status=None, description=None, interval=None, uri=None):
    if status is None:
        status = STATE.cfg("oauth_error_status")
    obj = {"error": code,
           "error_description": description or OAUTH_ERROR_DESCRIPTIONS.get(
               code, "Fake OAuth error %s." % code),
           "error_uri": uri or OAUTH_ERROR_URI}
    if interval is not None:
        obj["interval"] = interval
    return oauth_answer(obj, status, req_headers)


def github_error(status, message=None, extra=None):
    obj = {"message": message or http.server.BaseHTTPRequestHandler.responses.get(
        status, ("Error",))[0], "documentation_url": DOCS_URL}
    if extra:
        obj.update(extra)
    return json_response(obj, status)


COPILOT_CODES = {400: "bad_request", 401: "unauthorized", 402: "quota_exceeded",
                 403: "forbidden", 404: "not_found", 413: "payload_too_large",
                 429: "rate_limited"}


def copilot_error(status, message=None, code=None, extra=None):
    err = {"message": message or http.server.BaseHTTPRequestHandler.responses.get(
        status, ("Error",))[0],
        "code": code or COPILOT_CODES.get(status, "server_error" if status >= 500 else "error")}
    if extra:
        err.update(extra)
    return json_response({"error": err}, status)


def generic_error(route, status):
    style = ROUTES[route][1] if route in ROUTES else "github"
    if style == "copilot":
        return copilot_error(status)
    return github_error(status)


def big_body_gen(n):
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


PROMPT_FILTER = [{"prompt_index": 0, "content_filter_results": {
    "hate": {"filtered": False, "severity": "safe"},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": False, "severity": "safe"}}}]


def sse_gen(cid, created, model, content, opts, prompt_tokens):
    """The chat SSE byte stream as a generator of bytes."""
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
        per = max(1, 65536 // len(one))
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


# --------------------------------------------------------------------------- validation

def validate_r(r):
    if not isinstance(r, dict):
        return "each response must be an object"
    bad = set(r) - R_FIELDS
    if bad:
        return "unknown response field(s): %s" % ", ".join(sorted(bad))
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
    for k in ("hang", "reset", "chunked"):
        if k in r and not isinstance(r[k], bool):
            return "%s must be true or false" % k
    if "retry_after" in r and not (_is_num(r["retry_after"]) or isinstance(r["retry_after"], str)):
        return "retry_after must be a number or a string"
    if "interval" in r and not _is_num(r["interval"]):
        return "interval must be a number"
    for k in ("delay", "drip"):
        if k in r and not (_is_num(r[k]) and r[k] >= 0):
            return "%s must be a non-negative number" % k
    for k in ("cut", "big_body", "split"):
        if k in r and not (isinstance(r[k], int) and r[k] >= 0):
            return "%s must be a non-negative integer" % k
    if "stream" in r:
        s = r["stream"]
        if not isinstance(s, dict):
            return "stream must be an object"
        bad = set(s) - STREAM_FIELDS
        if bad:
            return "unknown stream field(s): %s" % ", ".join(sorted(bad))
        if "chunks" in s and not _is_str_list(s["chunks"]):
            return "stream.chunks must be a list of strings"
        if "repeat_chunk" in s and not (isinstance(s["repeat_chunk"], str) and s["repeat_chunk"]):
            return "stream.repeat_chunk must be a non-empty string"
        for k in ("error_after", "count", "split"):
            if k in s and not (isinstance(s[k], int) and s[k] >= 0):
                return "stream.%s must be a non-negative integer" % k
    return None


# --------------------------------------------------------------------------- handler

class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 overflows when a few dozen clients
    # connect at once (bench/serve): SYN retransmits add a second.
    request_queue_size = 128
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, BrokenPipeError)):
            return
        sys.stderr.write("fake-github: error while handling a request:\n")
        traceback.print_exc()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; with Nagle's algorithm the
    # body of an answer on a kept-alive connection would wait ~40 ms for the
    # client's delayed ACK.
    disable_nagle_algorithm = True
    server_version = "fake-github/1.0"
    sys_version = ""

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if VERBOSE:
            sys.stderr.write("fake-github: %s - %s\n" % (self.address_string(), fmt % args))

    # every method goes through the same code
    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def do_HEAD(self):
        self.dispatch()

    # ---- plumbing

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("eof in chunked body")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def lower_headers(self):
        h = {}
        for k, v in self.headers.items():
            k = k.lower()
            h[k] = v if k not in h else h[k] + ", " + v
        return h

    def dispatch(self):
        try:
            body = self.read_body()
        except (ValueError, ConnectionError, OSError):
            self.close_connection = True
            return
        split = urllib.parse.urlsplit(self.path)
        path, query = split.path, split.query
        if path == "/_control" or path.startswith("/_control/"):
            return self.handle_control(path, query, body)

        self.req_headers = self.lower_headers()
        self.req_body = body
        # One handler serves every request of a kept-alive connection: what
        # was parsed from the previous request's body must not answer this one.
        self._req_json = None
        self.req_query = query
        route = match_route(path)
        entry = {"method": self.command, "path": path, "query": query,
                 "headers": self.req_headers, "body": body.decode("utf-8", "replace"),
                 "route": route, "time": time.time(), "status": None, "script": None,
                 "peer_port": self.client_address[1]}
        STATE.add_log(entry)
        r = None
        try:
            if route is None:
                resp = github_error(404, "Not Found")
            elif self.command not in ROUTES[route][0] and not (
                    self.command == "HEAD" and "GET" in ROUTES[route][0]):
                resp = generic_error(route, 405)
            else:
                r = STATE.next_script(route)
                entry["script"] = r
                resp = self.answer(route, r or {})
        except Exception as e:  # a bug in the fake: say so loudly
            traceback.print_exc()
            resp = json_response({"message": "fake-github internal error: %r" % e}, 500)
            r = None
        if resp is None:        # hang / reset: nothing was sent
            return
        self.send(resp, r or {}, entry)

    # ---- scripted behaviour

    def answer(self, route, r):
        if r.get("delay"):
            STOP.wait(r["delay"])
        if r.get("hang"):
            self.hang()
            return None
        if r.get("reset"):
            self.rst()
            return None
        if "big_body" in r:
            n = r["big_body"]
            resp = Response(r.get("status", 200), big_body_gen(n), length=n)
        elif "body" in r:
            b = r["body"]
            if isinstance(b, str):
                ct = "application/json; charset=utf-8"
                if route == "chat" and self.request_json().get("stream") is True:
                    ct = "text/event-stream"
                resp = Response(r.get("status", 200), b, content_type=ct)
            else:
                resp = Response(r.get("status", 200), jdump(b))
        elif "error" in r:
            resp = oauth_error(r["error"], self.req_headers, status=r.get("status"),
                               description=r.get("error_description"),
                               interval=r.get("interval"), uri=r.get("error_uri"))
        elif r.get("status", 200) >= 400:
            resp = generic_error(route, r["status"])
        else:
            resp = getattr(self, "route_" + route)(r)
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

    def hang(self):
        """Never answer: wait until the client goes away (or 300 s / shutdown)."""
        sock = self.connection
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
            self.close_connection = True

    def rst(self):
        """Close the connection with a TCP RST, sending nothing."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        for f in (self.rfile, self.wfile):
            try:
                f.close()
            except OSError:
                pass
        try:
            self.connection.close()
        except OSError:
            pass
        # http.server flushes wfile after the handler returns: give it harmless files.
        self.rfile, self.wfile = io.BytesIO(), io.BytesIO()

    def send(self, resp, r, entry):
        head_only = self.command == "HEAD"
        chunked = resp.length is None
        user_names = {k.lower() for k, _ in resp.headers}
        cut = r.get("cut")
        drip = r.get("drip")
        split = r.get("split") or (r.get("stream") or {}).get("split")
        try:
            self.send_response(resp.status)
            if "content-type" not in user_names and resp.content_type:
                self.send_header("Content-Type", resp.content_type)
            if not head_only or not chunked:
                if chunked:
                    if "transfer-encoding" not in user_names:
                        self.send_header("Transfer-Encoding", "chunked")
                elif "content-length" not in user_names:
                    self.send_header("Content-Length", str(resp.length))
            for k, v in resp.headers:
                self.send_header(k, v)
            if resp.content_type and resp.content_type.startswith("text/event-stream"):
                self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            STATE.set_status(entry, resp.status)
            if head_only:
                return

            sent = 0
            w = self.wfile

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
                w.flush()
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            if chunked:
                w.write(b"0\r\n\r\n")
            w.flush()
        except (ConnectionError, BrokenPipeError, OSError):
            self.close_connection = True

    # ---- request helpers

    def request_json(self):
        if getattr(self, "_req_json", None) is None:
            try:
                v = json.loads(self.req_body.decode("utf-8")) if self.req_body else None
            except (ValueError, UnicodeDecodeError):
                v = None
            self._req_json = v if isinstance(v, dict) else {}
            self._req_json_ok = isinstance(v, dict)
        return self._req_json

    def form_params(self):
        """OAuth endpoints: form body or JSON body, plus query parameters."""
        params = {}
        for k, v in urllib.parse.parse_qsl(self.req_query):
            params[k] = v
        ct = (self.req_headers.get("content-type") or "").lower()
        text = self.req_body.decode("utf-8", "replace")
        if "json" in ct or text.lstrip().startswith("{"):
            j = self.request_json()
            for k, v in j.items():
                params[k] = v if isinstance(v, str) else jdump(v)
        else:
            for k, v in urllib.parse.parse_qsl(text, keep_blank_values=True):
                params[k] = v
        return params

    def auth_token(self, schemes):
        h = self.req_headers.get("authorization") or ""
        parts = h.split(None, 1)
        if len(parts) == 2 and parts[0].lower() in schemes:
            return parts[1].strip()
        return None

    # ---- default route behaviour

    def route_device_page(self, r):
        return Response(200, "<html><body><h1>Fake GitHub device activation</h1>"
                             "<p>Use POST /_control/approve.</p></body></html>\n",
                        content_type="text/html; charset=utf-8")

    def route_device_code(self, r):
        p = self.form_params()
        client_id = p.get("client_id")
        if not client_id:
            return oauth_answer({"error": "incorrect_client_credentials",
                                 "error_description": "The client_id is missing or not valid.",
                                 "error_uri": OAUTH_ERROR_URI}, 400, self.req_headers)
        with STATE.lock:
            STATE.n_device += 1
            alphabet = "BCDFGHJKLMNPQRSTVWXZ"
            user_code = ("".join(secrets.choice(alphabet) for _ in range(4)) + "-"
                         + "".join(secrets.choice("0123456789") for _ in range(4)))
            device_code = "fake_device_code_%d_%s" % (STATE.n_device, secrets.token_hex(8))
            expires_in = STATE.config["expires_in"]
            interval = STATE.config["interval"]
            STATE.device_codes[device_code] = {
                "user_code": user_code, "client_id": client_id,
                "scope": p.get("scope", ""), "created_at": time.time(),
                "expires_at": time.time() + expires_in, "interval": interval,
                "status": "pending", "access_token": None, "last_poll": None}
        return oauth_answer({
            "device_code": device_code, "user_code": user_code,
            "verification_uri": "http://127.0.0.1:%d/login/device" % self.server.server_port,
            "expires_in": expires_in, "interval": interval}, 200, self.req_headers)

    def route_access_token(self, r):
        p = self.form_params()
        h = self.req_headers
        if not p.get("client_id"):
            return oauth_error("incorrect_client_credentials", h)
        if p.get("grant_type") != GRANT_TYPE:
            return oauth_error("unsupported_grant_type", h)
        now = time.time()
        with STATE.lock:
            rec = STATE.device_codes.get(p.get("device_code") or "")
            if rec is None:
                return oauth_error("incorrect_device_code", h)
            if rec["client_id"] != p["client_id"]:
                return oauth_error("incorrect_client_credentials", h)
            if rec["status"] == "used":
                return oauth_answer({"access_token": rec["access_token"], "token_type": "bearer",
                                     "scope": rec["scope"]}, 200, h)
            if now >= rec["expires_at"]:
                rec["status"] = "expired"
                return oauth_error("expired_token", h)
            last = rec["last_poll"]
            rec["last_poll"] = now
            if (STATE.config["enforce_interval"] and last is not None
                    and now - last < rec["interval"]):
                rec["interval"] += 5
                return oauth_error("slow_down", h, interval=rec["interval"])
            if rec["status"] == "denied":
                return oauth_error("access_denied", h)
            if rec["status"] == "pending" and STATE.config["approval"] == "auto":
                rec["status"] = "approved"
            if rec["status"] != "approved":
                return oauth_error("authorization_pending", h)
            tok = STATE.issue_github_token(rec["scope"], rec["client_id"])
            rec["status"] = "used"
            rec["access_token"] = tok
            return oauth_answer({"access_token": tok, "token_type": "bearer",
                                 "scope": rec["scope"]}, 200, h)

    def route_user(self, r):
        tok = self.auth_token(("token", "bearer"))
        if STATE.github_token_kind(tok) is None:
            return github_error(401, "Bad credentials")
        with STATE.lock:
            login = STATE.config["user"]
            scope = STATE.github_issued.get(tok, {}).get("scope") or "read:user"
        return json_response({
            "login": login, "id": 1, "node_id": "MDQ6VXNlcjE=",
            "avatar_url": "https://avatars.githubusercontent.com/u/1?v=4",
            "html_url": "https://github.com/" + login, "type": "User", "site_admin": False,
            "name": "The " + login.capitalize(), "company": None, "blog": "",
            "location": None, "email": None, "created_at": "2011-01-25T18:44:36Z",
        }, headers=[("X-OAuth-Scopes", scope), ("X-GitHub-Media-Type", "github.v3")])

    def route_copilot_token(self, r):
        if not self.req_headers.get("editor-version"):
            return github_error(400, "Editor-Version header is required")
        tok = self.auth_token(("token", "bearer"))
        kind = STATE.github_token_kind(tok)
        if kind is None:
            return github_error(401, "Bad credentials")
        if kind == "no_copilot":
            user = STATE.cfg("user")
            return github_error(403, "Resource not accessible by integration", {
                "error_details": {
                    "url": "https://github.com/features/copilot",
                    "message": ("You do not have access to GitHub Copilot. You are currently "
                                "logged in as %s." % user),
                    "title": "No access to GitHub Copilot",
                    "notification_id": "no_copilot_access"}})
        if kind == "unusable":
            return github_error(404, "Not Found")
        return json_response(STATE.mint_copilot(tok))

    def copilot_auth(self):
        """None if the request may proceed, else an error Response."""
        if not self.req_headers.get("editor-version"):
            return copilot_error(400, "missing Editor-Version header", "bad_request")
        tok = self.auth_token(("bearer",))
        st = STATE.copilot_token_status(tok) if tok else None
        if st == "valid":
            return None
        msg = "unauthorized: token expired\n" if st == "expired" else \
            "unauthorized: invalid token\n"
        return Response(401, msg, content_type="text/plain; charset=utf-8")

    def route_models(self, r):
        err = self.copilot_auth()
        if err:
            return err
        return json_response({"data": STATE.models(), "object": "list"})

    def find_model(self, mid, kind):
        for m in STATE.models():
            if m.get("id") == mid and m.get("capabilities", {}).get("type", "chat") == kind:
                return m
        return None

    def route_chat(self, r):
        err = self.copilot_auth()
        if err:
            return err
        req = self.request_json()
        if not self._req_json_ok:
            return copilot_error(400, "invalid JSON body", "bad_request")
        msgs = req.get("messages")
        if not isinstance(msgs, list) or not msgs:
            return copilot_error(400, "messages must be a non-empty array", "bad_request",
                                 {"param": "messages", "type": "invalid_request_error"})
        model = req.get("model")
        if not isinstance(model, str) or self.find_model(model, "chat") is None:
            return copilot_error(400, "The requested model is not supported.",
                                 "model_not_supported",
                                 {"param": "model", "type": "invalid_request_error"})
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
        if req.get("stream") is True:
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

    def route_embeddings(self, r):
        err = self.copilot_auth()
        if err:
            return err
        req = self.request_json()
        if not self._req_json_ok:
            return copilot_error(400, "invalid JSON body", "bad_request")
        inp = req.get("input")
        if isinstance(inp, str):
            inp = [inp]
        if not _is_str_list(inp) or not inp:
            return copilot_error(400, "input must be a string or an array of strings",
                                 "bad_request", {"param": "input"})
        model = req.get("model", "text-embedding-3-small")
        if not isinstance(model, str) or self.find_model(model, "embeddings") is None:
            return copilot_error(400, "The requested model is not supported.",
                                 "model_not_supported",
                                 {"param": "model", "type": "invalid_request_error"})
        data = []
        for i, text in enumerate(inp):
            d = hashlib.sha256(text.encode("utf-8")).digest()
            vec = [round((b - 127.5) / 127.5, 6) for b in d[:8]]
            data.append({"object": "embedding", "index": i, "embedding": vec})
        pt = sum(count_tokens(t) for t in inp)
        return json_response({"object": "list", "data": data, "model": model,
                              "usage": {"prompt_tokens": pt, "total_tokens": pt}})

    # ---- control API

    def control_reply(self, obj, status=200):
        body = (jdump(obj) + "\n").encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def handle_control(self, path, query, body):
        name = path[len("/_control/"):] if path.startswith("/_control/") else ""
        m = self.command
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (ValueError, UnicodeDecodeError) as e:
            return self.control_reply({"error": "body is not JSON: %s" % e}, 400)
        try:
            out = self.control(m, name, query, data)
        except ControlError as e:
            return self.control_reply({"error": str(e)}, e.status)
        if out is None:
            return self.control_reply({"error": "no control endpoint %s %s" % (m, path)}, 404)
        self.control_reply(out)
        if name == "shutdown":
            threading.Thread(target=self.server.shutdown, daemon=True).start()

    def control(self, m, name, query, data):
        if name == "reset" and m == "POST":
            STATE.reset()
            return {"ok": True}
        if name == "config" and m == "GET":
            return STATE.snapshot()["config"]
        if name == "config" and m == "POST":
            if not isinstance(data, dict):
                raise ControlError("config body must be an object")
            for k, v in data.items():
                if k not in CONFIG_CHECKS:
                    raise ControlError("unknown config key %r (known: %s)"
                                       % (k, ", ".join(sorted(CONFIG_CHECKS))))
                ok, what = CONFIG_CHECKS[k]
                if not ok(v):
                    raise ControlError("config %s must be %s" % (k, what))
            with STATE.lock:
                STATE.config.update(copy.deepcopy(data))
                return copy.deepcopy(STATE.config)
        if name == "script" and m == "POST":
            route = data.get("route") if isinstance(data, dict) else None
            if route not in ROUTES:
                raise ControlError("unknown route %r (known: %s)"
                                   % (route, ", ".join(sorted(ROUTES))))
            resps = data.get("responses")
            if not isinstance(resps, list):
                raise ControlError("responses must be a list")
            for r in resps:
                err = validate_r(r)
                if err:
                    raise ControlError(err)
            n = STATE.add_script(route, copy.deepcopy(resps))
            return {"ok": True, "route": route, "queued": n}
        if name == "script" and m == "DELETE":
            with STATE.lock:
                STATE.scripts.clear()
            return {"ok": True}
        if name in ("approve", "deny") and m == "POST":
            return self.control_approve(name, data)
        if name == "log" and m == "GET":
            q = dict(urllib.parse.parse_qsl(query))
            reqs = STATE.log_snapshot(q.get("route"))
            return {"requests": reqs, "count": len(reqs)}
        if name == "log" and m == "DELETE":
            with STATE.lock:
                STATE.log.clear()
            return {"ok": True}
        if name == "state" and m == "GET":
            return STATE.snapshot()
        if name == "mint" and m == "POST":
            ttl = data.get("ttl")
            if ttl is not None and not _is_num(ttl):
                raise ControlError("ttl must be a number")
            gh = data.get("github_token", "ghu_fake_valid")
            return STATE.mint_copilot(gh, ttl)
        if name == "expire" and m == "POST":
            tok = data.get("copilot_token")
            with STATE.lock:
                hit = [t for t in STATE.copilot_issued if tok is None or t == tok]
                for t in hit:
                    STATE.copilot_issued[t]["expiry"] = time.time() - 1
            if tok is not None and not hit:
                raise ControlError("no such copilot token", 404)
            return {"expired": len(hit)}
        if name == "revoke" and m == "POST":
            tok = data.get("github_token")
            if not isinstance(tok, str):
                raise ControlError("github_token (string) required")
            with STATE.lock:
                found = STATE.github_issued.pop(tok, None) is not None
                for key in ("github_tokens", "no_copilot_tokens", "unusable_tokens"):
                    if tok in STATE.config[key]:
                        STATE.config[key] = [t for t in STATE.config[key] if t != tok]
                        found = True
            if not found:
                raise ControlError("no such github token", 404)
            return {"revoked": tok}
        if name == "shutdown" and m == "POST":
            return {"ok": True}
        if name in ("", "ping") and m == "GET":
            return {"ok": True, "port": self.server.server_port}
        return None

    def control_approve(self, name, data):
        if not isinstance(data, dict):
            raise ControlError("body must be an object")
        want_all = data.get("all") is True
        uc = data.get("user_code")
        dc = data.get("device_code")
        if not (want_all or uc or dc):
            raise ControlError('give "user_code", "device_code" or "all": true')
        hit = []
        with STATE.lock:
            for code, rec in STATE.device_codes.items():
                if rec["status"] != "pending":
                    continue
                if want_all or rec["user_code"] == uc or code == dc:
                    rec["status"] = "approved" if name == "approve" else "denied"
                    hit.append(rec["user_code"])
        if not hit:
            raise ControlError("no pending device code matched", 404)
        return {("approved" if name == "approve" else "denied"): hit}


class ControlError(Exception):
    def __init__(self, msg, status=400):
        super().__init__(msg)
        self.status = status


# --------------------------------------------------------------------------- main

def watch_pid(pid, server):
    while not STOP.is_set():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        except PermissionError:
            pass
        STOP.wait(0.5)
    if not STOP.is_set():
        STOP.set()
        server.shutdown()


def main(argv=None):
    global VERBOSE
    ap = argparse.ArgumentParser(description="Fake GitHub/Copilot server for tests.")
    ap.add_argument("--port", type=int, default=0, help="port (default 0 = ephemeral)")
    ap.add_argument("--port-file", help="also write the port number to this file")
    ap.add_argument("--watch-pid", type=int,
                    help="exit when this process no longer exists (stray-server guard)")
    ap.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = ap.parse_args(argv)
    VERBOSE = args.verbose

    server = QuietServer(("127.0.0.1", args.port), Handler)
    port = server.server_address[1]

    def on_signal(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if args.port_file:
        tmp = args.port_file + ".tmp%d" % os.getpid()
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()

    if args.watch_pid:
        threading.Thread(target=watch_pid, args=(args.watch_pid, server), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        STOP.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
