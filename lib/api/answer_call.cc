#include "api/answer_call.h"

#include <exception>

#include "api/api_call.h"
#include "api/chat_stream.h"  // StreamStart, kMaxWholeAnswer
#include "api/quota.h"

namespace copilot {

namespace {

// How long an answer may be silent (no byte either way) before it is given
// up on: a stream's chunks come often, a whole answer comes at the end.
constexpr long kStreamSilenceTimeoutS = 300;
constexpr long kWholeAnswerSilenceTimeoutS = 600;

void note(const LogFn& log, const std::string& message) {
    if (log) log(message);
}

HttpRequest answer_request(const ApiCredentials& auth, const AnswerPath& at, const std::string& body,
                           const ChatRequest& req, const ChatIo& io, bool stream) {
    HttpRequest r = api_request(auth, "POST", at.path, io.log);
    r.headers.push_back({"Content-Type", "application/json"});
    if (req.vision) r.headers.push_back({"Copilot-Vision-Request", "true"});
    r.headers.push_back({"Accept", stream ? "text/event-stream" : "application/json"});
    r.body = body;
    r.timeout_ms = 0;  // long answers take long, a stream as long as the answer
    r.silence_timeout_s = stream ? kStreamSilenceTimeoutS : kWholeAnswerSilenceTimeoutS;
    if (!stream) r.max_body = kMaxWholeAnswer;
    return r;
}

}  // namespace

std::string post_for_answer(ApiCredentials& auth, const AnswerPath& at, const std::string& body,
                            const ChatRequest& req, const ChatIo& io, ChatResult& result) {
    bool refreshed = false;
    note(io.log, "POST " + auth.api_url + at.path + " (model " + req.model + ")");
    HttpResponse r = send_with_refresh(
        auth, [&] { return answer_request(auth, at, body, req, io, false); }, io.log, &refreshed);
    if (r.status < 200 || r.status >= 300) throw_chat_status(auth, r, refreshed, req, io);
    result.quota = quota_from_headers(r.headers, io.log);
    return std::move(r.body);
}

std::optional<std::string> post_for_stream(ApiCredentials& auth, const AnswerPath& at,
                                           const std::string& body, const ChatRequest& req,
                                           const ChatIo& io, ChatResult& result,
                                           SseParser& parser,
                                           const std::function<bool(std::string_view)>& feed,
                                           const std::function<void()>& flush) {
    StreamStart start;
    size_t bytes = 0;
    bool done = false;
    std::exception_ptr error;
    auto on_body = [&](std::string_view b) -> bool {
        // Nothing may unwind through libcurl's C frames: keep the exception
        // and stop the transfer; it is rethrown once http_perform returns.
        try {
            bytes += b.size();
            const std::string_view sse = start.feed(b);
            if (start.mode() != StreamStart::Mode::sse) return true;
            done = feed(sse);
            flush();
            return !done;
        } catch (...) {
            error = std::current_exception();
            try {
                flush();  // text that came before an error event is still shown
            } catch (...) {
                error = std::current_exception();  // e.g. stdout closed: that wins
            }
            return false;
        }
    };
    auto make = [&] {
        HttpRequest r = answer_request(auth, at, body, req, io, true);
        r.on_body = on_body;
        return r;
    };
    note(io.log, "POST " + auth.api_url + at.path + " (model " + req.model + ", stream)");
    bool refreshed = false;
    HttpResponse r;
    try {
        r = send_with_refresh(auth, make, io.log, &refreshed);
    } catch (const Error& e) {
        if (error) std::rethrow_exception(error);
        if (bytes > 0)  // the text so far stays delivered; it is incomplete
            throw Error(Exit::protocol, std::string("the answer was cut off: ") + e.what());
        throw;
    }
    if (error) std::rethrow_exception(error);
    if (r.status < 200 || r.status >= 300) throw_chat_status(auth, r, refreshed, req, io);
    result.quota = quota_from_headers(r.headers, io.log);

    if (start.mode() == StreamStart::Mode::json) {
        note(io.log, "the server answered with one JSON object instead of a stream");
        return start.json_body();
    }
    if (!done) {
        parser.finish();
        if (bytes == 0) throw Error(Exit::protocol, "the server sent an empty answer");
        if (parser.events() == 0)
            throw Error(Exit::protocol, "the answer is not an event stream (Content-Type: " +
                                            one_line(r.header("content-type"), auth.token) + ")");
        throw Error(Exit::protocol, std::string("the answer stream ended before ") + at.stream_end +
                                        ": it may be incomplete");
    }
    return std::nullopt;
}

}  // namespace copilot
