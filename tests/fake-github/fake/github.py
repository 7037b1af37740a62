"""The GitHub side: the device flow (device code, access token, the device
page), /user and the Copilot token exchange. Each route is a function of the
request and the scripted answer R, returning a Response."""

import secrets
import time

from .state import STATE
from .wire import Response, form_response, github_error, json_response

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


def oauth_answer(obj, status, req):
    """GitHub answers the OAuth endpoints form-encoded unless Accept asks for JSON."""
    if req.wants_json():
        return json_response(obj, status)
    return form_response(obj, status)


def oauth_error(code, req, status=None, description=None, interval=None, uri=None):
    if status is None:
        status = STATE.cfg("oauth_error_status")
    obj = {"error": code,
           "error_description": description or OAUTH_ERROR_DESCRIPTIONS.get(
               code, "Fake OAuth error %s." % code),
           "error_uri": uri or OAUTH_ERROR_URI}
    if interval is not None:
        obj["interval"] = interval
    return oauth_answer(obj, status, req)


def device_page(req, r):
    return Response(200, "<html><body><h1>Fake GitHub device activation</h1>"
                         "<p>Use POST /_control/approve.</p></body></html>\n",
                    content_type="text/html; charset=utf-8")


def device_code(req, r):
    p = req.form_params()
    client_id = p.get("client_id")
    if not client_id:
        return oauth_answer({"error": "incorrect_client_credentials",
                             "error_description": "The client_id is missing or not valid.",
                             "error_uri": OAUTH_ERROR_URI}, 400, req)
    with STATE.lock:
        STATE.n_device += 1
        alphabet = "BCDFGHJKLMNPQRSTVWXZ"
        user_code = ("".join(secrets.choice(alphabet) for _ in range(4)) + "-"
                     + "".join(secrets.choice("0123456789") for _ in range(4)))
        code = "fake_device_code_%d_%s" % (STATE.n_device, secrets.token_hex(8))
        expires_in = STATE.config["expires_in"]
        interval = STATE.config["interval"]
        STATE.device_codes[code] = {
            "user_code": user_code, "client_id": client_id,
            "scope": p.get("scope", ""), "created_at": time.time(),
            "expires_at": time.time() + expires_in, "interval": interval,
            "status": "pending", "access_token": None, "last_poll": None}
    return oauth_answer({
        "device_code": code, "user_code": user_code,
        "verification_uri": "http://127.0.0.1:%d/login/device" % req.server_port,
        "expires_in": expires_in, "interval": interval}, 200, req)


def access_token(req, r):
    p = req.form_params()
    if not p.get("client_id"):
        return oauth_error("incorrect_client_credentials", req)
    if p.get("grant_type") != GRANT_TYPE:
        return oauth_error("unsupported_grant_type", req)
    now = time.time()
    with STATE.lock:
        rec = STATE.device_codes.get(p.get("device_code") or "")
        if rec is None:
            return oauth_error("incorrect_device_code", req)
        if rec["client_id"] != p["client_id"]:
            return oauth_error("incorrect_client_credentials", req)
        if rec["status"] == "used":
            return oauth_answer({"access_token": rec["access_token"], "token_type": "bearer",
                                 "scope": rec["scope"]}, 200, req)
        if now >= rec["expires_at"]:
            rec["status"] = "expired"
            return oauth_error("expired_token", req)
        last = rec["last_poll"]
        rec["last_poll"] = now
        if (STATE.config["enforce_interval"] and last is not None
                and now - last < rec["interval"]):
            rec["interval"] += 5
            return oauth_error("slow_down", req, interval=rec["interval"])
        if rec["status"] == "denied":
            return oauth_error("access_denied", req)
        if rec["status"] == "pending" and STATE.config["approval"] == "auto":
            rec["status"] = "approved"
        if rec["status"] != "approved":
            return oauth_error("authorization_pending", req)
        tok = STATE.issue_github_token(rec["scope"], rec["client_id"])
        rec["status"] = "used"
        rec["access_token"] = tok
        return oauth_answer({"access_token": tok, "token_type": "bearer",
                             "scope": rec["scope"]}, 200, req)


def user(req, r):
    tok = req.auth_token(("token", "bearer"))
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


def copilot_token(req, r):
    """The exchange: a GitHub token in, a Copilot token envelope out."""
    if not req.headers.get("editor-version"):
        return github_error(400, "Editor-Version header is required")
    tok = req.auth_token(("token", "bearer"))
    kind = STATE.github_token_kind(tok)
    if kind is None:
        return github_error(401, "Bad credentials")
    if kind == "no_copilot":
        login = STATE.cfg("user")
        return github_error(403, "Resource not accessible by integration", {
            "error_details": {
                "url": "https://github.com/features/copilot",
                "message": ("You do not have access to GitHub Copilot. You are currently "
                            "logged in as %s." % login),
                "title": "No access to GitHub Copilot",
                "notification_id": "no_copilot_access"}})
    if kind == "unusable":
        return github_error(404, "Not Found")
    return json_response(STATE.mint_copilot(tok))
