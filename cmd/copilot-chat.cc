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
#include "copilot-chat.opts.h"  // kOptions, from cmd/options/copilot-chat.opts
#include "tool.h"

namespace {

using copilot::Error;
using copilot::Exit;

struct Flags {
    copilot::ApiCredentialsRequest auth;
    copilot::ChatRequest chat;
    std::vector<std::string> words;        // the prompt arguments
    std::optional<std::string> messages;  // --messages FILE|-
    std::vector<std::string> attach;      // -a, --attach FILE
    std::optional<copilot::wire::Api> api;  // --api
    bool json = false;
    bool usage = false;
    bool no_stdin = false;
    bool list_models = false;
    bool all = false;
    bool quiet = false;
    // Conversations (store/chats.h): saved unless --no-save or COPILOT_CHAT_SAVE=0.
    bool save = true;
    bool resume_latest = false;                // -c, --continue
    std::optional<std::string> conversation;  // --conversation ID
    bool history = false;
    std::optional<std::string> show, forget;
};

double parse_temperature(const std::string& v) {
    char* end = nullptr;
    double t = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || !(t >= 0.0 && t <= 2.0))
        tool::usage_error("--temperature needs a number from 0 to 2, not " + tool::quoted(v));
    return t;
}

int64_t parse_max_tokens(const std::string& v) {
    if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos ||
        std::stoll(v) == 0)
        tool::usage_error("--max-tokens needs a positive whole number, not " + tool::quoted(v));
    return std::stoll(v);
}

Flags parse_flags(int argc, char** argv) {
    const tool::Args r = tool::parse_args(kOptions, argc, argv);

    Flags f;
    f.words = r.operands;
    f.auth.host = r.value_or("host", copilot::kDefaultHost);
    f.auth.profile = r.value_or("profile", "");
    copilot::state_name(f.auth.host, f.auth.profile);  // rejects names that cannot be files
    f.auth.token_file = r.value("token-file");
    f.auth.api_url = r.value("api-url");

    const char* env_model = std::getenv("COPILOT_MODEL");
    if (auto model = r.value("model"))
        f.chat.model = *model;
    else if (env_model && *env_model)
        f.chat.model = env_model;
    if (f.chat.model.empty() || f.chat.model.find_first_of(" \t\r\n") != std::string::npos)
        tool::usage_error("--model needs a model id such as " + std::string(copilot::kDefaultChatModel));
    copilot::check_utf8(f.chat.model, "--model");
    f.chat.system = r.value("system");
    f.messages = r.value("messages");
    f.attach = r.values("attach");
    if (auto sc = r.value("schema")) f.chat.schema = copilot::read_schema(*sc);
    if (auto t = r.value("temperature")) f.chat.temperature = parse_temperature(*t);
    if (auto n = r.value("max-tokens")) f.chat.max_tokens = parse_max_tokens(*n);
    if (auto a = r.value("api")) {
        f.api = copilot::wire::api_from_name(*a);
        if (!f.api)
            tool::usage_error("--api needs chat, responses or messages, not " + tool::quoted(*a));
        if (*f.api == copilot::wire::Api::messages)
            tool::usage_error("--api messages (the Anthropic Messages API) is not supported yet; "
                              "use --api chat or --api responses");
    }
    if (auto e = r.value("reasoning-effort")) {
        if (*e != "low" && *e != "medium" && *e != "high")
            tool::usage_error("--reasoning-effort needs low, medium or high, not " +
                              tool::quoted(*e));
        f.chat.reasoning_effort = *e;
    }
    f.chat.stream = !r.has("no-stream");
    f.json = r.has("json");
    f.usage = r.has("usage");
    f.no_stdin = r.has("no-stdin");
    f.list_models = r.has("list-models");
    f.all = r.has("all");
    f.quiet = r.has("quiet");
    const char* env_save = std::getenv("COPILOT_CHAT_SAVE");
    f.save = !r.has("no-save") && !(env_save && std::string(env_save) == "0");
    f.resume_latest = r.has("continue");
    f.conversation = r.value("conversation");
    f.history = r.has("history");
    f.show = r.value("show");
    f.forget = r.value("forget");
    for (const auto* id : {&f.conversation, &f.show, &f.forget})
        if (*id && !copilot::valid_conversation_id(**id))
            tool::usage_error("not a conversation id: " + tool::quoted(**id) +
                              " (copilot-chat --history lists them)");
    const int store_commands = f.history + f.show.has_value() + f.forget.has_value();
    if (store_commands > 1 || (store_commands && (f.list_models || f.resume_latest || f.conversation)))
        tool::usage_error("--history, --show and --forget go alone");
    if (f.resume_latest && f.conversation)
        tool::usage_error("--continue and --conversation cannot go together");
    if (store_commands &&
        (f.history ? f.words.size() > 1 || (f.words.size() == 1 &&
                                            f.words[0].find_first_not_of("0123456789") != std::string::npos)
                   : !f.words.empty()))
        tool::usage_error(f.history ? "--history takes at most a number" : "--show and --forget take no prompt");

    const bool token_stdin = f.auth.token_file && *f.auth.token_file == "-";
    const bool messages_stdin = f.messages && *f.messages == "-";
    if (token_stdin && messages_stdin)
        tool::usage_error("--token-file - and --messages - cannot both read standard input");
    if (f.no_stdin && (token_stdin || messages_stdin))
        tool::usage_error("--no-stdin conflicts with reading '-' from standard input");
    if (f.all && !f.list_models) tool::usage_error("--all goes with --list-models");
    if (f.list_models) {
        if (!f.words.empty()) tool::usage_error("--list-models takes no prompt");
        if (r.has("model") || f.chat.system || f.messages || f.chat.temperature ||
            f.chat.max_tokens || !f.chat.stream || f.usage || f.api || f.chat.reasoning_effort ||
            !f.attach.empty() || f.chat.schema || f.resume_latest || f.conversation)
            tool::usage_error("--list-models takes no chat options");
    }
    // Reasoning summaries are asked for only when they will be shown.
    f.chat.reasoning_summary = tool::verbose && f.chat.reasoning_effort.has_value();
    if (tool::verbose) {
        auto log = [](const std::string& m) { tool::debug(m); };
        f.auth.log = log;
        f.auth.on_retry = [](int attempt, long wait_ms, const std::string& reason) {
            tool::debug("retry " + std::to_string(attempt) + " in " + std::to_string(wait_ms) +
                        " ms: " + reason);
        };
    }
    return f;
}

void warn_all(const Flags& f, const std::vector<std::string>& warnings) {
    if (f.quiet) return;
    for (const auto& w : warnings) tool::warn(w);
}

copilot::ApiCredentials get_auth(const Flags& f) {
    copilot::ApiCredentials auth = copilot::resolve_api_credentials(f.auth, std::time(nullptr));
    warn_all(f, auth.warnings);
    tool::debug("Copilot token from " + auth.source + " (" + copilot::mask_secret(auth.token) +
                "), API " + auth.api_url);
    return auth;
}

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

// --verbose: reasoning summaries on stderr, a line at a time ("reasoning: ..."),
// control characters shown as '?'.
struct Reasoning {
    std::string line;
    void add(std::string_view text) {
        for (char c : text) {
            if (c == '\n') {
                flush();
                continue;
            }
            const unsigned char u = static_cast<unsigned char>(c);
            line.push_back((u < 0x20 && c != '\t') || u == 0x7f ? '?' : c);
        }
    }
    void flush() {
        if (!line.empty()) tool::say("reasoning: " + line);
        line.clear();
    }
};

// Plain mode shows text only: the tool calls an answer asks for are named
// on stderr (issue 13: never dropped silently); --json carries them whole.
void note_tool_calls(const Flags& f, const std::vector<copilot::ToolCall>& calls) {
    if (f.json || f.quiet || calls.empty()) return;
    std::string names;
    for (const auto& c : calls)
        names += (names.empty() ? "" : ", ") + copilot::printable(c.name.empty() ? "?" : c.name);
    tool::warn("the answer asks to call " + std::to_string(calls.size()) +
               (calls.size() == 1 ? " tool" : " tools") + " (" + names +
               "), not shown as text; --json prints the calls");
}

// Writes the answer as it arrives and remembers how it ended, for the final newline.
struct Answer {
    bool any = false;
    char last = 0;
    void write(std::string_view text) {
        if (text.empty()) return;
        tool::out(text);
        any = true;
        last = text.back();
    }
    void end_line() {
        if (any && last != '\n') write("\n");
    }
};

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
    return chat(f);
}

}  // namespace

int main(int argc, char** argv) { return tool::run("copilot-chat", argc, argv, body); }
