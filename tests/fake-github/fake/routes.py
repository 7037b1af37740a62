"""The route table: each route's name (the one the control API, the script
queues and the request log use), its methods, its error style and the function
that gives its default answer; and the paths that reach it."""

from . import copilot, github, messages, responses, usage
from .wire import anthropic_error, copilot_error, github_error

# route name -> (allowed methods, error style, default answer)
ROUTES = {
    "device_code": (("POST",), "github", github.device_code),
    "access_token": (("POST",), "github", github.access_token),
    "device_page": (("GET",), "github", github.device_page),
    "user": (("GET",), "github", github.user),
    "copilot_token": (("GET",), "github", github.copilot_token),
    "copilot_user": (("GET",), "github", usage.copilot_user),
    "models": (("GET",), "copilot", copilot.models),
    "chat": (("POST",), "copilot", copilot.chat),
    "embeddings": (("POST",), "copilot", copilot.embeddings),
    "responses": (("POST",), "copilot", responses.responses),
    "messages": (("POST",), "anthropic", messages.messages),
}


def match_route(path):
    """Map a request path (no query) to a route name, or None."""
    if path == "/login/device/code":
        return "device_code"
    if path == "/login/oauth/access_token":
        return "access_token"
    if path == "/login/device":
        return "device_page"
    for prefix in ("", "/api", "/api/v3"):      # api.github.com, and GHE Server's /api/v3
        if path == prefix + "/user":
            return "user"
        if path == prefix + "/copilot_internal/v2/token":
            return "copilot_token"
        if path == prefix + "/copilot_internal/user":
            return "copilot_user"
    for prefix in ("", "/v1"):
        if path == prefix + "/models":
            return "models"
        if path == prefix + "/chat/completions":
            return "chat"
        if path == prefix + "/embeddings":
            return "embeddings"
        if path == prefix + "/responses":
            return "responses"
    if path == "/v1/messages":
        return "messages"
    return None


def method_allowed(route, method):
    allowed = ROUTES[route][0]
    return method in allowed or (method == "HEAD" and "GET" in allowed)


def generic_error(route, status):
    """A bare error status, with a body in the route's style."""
    if route in ROUTES and ROUTES[route][1] == "copilot":
        return copilot_error(status)
    if route in ROUTES and ROUTES[route][1] == "anthropic":
        return anthropic_error(status)
    return github_error(status)


def default_answer(route, req, r):
    return ROUTES[route][2](req, r)
