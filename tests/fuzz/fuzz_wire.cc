// The wire-API translations (lib/wire), fed what a hostile client or upstream
// may send. Input: byte 0 picks the translation, the rest is the document (a
// request body, a whole answer) or an upstream event stream.
// Checks:
//   - a request or a whole answer either translates into one JSON object
//     (which the project's strict parser accepts: no duplicate keys) or
//     throws copilot::Error — never anything else;
//   - a stream translator never throws, whatever the events; after end() or
//     fail() what it wrote is a well-formed event stream whose every data is
//     JSON (or Chat's "[DONE]"), and nothing follows a fail();
//   - the request facts and count_tokens never fail but with copilot::Error;
//   - the usage read from text (a SAX handler) is the usage read from the
//     document, for every API, whenever the strict parser takes the text.
#include <memory>
#include <string>

#include "fuzz_common.h"
#include "net/sse.h"
#include "util/json.h"
#include "wire/messages.h"
#include "wire/responses.h"
#include "wire/tokens.h"
#include "wire/usage.h"

using namespace copilot;

namespace {

const JsonSource kOut{"translated document", Exit::protocol};

void check_json(const std::string& doc, const char* what) {
    try {
        rapidjson::Document d = json_parse(doc, kOut);
        FUZZ_CHECK(d.IsObject(), what);
    } catch (const Error&) {
        std::fprintf(stderr, "%s: not JSON: %.200s\n", what, doc.c_str());
        FUZZ_CHECK(false, what);
    }
}

void check_stream(const std::string& sse, const char* what) {
    SseParser p;
    std::vector<SseEvent> events;
    try {
        events = p.feed(sse);
        FUZZ_CHECK(!p.finish(), "a translated stream ends inside an event");
    } catch (const Error&) {
        FUZZ_CHECK(false, "a translated stream does not parse as SSE");
    }
    for (const SseEvent& e : events)
        if (e.data != "[DONE]") check_json(e.data, what);
}

// Splits the input into upstream events (the SSE parser's reading of it) and
// feeds them; `mode` says how the stream ends.
void run_stream(wire::StreamTranslator& t, std::string_view input, uint8_t mode) {
    SseParser p;
    std::vector<SseEvent> events;
    try {
        events = p.feed(input);
    } catch (const Error&) {
    }
    for (const SseEvent& e : events) t.event(e.type == "message" ? "" : e.type, e.data);
    if (mode & 1)
        t.fail("the upstream broke");
    else
        t.end();
}

constexpr wire::Api kApis[] = {wire::Api::chat, wire::Api::responses, wire::Api::messages};

// The two usage readers agree where the document reader has a document.
void check_usage_readers(std::string_view text) {
    rapidjson::Document doc;
    try {
        doc = json_parse(text, kOut, false);
    } catch (const Error&) {
        for (wire::Api api : kApis) {
            wire::Usage u;
            (void)wire::read_usage(api, text, &u);  // anything but a crash
        }
        return;
    }
    for (wire::Api api : kApis) {
        wire::Usage from_doc{1, 2, 3, 4}, from_text{1, 2, 3, 4};  // what stays must stay
        const bool d = wire::read_usage(api, doc, &from_doc);
        const bool t = wire::read_usage(api, text, &from_text);
        FUZZ_CHECK(d == t, "the usage readers disagree on whether there is a usage");
        FUZZ_CHECK(from_doc.input == from_text.input && from_doc.output == from_text.output &&
                       from_doc.cached == from_text.cached && from_doc.reasoning == from_text.reasoning,
                   "the usage readers disagree on the counts");
    }
}

template <typename F>
void expect_error_only(F&& f) {
    try {
        f();
    } catch (const Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint8_t pick = data[0];
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    wire::Context ctx;
    ctx.model = "m";
    ctx.id = "id_fuzz";
    ctx.created = 1;
    wire::RequestOptions ro;
    ro.keep_reasoning = pick & 0x10;

    switch ((pick >> 1) % 8) {
    case 0:
        expect_error_only([&] { check_json(wire::responses_request_to_chat(text, ro), "responses->chat request"); });
        expect_error_only([&] { (void)wire::responses_facts(text); });
        break;
    case 1:
        expect_error_only([&] { check_json(wire::chat_request_to_responses(text, ro), "chat->responses request"); });
        expect_error_only([&] { (void)wire::chat_facts(text); });
        break;
    case 2: {
        wire::ChatOptions co;
        co.reasoning = pick & 0x10;
        expect_error_only([&] { check_json(wire::messages_to_chat_request(text, co).body, "messages->chat request"); });
        expect_error_only([&] { (void)wire::messages_facts(text); });
        expect_error_only([&] { FUZZ_CHECK(wire::count_tokens(text) >= 0, "negative token count"); });
        break;
    }
    case 3:
        expect_error_only([&] { check_json(wire::chat_answer_to_responses(text, ctx), "chat->responses answer"); });
        expect_error_only([&] { check_json(wire::responses_answer_to_chat(text, ctx), "responses->chat answer"); });
        expect_error_only([&] { check_json(wire::chat_to_messages_answer(text, ctx), "chat->messages answer"); });
        check_usage_readers(text);
        break;
    case 4: {
        std::string out;
        wire::SseWriter w(&out);
        auto t = wire::chat_stream_to_responses(&w, ctx);
        run_stream(*t, text, pick);
        check_stream(out, "chat->responses stream");
        break;
    }
    case 5: {
        std::string out;
        wire::SseWriter w(&out);
        auto t = wire::responses_stream_to_chat(&w, ctx, pick & 0x20);
        run_stream(*t, text, pick);
        check_stream(out, "responses->chat stream");
        break;
    }
    case 6: {
        std::string out;
        wire::SseWriter w(&out);
        wire::ChatToMessagesStream t(w, ctx, 3);
        if (pick & 0x20) t.ping();
        run_stream(t, text, pick);
        check_stream(out, "chat->messages stream");
        break;
    }
    default: {  // the chain an Anthropic client of a Responses-only model takes
        std::string out;
        wire::SseWriter w(&out);
        wire::ChatToMessagesStream m(w, ctx, 0);
        auto t = wire::responses_stream_to_chat(&m, ctx, true);
        run_stream(*t, text, pick);
        if (pick & 1) m.fail("the upstream broke");
        else m.end();
        check_stream(out, "responses->chat->messages stream");
        break;
    }
    }
    return 0;
}
