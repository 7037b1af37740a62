// One conversation as copilot-chat carries it from turn to turn
// (ARCHITECTURE.md, "Files"): the database opened before any request (a
// locked or damaged one fails before anything is spent), the earlier turns
// (-c, --conversation) kept in memory, each request continued with them
// (trimmed to the model's context window), each answered turn added and
// saved. The interactive mode runs many turns on one session; with saving
// off the turns still accumulate in memory, and save_now() writes them all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/chat.h"
#include "store/chats.h"
#include "wire/wire.h"

namespace copilot {

// A turn between its request and its answer.
struct PendingTurn {
    std::string messages;  // turn_messages of the request, before the history was folded in
    std::string title;     // conversation_title of the request
    std::string text;      // the answer's text as it streamed, up to kMaxSavedAnswer
    bool whole = true;     // false once kMaxSavedAnswer cut it
    // Set when earlier turns were left out to fit the context window: the
    // one-line note for stderr.
    std::optional<std::string> trimmed;

    // A piece of the streamed answer (kept up to kMaxSavedAnswer).
    void keep(std::string_view piece);
};

class ChatSession {
public:
    // Opens the database when saving or continuing (created only when
    // saving); resume_latest continues the latest conversation, `conversation`
    // the given one (their turns are loaded). Error(usage) "no saved
    // conversation to continue" when there is none; ChatStore's errors.
    ChatSession(bool save, bool resume_latest, const std::optional<std::string>& conversation);

    // Prepares `req` for sending: its own messages taken for the record, then
    // the earlier turns folded in (api/chat.h continue_request), the oldest
    // left out past `model`'s prompt budget (unknown model: none are).
    PendingTurn begin(ChatRequest& req, const ModelInfo* model) const;

    // The answered turn: kept in memory, and saved when saving (a new
    // conversation gets its id now). `text` is the answer's text (with
    // --json the whole answer's, else pending.text).
    void record(const PendingTurn& pending, const std::string& model, wire::Api api,
                const ChatResult& result, const std::string& text, int64_t now);

    // Saving on from now, and the turns so far written (the database opened
    // or created first). Returns the conversation id ("" while there is no turn).
    std::string save_now();

    // A new conversation from the next turn (the old one stays saved).
    void clear();

    bool saving() const { return save_; }
    const std::string& id() const { return id_; }
    size_t turns() const { return turns_.size(); }

private:
    void write_unsaved();

    bool save_;
    std::optional<ChatStore> store_;
    std::string id_;
    std::string title_;
    std::vector<ChatTurn> turns_;
    size_t saved_ = 0;  // turns_ already in the database
};

}  // namespace copilot
