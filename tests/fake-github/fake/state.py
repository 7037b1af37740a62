"""The shared scripted state: config, request log, script queues, device codes
and the GitHub and Copilot tokens issued so far. One State per process (STATE);
every handler thread goes through its lock."""

import copy
import hashlib
import hmac
import threading
import time

STOP = threading.Event()          # set when the server is shutting down
MAC_KEY = b"fake-github-not-a-secret"


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_str_list(v):
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def model(mid, name, vendor, version, family, ctx, out, prompt,
          kind="chat", streaming=True, tools=True, picker=True, endpoints=None,
          vision=False, efforts=None, premium=False, multiplier=0, preview=False,
          billing=True):
    """One /models entry in the real service's shape. endpoints None: no
    supported_endpoints field (older entries: /chat/completions only)."""
    supports = {"streaming": streaming, "tool_calls": tools}
    if kind == "chat":
        supports["vision"] = vision
        supports["parallel_tool_calls"] = tools
        if efforts:
            supports["reasoning_effort"] = list(efforts)
    m = {
        "id": mid,
        "name": name,
        "vendor": vendor,
        "version": version,
        "object": "model",
        "preview": preview,
        "model_picker_enabled": picker,
        "capabilities": {
            "type": kind,
            "family": family,
            "object": "model_capabilities",
            "tokenizer": "o200k_base",
            "limits": {
                "max_context_window_tokens": ctx,
                "max_output_tokens": out,
                "max_prompt_tokens": prompt,
            },
            "supports": supports,
        },
    }
    if kind == "chat":
        m["policy"] = {"state": "enabled", "terms": "Enable access to %s." % name}
    if billing and kind == "chat":
        m["billing"] = {"is_premium": premium, "multiplier": multiplier}
    if endpoints is not None:
        m["supported_endpoints"] = list(endpoints)
    return m


CHAT = "/chat/completions"
RESPONSES = "/responses"
MESSAGES = "/v1/messages"
EFFORTS = ("low", "medium", "high")

DEFAULT_MODELS = [model(*row[:8], **row[8]) for row in (
    # id, name, vendor, version, family, context, output, prompt, extra
    ("gpt-4.1", "GPT-4.1", "Azure OpenAI", "gpt-4.1-2025-04-14", "gpt-4.1",
     128000, 16384, 128000, {"vision": True}),
    ("gpt-4o", "GPT-4o", "Azure OpenAI", "gpt-4o-2024-11-20", "gpt-4o",
     128000, 4096, 64000, {"vision": True}),
    ("gpt-4o-mini", "GPT-4o mini", "Azure OpenAI", "gpt-4o-mini-2024-07-18", "gpt-4o-mini",
     128000, 4096, 64000, {"picker": False}),
    ("gpt-5-mini", "GPT-5 mini", "Azure OpenAI", "gpt-5-mini", "gpt-5-mini",
     264000, 64000, 128000, {"endpoints": [CHAT, RESPONSES], "vision": True,
                             "efforts": EFFORTS}),
    ("claude-sonnet-4", "Claude Sonnet 4", "Anthropic", "claude-sonnet-4", "claude-sonnet-4",
     216000, 16000, 128000, {"endpoints": [CHAT, MESSAGES], "vision": True,
                             "premium": True, "multiplier": 1}),
    ("o3-mini", "o3-mini", "Azure OpenAI", "o3-mini-2025-01-31", "o3-mini",
     200000, 100000, 64000, {"premium": True, "multiplier": 0.33}),
    ("gpt-5-codex", "GPT-5-Codex (Preview)", "OpenAI", "gpt-5-codex", "gpt-5-codex",
     400000, 128000, 272000, {"endpoints": [RESPONSES], "vision": True, "efforts": EFFORTS,
                              "premium": True, "multiplier": 1, "preview": True}),
    ("claude-sonnet-4.5", "Claude Sonnet 4.5", "Anthropic", "claude-sonnet-4.5",
     "claude-sonnet-4.5", 200000, 32000, 128000,
     {"endpoints": [CHAT, MESSAGES], "vision": True, "premium": True, "multiplier": 1}),
    ("claude-3.5-sonnet", "Claude Sonnet 3.5", "Anthropic", "claude-3.5-sonnet",
     "claude-3.5-sonnet", 90000, 8192, 90000,
     {"endpoints": [CHAT], "vision": True, "premium": True, "multiplier": 1}),
    ("text-embedding-3-small", "Embedding V3 small", "Azure OpenAI", "text-embedding-3-small",
     "text-embedding-3-small", 8191, 0, 8191,
     {"kind": "embeddings", "streaming": False, "tools": False, "picker": False}),
)]

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
    "quota_snapshots": {
        "premium_interactions": {"ent": 300, "ov": 0.0, "ovPerm": False, "rem": 100.0,
                                 "rst": "2026-12-31T00:00:00Z"},
        "premium_models": {"ent": 300, "ov": 0.0, "ovPerm": False, "rem": 100.0,
                           "rst": "2026-12-31T00:00:00Z"},
        "chat": {"ent": -1, "ov": 0.0, "ovPerm": False, "rem": 100.0,
                 "rst": "2026-12-31T00:00:00Z"},
    },
    "ratelimits": {
        "session": {"ent": 0, "ov": 0.0, "ovPerm": False, "rem": 100.0,
                    "rst": "2026-12-01T06:00:00Z"},
        "weekly": {"ent": 0, "ov": 0.0, "ovPerm": False, "rem": 100.0,
                   "rst": "2026-12-07T00:00:00Z"},
    },
    "anthropic_betas": None,
    "require_anthropic_version": False,
}


SNAPSHOT_FIELDS = {"ent", "ov", "ovPerm", "rem", "rst"}


def is_snapshots(v):
    """name -> a snapshot object, a raw header string, or null (header left out)."""
    if not isinstance(v, dict):
        return False
    for snap in v.values():
        if snap is None or isinstance(snap, str):
            continue
        if not isinstance(snap, dict) or set(snap) - SNAPSHOT_FIELDS:
            return False
        if any(k in snap and not is_num(snap[k]) for k in ("ent", "ov", "rem")):
            return False
        if "ovPerm" in snap and not isinstance(snap["ovPerm"], bool):
            return False
        if "rst" in snap and not isinstance(snap["rst"], str):
            return False
    return True

# config key -> (check, what the value must be); POST /_control/config refuses the rest
CONFIG_CHECKS = {
    "interval": (is_num, "a number"),
    "expires_in": (is_num, "a number"),
    "approval": (lambda v: v in ("auto", "manual"), '"auto" or "manual"'),
    "oauth_error_status": (lambda v: v in (200, 400), "200 or 400"),
    "enforce_interval": (lambda v: isinstance(v, bool), "a boolean"),
    "user": (lambda v: isinstance(v, str), "a string"),
    "github_tokens": (is_str_list, "a list of strings"),
    "no_copilot_tokens": (is_str_list, "a list of strings"),
    "unusable_tokens": (is_str_list, "a list of strings"),
    "token_ttl": (is_num, "a number"),
    "refresh_in": (is_num, "a number"),
    "sku": (lambda v: isinstance(v, str), "a string"),
    "api_endpoint": (lambda v: isinstance(v, str), "a string"),
    "reply": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "quota_snapshots": (is_snapshots, "an object of name -> {ent, ov, ovPerm, rem, rst}, "
                        "a string or null"),
    "ratelimits": (is_snapshots, "an object of name -> {ent, ov, ovPerm, rem, rst}, "
                   "a string or null"),
    "anthropic_betas": (lambda v: v is None or is_str_list(v), "a list of strings or null"),
    "require_anthropic_version": (lambda v: isinstance(v, bool), "a boolean"),
    "models": (lambda v: isinstance(v, list)
               and all(isinstance(m, (str, dict)) for m in v),
               "a list of model objects or model id strings"),
}

GITHUB_TOKEN_LISTS = ("github_tokens", "no_copilot_tokens", "unusable_tokens")


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
            self.n_responses = 0
            self.n_messages = 0
            self.premium_used = 0       # premium requests counted (sum of multipliers)

    # -- request log
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
            return [dict(e) for e in self.log if route is None or e["route"] == route]

    # -- script queues
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

    # -- config
    def cfg(self, key):
        with self.lock:
            return self.config[key]

    def find_model(self, mid):
        """The model entry with this id, or None."""
        for m in self.models():
            if m.get("id") == mid:
                return m
        return None

    def models(self):
        with self.lock:
            out = []
            for m in self.config["models"]:
                if isinstance(m, str):
                    m = model(m, m, "Fake", m, m, 128000, 4096, 64000)
                out.append(m)
            return copy.deepcopy(out)

    # -- GitHub tokens
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

    def revoke_github_token(self, tok):
        """Forget tok wherever it is known; False if it was not."""
        with self.lock:
            found = self.github_issued.pop(tok, None) is not None
            for key in GITHUB_TOKEN_LISTS:
                if tok in self.config[key]:
                    self.config[key] = [t for t in self.config[key] if t != tok]
                    found = True
            return found

    # -- Copilot tokens
    def mint_copilot(self, github_token, ttl=None):
        """The exchange's envelope for a new Copilot token (also /_control/mint)."""
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

    def expire_copilot(self, tok=None):
        """Expire tok (every issued token if None) now; how many were hit."""
        with self.lock:
            hit = [t for t in self.copilot_issued if tok is None or t == tok]
            for t in hit:
                self.copilot_issued[t]["expiry"] = time.time() - 1
            return len(hit)

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
                "premium_used": self.premium_used,
                "time": now,
            }


STATE = State()
