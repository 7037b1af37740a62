// OpenAI Chat <-> OpenAI Responses (lib/wire/responses): request facts, both
// request directions, whole answers and streams, each checked against the
// exact document it must produce.
#include <string>
#include <vector>

#include "check.h"
#include "util/json.h"
#include "wire/responses.h"

using namespace copilot;
using namespace copilot::wire;

namespace {

const JsonSource kSrc{"test", Exit::data};

// A JSON literal written readably, compacted as json_dump writes it.
std::string J(const std::string& s) { return json_dump(json_parse(s, kSrc, false)); }

// The field an Untranslatable names, or "" when `fn` does not throw one.
template <typename F>
std::string untranslatable_field(F fn) {
    try {
        fn();
    } catch (const Untranslatable& e) {
        return e.field();
    } catch (const Error& e) {
        return std::string("other error: ") + e.what();
    }
    return "";
}

struct Recorder : EventSink {
    std::vector<std::pair<std::string, std::string>> events;
    void event(std::string_view name, std::string_view data) override {
        events.emplace_back(std::string(name), std::string(data));
    }
    std::string types() const {
        std::string s;
        for (const auto& e : events) s += (s.empty() ? "" : " ") + (e.first.empty() ? std::string("-") : e.first);
        return s;
    }
};

Context ctx(const char* id) {
    Context c;
    c.model = "gpt-test";
    c.id = id;
    c.created = 1700000000;
    return c;
}

}  // namespace

// ---- facts -------------------------------------------------------------------

TEST(chat_facts_user_agent_vision) {
    auto f = chat_facts(R"({"model":"m","stream":true,"messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"}]})");
    CHECK_EQ(f.model, std::string("m"));
    CHECK(f.stream);
    CHECK(!f.agent);
    CHECK(!f.vision);
    // A tool result last: the agent's turn, even with a system message after it.
    f = chat_facts(R"({"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[]},{"role":"tool","tool_call_id":"c","content":"42"},{"role":"system","content":"late"}]})");
    CHECK(f.agent);
    CHECK(!f.stream);
    f = chat_facts(R"({"messages":[{"role":"user","content":[{"type":"text","text":"x"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA"}}]}]})");
    CHECK(f.vision);
    CHECK(!f.agent);
    f = chat_facts(R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]})");
    CHECK(f.agent);
    CHECK_THROWS(chat_facts("[1]"), Exit::data);
    CHECK_THROWS(chat_facts("not json"), Exit::data);
    CHECK_THROWS(chat_facts(R"({"model":1})"), Exit::data);
}

TEST(responses_facts_user_agent_vision) {
    auto f = responses_facts(R"({"model":"m","input":"hi","stream":true})");
    CHECK_EQ(f.model, std::string("m"));
    CHECK(f.stream && !f.agent && !f.vision);
    f = responses_facts(R"({"input":[{"role":"user","content":"q"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":"1"},{"type":"message","role":"developer","content":"x"}]})");
    CHECK(f.agent);
    f = responses_facts(R"({"input":[{"type":"message","role":"user","content":[{"type":"input_image","image_url":"data:image/png;base64,AA"}]}]})");
    CHECK(f.vision && !f.agent);
    CHECK_THROWS(responses_facts("\"x\""), Exit::data);
    CHECK(chat_include_usage(R"({"stream_options":{"include_usage":true}})"));
    CHECK(!chat_include_usage(R"({"stream":true})"));
}

// ---- Responses request -> Chat -------------------------------------------------

TEST(responses_request_to_chat_full) {
    const std::string got = responses_request_to_chat(R"({
        "model":"gpt-4o","instructions":"be brief","stream":true,"store":false,
        "service_tier":"auto","truncation":"auto","include":[],"max_output_tokens":100,
        "temperature":0.5,"top_p":1,"parallel_tool_calls":true,"user":"u1",
        "reasoning":{"effort":"high","summary":"auto"},
        "text":{"format":{"type":"json_schema","name":"x","schema":{"type":"object"},"strict":true}},
        "tools":[{"type":"function","name":"get","description":"d","parameters":{"type":"object"},"strict":false}],
        "tool_choice":{"type":"function","name":"get"},
        "input":[
          {"type":"message","role":"developer","content":"dev"},
          {"role":"user","content":[{"type":"input_text","text":"look"},{"type":"input_image","image_url":"https://x/i.png","detail":"low"}]},
          {"type":"message","role":"assistant","content":[{"type":"output_text","text":"calling"}]},
          {"type":"function_call","call_id":"c1","name":"get","arguments":"{\"a\":1}"},
          {"type":"function_call","call_id":"c2","name":"get","arguments":"{}"},
          {"type":"reasoning","id":"rs_1","summary":[]},
          {"type":"function_call_output","call_id":"c1","output":"one"},
          {"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"two"}]},
          {"type":"function_call","call_id":"c3","name":"get","arguments":"{}"}
        ]})");
    CHECK_EQ(got, J(R"({"model":"gpt-4o","messages":[
        {"role":"system","content":"be brief"},
        {"role":"system","content":"dev"},
        {"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"https://x/i.png","detail":"low"}}]},
        {"role":"assistant","content":"calling","tool_calls":[
          {"id":"c1","type":"function","function":{"name":"get","arguments":"{\"a\":1}"}},
          {"id":"c2","type":"function","function":{"name":"get","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"c1","content":"one"},
        {"role":"tool","tool_call_id":"c2","content":"two"},
        {"role":"assistant","content":null,"tool_calls":[{"id":"c3","type":"function","function":{"name":"get","arguments":"{}"}}]}],
      "stream":true,"stream_options":{"include_usage":true},"max_tokens":100,"temperature":0.5,"top_p":1,
      "parallel_tool_calls":true,"user":"u1",
      "response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"},"strict":true}},
      "tools":[{"type":"function","function":{"name":"get","description":"d","parameters":{"type":"object"},"strict":false}}],
      "tool_choice":{"type":"function","function":{"name":"get"}}})"));
    // reasoning kept only when asked.
    RequestOptions keep;
    keep.keep_reasoning = true;
    CHECK_EQ(responses_request_to_chat(R"({"model":"o","input":"hi","reasoning":{"effort":"low"},"tool_choice":"auto"})", keep),
             J(R"({"model":"o","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"low","tool_choice":"auto"})"));
}

TEST(responses_request_to_chat_untranslatable) {
    auto field = [](const char* body) {
        return untranslatable_field([&] { responses_request_to_chat(body); });
    };
    CHECK_EQ(field(R"({"input":"x","previous_response_id":"resp_1"})"), std::string("previous_response_id"));
    CHECK_EQ(field(R"({"input":"x","tools":[{"type":"function","name":"f"},{"type":"web_search"}]})"), std::string("tools[1].type"));
    CHECK_EQ(field(R"({"input":[{"role":"user","content":[{"type":"input_image","file_id":"file_1"}]}]})"), std::string("input[0].content[0].file_id"));
    CHECK_EQ(field(R"({"input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]})"), std::string("input[0].content[0].type"));
    CHECK_EQ(field(R"({"input":[{"type":"item_reference","id":"x"}]})"), std::string("input[0].type"));
    CHECK_EQ(field(R"({"input":"x","tool_choice":{"type":"file_search"}})"), std::string("tool_choice.type"));
    CHECK_EQ(field(R"({"input":"x","background":true})"), std::string("background"));
    CHECK_EQ(field(R"({"input":"x","frobnicate":1})"), std::string("frobnicate"));
    CHECK_THROWS(responses_request_to_chat(R"({"input":5})"), Exit::data);
    CHECK_THROWS(responses_request_to_chat("[]"), Exit::data);
}

// ---- Chat request -> Responses -------------------------------------------------

TEST(chat_request_to_responses_full) {
    RequestOptions keep;
    keep.keep_reasoning = true;
    const std::string got = chat_request_to_responses(R"({
        "model":"gpt-5-codex","stream":true,"stream_options":{"include_usage":true},
        "max_completion_tokens":50,"temperature":1,"reasoning_effort":"medium","n":1,
        "response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{}}},
        "tools":[{"type":"function","function":{"name":"get","parameters":{"type":"object"}}}],
        "tool_choice":"required",
        "messages":[
          {"role":"system","content":"sys"},
          {"role":"developer","content":[{"type":"text","text":"dev"}]},
          {"role":"user","content":[{"type":"text","text":"see"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA"}}]},
          {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get","arguments":"{}"}}]},
          {"role":"tool","tool_call_id":"c1","content":"result"},
          {"role":"system","content":"late"},
          {"role":"assistant","content":"done"}
        ]})", keep);
    CHECK_EQ(got, J(R"({"model":"gpt-5-codex","instructions":"sys\n\ndev","input":[
        {"type":"message","role":"user","content":[{"type":"input_text","text":"see"},{"type":"input_image","image_url":"data:image/png;base64,AA","detail":"auto"}]},
        {"type":"function_call","call_id":"c1","name":"get","arguments":"{}"},
        {"type":"function_call_output","call_id":"c1","output":"result"},
        {"type":"message","role":"system","content":[{"type":"input_text","text":"late"}]},
        {"type":"message","role":"assistant","content":[{"type":"output_text","text":"done","annotations":[]}]}],
      "stream":true,"max_output_tokens":50,"temperature":1,"reasoning":{"effort":"medium"},
      "text":{"format":{"type":"json_schema","name":"s","schema":{}}},
      "tools":[{"type":"function","name":"get","parameters":{"type":"object"}}],
      "tool_choice":"required","store":false})"));
    // Without keep_reasoning the effort is dropped.
    CHECK_EQ(chat_request_to_responses(R"({"model":"m","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"low","tool_choice":{"type":"function","function":{"name":"f"}}})"),
             J(R"({"model":"m","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}],"tool_choice":{"type":"function","name":"f"},"store":false})"));
}

TEST(chat_request_to_responses_untranslatable) {
    auto field = [](const char* body) {
        return untranslatable_field([&] { chat_request_to_responses(body); });
    };
    const char* m = R"("messages":[{"role":"user","content":"x"}])";
    auto with = [&](const char* extra) { return std::string("{") + m + "," + extra + "}"; };
    CHECK_EQ(field(with(R"("n":2)").c_str()), std::string("n"));
    CHECK_EQ(field(with(R"("logprobs":true)").c_str()), std::string("logprobs"));
    CHECK_EQ(field(with(R"("functions":[])").c_str()), std::string("functions"));
    CHECK_EQ(field(with(R"("stop":["x"])").c_str()), std::string("stop"));
    CHECK_EQ(field(with(R"("tools":[{"type":"custom","custom":{}}])").c_str()), std::string("tools[0].type"));
    CHECK_EQ(field(R"({"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]})"), std::string("messages[0].content[0].type"));
    CHECK_EQ(field(R"({"messages":[{"role":"function","name":"f","content":"x"}]})"), std::string("messages[0].role"));
    CHECK_EQ(field(with(R"("n":1,"logprobs":false,"seed":3,"store":true)").c_str()), std::string(""));
    CHECK_THROWS(chat_request_to_responses(R"({"model":"m"})"), Exit::data);
    CHECK_THROWS(chat_request_to_responses(R"({"messages":{}})"), Exit::data);
}

// ---- whole answers -------------------------------------------------------------

TEST(chat_answer_to_responses_text_and_calls) {
    const std::string got = chat_answer_to_responses(R"({"id":"chatcmpl-1","object":"chat.completion","model":"up",
        "choices":[{"index":0,"message":{"role":"assistant","content":"hello","tool_calls":[
          {"id":"call_1","type":"function","function":{"name":"get","arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"}],
        "usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":4},
                 "completion_tokens_details":{"reasoning_tokens":2}}})",
                                                      ctx("resp_abc"));
    CHECK_EQ(got, J(R"({"id":"resp_abc","object":"response","created_at":1700000000,"status":"completed",
        "error":null,"incomplete_details":null,"model":"gpt-test","output":[
          {"id":"msg_abc","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"hello","annotations":[]}]},
          {"id":"fc_abc_0","type":"function_call","status":"completed","call_id":"call_1","name":"get","arguments":"{\"a\":1}"}],
        "usage":{"input_tokens":10,"input_tokens_details":{"cached_tokens":4},"output_tokens":5,
                 "output_tokens_details":{"reasoning_tokens":2},"total_tokens":15}})"));
    // Cut at the token limit: incomplete, as Responses says it.
    const std::string cut = chat_answer_to_responses(R"({"choices":[{"message":{"role":"assistant","content":"hel"},"finish_reason":"length"}]})",
                                                      ctx("resp_x"));
    CHECK(cut.find(R"("status":"incomplete","error":null,"incomplete_details":{"reason":"max_output_tokens"})") != std::string::npos);
    // A made-up id when the context has none.
    const std::string made = chat_answer_to_responses(R"({"choices":[{"message":{"content":"x"},"finish_reason":"stop"}]})", Context{});
    CHECK(made.find(R"({"id":"resp_)") == 0);
    CHECK_THROWS(chat_answer_to_responses(R"({"choices":[]})", ctx("r")), Exit::protocol);
    CHECK_THROWS(chat_answer_to_responses("<html>", ctx("r")), Exit::protocol);
}

TEST(responses_answer_to_chat_text_and_calls) {
    const std::string got = responses_answer_to_chat(R"({"id":"resp_1","object":"response","status":"completed","model":"up","output":[
          {"type":"reasoning","id":"rs_1","summary":[]},
          {"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"hi ","annotations":[]},{"type":"output_text","text":"there","annotations":[]}]},
          {"type":"function_call","id":"fc_1","call_id":"call_9","name":"get","arguments":"{}"}],
        "usage":{"input_tokens":7,"input_tokens_details":{"cached_tokens":3},"output_tokens":9,"output_tokens_details":{"reasoning_tokens":6},"total_tokens":16}})",
                                                      ctx("chatcmpl-z"));
    CHECK_EQ(got, J(R"({"id":"chatcmpl-z","object":"chat.completion","created":1700000000,"model":"gpt-test","choices":[
        {"index":0,"message":{"role":"assistant","content":"hi there","tool_calls":[
          {"id":"call_9","type":"function","function":{"name":"get","arguments":"{}"}}]},"finish_reason":"tool_calls"}],
        "usage":{"prompt_tokens":7,"completion_tokens":9,"total_tokens":16,"prompt_tokens_details":{"cached_tokens":3},
                 "completion_tokens_details":{"reasoning_tokens":6}}})"));
    const std::string cut = responses_answer_to_chat(R"({"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[]})", ctx("c"));
    CHECK(cut.find(R"("message":{"role":"assistant","content":""},"finish_reason":"length")") != std::string::npos);
    CHECK_THROWS_MSG(responses_answer_to_chat(R"({"status":"failed","error":{"code":"server_error","message":"boom"}})", ctx("c")),
                     Exit::protocol, "boom");
    CHECK_THROWS(responses_answer_to_chat(R"({"output":{}})", ctx("c")), Exit::protocol);
}
