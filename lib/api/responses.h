// The OpenAI Responses API (POST /responses) as copilot-chat speaks it: the
// request built from the same ChatRequest as a chat completion (the system
// message, --messages and the prompt become input items), the streamed
// answer (response.output_text.delta as it arrives, usage and the response
// object from response.completed, errors from response.failed and error
// events), and the whole answer with --no-stream. Retries, the token refresh
// and the error exit codes are run_chat's (api/chat.h).
#pragma once

#include <string>

#include "api/chat.h"

namespace copilot {

// The JSON body of POST /responses: model, input, stream, store false,
// temperature, max_output_tokens (from max_tokens), reasoning {effort,
// summary "auto" with reasoning_summary}. --messages (OpenAI chat messages)
// become input items: messages with input_text / output_text / input_image
// parts, an assistant's tool_calls function_call items, a tool message a
// function_call_output. Error(data) for what has no Responses form (naming
// it); Error(usage) when there is nothing to send.
std::string build_responses_body(const ChatRequest& req);

// Sends the request to {api}/responses and delivers the answer as run_chat
// does. Errors: a response.failed or error event -> by its code ("the
// server reported an error in the middle of the answer"); a stream that
// ends before response.completed (or .incomplete) -> protocol.
ChatResult run_responses(ApiCredentials& auth, const ChatRequest& req, const ChatIo& io);

}  // namespace copilot
