// copilot-chat: a chat completion from the shell, streamed to stdout.
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include "api/answer_usage.h"
#include "api/catalogue.h"
#include "api/chat.h"
#include "api/responses.h"
#include "api/routed_chat.h"
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
    std::optional<copilot::wire::Api> api;  // --api
    bool json = false;
    bool usage = false;
    bool no_stdin = false;
    bool list_models = false;
    bool all = false;
    bool quiet = false;
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
            f.chat.max_tokens || !f.chat.stream || f.usage || f.api || f.chat.reasoning_effort)
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

// --usage: the answer's tokens and quota, and the model's multiplier from
// the catalogue (cached, else fetched now; unknown when that fails).
copilot::AnswerUsage answer_usage(const Flags& f, copilot::CatalogueSource& catalogue,
                                  const copilot::ChatResult& result) {
    copilot::AnswerUsage u;
    u.tokens = result.usage;
    u.quota = result.quota;
    try {
        const auto& cat = catalogue.get(std::time(nullptr));
        u.multiplier = copilot::premium_multiplier(cat.find(f.chat.model));
    } catch (const Error& e) {
        tool::debug(std::string("no premium multiplier: ") + e.what());
    }
    return u;
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
    if (!f.chat.prompt && !f.messages)
        tool::usage_error("no prompt: give it as arguments or on standard input");
    // Malformed --messages fail before any network.
    if (f.api == copilot::wire::Api::responses)
        copilot::build_responses_body(f.chat);
    else
        copilot::build_chat_body(f.chat);

    copilot::ApiCredentials auth = get_auth(f);
    Answer answer;
    Reasoning reasoning;
    copilot::ChatIo io;
    io.want_json = f.json;
    io.log = f.auth.log;
    io.on_text = [&answer](std::string_view t) { answer.write(t); };
    if (tool::verbose) io.on_reasoning = [&reasoning](std::string_view t) { reasoning.add(t); };

    copilot::CatalogueSource catalogue(auth, f.auth.host, f.auth.profile, f.auth.log);
    copilot::RouteOptions route;
    route.forced = f.api;
    route.catalogue = &catalogue;
    route.warn = [&f](const std::string& w) {
        if (!f.quiet) tool::warn(w);
    };

    copilot::ChatResult result;
    try {
        result = copilot::run_routed_chat(auth, f.chat, io, route, std::time(nullptr)).result;
    } catch (const Error&) {
        reasoning.flush();
        answer.end_line();  // the text so far stays; the error goes on its own line
        throw;
    }
    reasoning.flush();
    std::optional<copilot::AnswerUsage> usage;
    if (f.usage) usage = answer_usage(f, catalogue, result);
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
    return 0;
}

int body(int argc, char** argv) {
    Flags f = parse_flags(argc, argv);
    if (f.list_models) return list_models(f);
    return chat(f);
}

}  // namespace

int main(int argc, char** argv) { return tool::run("copilot-chat", argc, argv, body); }
