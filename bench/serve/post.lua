-- wrk script: POST a chat completion, plain or streamed (WRK_STREAM=1).
-- The body is what copilot-chat sends, so every target parses the same request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
wrk.headers["Editor-Version"] = "vscode/1.104.3"
local stream = os.getenv("WRK_STREAM") == "1"
wrk.body = '{"model":"gpt-4.1","messages":[{"role":"user","content":"hello benchmark"}],"stream":' ..
  (stream and 'true' or 'false') .. '}'
