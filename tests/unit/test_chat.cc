// lib/api: the request body, chunk parsing, error shapes and exit codes,
// the --json assembler, the models list (without the network).
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "api/chat.h"
#include "api/responses.h"
#include "check.h"
#include "util/files.h"

using namespace copilot;

// Printing for CHECK_EQ; in the type's namespace so that lookup finds it.
namespace copilot {
std::ostream& operator<<(std::ostream& os, Exit e) { return os << static_cast<int>(e); }
}  // namespace copilot

namespace {

// A scratch directory for tests that touch files, removed at exit.
std::string scratch_dir() {
    static std::string dir;
    if (dir.empty()) {
        char tmpl[] = "/tmp/test_chat.XXXXXX";
        const char* d = ::mkdtemp(tmpl);
        if (!d) std::abort();
        dir = d;
        std::atexit([] { std::system(("rm -rf '" + dir + "'").c_str()); });
    }
    return dir;
}

// Env vars restored at scope end, so tests do not leak into each other.
struct EnvGuard {
    std::vector<std::pair<std::string, std::optional<std::string>>> saved;
    void set(const std::string& name, const std::optional<std::string>& value) {
        const char* old = std::getenv(name.c_str());
        saved.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
        if (value)
            ::setenv(name.c_str(), value->c_str(), 1);
        else
            ::unsetenv(name.c_str());
    }
    ~EnvGuard() {
        for (auto it = saved.rbegin(); it != saved.rend(); ++it) {
            if (it->second)
                ::setenv(it->first.c_str(), it->second->c_str(), 1);
            else
                ::unsetenv(it->first.c_str());
        }
    }
};

}  // namespace

// --- chunks -----------------------------------------------------------------------

TEST(chunk_with_content_delta) {
    auto c = parse_chat_chunk(
        R"({"id":"c1","object":"chat.completion.chunk","created":5,"model":"gpt-4.1",)"
        R"("choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]})");
    CHECK_EQ(c.id, "c1");
    CHECK_EQ(c.model, "gpt-4.1");
    CHECK_EQ(c.created, 5);
    CHECK_EQ(c.content, "Hel");
    CHECK(c.role && *c.role == "assistant");
    CHECK(!c.finish_reason);
    CHECK(!c.usage);
}

TEST(chunk_with_empty_choices_is_prompt_filter_results) {
    auto c = parse_chat_chunk(
        R"({"choices":[],"created":0,"id":"","prompt_filter_results":[{"prompt_index":0}]})");
    CHECK_EQ(c.content, "");
    CHECK(!c.finish_reason);
    CHECK(!c.usage);
}

TEST(usage_chunk) {
    auto c = parse_chat_chunk(
        R"({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":7,"total_tokens":10}})");
    CHECK(c.usage.has_value());
    CHECK_EQ(c.usage->prompt_tokens, 3);
    CHECK_EQ(c.usage->completion_tokens, 7);
    CHECK_EQ(c.usage->total_tokens, 10);
    // total missing: the sum
    auto d = parse_chat_chunk(R"({"usage":{"prompt_tokens":2,"completion_tokens":5}})");
    CHECK_EQ(d.usage->total_tokens, 7);
}

TEST(finish_chunk) {
    auto c = parse_chat_chunk(R"({"choices":[{"index":0,"delta":{},"finish_reason":"length"}]})");
    CHECK(c.finish_reason && *c.finish_reason == "length");
    CHECK_EQ(c.content, "");
}

TEST(chunk_with_missing_or_odd_fields_is_tolerated) {
    auto c = parse_chat_chunk(R"({"choices":[{"delta":{"content":"x"}}]})");  // no index, id, model
    CHECK_EQ(c.content, "x");
    CHECK_EQ(c.id, "");
    CHECK_EQ(c.created, 0);
    c = parse_chat_chunk(R"({"id":7,"model":null,"created":"soon","choices":"none"})");
    CHECK_EQ(c.id, "");
    CHECK_EQ(c.content, "");
    c = parse_chat_chunk(R"({"choices":[{"index":0,"delta":{"content":null,"tool_calls":[]}}]})");
    CHECK_EQ(c.content, "");
    c = parse_chat_chunk(R"({})");
    CHECK_EQ(c.content, "");
    // only choice 0 is ours
    c = parse_chat_chunk(R"({"choices":[{"index":1,"delta":{"content":"other"}}]})");
    CHECK_EQ(c.content, "");
    c = parse_chat_chunk(R"({"choices":[{"index":1,"delta":{"content":"b"}},{"index":0,"delta":{"content":"a"}}]})");
    CHECK_EQ(c.content, "a");
    // a whole message in place of a delta (non-streamed answers, some servers' last chunk)
    c = parse_chat_chunk(R"({"choices":[{"index":0,"message":{"role":"assistant","content":"all"}}]})");
    CHECK_EQ(c.content, "all");
}

TEST(chunk_that_is_not_a_json_object_is_a_protocol_error) {
    CHECK_THROWS(parse_chat_chunk("not json"), Exit::protocol);
    CHECK_THROWS(parse_chat_chunk("[1,2]"), Exit::protocol);
    CHECK_THROWS(parse_chat_chunk(""), Exit::protocol);
    CHECK_THROWS(parse_chat_chunk(R"({"choices":[{"delta":{"content":42}}]})"), Exit::protocol);
    CHECK_THROWS(parse_chat_chunk("{\"choices\":[{\"delta\":{\"content\":\"\xff\"}}]}"),
                 Exit::protocol);
}

TEST(error_chunk_throws_by_its_code) {
    CHECK_THROWS_MSG(parse_chat_chunk(R"({"error":{"message":"boom","code":"server_error"}})"),
                     Exit::protocol, "boom (server_error)");
    CHECK_THROWS(parse_chat_chunk(R"({"error":{"message":"slow","code":"rate_limited"}})"),
                 Exit::temp);
    CHECK_THROWS(parse_chat_chunk(R"({"error":{"message":"pay","code":"quota_exceeded"}})"),
                 Exit::permission);
    CHECK_THROWS_MSG(parse_chat_chunk(R"({"error":"plain text"})"), Exit::protocol, "plain text");
    CHECK_THROWS(parse_chat_chunk(R"({"error":{}})"), Exit::protocol);
    // "error": null is no error
    CHECK_EQ(parse_chat_chunk(R"({"error":null,"choices":[{"delta":{"content":"ok"}}]})").content,
             "ok");
}

TEST(api_error_exit_codes) {
    CHECK_EQ(api_error_exit("model_not_supported", 400), Exit::usage);
    CHECK_EQ(api_error_exit("quota_exceeded", 402), Exit::permission);
    CHECK_EQ(api_error_exit("", 402), Exit::permission);
    CHECK_EQ(api_error_exit("", 401), Exit::permission);
    CHECK_EQ(api_error_exit("", 403), Exit::permission);
    CHECK_EQ(api_error_exit("", 429), Exit::temp);
    CHECK_EQ(api_error_exit("rate_limited", 0), Exit::temp);
    CHECK_EQ(api_error_exit("", 500), Exit::unavailable);
    CHECK_EQ(api_error_exit("", 413), Exit::data);
    CHECK_EQ(api_error_exit("bad_request", 400), Exit::protocol);
    CHECK_EQ(api_error_exit("whatever", 0), Exit::protocol);
}

TEST(api_error_shapes) {
    auto e = parse_api_error(R"({"error":{"message":"The requested model is not supported.","code":"model_not_supported","param":"model"}})", "");
    CHECK_EQ(e.message, "The requested model is not supported.");
    CHECK_EQ(e.code, "model_not_supported");
    e = parse_api_error(R"({"error":{"message":"m","type":"invalid_request_error"}})", "");
    CHECK_EQ(e.code, "invalid_request_error");
    e = parse_api_error(R"({"error":"just text"})", "");
    CHECK_EQ(e.message, "just text");
    e = parse_api_error(R"({"message":"Bad credentials","documentation_url":"x"})", "");
    CHECK_EQ(e.message, "Bad credentials");
    e = parse_api_error("unauthorized: token expired\n", "");
    CHECK_EQ(e.message, "unauthorized: token expired");
    CHECK_EQ(e.code, "");
    e = parse_api_error("", "");
    CHECK_EQ(e.message, "");
    // one line, bounded, the secret masked
    e = parse_api_error("line1\nline2 tid=secret;exp=1:mac", "tid=secret;exp=1:mac");
    CHECK_EQ(e.message, "line1 line2 tid=****");
    e = parse_api_error(std::string(5000, 'x'), "");
    CHECK(e.message.size() < 400);
}

// --- --json -------------------------------------------------------------------------

TEST(assembler_builds_the_non_streamed_shape) {
    CompletionAssembler a;
    a.add(parse_chat_chunk(R"({"choices":[],"id":"","created":0})"));
    a.add(parse_chat_chunk(R"({"id":"c9","created":77,"model":"gpt-4.1","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi \"you\""}}]})"));
    a.add(parse_chat_chunk(R"({"id":"c9","created":77,"model":"gpt-4.1","choices":[{"index":0,"delta":{"content":"\n\u00e9"}}]})"));
    a.add(parse_chat_chunk(R"({"id":"c9","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})"));
    a.add(parse_chat_chunk(R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})"));
    CHECK_EQ(a.json(),
             std::string(R"({"id":"c9","object":"chat.completion","created":77,"model":"gpt-4.1",)"
                         R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hi \"you\"\n)"
                         "\xC3\xA9"
                         R"("},"finish_reason":"stop"}],)"
                         R"("usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})"));
}

TEST(assembler_without_finish_or_usage) {
    CompletionAssembler a;
    a.add(parse_chat_chunk(R"({"choices":[{"delta":{"content":"x"}}]})"));
    CHECK_EQ(a.json(), std::string(R"({"id":"","object":"chat.completion","created":0,"model":"",)"
                                   R"("choices":[{"index":0,"message":{"role":"assistant","content":"x"},)"
                                   R"("finish_reason":null}]})"));
}

// --- the request --------------------------------------------------------------------

TEST(body_with_a_prompt) {
    ChatRequest r;
    r.prompt = "say \"hi\"\n\ttab";
    CHECK_EQ(build_chat_body(r),
             std::string(R"({"model":"gpt-4.1","messages":[{"role":"user","content":"say \"hi\"\n\ttab"}],)"
                         R"("stream":true,"stream_options":{"include_usage":true}})"));
}

TEST(body_with_everything) {
    ChatRequest r;
    r.model = "gpt-4o";
    r.system = "be brief";
    r.messages_json = R"([{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[]}])";
    r.prompt = "p";
    r.temperature = 0.7;
    r.max_tokens = 100;
    r.stream = false;
    CHECK_EQ(build_chat_body(r),
             std::string(R"({"model":"gpt-4o","messages":[{"role":"system","content":"be brief"},)"
                         R"({"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[]},)"
                         R"({"role":"user","content":"p"}],"temperature":0.7,"max_tokens":100,"stream":false})"));
}

TEST(body_from_messages_only) {
    ChatRequest r;
    r.messages_json = R"([{"role":"user","content":[{"type":"text","text":"parts"}]}])";
    CHECK_EQ(build_chat_body(r),
             std::string(R"({"model":"gpt-4.1","messages":[{"role":"user","content":[{"type":"text","text":"parts"}]}],)"
                         R"("stream":true,"stream_options":{"include_usage":true}})"));
}

TEST(malformed_messages_are_data_errors_naming_the_message) {
    ChatRequest r;
    r.messages_what = "--messages conv.json";
    r.messages_json = R"({"role":"user"})";
    CHECK_THROWS_MSG(build_chat_body(r), Exit::data, "--messages conv.json: expected a JSON array");
    r.messages_json = R"([{"role":"user","content":"a"}, 5])";
    CHECK_THROWS_MSG(build_chat_body(r), Exit::data, "message 2 is not an object");
    r.messages_json = R"([{"content":"a"}])";
    CHECK_THROWS_MSG(build_chat_body(r), Exit::data, "message 1: field 'role'");
    r.messages_json = R"([{"role":"user","content":3}])";
    CHECK_THROWS_MSG(build_chat_body(r), Exit::data, "field 'content'");
    r.messages_json = "[";
    CHECK_THROWS_MSG(build_chat_body(r), Exit::data, "not valid JSON");
}

TEST(nothing_to_send_is_a_usage_error) {
    ChatRequest r;
    CHECK_THROWS(build_chat_body(r), Exit::usage);
    r.messages_json = "[]";
    CHECK_THROWS(build_chat_body(r), Exit::usage);
}

TEST(compose_prompt_from_args_and_stdin) {
    using O = std::optional<std::string>;
    CHECK(compose_prompt(O{"review this"}, O{"diff\n"}) == O{"review this\n\ndiff\n"});
    CHECK(compose_prompt(O{"only args"}, std::nullopt) == O{"only args"});
    CHECK(compose_prompt(std::nullopt, O{"only stdin\n"}) == O{"only stdin\n"});
    CHECK(compose_prompt(O{"args"}, O{" \n\n"}) == O{"args"});  // blank stdin adds nothing
    CHECK(compose_prompt(O{""}, O{"in"}) == O{"in"});
    CHECK(!compose_prompt(std::nullopt, O{"\n"}));
    CHECK(!compose_prompt(std::nullopt, std::nullopt));
}

TEST(utf8_check) {
    check_utf8("plain ascii", "x");
    check_utf8("h\xC3\xA9 \xE4\xB8\x96 \xF0\x9F\x8E\x89", "x");
    check_utf8(std::string("nul \0 ok", 8), "x");
    CHECK_THROWS_MSG(check_utf8("bad \xFF", "standard input"), Exit::data,
                     "standard input is not valid UTF-8 text (byte 4)");
    CHECK_THROWS(check_utf8("\x80", "x"), Exit::data);              // lone continuation
    CHECK_THROWS(check_utf8("\xC0\x80", "x"), Exit::data);          // overlong NUL
    CHECK_THROWS(check_utf8("\xE0\x80\xAF", "x"), Exit::data);      // overlong '/'
    CHECK_THROWS(check_utf8("\xED\xA0\x80", "x"), Exit::data);      // surrogate
    CHECK_THROWS(check_utf8("\xF4\x90\x80\x80", "x"), Exit::data);  // past U+10FFFF
    CHECK_THROWS(check_utf8("cut \xE4\xB8", "x"), Exit::data);      // truncated at the end
    CHECK_THROWS(check_utf8("\xC3(", "x"), Exit::data);
}

// --- models -----------------------------------------------------------------------

TEST(models_from_copilot) {
    auto m = parse_models(R"({"object":"list","data":[
        {"id":"text-embedding-3-small","vendor":"Azure OpenAI","capabilities":{"type":"embeddings","limits":{"max_context_window_tokens":8191}}},
        {"id":"gpt-4.1","name":"GPT-4.1","vendor":"Azure OpenAI","model_picker_enabled":true,
         "capabilities":{"type":"chat","limits":{"max_context_window_tokens":128000,"max_output_tokens":16384}}},
        {"id":"gpt-4o-mini","vendor":"Azure OpenAI","model_picker_enabled":false,"capabilities":{"type":"chat"}},
        {"name":"no id"},
        {"id":"gpt-4.1","vendor":"dup"}]})");
    CHECK_EQ(m.size(), size_t{4});
    CHECK_EQ(m[1].id, "gpt-4.1");
    CHECK_EQ(m[1].name, "GPT-4.1");
    CHECK(m[1].context_window && *m[1].context_window == 128000);
    CHECK(m[1].max_output && *m[1].max_output == 16384);
    CHECK(m[1].picker && *m[1].picker);
    CHECK(!m[0].max_output);
    CHECK_EQ(m[0].type, "embeddings");

    auto chat = select_models(m, false);
    CHECK_EQ(chat.size(), size_t{2});  // duplicate id dropped, embeddings left out
    CHECK_EQ(chat[0].id, "gpt-4.1");
    CHECK_EQ(chat[0].vendor, "Azure OpenAI");
    CHECK_EQ(chat[1].id, "gpt-4o-mini");
    auto all = select_models(m, true);
    CHECK_EQ(all.size(), size_t{3});
    CHECK_EQ(all[2].id, "text-embedding-3-small");  // chat models first
}

TEST(models_from_an_openai_compatible_server) {
    auto m = parse_models(R"({"object":"list","data":[{"id":"llama3","object":"model","owned_by":"meta","created":1}]})");
    CHECK_EQ(m.size(), size_t{1});
    CHECK_EQ(m[0].type, "chat");  // no capabilities: assumed to chat
    CHECK_EQ(m[0].vendor, "meta");
    CHECK(!m[0].picker);
    auto bare = parse_models(R"([{"id":"a"},{"id":"b","capabilities":"odd"}])");
    CHECK_EQ(bare.size(), size_t{2});
}

TEST(models_answer_that_is_not_a_list_is_a_protocol_error) {
    CHECK_THROWS(parse_models("<html>"), Exit::protocol);
    CHECK_THROWS(parse_models(R"({"models":[]})"), Exit::protocol);
    CHECK_THROWS(parse_models(R"({"data":{}})"), Exit::protocol);
    CHECK_EQ(parse_models(R"({"data":[]})").size(), size_t{0});
}

TEST(models_cache_holds_chat_ids_one_a_line) {
    EnvGuard env;
    env.set("XDG_CACHE_HOME", scratch_dir() + "/cache");
    auto m = parse_models(R"({"data":[{"id":"gpt-4.1"},{"id":"emb","capabilities":{"type":"embeddings"}},)"
                          R"({"id":"bad id"},{"id":"o3-mini"}]})");
    write_models_cache(m);
    CHECK_EQ(models_cache_path(), scratch_dir() + "/cache/copilot-utils/models.txt");
    auto text = read_file(models_cache_path(), 1 << 20);
    CHECK(text.has_value());
    CHECK_EQ(*text, "gpt-4.1\no3-mini\n");
    CHECK(file_mode(models_cache_path()) == std::optional<mode_t>(0600));
}

// The Copilot token and the base URL: tests/unit/test_credentials.cc.

// --- tool calls (issue 13: never dropped) -----------------------------------------

TEST(streamed_tool_calls_are_assembled_by_index) {
    CompletionAssembler a;
    a.add(parse_chat_chunk(R"({"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]}}]})"));
    a.add(parse_chat_chunk(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}}]})"));
    a.add(parse_chat_chunk(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","function":{"name":"now","arguments":"{}"}}]}}]})"));
    a.add(parse_chat_chunk(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}}]})"));
    a.add(parse_chat_chunk(R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})"));
    CHECK_EQ(a.tool_calls().size(), size_t{2});
    CHECK_EQ(a.tool_calls()[0].arguments, "{\"city\":\"Paris\"}");
    CHECK_EQ(a.tool_calls()[1].name, "now");
    CHECK_EQ(a.json(),
             std::string(R"({"id":"c1","object":"chat.completion","created":0,"model":"",)"
                         R"("choices":[{"index":0,"message":{"role":"assistant","content":"",)"
                         R"("tool_calls":[{"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},)"
                         R"({"id":"call_b","type":"function","function":{"name":"now","arguments":"{}"}}]},)"
                         R"("finish_reason":"tool_calls"}]})"));
}

TEST(a_whole_message_with_tool_calls) {
    ChatChunk c = parse_chat_chunk(R"({"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"x","type":"function","function":{"name":"f","arguments":"{}"}}]}}]})");
    CHECK_EQ(c.tool_calls.size(), size_t{1});
    CHECK_EQ(c.tool_calls[0].index, int64_t{0});
    CHECK_EQ(c.tool_calls[0].name, "f");
}

// --- the Responses request ------------------------------------------------------------

TEST(responses_body_with_everything) {
    ChatRequest r;
    r.model = "gpt-5-codex";
    r.system = "be brief";
    r.messages_json = R"([{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:x","detail":"low"}}]},)"
                      R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},)"
                      R"({"role":"tool","tool_call_id":"c1","content":[{"type":"text","text":"4"},{"type":"text","text":"2"}]},)"
                      R"({"role":"assistant","content":[{"type":"text","text":"so 42"}]}])";
    r.prompt = "p";
    r.temperature = 0.5;
    r.max_tokens = 100;
    r.reasoning_effort = "high";
    r.reasoning_summary = true;
    CHECK_EQ(build_responses_body(r),
             std::string(R"({"model":"gpt-5-codex","input":[{"type":"message","role":"system","content":"be brief"},)"
                         R"({"type":"message","role":"user","content":[{"type":"input_text","text":"look"},{"type":"input_image","image_url":"data:x","detail":"low"}]},)"
                         R"({"type":"function_call","call_id":"c1","name":"f","arguments":"{\"a\":1}"},)"
                         R"({"type":"function_call_output","call_id":"c1","output":"42"},)"
                         R"({"type":"message","role":"assistant","content":[{"type":"output_text","text":"so 42"}]},)"
                         R"({"type":"message","role":"user","content":"p"}],)"
                         R"("temperature":0.5,"max_output_tokens":100,"reasoning":{"effort":"high","summary":"auto"},)"
                         R"("stream":true,"store":false})"));
    r.reasoning_summary = false;
    r.stream = false;
    CHECK(build_responses_body(r).find(R"("reasoning":{"effort":"high"},"stream":false)") != std::string::npos);
}

namespace {
ChatRequest with_messages(const std::string& json) {
    ChatRequest r;
    r.messages_json = json;
    return r;
}
}  // namespace

TEST(responses_body_refuses_what_has_no_responses_form) {
    CHECK_THROWS(build_responses_body(with_messages(
                     R"([{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}])")),
                 Exit::data);
    CHECK_THROWS(build_responses_body(with_messages(R"([{"role":"function","name":"f","content":"x"}])")),
                 Exit::data);
    CHECK_THROWS(build_responses_body(with_messages(R"([{"role":"tool","content":"no id"}])")),
                 Exit::data);
    CHECK_THROWS(build_responses_body(with_messages(R"([{"role":"user","tool_calls":[]}])")),
                 Exit::data);
    CHECK_THROWS(build_responses_body(with_messages("[]")), Exit::usage);
}

TEST(chat_body_carries_reasoning_effort) {
    ChatRequest r = with_messages(R"([{"role":"user","content":"p"}])");
    r.reasoning_effort = std::string("low");
    CHECK(build_chat_body(r).find(R"("reasoning_effort":"low")") != std::string::npos);
}

// Blank space is held until the byte that decides; an event stream then
// gets it back in front, a JSON answer is kept whole (api/chat_stream.h).
TEST(stream_start_tells_a_stream_from_json) {
    copilot::StreamStart s;
    CHECK(s.feed("\r\n ").empty());
    CHECK(s.mode() == copilot::StreamStart::Mode::unknown);
    CHECK_EQ(std::string(s.feed("data: a\n\n")), std::string("\r\n data: a\n\n"));
    CHECK(s.mode() == copilot::StreamStart::Mode::sse);
    CHECK_EQ(std::string(s.feed("data: b\n\n")), std::string("data: b\n\n"));

    copilot::StreamStart j;
    CHECK(j.feed("\n").empty());
    CHECK(j.feed("{\"id\":").empty());
    CHECK(j.feed("1}").empty());
    CHECK(j.mode() == copilot::StreamStart::Mode::json);
    CHECK_EQ(j.json_body(), std::string("{\"id\":1}"));

    copilot::StreamStart b;
    CHECK(b.feed(std::string(4096, ' ')).empty());
    CHECK_THROWS(b.feed(" "), copilot::Exit::protocol);
}
