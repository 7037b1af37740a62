// The exchange that api/chat (/chat/completions) and api/responses
// (/responses) share: the POST with the editor headers and the one token
// refresh (api/api_call), a non-2xx answer's error (throw_chat_status), the
// quota headers; for a whole answer its body, for a stream its bytes handed
// to the caller's parser as they come, errors kept out of libcurl's frames,
// and the error for a stream that did not reach its end.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "api/chat.h"
#include "net/sse.h"

namespace copilot {

struct AnswerPath {
    const char* path;        // "/chat/completions", "/responses"
    const char* stream_end;  // what ends its stream, for the error when it did not come
};

// A whole answer: its (2xx) body; result.quota is set.
std::string post_for_answer(ApiCredentials& auth, const AnswerPath& at, const std::string& body,
                            const ChatRequest& req, const ChatIo& io, ChatResult& result);

// A stream. `feed` gets the event-stream bytes of each read (it feeds
// `parser` and returns true once the stream's end came); `flush` then writes
// what it kept of that read, also after `feed` threw. What they throw stops
// the transfer and is rethrown here. Returns the body when the server sent
// one JSON object instead of a stream (the caller delivers it as a whole
// answer), nullopt when the stream came to its end; throws when it did not.
std::optional<std::string> post_for_stream(ApiCredentials& auth, const AnswerPath& at,
                                           const std::string& body, const ChatRequest& req,
                                           const ChatIo& io, ChatResult& result,
                                           SseParser& parser,
                                           const std::function<bool(std::string_view)>& feed,
                                           const std::function<void()>& flush);

}  // namespace copilot
