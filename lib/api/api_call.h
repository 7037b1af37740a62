// One call to the Copilot API (or any OpenAI-compatible server): the request
// with the editor headers, the one token refresh after a 401/403, and the
// error for an answer that is not 2xx. run_chat and fetch_models use it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/models.h"

#include "auth/credentials.h"
#include "net/http.h"
#include "util/errors.h"

namespace copilot {

// {api}{path} with copilot_api_headers (a fresh X-Request-Id each time),
// retried on 429/5xx/connection errors (never once a body has started).
HttpRequest api_request(const ApiCredentials& auth, const std::string& method,
                        const std::string& path, const LogFn& log);

// Sends what `make` builds; on 401/403 (the answer has not started: error
// bodies are never streamed) the token is refreshed once (auth.refresh) and
// the request made again with the new token and a new request id.
HttpResponse send_with_refresh(ApiCredentials& auth, const std::function<HttpRequest()>& make,
                               const LogFn& log, bool* refreshed);

// The error for a non-2xx answer about `what` ("chat completion", "model
// list"). With `model`, a model_not_supported error lists the chat models
// /models offers (and caches them for completion); `known`, when given, is
// a list fetched moments ago, used instead of asking again.
Error status_error(ApiCredentials& auth, const HttpResponse& r, bool refreshed,
                   const std::string& what, const std::string* model, const LogFn& log,
                   const std::vector<ModelInfo>* known = nullptr);

}  // namespace copilot
