#include "flags.h"

#include <cstdlib>
#include <string>
#include <unistd.h>

#include "api/attachments.h"
#include "api/schema.h"
#include "net/endpoints.h"
#include "store/chats.h"
#include "util/paths.h"
#include "util/utf8.h"
#include "copilot-chat.opts.h"  // kOptions, from cmd/options/copilot-chat.opts
#include "tool.h"

namespace chat_cmd {

namespace {

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

}  // namespace

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
    // -i, or no prompt and a terminal to type one on (DESIGN: stdin is
    // read only when piped): the interactive mode (cmd/chat/interactive.h).
    f.interactive = r.has("interactive") ||
                    (f.words.empty() && !f.messages && f.attach.empty() && !f.no_stdin &&
                     !token_stdin && !f.list_models && !store_commands && ::isatty(0) == 1);
    if (f.interactive) {
        if (!f.words.empty()) tool::usage_error("-i takes no prompt: type it at the prompt");
        if (f.messages || !f.attach.empty() || f.chat.schema || f.json || f.usage || token_stdin ||
            f.list_models || store_commands)
            tool::usage_error("-i cannot go with --messages, --attach, --schema, --json, --usage, "
                              "--token-file -, --list-models or --history/--show/--forget");
    }
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

}  // namespace chat_cmd
