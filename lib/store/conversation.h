// What copilot-chat keeps of a conversation and sends again (ARCHITECTURE.md,
// "Files"): the messages a turn adds and its answer as OpenAI Chat messages
// (tool calls and image parts as they were), the history of the earlier turns
// trimmed from the oldest to fit the model's context window, and the text of
// --history and --show. The rows themselves are store/chats.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/chat.h"
#include "store/chats.h"

namespace copilot {

// The messages this request adds, in the order build_chat_body sends them:
// the system message, the --messages entries, the prompt as a user message.
// A JSON array. Error(data) as build_chat_body for a malformed --messages.
std::string turn_messages(const ChatRequest& req);

// The most of an answer's text that is saved: a longer answer streams whole
// but is saved cut (at a UTF-8 boundary), so memory stays flat.
constexpr size_t kMaxSavedAnswer = 1u << 20;

// Appends a piece of the streamed answer to `kept` up to kMaxSavedAnswer;
// returns false once something had to be left out.
bool keep_answer(std::string& kept, std::string_view piece);

// The assistant message of an answer: {"role":"assistant","content":TEXT}
// (content null when there is no text) and its tool_calls, if any.
std::string answer_message(const ChatResult& result, const std::string& text);

// The answer's text from ChatResult::json (a Chat completion or a Responses
// response object): what --json printed instead of streaming it.
std::string answer_text(const ChatResult& result);

// The first line of the prompt (or of the first user message), at most 80
// characters: the title of a new conversation.
std::string conversation_title(const ChatRequest& req);

// Rough token count of JSON text (4 bytes a token): enough to decide what
// to drop, without a tokenizer.
int64_t estimate_tokens(size_t bytes);

// The tokens a request may spend on its prompt: max_prompt_tokens, else the
// context window less the maximum output; 0 when the model or its limits
// are unknown (then nothing is trimmed).
int64_t prompt_budget(const ModelInfo* model);

struct History {
    std::string messages = "[]";  // JSON array, oldest first
    size_t turns = 0;             // turns in it
    size_t dropped = 0;           // oldest turns left out to fit
};

// The earlier turns as messages (each turn's messages, then its answer),
// the oldest turns left out while the whole (with `new_bytes` of this
// turn's messages) would exceed `budget` tokens (0: no limit). The system
// messages of a dropped turn are kept.
History history_messages(const std::vector<ChatTurn>& turns, int64_t budget, size_t new_bytes);

// Folds the history into the request: messages_json becomes the history,
// then this turn's system message and --messages entries; system is
// cleared (it is among them). The prompt stays the last user message.
void continue_request(ChatRequest& req, const std::string& history, const std::string& turn);

// --history: one line a conversation, "ID<TAB>YYYY-MM-DD HH:MM<TAB>MODEL<TAB>TITLE"
// (UTC, the time of its latest turn; the title made printable).
std::string history_text(const std::vector<ChatSummary>& list);

// --show: each message as "ROLE:" on its own line, then its text (image
// parts as "[image]", tool calls as "[tool call NAME ARGUMENTS]").
std::string show_text(const std::vector<ChatTurn>& turns);

// --show --json: all the messages as one JSON array (for --messages).
std::string show_json(const std::vector<ChatTurn>& turns);

}  // namespace copilot
