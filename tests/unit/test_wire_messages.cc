// Anthropic Messages <-> OpenAI Chat (lib/wire/messages), model names and
// the count_tokens estimate: each direction whole and streamed, every event
// type, a tool round trip, images, thinking, what is refused, error bodies.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "check.h"
#include "util/json.h"
#include "wire/messages.h"
#include "wire/model_names.h"
#include "wire/tokens.h"

using copilot::Exit;
using copilot::JsonSource;
using copilot::json_dump;
using copilot::json_parse;
namespace wire = copilot::wire;

namespace {

const JsonSource kTest{"test", Exit::protocol};

// The translated request's JSON, re-dumped compactly (the same bytes if it was compact).
std::string chat(const std::string& body, wire::ChatOptions o = {}) {
    return wire::messages_to_chat_request(body, o).body;
}

std::string field(const std::string& json, const char* key) {
    const auto doc = json_parse(json, kTest);
    auto it = doc.FindMember(key);
    return it == doc.MemberEnd() ? "<absent>" : json_dump(it->value);
}

bool untranslatable(const std::string& body, const std::string& field_name) {
    try {
        wire::messages_to_chat_request(body);
    } catch (const wire::Untranslatable& e) {
        return e.field() == field_name && e.code() == Exit::data &&
               std::string(e.what()).rfind(field_name + ": ", 0) == 0;
    } catch (...) {
        return false;
    }
    return false;
}

// Collects a stream's events as "NAME DATA" lines, checking name == type.
struct Collect : wire::EventSink {
    std::vector<std::string> lines;
    bool names_match = true;
    void event(std::string_view name, std::string_view data) override {
        const auto doc = json_parse(data, kTest);
        const auto t = doc.FindMember("type");
        if (t == doc.MemberEnd() || name != t->value.GetString()) names_match = false;
        lines.push_back(std::string(name) + " " + std::string(data));
    }
    std::string names() const {
        std::string out;
        for (const auto& l : lines) out += (out.empty() ? "" : ",") + l.substr(0, l.find(' '));
        return out;
    }
};

}  // namespace

// --- facts -----------------------------------------------------------------

TEST(facts_user_turn) {
    auto f = wire::messages_facts(
        R"({"model":"claude-sonnet-4-5","stream":true,"messages":[{"role":"user","content":"hi"}]})");
    CHECK_EQ(f.model, std::string("claude-sonnet-4-5"));
    CHECK(f.stream);
    CHECK(!f.agent);
    CHECK(!f.vision);
}

TEST(facts_agent_only_tool_results) {
    const std::string tail =
        R"({"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{}}]},)";
    auto f = wire::messages_facts(R"({"model":"m","messages":[{"role":"user","content":"go"},)" + tail +
                                  R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}]}]})");
    CHECK(f.agent);
    CHECK(!f.stream);
    // A text block beside the tool result: the user's own turn.
    f = wire::messages_facts(R"({"model":"m","messages":[{"role":"user","content":"go"},)" + tail +
                             R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"},{"type":"text","text":"and?"}]}]})");
    CHECK(!f.agent);
    // An assistant continuation (prefill), and a trailing system message that does not count.
    f = wire::messages_facts(
        R"({"model":"m","messages":[{"role":"user","content":"go"},{"role":"assistant","content":"The answer is"}]})");
    CHECK(f.agent);
    f = wire::messages_facts(
        R"({"model":"m","messages":[{"role":"user","content":"go"},{"role":"system","content":"x"}]})");
    CHECK(!f.agent);
    f = wire::messages_facts(R"({"model":"m","messages":[{"role":"user","content":"go"},)" + tail +
                             R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t1"}]},{"role":"system","content":"x"}]})");
    CHECK(f.agent);
}

TEST(facts_vision_anywhere) {
    auto f = wire::messages_facts(
        R"({"model":"m","messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://x/a.png"}}]}]})");
    CHECK(f.vision);
    f = wire::messages_facts(
        R"({"model":"m","messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]}]}]})");
    CHECK(f.vision);
    CHECK(f.agent);
}

TEST(facts_malformed) {
    CHECK_THROWS(wire::messages_facts("nope"), Exit::data);
    CHECK_THROWS(wire::messages_facts(R"({"messages":[]})"), Exit::data);
    CHECK_THROWS_MSG(wire::messages_facts(R"({"model":"m"})"), Exit::data, "messages");
    CHECK_THROWS_MSG(wire::messages_facts(R"({"model":"m","messages":[],"stream":"yes"})"), Exit::data,
                     "stream");
}

// --- request ---------------------------------------------------------------

TEST(request_basic_fields) {
    auto r = wire::messages_to_chat_request(
        R"({"model":"claude-x","max_tokens":1024,"system":"Be brief.","messages":[{"role":"user","content":"hi"}],)"
        R"("stop_sequences":["END"],"temperature":0.5,"top_p":0.9,"top_k":40,"metadata":{"user_id":"u1"},"stream":true})");
    CHECK_EQ(r.body, std::string(
        R"({"model":"claude-x","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],)"
        R"("max_tokens":1024,"stop":["END"],"temperature":0.5,"top_p":0.9,"user":"u1",)"
        R"("stream":true,"stream_options":{"include_usage":true}})"));
    CHECK_EQ(r.dropped.size(), size_t{1});
    CHECK_EQ(r.dropped.at(0), std::string("top_k"));
}

// Claude Code puts a system turn inside `messages` (for models it does not
// know): a Chat system message in its place, not a 400.
TEST(request_system_turn_inside_messages) {
    auto r = wire::messages_to_chat_request(
        R"({"model":"m","max_tokens":8,"messages":[{"role":"user","content":"hi"},)"
        R"({"role":"system","content":[{"type":"text","text":"be brief","cache_control":{"type":"ephemeral"}}]}]})");
    CHECK_EQ(r.body, std::string(
        R"({"model":"m","messages":[{"role":"user","content":"hi"},{"role":"system","content":"be brief"}],"max_tokens":8})"));
    CHECK_THROWS(wire::messages_to_chat_request(
                     R"({"model":"m","max_tokens":8,"messages":[{"role":"tool","content":"x"}]})"),
                 Exit::data);
}

TEST(request_system_blocks_and_cache_control) {
    auto r = wire::messages_to_chat_request(
        R"({"model":"m","system":[{"type":"text","text":"A"},{"type":"text","text":"B","cache_control":{"type":"ephemeral"}}],)"
        R"("messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}},{"type":"text","text":"y"}]}]})");
    CHECK_EQ(field(r.body, "messages"),
             std::string(R"([{"role":"system","content":"A\n\nB"},{"role":"user","content":"x\n\ny"}])"));
    CHECK_EQ(r.dropped.size(), size_t{2});
    CHECK_EQ(r.dropped.at(0), std::string("system[].cache_control"));
    CHECK_EQ(r.dropped.at(1), std::string("messages[].content[].cache_control"));
}

TEST(request_images_base64_and_url) {
    auto body = chat(
        R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what?"},)"
        R"({"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"}},)"
        R"({"type":"image","source":{"type":"url","url":"https://example.com/a.jpg"}}]}]})");
    CHECK_EQ(field(body, "messages"),
             std::string(R"([{"role":"user","content":[{"type":"text","text":"what?"},)"
                         R"({"type":"image_url","image_url":{"url":"data:image/png;base64,iVBO"}},)"
                         R"({"type":"image_url","image_url":{"url":"https://example.com/a.jpg"}}]}])"));
    CHECK(untranslatable(
        R"({"model":"m","messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]})",
        "messages[0].content[0].source.type"));
}

TEST(request_tool_round_trip) {
    auto r = wire::messages_to_chat_request(
        R"({"model":"m","messages":[{"role":"user","content":"list files"},)"
        R"({"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"s"},{"type":"text","text":"Sure."},)"
        R"({"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"ls"}},)"
        R"({"type":"tool_use","id":"toolu_2","name":"Read","input":{"path":"a"}}]},)"
        R"({"role":"user","content":[{"type":"text","text":"here:"},{"type":"tool_result","tool_use_id":"toolu_1","content":"a b"},)"
        R"({"type":"tool_result","tool_use_id":"toolu_2","is_error":true,"content":[{"type":"text","text":"no such file"},)"
        R"({"type":"image","source":{"type":"url","url":"https://x/s.png"}}]}]}],)"
        R"("tools":[{"name":"Bash","description":"Run","input_schema":{"type":"object","properties":{"command":{"type":"string"}}},"cache_control":{"type":"ephemeral"}},)"
        R"({"name":"Read","input_schema":{"type":"object"},"defer_loading":true}],)"
        R"("tool_choice":{"type":"any","disable_parallel_tool_use":true}})");
    CHECK_EQ(field(r.body, "messages"),
             std::string(R"([{"role":"user","content":"list files"},)"
                         R"({"role":"assistant","content":"Sure.","tool_calls":[)"
                         R"({"id":"toolu_1","type":"function","function":{"name":"Bash","arguments":"{\"command\":\"ls\"}"}},)"
                         R"({"id":"toolu_2","type":"function","function":{"name":"Read","arguments":"{\"path\":\"a\"}"}}]},)"
                         R"({"role":"tool","tool_call_id":"toolu_1","content":"a b"},)"
                         R"({"role":"tool","tool_call_id":"toolu_2","content":"Error: no such file"},)"
                         R"({"role":"user","content":[{"type":"text","text":"here:"},)"
                         R"({"type":"image_url","image_url":{"url":"https://x/s.png"}}]}])"));
    CHECK_EQ(field(r.body, "tools"),
             std::string(R"([{"type":"function","function":{"name":"Bash","description":"Run",)"
                         R"("parameters":{"type":"object","properties":{"command":{"type":"string"}}}}},)"
                         R"({"type":"function","function":{"name":"Read","parameters":{"type":"object"}}}])"));
    CHECK_EQ(field(r.body, "tool_choice"), std::string(R"("required")"));
    CHECK_EQ(field(r.body, "stream"), std::string("<absent>"));
    CHECK_EQ(field(r.body, "parallel_tool_calls"), std::string("false"));
    const std::vector<std::string> dropped = {"messages[].content[thinking]", "tools[].cache_control",
                                              "tools[].defer_loading"};
    CHECK(r.dropped == dropped);
}

TEST(request_only_tool_results_and_tool_use_only) {
    auto body = chat(
        R"({"model":"m","messages":[{"role":"user","content":"x"},)"
        R"({"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},)"
        R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t"}]}]})");
    CHECK_EQ(field(body, "messages"),
             std::string(R"([{"role":"user","content":"x"},{"role":"assistant","content":null,"tool_calls":[)"
                         R"({"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},)"
                         R"({"role":"tool","tool_call_id":"t","content":""}])"));
}

TEST(request_tool_choice_forms) {
    const std::string base = R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":)";
    CHECK_EQ(field(chat(base + R"({"type":"auto"}})"), "tool_choice"), std::string(R"("auto")"));
    CHECK_EQ(field(chat(base + R"({"type":"none"}})"), "tool_choice"), std::string(R"("none")"));
    CHECK_EQ(field(chat(base + R"({"type":"tool","name":"f"}})"), "tool_choice"),
             std::string(R"({"type":"function","function":{"name":"f"}})"));
    CHECK_EQ(field(chat(base + R"({"type":"auto"}})"), "parallel_tool_calls"), std::string("<absent>"));
    CHECK_THROWS(chat(base + R"({"type":"sometimes"}})"), Exit::data);
}

TEST(request_server_tools_untranslatable) {
    const std::string head = R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"name":"f","input_schema":{}},)";
    CHECK(untranslatable(head + R"({"type":"web_search_20250305","name":"web_search"}]})", "tools[1].type"));
    CHECK(untranslatable(head + R"({"type":"bash_20250124","name":"bash"}]})", "tools[1].type"));
    CHECK(untranslatable(head + R"({"type":"computer_20250124","name":"computer"}]})", "tools[1].type"));
    // "custom" is an ordinary tool.
    CHECK_EQ(field(chat(head + R"({"type":"custom","name":"g","input_schema":{"type":"object"}}]})"), "tools"),
             std::string(R"([{"type":"function","function":{"name":"f","parameters":{}}},)"
                         R"({"type":"function","function":{"name":"g","parameters":{"type":"object"}}}])"));
    CHECK(untranslatable(
        R"({"model":"m","messages":[{"role":"user","content":[{"type":"document","source":{}}]}]})",
        "messages[0].content[0].type"));
    CHECK(untranslatable(
        R"({"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}]})",
        "messages[1].content[0].type"));
}

TEST(request_thinking_and_claude_code_fields) {
    const std::string base =
        R"({"model":"m","messages":[{"role":"user","content":"x"}],"context_management":{"edits":[]},)"
        R"("service_tier":"auto","container":"c","mcp_servers":[],"output_config":{"effort":"high"},"thinking":)";
    auto r = wire::messages_to_chat_request(base + R"({"type":"enabled","budget_tokens":2048}})",
                                            wire::ChatOptions{true});
    CHECK_EQ(field(r.body, "reasoning_effort"), std::string(R"("low")"));
    const std::vector<std::string> dropped = {"context_management", "service_tier", "container",
                                              "mcp_servers"};
    CHECK(r.dropped == dropped);
    CHECK_EQ(field(chat(base + R"({"type":"enabled","budget_tokens":10000}})", {true}), "reasoning_effort"),
             std::string(R"("medium")"));
    CHECK_EQ(field(chat(base + R"({"type":"enabled","budget_tokens":31999}})", {true}), "reasoning_effort"),
             std::string(R"("high")"));
    CHECK_EQ(field(chat(base + R"({"type":"adaptive"}})", {true}), "reasoning_effort"),
             std::string(R"("medium")"));
    // Without thinking, output_config.effort decides.
    CHECK_EQ(field(chat(base + R"({"type":"disabled"}})", {true}), "reasoning_effort"),
             std::string(R"("high")"));
    // A model that does not reason: dropped and named.
    r = wire::messages_to_chat_request(base + R"({"type":"adaptive"}})");
    CHECK_EQ(field(r.body, "reasoning_effort"), std::string("<absent>"));
    CHECK(std::find(r.dropped.begin(), r.dropped.end(), "thinking") != r.dropped.end());
    CHECK(std::find(r.dropped.begin(), r.dropped.end(), "output_config.effort") != r.dropped.end());
    CHECK(!wire::messages_droppable_fields().empty());
}

TEST(request_malformed) {
    CHECK_THROWS(chat(R"({"model":"m","messages":[{"role":"robot","content":"x"}]})"), Exit::data);
    CHECK_THROWS(chat(R"({"model":"m","messages":[{"role":"user"}]})"), Exit::data);
    CHECK_THROWS(chat(R"({"model":"m","messages":[{"role":"user","content":[{"text":"no type"}]}]})"),
                 Exit::data);
    CHECK_THROWS(chat(R"({"model":"m","messages":[],"temperature":"hot"})"), Exit::data);
    CHECK_THROWS(chat(R"({"model":"m","messages":[],"stop_sequences":[1]})"), Exit::data);
}

// --- whole answer ----------------------------------------------------------

TEST(answer_text) {
    wire::Context ctx{"claude-sonnet-4-5-20250929", "msg_fixed", 0};
    auto m = wire::chat_to_messages_answer(
        R"({"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],)"
        R"("usage":{"prompt_tokens":100,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":60}}})",
        ctx);
    CHECK_EQ(m, std::string(
        R"({"id":"msg_fixed","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",)"
        R"("content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn","stop_sequence":null,)"
        R"("usage":{"input_tokens":40,"cache_creation_input_tokens":0,"cache_read_input_tokens":60,"output_tokens":7}})"));
    // A made-up id.
    m = wire::chat_to_messages_answer(R"({"choices":[]})", wire::Context{"m", "", 0});
    CHECK(field(m, "id").rfind("\"msg_", 0) == 0);
}

TEST(answer_tools_thinking_and_stop_reasons) {
    wire::Context ctx{"m", "msg_1", 0};
    // Copilot splits text and tool calls across choices; finish_reason "stop" with tool calls is still tool_use.
    auto m = wire::chat_to_messages_answer(
        R"({"choices":[{"index":0,"message":{"content":"Let me look.","reasoning_text":"think","reasoning_opaque":"sig"},"finish_reason":"stop"},)"
        R"({"index":1,"message":{"tool_calls":[{"id":"call_1","type":"function","function":{"name":"Bash","arguments":"{\"command\":\"ls\"}"}},)"
        R"({"id":"call_2","type":"function","function":{"name":"Bad","arguments":"{not json"}},)"
        R"({"id":"call_3","type":"function","function":{"name":"None","arguments":""}}]}}]})",
        ctx);
    CHECK_EQ(field(m, "content"),
             std::string(R"([{"type":"thinking","thinking":"think","signature":"sig"},{"type":"text","text":"Let me look."},)"
                         R"({"type":"tool_use","id":"call_1","name":"Bash","input":{"command":"ls"}},)"
                         R"({"type":"tool_use","id":"call_2","name":"Bad","input":{}},)"
                         R"({"type":"tool_use","id":"call_3","name":"None","input":{}}])"));
    CHECK_EQ(field(m, "stop_reason"), std::string(R"("tool_use")"));
    auto reason = [&](const char* finish) {
        return field(wire::chat_to_messages_answer(
                         std::string(R"({"choices":[{"message":{"content":"x"},"finish_reason":")") + finish + "\"}]}",
                         ctx),
                     "stop_reason");
    };
    CHECK_EQ(reason("length"), std::string(R"("max_tokens")"));
    CHECK_EQ(reason("tool_calls"), std::string(R"("tool_use")"));
    CHECK_EQ(reason("content_filter"), std::string(R"("refusal")"));
    CHECK_EQ(reason("stop"), std::string(R"("end_turn")"));
    CHECK_THROWS(wire::chat_to_messages_answer("<html>", ctx), Exit::protocol);
}

// --- stream ----------------------------------------------------------------

TEST(stream_text_and_usage) {
    Collect out;
    wire::ChatToMessagesStream s(out, wire::Context{"claude-x", "msg_s", 0}, 12);
    s.event("", R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})");
    s.ping();
    s.event("", R"({"choices":[{"index":0,"delta":{"content":"Hel"}}]})");
    s.event("", R"({"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]})");
    s.event("", R"({"choices":[],"usage":{"prompt_tokens":20,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":5}}})");
    s.event("", "[DONE]");
    s.end();  // once only
    CHECK(out.names_match);
    CHECK_EQ(out.names(), std::string("message_start,ping,content_block_start,content_block_delta,"
                                      "content_block_delta,content_block_stop,message_delta,message_stop"));
    CHECK_EQ(out.lines.at(0), std::string(
        R"(message_start {"type":"message_start","message":{"id":"msg_s","type":"message","role":"assistant","model":"claude-x",)"
        R"("content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":0}}})"));
    CHECK_EQ(out.lines.at(1), std::string(R"(ping {"type":"ping"})"));
    CHECK_EQ(out.lines.at(2), std::string(
        R"(content_block_start {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"));
    CHECK_EQ(out.lines.at(3), std::string(
        R"(content_block_delta {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}})"));
    CHECK_EQ(out.lines.at(5), std::string(R"(content_block_stop {"type":"content_block_stop","index":0})"));
    CHECK_EQ(out.lines.at(6), std::string(
        R"(message_delta {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},)"
        R"("usage":{"input_tokens":15,"cache_creation_input_tokens":0,"cache_read_input_tokens":5,"output_tokens":2}})"));
    CHECK_EQ(out.lines.at(7), std::string(R"(message_stop {"type":"message_stop"})"));
    CHECK_EQ(s.usage().input, int64_t{20});
    CHECK_EQ(s.usage().cached, int64_t{5});
}

TEST(stream_thinking_text_tools) {
    Collect out;
    wire::ChatToMessagesStream s(out, wire::Context{"m", "msg_t", 0});
    s.event("", R"({"choices":[{"index":0,"delta":{"reasoning_text":"Hmm"}}]})");
    s.event("", R"({"choices":[{"index":0,"delta":{"reasoning_opaque":"SIG"}}]})");
    s.event("", R"({"choices":[{"index":0,"delta":{"content":"Checking."}}]})");
    s.event("", R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"Bash","arguments":""}}]}}]})");
    s.event("", R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"command\":"}}]}}]})");
    s.event("", R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","function":{"arguments":"\"ls\"}"}}]}}]})");
    s.event("", R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","function":{"name":"Read","arguments":"{}"}}]}}]})");
    s.event("", R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})");
    s.end();
    CHECK(out.names_match);
    const std::vector<std::string> want = {
        R"(message_start {"type":"message_start","message":{"id":"msg_t","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0}}})",
        R"(content_block_start {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}})",
        R"(content_block_delta {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hmm"}})",
        R"(content_block_delta {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"SIG"}})",
        R"(content_block_stop {"type":"content_block_stop","index":0})",
        R"(content_block_start {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}})",
        R"(content_block_delta {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Checking."}})",
        R"(content_block_stop {"type":"content_block_stop","index":1})",
        R"(content_block_start {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"call_a","name":"Bash","input":{}}})",
        R"(content_block_delta {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"command\":"}})",
        R"(content_block_delta {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"\"ls\"}"}})",
        R"(content_block_stop {"type":"content_block_stop","index":2})",
        R"(content_block_start {"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"call_b","name":"Read","input":{}}})",
        R"(content_block_delta {"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{}"}})",
        R"(content_block_stop {"type":"content_block_stop","index":3})",
        R"(message_delta {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}})",
        R"(message_stop {"type":"message_stop"})",
    };
    CHECK_EQ(out.lines.size(), want.size());
    for (size_t i = 0; i < want.size() && i < out.lines.size(); ++i) CHECK_EQ(out.lines[i], want[i]);
}

TEST(stream_fail_closes_block) {
    Collect out;
    wire::ChatToMessagesStream s(out, wire::Context{"m", "msg_f", 0});
    s.event("", R"({"choices":[{"index":0,"delta":{"content":"par"}}]})");
    s.fail("upstream cut");
    s.end();    // nothing after the error
    s.ping();
    CHECK_EQ(out.names(), std::string("message_start,content_block_start,content_block_delta,content_block_stop,error"));
    CHECK_EQ(out.lines.back(), std::string(
        R"(error {"type":"error","error":{"type":"api_error","message":"upstream cut"}})"));
    Collect o2;
    wire::ChatToMessagesStream s2(o2, wire::Context{"m", "msg_g", 0});
    s2.fail_as("overloaded_error", "busy");
    CHECK_EQ(o2.names(), std::string("error"));
    CHECK(o2.lines.at(0).find(R"("type":"overloaded_error")") != std::string::npos);
    // A chunk that is not JSON is the upstream's fault: the stream ends with
    // the client's error event (wire.h: event() never throws).
    Collect o3;
    wire::ChatToMessagesStream s3(o3, wire::Context{"m", "", 0});
    s3.event("", R"({"choices":[{"index":0,"delta":{"content":"a"}}]})");
    s3.event("", "garbage");
    s3.event("", R"({"choices":[{"index":0,"delta":{"content":"b"}}]})");
    CHECK_EQ(o3.names(), std::string("message_start,content_block_start,content_block_delta,content_block_stop,error"));
}

TEST(stream_sse_bytes) {
    std::string bytes;
    wire::SseWriter sse(&bytes);
    wire::ChatToMessagesStream s(sse, wire::Context{"m", "msg_b", 0});
    s.end();
    CHECK(bytes.rfind("event: message_start\ndata: {", 0) == 0);
    CHECK(bytes.find("\n\nevent: message_delta\ndata: ") != std::string::npos);
    const std::string last = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    CHECK(bytes.size() > last.size() && bytes.compare(bytes.size() - last.size(), last.size(), last) == 0);
}

// --- errors ----------------------------------------------------------------

TEST(error_bodies_per_status) {
    const std::vector<std::pair<int, std::string>> table = {
        {400, "invalid_request_error"}, {401, "authentication_error"}, {403, "permission_error"},
        {404, "not_found_error"},       {413, "request_too_large"},    {429, "rate_limit_error"},
        {500, "api_error"},             {529, "overloaded_error"},     {502, "api_error"},
        {503, "api_error"},             {422, "invalid_request_error"}, {405, "invalid_request_error"},
    };
    for (const auto& [status, type] : table) CHECK_EQ(std::string(wire::anthropic_error_type(status)), type);
    CHECK_EQ(wire::anthropic_error_body(404, "model \"x\" not found"),
             std::string(R"({"type":"error","error":{"type":"not_found_error","message":"model \"x\" not found"}})"));
}

// --- model names -----------------------------------------------------------

TEST(model_names_map) {
    const std::vector<std::string> ids = {"gpt-4.1", "claude-sonnet-4.5", "claude-3.5-sonnet",
                                          "claude-opus-4.1", "claude-sonnet-4", "claude-haiku-4.5",
                                          "claude-opus-41x"};
    auto map = [&](const char* n, const wire::ModelMap& m = {}) {
        return wire::map_model_name(n, ids, m).value_or("<none>");
    };
    CHECK_EQ(map("claude-sonnet-4-5-20250929"), std::string("claude-sonnet-4.5"));
    CHECK_EQ(map("claude-sonnet-4-5"), std::string("claude-sonnet-4.5"));
    CHECK_EQ(map("claude-3-5-sonnet-latest"), std::string("claude-3.5-sonnet"));
    CHECK_EQ(map("claude-3-5-sonnet-20241022"), std::string("claude-3.5-sonnet"));
    CHECK_EQ(map("claude-opus-4-1"), std::string("claude-opus-4.1"));
    CHECK_EQ(map("claude-opus-4-1-20250805"), std::string("claude-opus-4.1"));
    CHECK_EQ(map("claude-sonnet-4-20250514"), std::string("claude-sonnet-4"));
    CHECK_EQ(map("Claude-Haiku-4-5"), std::string("claude-haiku-4.5"));
    CHECK_EQ(map("gpt-4.1"), std::string("gpt-4.1"));  // exact ids unchanged
    CHECK_EQ(map("claude-opus-4-1x"), std::string("claude-opus-41x"));  // separators aside
    CHECK_EQ(map("claude-opus-4-5"), std::string("<none>"));
    CHECK_EQ(map("claude-sonnet-4-5-2025"), std::string("<none>"));  // not a date
    // The user's map comes first, TO as given.
    const wire::ModelMap user = {{"claude-opus-4-5", "claude-opus-4.1"}, {"claude-sonnet-4-5", "gpt-4.1"}};
    CHECK_EQ(map("claude-opus-4-5", user), std::string("claude-opus-4.1"));
    CHECK_EQ(map("claude-sonnet-4-5", user), std::string("gpt-4.1"));
    CHECK_EQ(map("claude-sonnet-4-5-20250929", user), std::string("gpt-4.1"));
}

TEST(model_names_close_matches_and_map_entries) {
    const std::vector<std::string> ids = {"gpt-4.1", "gpt-4o", "claude-sonnet-4.5", "claude-sonnet-4",
                                          "claude-opus-4.1", "o3-mini", "gemini-2.5-pro"};
    const auto m = wire::close_matches("claude-sonnet-4-7", ids);
    CHECK_EQ(m.size(), size_t{3});
    CHECK_EQ(m.at(0), std::string("claude-sonnet-4.5"));
    CHECK_EQ(m.at(1), std::string("claude-sonnet-4"));
    CHECK_EQ(m.at(2), std::string("claude-opus-4.1"));
    const auto g = wire::close_matches("gpt-4.2", ids);
    CHECK(!g.empty() && g.at(0) == "gpt-4.1");
    CHECK(wire::close_matches("zzzzzzzzzzzz", ids).empty());
    auto e = wire::parse_model_map_entry("claude-opus-4-5=claude-opus-4.1");
    CHECK_EQ(e.first, std::string("claude-opus-4-5"));
    CHECK_EQ(e.second, std::string("claude-opus-4.1"));
    CHECK_THROWS(wire::parse_model_map_entry("nothing"), Exit::usage);
    CHECK_THROWS(wire::parse_model_map_entry("=x"), Exit::usage);
    CHECK_THROWS(wire::parse_model_map_entry("x="), Exit::usage);
}

// --- count_tokens ----------------------------------------------------------

// Fixed texts and their counts by the Claude 2 tokenizer (@anthropic-ai/tokenizer
// 0.0.4, the only published Claude tokenizer): the estimate must never be
// lower, and stays within 70% above.
TEST(count_tokens_errs_high) {
    const std::vector<std::pair<int64_t, std::string>> known = {
        {78, "The quick brown fox jumps over the lazy dog. Copilot-utils is a Unix-style toolkit for GitHub Copilot's API: it logs in with the OAuth device flow, exchanges tokens, chats from the command line, and serves a local proxy that speaks the OpenAI and Anthropic wire APIs, so that agents such as Claude Code can run on a Copilot subscription."},
        {103, "const char* api_name(Api api) {\n    for (const auto& a : kApis)\n        if (a.api == api) return a.name;\n    return \"\";\n}\n\nstd::optional<Api> api_from_name(std::string_view name) {\n    for (const auto& a : kApis)\n        if (name == a.name) return a.api;\n    return std::nullopt;\n}\n"},
        {90, "total 48\ndrwxr-xr-x  9 root root 4096 Dec  2 01:00 .\ndrwxr-xr-x 12 root root 4096 Dec  2 00:40 ..\n-rw-r--r--  1 root root 7301 Dec  2 01:06 ARCHITECTURE.md\n-rw-r--r--  1 root root 9210 Dec  2 00:40 Makefile\n"},
        {119, "a3f9c2e1b4d87f6e5c4b3a29180f7e6d5c4b3a2918a3f9c2e1b4d87f6e5c4b3a2918 0x7ffd5e8c 0xdeadbeef sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
        {44, "{\"command\":\"ls -la /work/wt-wiremsg && git log --oneline -5\",\"description\":\"List files\",\"timeout\":120000,\"list\":[1,2,3,45,678]}"},
        {34, "Die Straßenbahn fährt über die Brücke, während die Kinder fröhlich spielen und die Vögel zwitschern."},
        {52, "東京は日本の首都であり、世界有数の大都市です。人口は約千四百万人で、多くの企業や大学が集まっています。"},
        {20, "Great job! 🎉🚀 Let's ship it ✅ — thanks 🙏"},
        {62, "--- a/lib/wire/wire.h\n+++ b/lib/wire/wire.h\n@@ -10,7 +10,8 @@\n #pragma once\n-#include <cstdint>\n+#include <cstdint>\n+#include <vector>\n"},
        {33, "    PID TTY          TIME CMD\n   1234 pts/0    00:00:01 bash\n   5678 pts/0    00:00:00 ps\n"},
    };
    for (const auto& [count, text] : known) {
        const int64_t est = wire::estimate_text_tokens(text);
        CHECK(est >= count);
        CHECK(est * 100 <= count * 170);
    }
    CHECK_EQ(wire::estimate_text_tokens(""), int64_t{0});
}

TEST(count_tokens_request_parts) {
    const int64_t hello = wire::count_tokens(R"({"model":"m","messages":[{"role":"user","content":"Hello, Claude"}]})");
    CHECK_EQ(hello, wire::kMessageOverheadTokens + wire::estimate_text_tokens("Hello, Claude"));
    const int64_t with_system = wire::count_tokens(
        R"({"model":"m","system":[{"type":"text","text":"You are a scientist"}],"messages":[{"role":"user","content":"Hello, Claude"}]})");
    CHECK_EQ(with_system, hello + wire::kMessageOverheadTokens + wire::estimate_text_tokens("You are a scientist"));
    const int64_t image = wire::count_tokens(
        R"({"model":"m","messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}},{"type":"text","text":"Hello, Claude"}]}]})");
    CHECK_EQ(image, hello + wire::kImageTokens);
    const int64_t tools = wire::count_tokens(
        R"({"model":"m","messages":[{"role":"user","content":"Hello, Claude"}],"tools":[{"name":"Bash","description":"Run a command","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}]})");
    CHECK_EQ(tools, hello + wire::kToolSystemPromptTokens + wire::kBlockOverheadTokens +
                        wire::estimate_text_tokens("Bash") + wire::estimate_text_tokens("Run a command") +
                        wire::estimate_text_tokens(R"({"type":"object"})"));
    const int64_t round = wire::count_tokens(
        R"({"model":"m","messages":[{"role":"user","content":"Hello, Claude"},)"
        R"({"role":"assistant","content":[{"type":"tool_use","id":"t","name":"Bash","input":{"command":"ls"}}]},)"
        R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"a.txt b.txt"}]}]}]})");
    CHECK_EQ(round, hello + 2 * wire::kMessageOverheadTokens + 2 * wire::kBlockOverheadTokens +
                        wire::estimate_text_tokens("Bash") + wire::estimate_text_tokens(R"({"command":"ls"})") +
                        wire::estimate_text_tokens("a.txt b.txt"));
    CHECK_EQ(wire::count_tokens_answer(42), std::string(R"({"input_tokens":42})"));
    CHECK_THROWS(wire::count_tokens(R"({"model":"m"})"), Exit::data);
    CHECK_THROWS(wire::count_tokens("[]"), Exit::data);
}

TEST(request_assistant_turn_of_only_thinking_left_out) {
    auto r = wire::messages_to_chat_request(
        R"({"model":"m","messages":[{"role":"user","content":"a"},)"
        R"({"role":"assistant","content":[{"type":"redacted_thinking","data":"xx"}]},{"role":"user","content":"b"}]})");
    CHECK_EQ(field(r.body, "messages"), std::string(R"([{"role":"user","content":"a"},{"role":"user","content":"b"}])"));
    CHECK_EQ(r.dropped.at(0), std::string("messages[].content[redacted_thinking]"));
}

// Every name ChatRequest::dropped gives is one the man page's list has.
TEST(request_dropped_names_are_listed) {
    auto listed = [](const std::string& name) {
        for (const auto& f : wire::messages_droppable_fields()) {
            const std::string pat = f.field;
            const size_t star = pat.find("NAME");
            if (pat == name) return true;
            if (star != std::string::npos && name.compare(0, star, pat, 0, star) == 0 &&
                name.size() > star && (star != 0 || name.find('.') == std::string::npos))
                return true;
        }
        return false;
    };
    auto r = wire::messages_to_chat_request(
        R"({"model":"m","system":[{"type":"text","text":"s","cache_control":{}}],"top_k":3,"thinking":{"type":"adaptive"},)"
        R"("output_config":{"effort":"low","format":{}},"metadata":{"user_id":"u","other":1},"context_management":{},)"
        R"("service_tier":"auto","container":"c","mcp_servers":[],"brand_new":true,)"
        R"("messages":[{"role":"user","content":[{"type":"text","text":"a","cache_control":{}}]},)"
        R"({"role":"assistant","content":[{"type":"thinking","thinking":"t"},{"type":"redacted_thinking","data":"d"},{"type":"text","text":"b"}]}],)"
        R"("tools":[{"name":"f","input_schema":{},"cache_control":{},"defer_loading":true,"strict":true}]})");
    CHECK_EQ(r.dropped.size(), size_t{17});
    for (const auto& d : r.dropped) {
        if (!listed(d)) check::fail(__FILE__, __LINE__, "not in messages_droppable_fields(): " + d);
    }
    CHECK(!listed("messages[].content[].nope"));
}
