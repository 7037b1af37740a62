"""The control API (/_control/*): how a test scripts the fake and reads its
request log. JSON in, JSON out; never logged. Its calls are the fake's
contract with the suites (README.md, "Control API")."""

import copy
import json
import threading
import urllib.parse

from .faults import validate_r
from .routes import ROUTES
from .state import CONFIG_CHECKS, STATE, is_num
from .wire import jdump


class ControlError(Exception):
    def __init__(self, msg, status=400):
        super().__init__(msg)
        self.status = status


def handle(handler, path, query, body):
    """Answer one control request on handler's connection."""
    name = path[len("/_control/"):] if path.startswith("/_control/") else ""
    m = handler.command
    try:
        data = json.loads(body.decode("utf-8")) if body.strip() else {}
    except (ValueError, UnicodeDecodeError) as e:
        return reply(handler, {"error": "body is not JSON: %s" % e}, 400)
    try:
        out = call(m, name, query, data, handler.server.server_port)
    except ControlError as e:
        return reply(handler, {"error": str(e)}, e.status)
    if out is None:
        return reply(handler, {"error": "no control endpoint %s %s" % (m, path)}, 404)
    reply(handler, out)
    if name == "shutdown":
        threading.Thread(target=handler.server.shutdown, daemon=True).start()


def reply(handler, obj, status=200):
    body = (jdump(obj) + "\n").encode()
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)
        handler.wfile.flush()
    except OSError:
        handler.close_connection = True


def call(m, name, query, data, port):
    """The answer of control call `m name`, or None if there is no such call."""
    if name == "reset" and m == "POST":
        STATE.reset()
        return {"ok": True}
    if name == "config" and m == "GET":
        return STATE.snapshot()["config"]
    if name == "config" and m == "POST":
        return set_config(data)
    if name == "script" and m == "POST":
        return add_script(data)
    if name == "script" and m == "DELETE":
        with STATE.lock:
            STATE.scripts.clear()
        return {"ok": True}
    if name in ("approve", "deny") and m == "POST":
        return approve(name, data)
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
        if ttl is not None and not is_num(ttl):
            raise ControlError("ttl must be a number")
        return STATE.mint_copilot(data.get("github_token", "ghu_fake_valid"), ttl)
    if name == "expire" and m == "POST":
        tok = data.get("copilot_token")
        n = STATE.expire_copilot(tok)
        if tok is not None and not n:
            raise ControlError("no such copilot token", 404)
        return {"expired": n}
    if name == "revoke" and m == "POST":
        tok = data.get("github_token")
        if not isinstance(tok, str):
            raise ControlError("github_token (string) required")
        if not STATE.revoke_github_token(tok):
            raise ControlError("no such github token", 404)
        return {"revoked": tok}
    if name == "shutdown" and m == "POST":
        return {"ok": True}
    if name in ("", "ping") and m == "GET":
        return {"ok": True, "port": port}
    return None


def set_config(data):
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


def add_script(data):
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


def approve(name, data):
    """approve or deny the matching pending device codes."""
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
