"""A request as the routes see it, the answer they build, and the two error
body styles (GitHub's and the Copilot API's)."""

import http.server
import json
import urllib.parse

DOCS_URL = "https://docs.github.com/rest"

COPILOT_CODES = {400: "bad_request", 401: "unauthorized", 402: "quota_exceeded",
                 403: "forbidden", 404: "not_found", 413: "payload_too_large",
                 429: "rate_limited"}


def jdump(v):
    return json.dumps(v, separators=(",", ":"))


def reason(status):
    return http.server.BaseHTTPRequestHandler.responses.get(status, ("Error",))[0]


class Request:
    """One parsed request. A kept-alive connection makes one per request, so
    nothing parsed from a previous body can answer this one."""

    def __init__(self, method, path, query, headers, body, server_port):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers          # names lower-cased
        self.body = body                # bytes
        self.server_port = server_port
        self._json = None
        self.json_ok = False

    def json(self):
        """The body as a JSON object ({} if it is not one; json_ok says which)."""
        if self._json is None:
            try:
                v = json.loads(self.body.decode("utf-8")) if self.body else None
            except (ValueError, UnicodeDecodeError):
                v = None
            self._json = v if isinstance(v, dict) else {}
            self.json_ok = isinstance(v, dict)
        return self._json

    def wants_json(self):
        return "json" in (self.headers.get("accept") or "").lower()

    def form_params(self):
        """OAuth endpoints: form body or JSON body, plus query parameters."""
        params = {}
        for k, v in urllib.parse.parse_qsl(self.query):
            params[k] = v
        ct = (self.headers.get("content-type") or "").lower()
        text = self.body.decode("utf-8", "replace")
        if "json" in ct or text.lstrip().startswith("{"):
            for k, v in self.json().items():
                params[k] = v if isinstance(v, str) else jdump(v)
        else:
            for k, v in urllib.parse.parse_qsl(text, keep_blank_values=True):
                params[k] = v
        return params

    def auth_token(self, schemes):
        """The credential of an Authorization header in one of schemes, or None."""
        parts = (self.headers.get("authorization") or "").split(None, 1)
        if len(parts) == 2 and parts[0].lower() in schemes:
            return parts[1].strip()
        return None


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


def github_error(status, message=None, extra=None):
    obj = {"message": message or reason(status), "documentation_url": DOCS_URL}
    if extra:
        obj.update(extra)
    return json_response(obj, status)


def copilot_error(status, message=None, code=None, extra=None):
    err = {"message": message or reason(status),
           "code": code or COPILOT_CODES.get(status, "server_error" if status >= 500 else "error")}
    if extra:
        err.update(extra)
    return json_response({"error": err}, status)


ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                   402: "billing_error", 403: "permission_error", 404: "not_found_error",
                   413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
                   529: "overloaded_error"}


def anthropic_type(status):
    return ANTHROPIC_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def anthropic_error(status, message=None, etype=None):
    """An error in the Anthropic Messages shape."""
    return json_response({"type": "error", "error": {
        "type": etype or anthropic_type(status),
        "message": message or ("Overloaded" if status == 529 else reason(status))}}, status)
