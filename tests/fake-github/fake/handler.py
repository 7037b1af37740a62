"""The HTTP plumbing: the threading server, reading a request, logging it,
finding its route and scripted answer, and sending the status line and headers."""

import http.server
import io
import sys
import time
import traceback
import urllib.parse

from . import control, faults
from .routes import match_route, method_allowed, generic_error
from .state import STATE
from .wire import Request, github_error, json_response


# route -> the Copilot endpoint it plays (the log's "endpoint" field)
ENDPOINTS = {"chat": "/chat/completions", "responses": "/responses",
             "messages": "/v1/messages", "embeddings": "/embeddings", "models": "/models"}


def copilot_fields(route, req):
    """The request-log fields that say what a Copilot call asked (README.md, "Request log")."""
    h = req.headers
    model = None
    if route in ("chat", "responses", "messages", "embeddings"):
        m = req.json().get("model")
        model = m if isinstance(m, str) else None
    return {"endpoint": ENDPOINTS.get(route), "model": model,
            "initiator": h.get("x-initiator"), "vision": h.get("copilot-vision-request"),
            "anthropic_version": h.get("anthropic-version"),
            "anthropic_beta": h.get("anthropic-beta")}


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 overflows when a few dozen clients
    # connect at once (bench/serve): SYN retransmits add a second.
    request_queue_size = 128
    block_on_close = False
    allow_reuse_address = True
    verbose = False                 # --verbose: one stderr line per request

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
        if self.server.verbose:
            sys.stderr.write("fake-github: %s - %s\n" % (self.address_string(), fmt % args))

    # every method goes through the same code
    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

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
            return control.handle(self, path, query, body)

        req = Request(self.command, path, query, self.lower_headers(), body,
                      self.server.server_port)
        route = match_route(path)
        entry = {"method": self.command, "path": path, "query": query,
                 "headers": req.headers, "body": body.decode("utf-8", "replace"),
                 "route": route, "time": time.time(), "status": None, "script": None,
                 "peer_port": self.client_address[1]}
        entry.update(copilot_fields(route, req))
        STATE.add_log(entry)
        r = None
        try:
            if route is None:
                resp = github_error(404, "Not Found")
            elif not method_allowed(route, self.command):
                resp = generic_error(route, 405)
            else:
                r = STATE.next_script(route)
                entry["script"] = r
                resp = faults.answer(self, route, req, r or {})
        except Exception as e:  # a bug in the fake: say so loudly
            traceback.print_exc()
            resp = json_response({"message": "fake-github internal error: %r" % e}, 500)
            r = None
        if resp is None:        # hang / reset: nothing was sent
            return
        self.send(resp, r or {}, entry)

    def send(self, resp, r, entry):
        head_only = self.command == "HEAD"
        chunked = resp.length is None
        user_names = {k.lower() for k, _ in resp.headers}
        # one_write: the head and the whole body gathered, then one send, so
        # that the client reads them all at once.
        sock_file = self.wfile
        if r.get("one_write"):
            self.wfile = io.BytesIO()
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
            if not head_only:
                faults.write_body(self, resp, r)
            if sock_file is not self.wfile:
                sock_file.write(self.wfile.getvalue())
        except (ConnectionError, BrokenPipeError, OSError):
            self.close_connection = True
        finally:
            self.wfile = sock_file
