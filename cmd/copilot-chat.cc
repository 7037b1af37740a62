// copilot-chat: a chat completion from the shell, streamed to stdout.
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include "api/attachments.h"
#include "api/answer_usage.h"
#include "api/catalogue.h"
#include "api/chat.h"
#include "api/responses.h"
#include "api/routed_chat.h"
#include "api/schema.h"
#include "store/chat_session.h"
#include "store/chats.h"
#include "store/conversation.h"
#include "util/errors.h"
#include "util/files.h"
#include "net/endpoints.h"
#include "util/paths.h"
#include "chat/flags.h"
#include "chat/interactive.h"
#include "chat/output.h"
#include "tool.h"

namespace {

using copilot::Error;
using copilot::Exit;
using namespace chat_cmd;

int list_models(const Flags& f) {
    copilot::ApiCredentials auth = get_auth(f);
    const std::string body = copilot::fetch_models(auth, f.auth.log);
    // Kept for routing (the catalogue) and for shell completion (models.txt);
    // only ids that pass valid_model_id get there or onto the terminal.
    copilot::CatalogueSource catalogue(auth, f.auth.host, f.auth.profile, f.auth.log);
    const auto& all = catalogue.take(body, std::time(nullptr)).models;
    if (f.json) {
        tool::out(body);
        if (body.empty() || body.back() != '\n') tool::out("\n");
        return 0;
    }
    const auto models = copilot::select_models(all, f.all);
    if (::isatty(1) == 1)
        tool::out(copilot::models_table(models, f.all, tool::use_color(1)));
    else
        tool::out(copilot::model_ids_text(models));
    return 0;
}

// Standard input is read only when it is a pipe or a file, never a terminal,
// and never when a '-' flag or --no-stdin claims it.
std::optional<std::string> read_stdin_prompt(const Flags& f) {
    const bool claimed = (f.auth.token_file && *f.auth.token_file == "-") ||
                         (f.messages && *f.messages == "-");
    if (f.no_stdin || claimed || !copilot::stdin_is_piped()) return std::nullopt;
    std::string text = copilot::read_fd(0, copilot::kMaxPromptInput, "standard input");
    copilot::check_utf8(text, "standard input");
    return text;
}

std::string read_messages(const std::string& file) {
    if (file == "-") return copilot::read_fd(0, copilot::kMaxPromptInput, "standard input");
    auto text = copilot::read_file(file, copilot::kMaxPromptInput);
    if (!text) throw Error(Exit::data, "--messages " + file + " does not exist");
    return *text;
}

// --history, --show, --forget: the database is read, never created.
int conversations(const Flags& f) {
    const std::string path = copilot::chats_db_path();
    if (f.history && ::access(path.c_str(), F_OK) != 0) return 0;  // nothing saved yet
    copilot::ChatStore store(path, false);
    if (f.history) {
        const int64_t n = f.words.empty() ? 0 : std::stoll(f.words[0].substr(0, 9));
        tool::out(copilot::history_text(store.list(n)));
    } else if (f.show) {
        const auto turns = store.turns(*f.show);
        tool::out(f.json ? copilot::show_json(turns) + "\n" : copilot::show_text(turns));
    } else {
        store.forget(*f.forget);
    }
    return 0;
}

int chat(Flags& f) {
    std::optional<std::string> args;
    if (!f.words.empty()) {
        std::string joined;
        for (const auto& w : f.words) joined += (joined.empty() ? "" : " ") + w;
        copilot::check_utf8(joined, "the prompt");
        args = joined;
    }
    if (f.chat.system) copilot::check_utf8(*f.chat.system, "--system");
    if (f.messages) {
        f.chat.messages_json = read_messages(*f.messages);
        f.chat.messages_what = "--messages " + *f.messages;
    }
    f.chat.prompt = copilot::compose_prompt(args, read_stdin_prompt(f));
    if (!f.chat.prompt && !f.messages && f.attach.empty())
        tool::usage_error("no prompt: give it as arguments or on standard input");
    if (f.messages && !f.attach.empty()) copilot::build_chat_body(f.chat);  // checked before it grows
    copilot::attach(f.chat, copilot::read_attachments(f.attach));
    // Malformed --messages fail before any network.
    if (f.api == copilot::wire::Api::responses)
        copilot::build_responses_body(f.chat);
    else
        copilot::build_chat_body(f.chat);

    // The database is opened before the request: a locked or damaged one
    // fails before any is spent.
    copilot::ChatSession session(f.save, f.resume_latest, f.conversation);
    copilot::PendingTurn turn;

    copilot::ApiCredentials auth = get_auth(f);
    Answer answer;
    if (!f.chat.schema) answer.render = terminal_renderer();
    Reasoning reasoning;
    copilot::ChatIo io;
    io.want_json = f.json;
    io.log = f.auth.log;
    // --schema: the answer is held back until it has been checked.
    std::string held;
    io.on_text = [&](std::string_view t) {
        if (f.chat.schema) {
            if (held.size() + t.size() > copilot::kMaxPromptInput)
                throw Error(Exit::protocol, "the answer is longer than 8 MiB, too long for --schema");
            held += t;
        } else {
            answer.write(t);
        }
        if (f.save) turn.keep(t);
    };
    if (tool::verbose) io.on_reasoning = [&reasoning](std::string_view t) { reasoning.add(t); };

    copilot::CatalogueSource catalogue(auth, f.auth.host, f.auth.profile, f.auth.log);
    copilot::RouteOptions route;
    route.forced = f.api;
    route.catalogue = &catalogue;
    route.warn = [&f](const std::string& w) {
        if (!f.quiet) tool::warn(w);
    };

    const copilot::Catalogue* cat = catalogue.cached(std::time(nullptr));
    const copilot::ModelInfo* model = cat ? cat->find(f.chat.model) : nullptr;
    turn = session.begin(f.chat, model);
    if (turn.trimmed && !f.quiet) tool::warn(*turn.trimmed);
    if (f.chat.messages_json && copilot::has_image(*f.chat.messages_json)) {
        f.chat.vision = true;
        if (!model && !f.api) model = catalogue.get(std::time(nullptr)).find(f.chat.model);
        copilot::check_vision(model, f.chat.model);
    }

    copilot::ChatResult result;
    copilot::wire::Api used = copilot::wire::Api::chat;
    try {
        auto routed = copilot::run_routed_chat(auth, f.chat, io, route, std::time(nullptr));
        result = std::move(routed.result);
        used = routed.api;
    } catch (const Error&) {
        reasoning.flush();
        answer.end_line();  // the text so far stays; the error goes on its own line
        throw;
    }
    reasoning.flush();
    if (f.chat.schema) {
        const std::string text = f.json ? copilot::answer_text(result) : held;
        const std::string checked =
            copilot::validate_answer(*f.chat.schema, copilot::answer_json_text(text));
        if (!f.json) answer.write(checked + "\n");
    }

    std::optional<copilot::AnswerUsage> usage;
    if (f.usage)
        usage = copilot::answer_usage_of(result, f.chat.model, catalogue, std::time(nullptr), f.auth.log);
    if (f.json)
        tool::out((usage ? copilot::json_with_member(result.json, "copilot_usage",
                                                     copilot::answer_usage_json(*usage))
                         : result.json) +
                  "\n");
    else
        answer.end_line();

    if (!f.quiet && result.finish_reason) {
        if (*result.finish_reason == "length")
            tool::warn("the answer was cut off at the token limit (finish_reason: length)");
        else if (*result.finish_reason == "content_filter")
            tool::warn("the answer was cut off by the content filter");
    }
    note_tool_calls(f, result.tool_calls);
    if (usage && !f.json)
        for (const auto& line : copilot::answer_usage_lines(*usage)) tool::say(line);
    if (f.save) {
        session.record(turn, f.chat.model, used, result,
                       f.json ? copilot::answer_text(result) : turn.text, std::time(nullptr));
        if (!turn.whole && !f.quiet)
            tool::warn("the answer is longer than " + std::to_string(copilot::kMaxSavedAnswer >> 20) +
                       " MiB: saved cut there");
        tool::debug("saved in conversation " + session.id());
    }
    return 0;
}

int body(int argc, char** argv) {
    Flags f = parse_flags(argc, argv);
    if (f.list_models) return list_models(f);
    if (f.history || f.show || f.forget) return conversations(f);
    if (f.interactive) return interactive(f);
    return chat(f);
}

}  // namespace

int main(int argc, char** argv) { return tool::run("copilot-chat", argc, argv, body); }
