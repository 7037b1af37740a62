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
        "client_metadata":{"x-codex-installation-id":"i1"},
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
          {"id":"msg_abc_0","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"hello","annotations":[]}]},
          {"id":"fc_abc_1","type":"function_call","status":"completed","call_id":"call_1","name":"get","arguments":"{\"a\":1}"}],
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

// ---- streams: Chat -> Responses ------------------------------------------------

namespace {

// Every event's name is its type, and sequence_number counts from 0.
void check_sequence(const Recorder& r) {
    int64_t n = 0;
    for (const auto& e : r.events) {
        auto d = json_parse(e.second, kSrc);
        CHECK_EQ(json_string(d, "type", kSrc), e.first);
        CHECK_EQ(json_int(d, "sequence_number", kSrc), n);
        ++n;
    }
}

// The upstream Chat stream of one answer: a role-only chunk, text, one tool
// call by deltas, finish_reason, then usage in a chunk of its own.
void feed_chat_stream(StreamTranslator& t, bool with_call = true) {
    const char* head = R"({"id":"chatcmpl-u","object":"chat.completion.chunk","created":1,"model":"up","choices":)";
    auto chunk = [&](const std::string& choices) { t.event("", std::string(head) + choices + "}"); };
    chunk(R"([{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}])");
    chunk(R"([{"index":0,"delta":{"content":"Hel"},"finish_reason":null}])");
    chunk(R"([{"index":0,"delta":{"content":"lo"},"finish_reason":null}])");
    if (with_call) {
        chunk(R"([{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get","arguments":""}}]},"finish_reason":null}])");
        chunk(R"([{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\""}}]},"finish_reason":null}])");
        chunk(R"([{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]},"finish_reason":null}])");
    }
    chunk(std::string(R"([{"index":0,"delta":{},"finish_reason":")") + (with_call ? "tool_calls" : "stop") + R"("}])");
    chunk(R"([],"usage":{"prompt_tokens":11,"completion_tokens":4,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":2}})");
    t.event("", "[DONE]");
}

}  // namespace

TEST(chat_stream_to_responses_text_and_call) {
    Recorder r;
    auto t = chat_stream_to_responses(&r, ctx("resp_s"));
    feed_chat_stream(*t);
    t->end();  // after [DONE]: nothing more
    CHECK_EQ(r.types(), std::string(
        "response.created response.in_progress "
        "response.output_item.added response.content_part.added "
        "response.output_text.delta response.output_text.delta "
        "response.output_text.done response.content_part.done response.output_item.done "
        "response.output_item.added response.function_call_arguments.delta response.function_call_arguments.delta "
        "response.function_call_arguments.done response.output_item.done response.completed"));
    check_sequence(r);
    CHECK_EQ(r.events[0].second, J(R"({"type":"response.created","sequence_number":0,"response":{"id":"resp_s","object":"response",
        "created_at":1700000000,"status":"in_progress","error":null,"incomplete_details":null,"model":"gpt-test","output":[],"usage":null}})"));
    CHECK_EQ(r.events[2].second, J(R"({"type":"response.output_item.added","sequence_number":2,"output_index":0,
        "item":{"id":"msg_s_0","type":"message","status":"in_progress","role":"assistant","content":[]}})"));
    CHECK_EQ(r.events[4].second, J(R"({"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_s_0","output_index":0,
        "content_index":0,"delta":"Hel","logprobs":[]})"));
    CHECK_EQ(r.events[9].second, J(R"({"type":"response.output_item.added","sequence_number":9,"output_index":1,
        "item":{"id":"fc_s_1","type":"function_call","status":"in_progress","call_id":"call_1","name":"get","arguments":""}})"));
    CHECK_EQ(r.events[12].second, J(R"({"type":"response.function_call_arguments.done","sequence_number":12,"item_id":"fc_s_1",
        "output_index":1,"name":"get","arguments":"{\"a\":1}"})"));
    CHECK_EQ(r.events[14].second, J(R"({"type":"response.completed","sequence_number":14,"response":{"id":"resp_s","object":"response",
        "created_at":1700000000,"status":"completed","error":null,"incomplete_details":null,"model":"gpt-test","output":[
          {"id":"msg_s_0","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hello","annotations":[]}]},
          {"id":"fc_s_1","type":"function_call","status":"completed","call_id":"call_1","name":"get","arguments":"{\"a\":1}"}],
        "usage":{"input_tokens":11,"input_tokens_details":{"cached_tokens":2},"output_tokens":4,
                 "output_tokens_details":{"reasoning_tokens":0},"total_tokens":15}}})"));
    CHECK_EQ(t->usage().input, 11);
    CHECK_EQ(t->usage().output, 4);
    CHECK_EQ(t->usage().cached, 2);
}

TEST(chat_stream_to_responses_length_is_incomplete) {
    Recorder r;
    auto t = chat_stream_to_responses(&r, ctx("resp_l"));
    t->event("", R"({"choices":[{"index":0,"delta":{"content":"ab"},"finish_reason":"length"}]})");
    t->end();  // EOF without [DONE]
    check_sequence(r);
    CHECK(r.events.back().first == "response.incomplete");
    CHECK(r.events.back().second.find(R"("status":"incomplete","error":null,"incomplete_details":{"reason":"max_output_tokens"})") != std::string::npos);
}

TEST(chat_stream_to_responses_fail_mid_stream) {
    Recorder r;
    auto t = chat_stream_to_responses(&r, ctx("resp_f"));
    t->event("", R"({"choices":[{"index":0,"delta":{"content":"par"},"finish_reason":null}]})");
    t->event("", R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{"}}]},"finish_reason":null}]})");
    t->fail("upstream cut");
    t->fail("again");       // once only
    t->event("", "[DONE]");  // and nothing after it
    check_sequence(r);
    CHECK_EQ(r.types(), std::string(
        "response.created response.in_progress response.output_item.added response.content_part.added "
        "response.output_text.delta response.output_text.done response.content_part.done response.output_item.done "
        "response.output_item.added response.function_call_arguments.delta "
        "response.function_call_arguments.done response.output_item.done response.failed"));
    const auto& last = r.events.back().second;
    CHECK(last.find(R"("status":"failed","error":{"code":"server_error","message":"upstream cut"})") != std::string::npos);
    CHECK(last.find(R"("type":"function_call","status":"incomplete")") != std::string::npos);
    // An error chunk from upstream, or one we cannot read, fails the stream too.
    Recorder r2;
    auto t2 = chat_stream_to_responses(&r2, ctx("resp_g"));
    t2->event("", R"({"error":{"message":"quota","code":"rate_limited"}})");
    CHECK_EQ(r2.types(), std::string("response.created response.in_progress response.failed"));
    CHECK(r2.events.back().second.find("quota") != std::string::npos);
    Recorder r3;
    auto t3 = chat_stream_to_responses(&r3, ctx("resp_h"));
    t3->event("", "{not json");
    CHECK_EQ(r3.types(), std::string("response.created response.in_progress response.failed"));
}

// ---- streams: Responses -> Chat ------------------------------------------------

TEST(responses_stream_to_chat_text_and_call) {
    // The Responses stream made from a Chat stream, translated back: Chat again.
    Recorder mid, r;
    auto back = responses_stream_to_chat(&r, ctx("chatcmpl-b"), true);
    struct Tee : EventSink {
        EventSink* a;
        EventSink* b;
        void event(std::string_view n, std::string_view d) override { a->event(n, d); b->event(n, d); }
    } tee;
    tee.a = &mid;
    tee.b = back.get();
    auto fwd = chat_stream_to_responses(&tee, ctx("resp_m"));
    feed_chat_stream(*fwd);
    back->end();
    const std::string head = R"({"id":"chatcmpl-b","object":"chat.completion.chunk","created":1700000000,"model":"gpt-test",)";
    auto ch = [&](const std::string& delta, const char* finish = "null") {
        return J(head + R"("choices":[{"index":0,"delta":)" + delta + R"(,"finish_reason":)" + finish + "}]}");
    };
    std::vector<std::string> want = {
        ch(R"({"role":"assistant","content":""})"),
        ch(R"({"content":"Hel"})"),
        ch(R"({"content":"lo"})"),
        ch(R"({"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get","arguments":""}}]})"),
        ch(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"a\""}}]})"),
        ch(R"({"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]})"),
        ch("{}", R"("tool_calls")"),
        J(head + R"("choices":[],"usage":{"prompt_tokens":11,"completion_tokens":4,"total_tokens":15,
              "prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":0}}})"),
        "[DONE]"};
    CHECK_EQ(r.events.size(), want.size());
    for (size_t i = 0; i < want.size() && i < r.events.size(); ++i) {
        CHECK_EQ(r.events[i].first, std::string(""));
        CHECK_EQ(r.events[i].second, want[i]);
    }
    CHECK_EQ(back->usage().input, 11);
    CHECK_EQ(back->usage().cached, 2);
}

TEST(responses_stream_to_chat_native_events) {
    // As the Responses API streams it: reasoning first, arguments whole in .done,
    // no usage chunk unless asked.
    Recorder r;
    auto t = responses_stream_to_chat(&r, ctx("chatcmpl-n"), false);
    t->event("response.created", R"({"type":"response.created","sequence_number":0,"response":{"id":"resp_1","status":"in_progress","model":"up","output":[]}})");
    t->event("response.output_item.added", R"({"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"type":"reasoning","id":"rs_1","summary":[]}})");
    t->event("response.reasoning_summary_text.delta", R"({"type":"response.reasoning_summary_text.delta","sequence_number":2,"output_index":0,"delta":"think"})");
    t->event("response.output_item.added", R"({"type":"response.output_item.added","sequence_number":3,"output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_7","name":"ls","arguments":""}})");
    t->event("response.function_call_arguments.done", R"({"type":"response.function_call_arguments.done","sequence_number":4,"output_index":1,"item_id":"fc_1","arguments":"{}"})");
    t->event("response.output_item.done", R"({"type":"response.output_item.done","sequence_number":5,"output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_7","name":"ls","arguments":"{}"}})");
    t->event("response.completed", R"({"type":"response.completed","sequence_number":6,"response":{"id":"resp_1","status":"completed","output":[],"usage":{"input_tokens":3,"output_tokens":8,"output_tokens_details":{"reasoning_tokens":5},"total_tokens":11}}})");
    CHECK_EQ(r.events.size(), size_t(5));
    if (r.events.size() == 5) {
        CHECK(r.events[1].second.find(R"("tool_calls":[{"index":0,"id":"call_7","type":"function","function":{"name":"ls","arguments":""}}])") != std::string::npos);
        CHECK(r.events[2].second.find(R"("tool_calls":[{"index":0,"function":{"arguments":"{}"}}])") != std::string::npos);
        CHECK(r.events[3].second.find(R"("delta":{},"finish_reason":"tool_calls")") != std::string::npos);
        CHECK_EQ(r.events[4].second, std::string("[DONE]"));
    }
    CHECK_EQ(t->usage().reasoning, 5);
    CHECK_EQ(t->usage().output, 8);
}

TEST(responses_stream_to_chat_failures) {
    Recorder r;
    auto t = responses_stream_to_chat(&r, ctx("chatcmpl-f"), true);
    t->event("response.output_text.delta", R"({"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"a"})");
    t->event("response.failed", R"({"type":"response.failed","response":{"status":"failed","error":{"code":"server_error","message":"model crashed"}}})");
    t->event("response.completed", R"({"type":"response.completed","response":{"status":"completed"}})");
    CHECK_EQ(r.events.size(), size_t(3));  // role, text, error: nothing after it, no [DONE]
    CHECK_EQ(r.events.back().second, J(R"({"error":{"message":"model crashed","type":"server_error","code":"server_error"}})"));
    Recorder r2;
    auto t2 = responses_stream_to_chat(&r2, ctx("chatcmpl-e"), false);
    t2->event("error", R"({"type":"error","code":"rate_limit_exceeded","message":"slow down","param":null})");
    CHECK_EQ(r2.events.size(), size_t(1));
    CHECK_EQ(r2.events.back().second, J(R"({"error":{"message":"slow down","type":"server_error","code":"rate_limit_exceeded"}})"));
    // Cut before response.completed: the end is a failure, said once.
    Recorder r3;
    auto t3 = responses_stream_to_chat(&r3, ctx("chatcmpl-c"), false);
    t3->event("response.created", R"({"type":"response.created","response":{}})");
    t3->end();
    t3->fail("again");
    CHECK_EQ(r3.events.size(), size_t(2));
    CHECK(r3.events.back().second.find(R"({"error":{"message":"the upstream stream ended)") == 0);
}

// ---- tool-call round trips -------------------------------------------------------

TEST(round_trip_responses_client_chat_model) {
    // Turn 1: the user asks; the Chat model calls a tool.
    const std::string q1 = R"({"model":"gpt-4o","input":[{"role":"user","content":[{"type":"input_text","text":"weather?"},{"type":"input_image","image_url":"data:image/png;base64,AA"}]}],"tools":[{"type":"function","name":"weather","parameters":{"type":"object"}}]})";
    CHECK(!responses_facts(q1).agent);
    CHECK(responses_facts(q1).vision);
    CHECK(responses_request_to_chat(q1).find(R"({"type":"image_url","image_url":{"url":"data:image/png;base64,AA"}})") != std::string::npos);
    const std::string a1 = chat_answer_to_responses(R"({"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_w","type":"function","function":{"name":"weather","arguments":"{}"}}]},"finish_reason":"tool_calls"}]})", ctx("resp_1"));
    // The client sends the output back as it got it (ids, status and all) with the result.
    auto d = json_parse(a1, kSrc);
    const std::string call_item = json_dump(d["output"][0]);
    CHECK_EQ(call_item, J(R"({"id":"fc_1_0","type":"function_call","status":"completed","call_id":"call_w","name":"weather","arguments":"{}"})"));
    const std::string q2 = R"({"model":"gpt-4o","input":[{"role":"user","content":"weather?"},)" + call_item +
                           R"(,{"type":"function_call_output","call_id":"call_w","output":"sunny"}]})";
    CHECK(responses_facts(q2).agent);
    CHECK_EQ(responses_request_to_chat(q2), J(R"({"model":"gpt-4o","messages":[{"role":"user","content":"weather?"},
        {"role":"assistant","content":null,"tool_calls":[{"id":"call_w","type":"function","function":{"name":"weather","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"call_w","content":"sunny"}]})"));
    // Turn 2's answer: text only.
    const std::string a2 = chat_answer_to_responses(R"({"choices":[{"message":{"role":"assistant","content":"Sunny."},"finish_reason":"stop"}]})", ctx("resp_2"));
    CHECK(a2.find(R"("status":"completed")") != std::string::npos);
    CHECK(a2.find(R"("content":[{"type":"output_text","text":"Sunny.","annotations":[]}])") != std::string::npos);
}

TEST(round_trip_chat_client_responses_model) {
    const std::string q1 = R"({"model":"gpt-5-codex","messages":[{"role":"user","content":"ls"}],"tools":[{"type":"function","function":{"name":"sh","parameters":{}}}]})";
    CHECK(!chat_facts(q1).agent);
    const std::string a1 = responses_answer_to_chat(R"({"status":"completed","output":[{"type":"function_call","id":"fc_9","call_id":"call_s","name":"sh","arguments":"{\"cmd\":\"ls\"}","status":"completed"}]})", ctx("chatcmpl-1"));
    auto d = json_parse(a1, kSrc);
    const std::string msg = json_dump(d["choices"][0]["message"]);
    CHECK_EQ(msg, J(R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_s","type":"function","function":{"name":"sh","arguments":"{\"cmd\":\"ls\"}"}}]})"));
    const std::string q2 = R"({"model":"gpt-5-codex","messages":[{"role":"user","content":"ls"},)" + msg +
                           R"(,{"role":"tool","tool_call_id":"call_s","content":"a.txt"}]})";
    CHECK(chat_facts(q2).agent);
    CHECK_EQ(chat_request_to_responses(q2), J(R"({"model":"gpt-5-codex","input":[
        {"type":"message","role":"user","content":[{"type":"input_text","text":"ls"}]},
        {"type":"function_call","call_id":"call_s","name":"sh","arguments":"{\"cmd\":\"ls\"}"},
        {"type":"function_call_output","call_id":"call_s","output":"a.txt"}],"store":false})"));
    const std::string a2 = responses_answer_to_chat(R"({"status":"completed","output":[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"a.txt"}]}]})", ctx("chatcmpl-2"));
    CHECK(a2.find(R"("message":{"role":"assistant","content":"a.txt"},"finish_reason":"stop")") != std::string::npos);
}

TEST(chat_answer_split_over_choices_is_one_answer) {
    // Copilot answers some models with the text in one choice and the calls in another.
    const std::string whole = chat_answer_to_responses(R"({"choices":[
        {"index":0,"message":{"role":"assistant","content":"Let me look."},"finish_reason":"tool_calls"},
        {"index":1,"message":{"role":"assistant","tool_calls":[{"id":"call_a","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]})",
                                                        ctx("resp_k"));
    CHECK(whole.find(R"("output":[{"id":"msg_k_0","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Let me look.","annotations":[]}]},{"id":"fc_k_1","type":"function_call","status":"completed","call_id":"call_a","name":"f","arguments":"{}"}])") != std::string::npos);
    Recorder r;
    auto t = chat_stream_to_responses(&r, ctx("resp_k"));
    t->event("", R"({"choices":[{"index":0,"delta":{"content":"Let me look."},"finish_reason":null}]})");
    t->event("", R"({"choices":[{"index":1,"delta":{"tool_calls":[{"index":0,"id":"call_a","function":{"name":"f","arguments":"{}"}}]},"finish_reason":null}]})");
    t->event("", R"({"choices":[{"index":1,"delta":{},"finish_reason":"tool_calls"}]})");
    t->end();
    check_sequence(r);
    CHECK(r.events.back().second.find(R"("call_id":"call_a","name":"f","arguments":"{}"}])") != std::string::npos);
    CHECK(r.events.back().second.find(R"("text":"Let me look.")") != std::string::npos);
}

TEST(refusals_filters_and_misplaced_images) {
    const std::string r = chat_answer_to_responses(R"({"choices":[{"message":{"role":"assistant","content":null,"refusal":"no"},"finish_reason":"content_filter"}]})", ctx("resp_r"));
    CHECK(r.find(R"("content":[{"type":"refusal","refusal":"no"}])") != std::string::npos);
    CHECK(r.find(R"("incomplete_details":{"reason":"content_filter"})") != std::string::npos);
    const std::string c = responses_answer_to_chat(R"({"status":"incomplete","incomplete_details":{"reason":"content_filter"},"output":[{"type":"message","content":[{"type":"refusal","refusal":"no"}]}]})", ctx("c"));
    CHECK(c.find(R"("message":{"role":"assistant","content":"","refusal":"no"},"finish_reason":"content_filter")") != std::string::npos);
    // An image only where the other API takes one: a user message.
    CHECK_EQ(untranslatable_field([] { responses_request_to_chat(R"({"input":[{"role":"assistant","content":[{"type":"input_image","image_url":"x"}]}]})"); }),
             std::string("input[0].content[0].type"));
    CHECK_EQ(untranslatable_field([] { chat_request_to_responses(R"({"messages":[{"role":"assistant","content":[{"type":"image_url","image_url":{"url":"x"}}]}]})"); }),
             std::string("messages[0].content[0].type"));
    CHECK_EQ(untranslatable_field([] { responses_request_to_chat(R"({"input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_image","image_url":"x"}]}]})"); }),
             std::string("input[0].output[0].type"));
}
