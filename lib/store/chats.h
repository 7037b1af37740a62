// copilot-chat's conversations in SQLite (ARCHITECTURE.md, "Files"):
// $XDG_DATA_HOME/copilot-utils/chats.db, 0600 in a 0700 directory, WAL mode
// and a busy timeout so that parallel copilot-chat processes each add their
// rows (a write is one BEGIN IMMEDIATE transaction). The schema is versioned
// by PRAGMA user_version and migrated forward in one transaction; a database
// that is locked past the timeout (Error(temp)), damaged or not a database
// (Error(data)), or from a newer schema (Error(data)) is reported in one
// line and never written to. Uses util only: the rows are text and numbers,
// the messages JSON text as the caller built it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace copilot {

constexpr int kChatsSchemaVersion = 1;
constexpr int kChatsBusyTimeoutMs = 5000;

// $XDG_DATA_HOME/copilot-utils/chats.db
std::string chats_db_path();

// One exchange: what was sent new in it and what came back.
struct ChatTurn {
    int64_t time = 0;      // Unix seconds
    std::string model;     // the model asked for
    std::string api;       // the wire API it went out on ("chat", "responses")
    std::string messages;  // JSON array: the messages this turn added (not the history)
    std::string answer;    // JSON object: the assistant message (content, tool_calls)
    std::optional<int64_t> prompt_tokens, completion_tokens, total_tokens;
};

// A line of --history.
struct ChatSummary {
    std::string id;
    int64_t created = 0, updated = 0;
    std::string model;  // of the latest turn
    std::string title;  // the first line of the first prompt
    int64_t turns = 0;
};

class ChatStore {
public:
    // Opens (create: creating the directory 0700 and the file 0600, and
    // migrating) the database at `path`. Without `create`, a missing file
    // is Error(usage) "no saved conversations".
    ChatStore(const std::string& path, bool create);
    ~ChatStore();
    ChatStore(const ChatStore&) = delete;
    ChatStore& operator=(const ChatStore&) = delete;

    // A new conversation id: 12 random hexadecimal digits.
    static std::string new_id();

    // Adds a turn to conversation `id`, creating the conversation (with
    // `title`) when it is new.
    void add_turn(const std::string& id, const std::string& title, const ChatTurn& turn);
    // The conversation of the latest turn; nullopt when there is none.
    std::optional<std::string> latest();
    // The turns of `id`, oldest first; Error(usage) when there is no such conversation.
    std::vector<ChatTurn> turns(const std::string& id);
    // The `limit` most recently continued conversations, newest first (0: all).
    std::vector<ChatSummary> list(int64_t limit);
    // Deletes `id` and its turns; Error(usage) when there is no such conversation.
    void forget(const std::string& id);

private:
    void setup();  // busy timeout, schema version check, WAL, migrations
    void exec(const char* sql);
    int user_version();
    void migrate();
    [[noreturn]] void fail(int rc, const std::string& doing);

    sqlite3* db_ = nullptr;
    std::string path_;
};

// A conversation id as the user gives it: 1 to 64 of [0-9a-zA-Z_-].
bool valid_conversation_id(const std::string& id);

}  // namespace copilot
