#include "store/chat_session.h"

#include <unistd.h>

#include "store/conversation.h"

namespace copilot {

void PendingTurn::keep(std::string_view piece) {
    if (whole) whole = keep_answer(text, piece);
}

ChatSession::ChatSession(bool save, bool resume_latest,
                         const std::optional<std::string>& conversation)
    : save_(save), id_(conversation.value_or("")) {
    if (!save && !resume_latest && !conversation) return;
    const std::string path = chats_db_path();
    if ((resume_latest || conversation) && ::access(path.c_str(), F_OK) != 0)
        throw Error(Exit::usage, "no saved conversation to continue");
    store_.emplace(path, save);
    if (resume_latest) {
        auto latest = store_->latest();
        if (!latest) throw Error(Exit::usage, "no saved conversation to continue");
        id_ = *latest;
    }
    if (!id_.empty()) {
        turns_ = store_->turns(id_);
        saved_ = turns_.size();
    }
}

PendingTurn ChatSession::begin(ChatRequest& req, const ModelInfo* model) const {
    PendingTurn p;
    p.messages = turn_messages(req);
    p.title = conversation_title(req);
    if (turns_.empty()) return p;
    const int64_t budget = prompt_budget(model);
    const History h = history_messages(turns_, budget, p.messages.size());
    if (h.dropped)
        p.trimmed = "left out the " + std::to_string(h.dropped) + " oldest of " +
                    std::to_string(turns_.size()) + " turns of conversation " +
                    (id_.empty() ? std::string("(not saved)") : id_) +
                    " to fit the context window of " + req.model + " (" +
                    std::to_string(budget) + " tokens)";
    continue_request(req, h.messages, p.messages);
    return p;
}

void ChatSession::record(const PendingTurn& pending, const std::string& model, wire::Api api,
                         const ChatResult& result, const std::string& text, int64_t now) {
    ChatTurn t;
    t.time = now;
    t.model = model;
    t.api = wire::api_name(api);
    t.messages = pending.messages;
    t.answer = answer_message(result, text);
    if (result.usage) {
        t.prompt_tokens = result.usage->prompt_tokens;
        t.completion_tokens = result.usage->completion_tokens;
        t.total_tokens = result.usage->total_tokens;
    }
    if (title_.empty()) title_ = pending.title;  // used only when the conversation is new
    turns_.push_back(std::move(t));
    if (save_) write_unsaved();
}

void ChatSession::write_unsaved() {
    if (saved_ == turns_.size()) return;
    if (!store_) store_.emplace(chats_db_path(), true);
    if (id_.empty()) id_ = ChatStore::new_id();
    for (; saved_ < turns_.size(); ++saved_) store_->add_turn(id_, title_, turns_[saved_]);
}

std::string ChatSession::save_now() {
    save_ = true;
    write_unsaved();
    return id_;
}

void ChatSession::clear() {
    turns_.clear();
    saved_ = 0;
    id_.clear();
    title_.clear();
}

}  // namespace copilot
