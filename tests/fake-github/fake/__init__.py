"""The fake GitHub / Copilot server, one module per concern (server.py runs it):

    state     the shared scripted state: config, log, script queues, tokens
    wire      the request as routes see it, the Response, the error styles
    github    device flow, /user, the Copilot token exchange
    copilot   models, chat completions (SSE or not), embeddings
    routes    route names, methods, error styles, paths
    faults    scripted answers: validation, building, wire faults
    control   the control API (/_control/*)
    handler   the HTTP server and request plumbing
"""
