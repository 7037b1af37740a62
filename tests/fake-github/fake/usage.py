"""GET /copilot_internal/user: the Copilot plan and quotas of a GitHub token's
user (what copilot-usage reads). Scripted with the config key "usage"
(README.md, "copilot_user"), which this module adds to the config: every
field optional, the rest keeps its default."""

import copy
import time

from .state import CONFIG_CHECKS, DEFAULT_CONFIG, STATE, is_num
from .wire import github_error, json_response

# The defaults of config "usage".
DEFAULTS = {
    "plan": "individual",
    "sku": "monthly_subscriber_quota",
    "reset_date": "2027-01-01T00:00:00.000Z",
    "reset_date_utc": True,         # false: only the older quota_reset_date (the date)
    "entitlement": 300,             # premium_interactions
    "remaining": 300,
    "unlimited": False,
    "overage_count": 0,
    "overage_permitted": False,
    "quotas": {},                   # name -> snapshot fields: override or add a quota
}

SNAPSHOT_FIELDS = {"entitlement", "remaining", "unlimited", "overage_count",
                   "overage_permitted", "percent_remaining"}


def _is_bool(v):
    return isinstance(v, bool)


def _is_snapshot(v):
    if not isinstance(v, dict) or set(v) - SNAPSHOT_FIELDS:
        return False
    for k, x in v.items():
        if k in ("unlimited", "overage_permitted"):
            if not _is_bool(x):
                return False
        elif not is_num(x):
            return False
    return True


FIELD_CHECKS = {
    "plan": lambda v: isinstance(v, str),
    "sku": lambda v: isinstance(v, str),
    "reset_date": lambda v: isinstance(v, str),
    "reset_date_utc": _is_bool,
    "entitlement": is_num,
    "remaining": is_num,
    "unlimited": _is_bool,
    "overage_count": is_num,
    "overage_permitted": _is_bool,
    "quotas": lambda v: isinstance(v, dict) and all(_is_snapshot(s) for s in v.values()),
}


def valid_usage(v):
    return (isinstance(v, dict) and not set(v) - set(FIELD_CHECKS)
            and all(FIELD_CHECKS[k](x) for k, x in v.items()))


# Registered here so that the rest of the fake need not know about it:
# POST /_control/config {"usage": {...}} validates it, /_control/reset restores it.
CONFIG_CHECKS["usage"] = (valid_usage, "an object of %s (README.md, \"copilot_user\")"
                          % ", ".join(sorted(FIELD_CHECKS)))
DEFAULT_CONFIG["usage"] = {}
with STATE.lock:
    STATE.config.setdefault("usage", {})


def snapshot(quota_id, entitlement, remaining, unlimited, overage_count, overage_permitted,
             percent=None):
    if percent is None:
        percent = 100.0 if unlimited or not entitlement else 100.0 * remaining / entitlement
    return {
        "entitlement": entitlement,
        "overage_count": overage_count,
        "overage_permitted": overage_permitted,
        "percent_remaining": float(percent),
        "quota_id": quota_id,
        "quota_remaining": float(remaining),
        "remaining": remaining,
        "timestamp_utc": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "unlimited": unlimited,
    }


def document(login, u):
    unlimited_default = dict(entitlement=0, remaining=0, unlimited=True, overage_count=0,
                             overage_permitted=False)
    snaps = {
        "chat": snapshot("chat", **unlimited_default),
        "completions": snapshot("completions", **unlimited_default),
        "premium_interactions": snapshot(
            "premium_interactions", u["entitlement"], u["remaining"], u["unlimited"],
            u["overage_count"], u["overage_permitted"]),
    }
    for name, fields in u["quotas"].items():
        base = snaps.get(name) or snapshot(name, **unlimited_default)
        merged = dict(base, **fields)
        if "percent_remaining" not in fields:
            merged["percent_remaining"] = snapshot(
                name, merged["entitlement"], merged["remaining"], merged["unlimited"],
                0, False)["percent_remaining"]
        merged["quota_remaining"] = float(merged["remaining"])
        snaps[name] = merged
    doc = {
        "access_type_sku": u["sku"],
        "analytics_tracking_id": "fake-analytics-0123456789abcdef",
        "assigned_date": "2025-01-01T00:00:00+00:00",
        "can_signup_for_limited": False,
        "chat_enabled": True,
        "codesearch": True,
        "copilot_plan": u["plan"],
        "is_mcp_enabled": True,
        "login": login,
        "organization_list": [],
        "organization_login_list": [],
        "quota_reset_date": u["reset_date"][:10],
        "quota_snapshots": snaps,
        "restricted_telemetry": False,
    }
    if u["reset_date_utc"]:
        doc["quota_reset_date_utc"] = u["reset_date"]
    return dict(sorted(doc.items()))


def copilot_user(req, r):
    """The user document; refused as the exchange refuses (README.md)."""
    if not req.headers.get("editor-version"):
        return github_error(400, "Editor-Version header is required")
    # GitHub's token scheme only: this endpoint is called with the GitHub token.
    tok = req.auth_token(("token",))
    kind = STATE.github_token_kind(tok)
    if kind is None:
        return github_error(401, "Bad credentials")
    if kind == "no_copilot":
        return github_error(403, "Resource not accessible by integration", {
            "error_details": {
                "url": "https://github.com/features/copilot",
                "message": ("You do not have access to GitHub Copilot. You are currently "
                            "logged in as %s." % STATE.cfg("user")),
                "title": "No access to GitHub Copilot",
                "notification_id": "no_copilot_access"}})
    if kind == "unusable":
        return github_error(404, "Not Found")
    with STATE.lock:
        u = dict(copy.deepcopy(DEFAULTS), **copy.deepcopy(STATE.config.get("usage") or {}))
        login = STATE.config["user"]
    return json_response(document(login, u))
