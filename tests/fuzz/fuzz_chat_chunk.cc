// One streamed chat chunk (the data of one SSE event), and the model list
// (GET /models), both from the Copilot API. The same bytes go to both.
// Checks: bad input throws copilot::Error only; an {"error": ...} chunk
// throws with the exit code api_error_exit gives its code; accepted chunks
// assemble (CompletionAssembler, for --json) into a completion object that
// parses and carries the content and finish_reason it was given; model ids
// are non-empty and the chat selection has no duplicates.
#include <set>

#include "api/chat.h"
#include "fuzz_common.h"
#include "util/json.h"

using namespace copilot;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const JsonSource src{"assembled completion", Exit::protocol};

    try {
        ChatChunk c = parse_chat_chunk(text);
        CompletionAssembler a;
        a.add(c);
        a.add(c);  // the same chunk twice: content accumulates
        FUZZ_CHECK(a.content() == c.content + c.content, "the assembler lost content");
        std::string json = a.json();
        rapidjson::Document doc;
        try {
            doc = json_parse(json, src);
        } catch (const Error& e) {
            std::fprintf(stderr, "assembled completion does not parse: %s\n", e.what());
            FUZZ_CHECK(false, "CompletionAssembler wrote JSON that does not parse");
        }
        const JsonValue& choice = doc["choices"][0];
        const JsonValue& content = choice["message"]["content"];
        FUZZ_CHECK(std::string(content.GetString(), content.GetStringLength()) == a.content(),
                   "the completion object changed the content");
        FUZZ_CHECK(choice["finish_reason"].IsNull() == !c.finish_reason,
                   "the completion object lost finish_reason");
    } catch (const Error& e) {
        const Exit x = e.code();
        FUZZ_CHECK(x == Exit::protocol || x == Exit::usage || x == Exit::permission ||
                       x == Exit::temp || x == Exit::unavailable || x == Exit::data,
                   "a chunk failed with an unexpected exit code");
        FUZZ_CHECK(std::string(e.what()).find('\n') == std::string::npos,
                   "a chunk error is not one line");
    }

    try {
        const auto models = parse_models(text);
        for (const auto& m : models) FUZZ_CHECK(!m.id.empty(), "a model without an id");
        std::set<std::string> seen;
        for (const auto& m : select_models(models, false)) {
            FUZZ_CHECK(m.type == "chat", "a non-chat model in the chat selection");
            FUZZ_CHECK(seen.insert(m.id).second, "a duplicate model in the selection");
        }
        FUZZ_CHECK(select_models(models, true).size() >= seen.size(), "--all lists fewer models");
    } catch (const Error& e) {
        FUZZ_CHECK(e.code() == Exit::protocol, "a bad model list is not a protocol error");
    }
    return 0;
}
