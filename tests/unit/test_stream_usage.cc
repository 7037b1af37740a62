// Unit tests for lib/wire/usage (the token counts of an answer or an event,
// in each wire API's shape) and lib/serve/stream_usage (the counts of a
// stream copilot-serve passes through unparsed).
#include <optional>
#include <string>

#include "check.h"
#include "serve/stream_usage.h"
#include "util/json.h"
#include "wire/usage.h"

using namespace copilot;
using wire::Api;

namespace {

std::string counts(const wire::Usage& u) {
    return std::to_string(u.input) + "/" + std::to_string(u.output) + "/" +
           std::to_string(u.cached) + "/" + std::to_string(u.reasoning);
}

// Both readers, the document's and the text's: each case is checked to
// read the same from either.
std::string read(Api api, const std::string& json) {
    const auto doc = json_parse(json, JsonSource{"test", Exit::data}, false);
    wire::Usage u;
    const std::string from_doc = wire::read_usage(api, doc, &u) ? counts(u) : "none";
    wire::Usage t;
    const std::string from_text = wire::read_usage(api, std::string_view(json), &t) ? counts(t) : "none";
    CHECK_EQ(from_text, from_doc);
    return from_doc;
}

std::string read_text(Api api, std::string_view json) {
    wire::Usage u;
    return wire::read_usage(api, json, &u) ? counts(u) : "none";
}

std::string scanned(Api api, const std::string& stream) {
    StreamUsage s(api);
    s.scan(stream);
    const auto u = s.usage();
    return u ? counts(*u) : "none";
}

}  // namespace

TEST(each_api_reads_its_own_names) {
    CHECK_EQ(read(Api::chat, R"({"usage":{"prompt_tokens":50,"completion_tokens":20,"prompt_tokens_details":{"cached_tokens":40},"completion_tokens_details":{"reasoning_tokens":12}}})"),
             "50/20/40/12");
    CHECK_EQ(read(Api::responses, R"({"usage":{"input_tokens":9,"output_tokens":7,"input_tokens_details":{"cached_tokens":8},"output_tokens_details":{"reasoning_tokens":5}}})"),
             "9/7/8/5");
    // Anthropic's input_tokens leave the cache out: every input token is counted.
    CHECK_EQ(read(Api::messages, R"({"usage":{"input_tokens":3,"cache_read_input_tokens":10,"cache_creation_input_tokens":2,"output_tokens":6}})"),
             "15/6/10/0");
}

TEST(events_carry_usage_where_their_api_puts_it) {
    CHECK_EQ(read(Api::responses, R"({"type":"response.completed","response":{"usage":{"input_tokens":4,"output_tokens":2}}})"),
             "4/2/0/0");
    CHECK_EQ(read(Api::messages, R"({"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":1}}})"),
             "5/1/0/0");
    // Another API's place is not looked at.
    CHECK_EQ(read(Api::chat, R"({"response":{"usage":{"prompt_tokens":4}}})"), "none");
}

TEST(no_usage_and_counts_that_are_not_counts) {
    CHECK_EQ(read(Api::chat, R"({"choices":[]})"), "none");
    CHECK_EQ(read(Api::chat, R"({"usage":null})"), "none");
    CHECK_EQ(read(Api::chat, "[1]"), "none");
    CHECK_EQ(read(Api::chat, R"({"usage":{"prompt_tokens":"7","completion_tokens":-3}})"), "0/0/0/0");
    CHECK_EQ(read(Api::chat, R"({"usage":{"prompt_tokens":7.0,"completion_tokens":1e300}})"), "7/0/0/0");
}

TEST(the_text_reader_follows_only_the_path_to_the_counts) {
    // Counts elsewhere, in arrays and in other objects, are not the answer's.
    CHECK_EQ(read(Api::chat, R"({"choices":[{"usage":{"prompt_tokens":1}}],"x":{"usage":{"prompt_tokens":2}},"usage":{"prompt_tokens":3,"extra":{"prompt_tokens":4},"prompt_tokens_details":{"cached_tokens":[5],"x":{"cached_tokens":6}}}})"),
             "3/0/0/0");
    // The answer's own usage wins over its holder's, wherever it comes.
    CHECK_EQ(read(Api::responses, R"({"response":{"usage":{"input_tokens":1}},"usage":{"input_tokens":2}})"), "2/0/0/0");
    CHECK_EQ(read(Api::responses, R"({"usage":7,"response":{"usage":{"input_tokens":1}}})"), "1/0/0/0");
    CHECK_EQ(read(Api::chat, R"({"usage":{"prompt_tokens":9223372036854775807,"completion_tokens":9223372036854775808}})"),
             "9223372036854775807/0/0/0");
    CHECK_EQ(read(Api::chat, R"([[[[[[{"usage":{"prompt_tokens":1}}]]]]]])"), "none");
    CHECK_EQ(read(Api::messages, R"({"message":{"message":{"usage":{"input_tokens":1}}}})"), "none");
}

TEST(the_text_reader_refuses_what_is_not_json_or_is_ambiguous) {
    CHECK_EQ(read_text(Api::chat, R"({"usage":{"prompt_tokens":1})"), "none");  // cut short
    CHECK_EQ(read_text(Api::chat, R"({"usage":{"prompt_tokens":1}} x)"), "none");
    CHECK_EQ(read_text(Api::chat, ""), "none");
    CHECK_EQ(read_text(Api::chat, R"({"usage":{"prompt_tokens":1,"prompt_tokens":2}})"), "none");
    CHECK_EQ(read_text(Api::chat, R"({"usage":{"prompt_tokens":1},"usage":{}})"), "none");
    // A repeated name elsewhere does not matter to the counts.
    CHECK_EQ(read_text(Api::chat, R"({"id":"a","id":"b","usage":{"prompt_tokens":1}})"), "1/0/0/0");
    // Deep nesting is walked without recursion.
    std::string deep(100000, '[');
    CHECK_EQ(read_text(Api::chat, deep + std::string(100000, ']')), "none");
}

TEST(a_messages_stream_tells_the_input_first_and_the_output_last) {
    const std::string stream =
        "event: message_start\n"
        "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,\"cache_read_input_tokens\":4,\"output_tokens\":1}}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n"
        "event: message_delta\n"
        "data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}\n\n";
    CHECK_EQ(scanned(Api::messages, stream), "7/9/4/0");
}

TEST(a_stream_scanned_in_pieces_of_whole_events_adds_up) {
    StreamUsage s(Api::chat);
    s.scan("data: {\"choices\":[{\"delta\":{\"content\":\"usage\"}}]}\n\n");
    CHECK(!s.usage());  // the word in an answer is not a usage object
    s.scan("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":5}}\r\n\r\ndata: [DONE]\n\n");
    CHECK(s.usage());
    CHECK_EQ(counts(*s.usage()), "2/5/0/0");
}

TEST(events_that_are_not_json_report_nothing_and_break_nothing) {
    CHECK_EQ(scanned(Api::chat, "data: {\"usage\": nope\n\ndata: [DONE]\n\n"), "none");
    CHECK_EQ(scanned(Api::chat, ": \"usage\" in a comment\n\n"), "none");
    CHECK_EQ(scanned(Api::chat, "data: {\"usage\":{\"prompt_tokens\":1},\"usage\":{\"prompt_tokens\":2}}\n\n"), "none");
    CHECK_EQ(scanned(Api::responses, ""), "none");
}
