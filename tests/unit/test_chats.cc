// store/chats (the SQLite rows) and store/conversation (the messages kept
// and sent again, trimming, --history/--show text).
#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/stat.h>

#include "check.h"
#include "store/chats.h"
#include "store/conversation.h"

using namespace copilot;

namespace {

std::string temp_dir() {
    char tmpl[] = "/tmp/test_chats.XXXXXX";
    const char* d = mkdtemp(tmpl);
    return d ? d : "/tmp";
}

ChatTurn turn(const std::string& prompt, const std::string& answer, int64_t time = 100) {
    ChatTurn t;
    t.time = time;
    t.model = "gpt-4.1";
    t.api = "chat";
    t.messages = "[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]";
    t.answer = "{\"role\":\"assistant\",\"content\":\"" + answer + "\"}";
    return t;
}

}  // namespace

TEST(store_creates_0600_in_0700_and_keeps_turns_in_order) {
    const std::string dir = temp_dir() + "/sub";
    const std::string path = dir + "/chats.db";
    {
        ChatStore s(path, true);
        s.add_turn("aaa", "first", turn("one", "1"));
        s.add_turn("bbb", "other", turn("x", "y"));
        s.add_turn("aaa", "ignored", turn("two", "2"));
        CHECK_EQ(*s.latest(), std::string("aaa"));
        const auto t = s.turns("aaa");
        CHECK_EQ(t.size(), size_t{2});
        CHECK_EQ(t[1].messages, std::string("[{\"role\":\"user\",\"content\":\"two\"}]"));
        CHECK(!t[0].total_tokens.has_value());
        const auto list = s.list(0);
        CHECK_EQ(list.size(), size_t{2});
        CHECK_EQ(list[0].id, std::string("aaa"));
        CHECK_EQ(list[0].title, std::string("first"));
        CHECK_EQ(list[0].turns, int64_t{2});
        CHECK_EQ(s.list(1).size(), size_t{1});
        s.forget("bbb");
        CHECK_THROWS_MSG(s.forget("bbb"), Exit::usage, "no conversation bbb");
        CHECK_THROWS_MSG(s.turns("bbb"), Exit::usage, "no conversation bbb");
    }
    struct stat st;
    CHECK(stat(path.c_str(), &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(stat(dir.c_str(), &st) == 0 && (st.st_mode & 0777) == 0700);
}

TEST(store_without_create_refuses_a_missing_file_and_creates_nothing) {
    const std::string path = temp_dir() + "/none/chats.db";
    CHECK_THROWS_MSG(ChatStore(path, false), Exit::usage, "no saved conversations");
    struct stat st;
    CHECK(stat(path.c_str(), &st) != 0);
}

TEST(store_refuses_a_file_that_is_not_a_database) {
    const std::string path = temp_dir() + "/chats.db";
    std::ofstream(path) << std::string(2000, 'x');
    CHECK_THROWS_MSG(ChatStore(path, true), Exit::data, "not an SQLite database");
}

TEST(usage_is_kept) {
    const std::string path = temp_dir() + "/chats.db";
    ChatStore s(path, true);
    ChatTurn t = turn("a", "b");
    t.prompt_tokens = 3;
    t.completion_tokens = 4;
    t.total_tokens = 7;
    s.add_turn("c1", "a", t);
    CHECK_EQ(*s.turns("c1")[0].total_tokens, int64_t{7});
}

TEST(conversation_ids) {
    CHECK(valid_conversation_id("0123456789ab"));
    CHECK(!valid_conversation_id(""));
    CHECK(!valid_conversation_id("../x"));
    CHECK(!valid_conversation_id("a b"));
    CHECK(!valid_conversation_id(std::string(65, 'a')));
    const std::string id = ChatStore::new_id();
    CHECK_EQ(id.size(), size_t{12});
    CHECK(valid_conversation_id(id));
    CHECK(id != ChatStore::new_id());
}

TEST(turn_messages_are_system_then_messages_then_prompt) {
    ChatRequest r;
    r.system = "sys";
    r.messages_json = "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]";
    r.prompt = "now";
    CHECK_EQ(turn_messages(r),
             std::string("[{\"role\":\"system\",\"content\":\"sys\"},{\"role\":\"user\",\"content\":"
                         "[{\"type\":\"text\",\"text\":\"hi\"}]},{\"role\":\"user\",\"content\":\"now\"}]"));
    r.messages_json = "{}";
    CHECK_THROWS(turn_messages(r), Exit::data);
}

TEST(answer_message_with_tool_calls) {
    ChatResult res;
    ToolCall c;
    c.id = "call_1";
    c.name = "f";
    c.arguments = "{\"a\":1}";
    res.tool_calls.push_back(c);
    CHECK_EQ(answer_message(res, ""),
             std::string("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\","
                         "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]}"));
    CHECK_EQ(answer_message(ChatResult{}, "hi"), std::string("{\"role\":\"assistant\",\"content\":\"hi\"}"));
}

TEST(a_long_answer_is_kept_up_to_the_cap_at_a_utf8_boundary) {
    std::string kept;
    CHECK(keep_answer(kept, std::string(kMaxSavedAnswer - 1, 'x')));
    CHECK(!keep_answer(kept, "\xc3\xa9z"));  // 'é' would straddle the cap
    CHECK_EQ(kept.size(), kMaxSavedAnswer - 1);
}

TEST(answer_text_from_either_api) {
    ChatResult r;
    r.json = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"chat text\"}}]}";
    CHECK_EQ(answer_text(r), std::string("chat text"));
    r.json = "{\"output\":[{\"type\":\"reasoning\"},{\"type\":\"message\",\"content\":[{\"type\":"
             "\"output_text\",\"text\":\"resp \"},{\"type\":\"output_text\",\"text\":\"text\"}]}]}";
    CHECK_EQ(answer_text(r), std::string("resp text"));
}

TEST(title_is_the_first_line_cut_and_printable) {
    ChatRequest r;
    r.prompt = "line one\x01\nline two";
    CHECK_EQ(conversation_title(r), std::string("line one "));
    r.prompt = std::string(100, 'x');
    CHECK_EQ(conversation_title(r).size(), size_t{80});
}

TEST(budget_from_the_catalogue_limits) {
    CHECK_EQ(prompt_budget(nullptr), int64_t{0});
    ModelInfo m;
    CHECK_EQ(prompt_budget(&m), int64_t{0});
    m.context_window = 1000;
    m.max_output = 200;
    CHECK_EQ(prompt_budget(&m), int64_t{800});
    m.max_prompt = 500;
    CHECK_EQ(prompt_budget(&m), int64_t{500});
}

TEST(history_trims_the_oldest_turns_and_keeps_system_messages) {
    std::vector<ChatTurn> turns = {turn("a", std::string(400, 'x')), turn("b", "y"), turn("c", "z")};
    turns[0].messages = "[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":\"a\"}]";
    const History all = history_messages(turns, 0, 10);
    CHECK_EQ(all.dropped, size_t{0});
    CHECK_EQ(all.turns, size_t{3});
    const History some = history_messages(turns, 60, 10);
    CHECK_EQ(some.dropped, size_t{1});
    CHECK_EQ(some.messages.substr(0, 33), std::string("[{\"role\":\"system\",\"content\":\"s\"},"));
    CHECK(some.messages.find(std::string(400, 'x')) == std::string::npos);
    const History none = history_messages(turns, 1, 10);
    CHECK_EQ(none.dropped, size_t{3});
    CHECK_EQ(none.messages, std::string("[{\"role\":\"system\",\"content\":\"s\"}]"));
}

TEST(continue_request_folds_history_and_this_turn) {
    ChatRequest r;
    r.system = "sys";
    r.prompt = "now";
    const std::string t = turn_messages(r);
    continue_request(r, "[{\"role\":\"user\",\"content\":\"old\"}]", t);
    CHECK(!r.system);
    CHECK_EQ(*r.messages_json, std::string("[{\"role\":\"user\",\"content\":\"old\"},{\"role\":\"system\",\"content\":\"sys\"}]"));
    CHECK_EQ(*r.prompt, std::string("now"));
}

TEST(show_text_and_json) {
    std::vector<ChatTurn> turns = {turn("hi", "hello")};
    CHECK_EQ(show_text(turns), std::string("user:\nhi\n\nassistant:\nhello\n\n"));
    CHECK_EQ(show_json(turns), std::string("[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"}]"));
    ChatSummary c;
    c.id = "abc";
    c.updated = 0;
    c.model = "m";
    c.title = "t";
    CHECK_EQ(history_text({c}), std::string("abc\t1970-01-01 00:00\tm\tt\n"));
}

