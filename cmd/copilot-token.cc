// copilot-token: auth state -> short-lived Copilot API token (cached, refreshed).
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "auth/auth_state.h"
#include "auth/copilot_token.h"
#include "auth/credentials.h"
#include "util/files.h"
#include "net/endpoints.h"
#include "util/paths.h"
#include "util/process.h"
#include "auth/token_check.h"
#include "auth/token_keeper.h"
#include "copilot-token.opts.h"  // kOptions, from cmd/options/copilot-token.opts
#include "tool.h"

namespace {

using copilot::Error;
using copilot::Exit;

using Format = copilot::TokenFormat;

struct Flags {
    copilot::CopilotTokenRequest req;
    std::optional<std::string> auth;
    Format format = Format::token;
    bool json = false;
    bool no_stdin = false;
    bool check = false;
    bool watch = false;
    bool exec = false;
    bool quiet = false;
    std::vector<std::string> command;  // after "--", for --exec
};

int64_t parse_seconds(const std::string& flag, const std::string& v) {
    if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos)
        tool::usage_error(flag + " needs a number of seconds, not " + tool::quoted(v));
    return std::stoll(v);
}

Flags parse_flags(int argc, char** argv) {
    // What follows "--" is the command for --exec, never our flags.
    const tool::Args r = tool::parse_args(kOptions, argc, argv);

    Flags f;
    f.req.host = r.value_or("host", copilot::kDefaultHost);
    f.req.profile = r.value_or("profile", "");
    copilot::state_name(f.req.host, f.req.profile);  // rejects names that cannot be files
    f.req.min_ttl = parse_seconds("--min-ttl", r.value_or("min-ttl", "300"));
    f.req.force_refresh = r.has("refresh");
    f.req.use_cache = !r.has("no-cache");
    f.req.cache_required = true;  // an unwritable cache exits 74 (copilot-token(1))
    f.auth = r.value("auth");
    f.json = r.has("json");
    f.no_stdin = r.has("no-stdin");
    f.check = r.has("check");
    f.watch = r.has("watch");
    f.exec = r.has("exec");
    f.quiet = r.has("quiet");
    f.command = r.operands;
    const bool dash_dash = r.dash_dash;
    const bool format_given = r.has("format");

    if (auto given = r.value("format")) {
        const std::string v = *given;
        auto format = copilot::parse_token_format(v);
        if (!format) tool::usage_error("--format must be token, json, env or header, not " + tool::quoted(v));
        f.format = *format;
        if (f.json && f.format != Format::json) tool::usage_error("--json conflicts with --format " + v);
    }
    if (f.json) f.format = Format::json;

    if (f.check + f.watch + f.exec > 1) tool::usage_error("--check, --watch and --exec exclude each other");
    if (f.exec && f.command.empty()) tool::usage_error("--exec needs a command after --");
    if (!f.exec && dash_dash) tool::usage_error("a command after -- needs --exec");
    if (f.no_stdin && f.auth && *f.auth == "-") tool::usage_error("--auth - conflicts with --no-stdin");
    if (f.check && (f.auth || f.req.force_refresh))
        tool::usage_error("--check inspects a Copilot token without the network; it takes no --auth or --refresh");
    if (f.check && format_given && f.format != Format::json)
        tool::usage_error("--check prints a summary, not --format " + *r.value("format"));
    if (f.watch && !f.req.use_cache) tool::usage_error("--watch keeps the cache fresh; it cannot use --no-cache");
    // --watch and --exec print no token: an output format means nothing there.
    if ((f.watch || f.exec) && (f.json || format_given))
        tool::usage_error(std::string(f.watch ? "--watch" : "--exec") +
                          " prints no token; it takes no --format or --json");
    // The command owns standard input unless --auth - asks for it.
    if (f.exec) f.no_stdin = true;
    return f;
}

void warn_all(const Flags& f, const std::vector<std::string>& warnings) {
    if (f.quiet) return;
    for (const auto& w : warnings) tool::warn(w);
}

using StdinText = copilot::PipedStdin;

// What lib/auth/credentials looks the tokens up with. Whether standard input
// is read was decided at start (body), never by the cache.
copilot::CredentialRequest credential_request(const Flags& f, StdinText& in) {
    copilot::CredentialRequest cr;
    cr.token = f.req;
    cr.auth_file = f.auth;
    cr.read_stdin = [&in](bool required) { return in.get(required); };
    return cr;
}

// The Copilot token, its warnings shown.
copilot::CopilotTokenResult get_token(const Flags& f, StdinText& in) {
    copilot::CopilotTokenResult r =
        copilot::get_copilot_credentials(credential_request(f, in), std::time(nullptr));
    warn_all(f, r.warnings);
    return r;
}

void add_hooks(copilot::CopilotTokenRequest& req) {
    if (!tool::verbose) return;
    req.log = [](const std::string& m) { tool::debug(m); };
    req.on_retry = [](int attempt, long wait_ms, const std::string& reason) {
        tool::debug("retry " + std::to_string(attempt) + " in " + std::to_string(wait_ms) +
                    " ms: " + reason);
    };
}

int run_check(const Flags& f, StdinText& in) {
    const int64_t now = std::time(nullptr);
    const copilot::CopilotTokenCheck c =
        copilot::inspect_piped_or_cached(in.get(false), f.req.host, f.req.profile, f.req.use_cache,
                                         !f.no_stdin && copilot::stdin_is_piped());
    if (f.format == Format::json) tool::out(copilot::check_summary_json(c, now, f.req.min_ttl));
    if (!f.quiet) tool::say(copilot::check_summary_text(c, now, f.req.min_ttl));
    return copilot::check_passes(c, now, f.req.min_ttl) ? 0 : 1;
}

volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_stop_signal(int) { g_stop = 1; }

void set_handler(int sig, void (*fn)(int)) {
    struct sigaction sa {};
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a signal must cut a sleep short
    ::sigaction(sig, &sa, nullptr);
}

// --watch: the token keeper copilot-serve uses (one schedule, one backoff,
// one rule for what is retried), run until SIGTERM or SIGINT, with the
// cache so that other processes find a fresh token there.
int run_watch(const Flags& f, StdinText& in) {
    set_handler(SIGTERM, on_stop_signal);
    set_handler(SIGINT, on_stop_signal);
    copilot::TokenKeeperOptions o;
    o.host = f.req.host;
    o.profile = f.req.profile;
    o.min_ttl = f.req.min_ttl;
    o.device_login = false;      // copilot-login's job
    o.stop_on_permanent = true;  // waiting cannot fix it: exit with its status
    bool forced = f.req.force_refresh;  // only the first round obeys --refresh
    o.fetch = [&f, &in, &forced](bool force) {
        copilot::CredentialRequest cr = credential_request(f, in);
        cr.token.force_refresh = force || forced;
        forced = false;
        // The keeper shows r.warnings itself.
        return copilot::get_copilot_credentials(cr, std::time(nullptr));
    };
    const bool quiet = f.quiet;
    o.log = [quiet](copilot::KeeperLog kind, const std::string& m) {
        switch (kind) {
        case copilot::KeeperLog::token:
        case copilot::KeeperLog::failure:
        case copilot::KeeperLog::notice:
            if (!quiet) tool::say(m);
            break;
        case copilot::KeeperLog::note: tool::debug(m); break;
        case copilot::KeeperLog::warning:
            if (!quiet) tool::warn(m);
            break;
        }
    };
    copilot::TokenKeeper keeper(o);
    keeper.start();  // throws what waiting cannot fix
    while (!g_stop && !keeper.wait_failed(std::chrono::milliseconds(200))) {
    }
    keeper.stop();
    if (auto e = keeper.failed()) throw *e;
    if (!f.quiet) tool::say("stopped");
    return 0;
}

// The token goes in the command's environment: argv is visible to every user.
int run_exec(const Flags& f, StdinText& in) {
    copilot::CopilotTokenResult r = get_token(f, in);
    const std::string api_url = copilot::copilot_api_url(std::nullopt, r.token);
    const copilot::CommandResult c =
        copilot::run_command(f.command, copilot::token_environment(r.token, api_url));
    if (c.exec_errno) tool::say("cannot run " + f.command[0] + ": " + std::strerror(c.exec_errno));
    return c.status;
}

int body(int argc, char** argv) {
    Flags f = parse_flags(argc, argv);
    add_hooks(f.req);
    StdinText in(!f.no_stdin, 1 << 20);
    // The one rule (copilot-token(1), "STANDARD INPUT"): read now when it is a
    // pipe or a file (or for --auth -), fresh cache or not, so a loop that
    // forgets --no-stdin fails at its first turn rather than 25 minutes later.
    in.get(f.auth && *f.auth == "-");
    if (f.check) return run_check(f, in);
    if (f.watch) return run_watch(f, in);
    if (f.exec) return run_exec(f, in);

    const copilot::CopilotToken t = get_token(f, in).token;
    tool::out(copilot::format_token(t, f.format, copilot::copilot_api_url(std::nullopt, t)));
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return tool::run("copilot-token", argc, argv, body); }
