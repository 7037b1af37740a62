// copilot-token: auth state -> short-lived Copilot API token (cached, refreshed).
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "auth/auth_state.h"
#include "auth/copilot_token.h"
#include "util/errors.h"
#include "util/files.h"
#include "net/endpoints.h"
#include "util/paths.h"
#include "auth/token_check.h"
#include "copilot-token.opts.h"  // kOptions, from cmd/options/copilot-token.opts
#include "tool.h"

namespace {

using copilot::Error;
using copilot::Exit;

constexpr size_t kMaxStdin = 1 << 20;

enum class Format { token, json, env, header };

struct Flags {
    copilot::TokenRequest req;
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

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// Single-quoted for sh: safe in `eval` whatever the value holds.
std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

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
        if (v == "token") f.format = Format::token;
        else if (v == "json") f.format = Format::json;
        else if (v == "env") f.format = Format::env;
        else if (v == "header") f.format = Format::header;
        else tool::usage_error("--format must be token, json, env or header, not " + tool::quoted(v));
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

// Reads standard input only when it is a pipe or a file (never a terminal)
// and only once; empty means nothing was piped.
class StdinText {
public:
    explicit StdinText(bool allowed) : allowed_(allowed) {}
    const std::optional<std::string>& get(bool required) {
        if (!read_ && (required || (allowed_ && copilot::stdin_is_piped()))) {
            read_ = true;
            std::string text = copilot::read_fd(0, kMaxStdin, "standard input");
            if (!trim(text).empty()) text_ = std::move(text);
        }
        return text_;
    }

private:
    bool allowed_;
    bool read_ = false;
    std::optional<std::string> text_;
};

// The GitHub token, looked up only when an exchange is due: the fresh-cache
// path never reads credentials or standard input.
std::function<std::string()> github_token_source(const Flags& f, StdinText& in) {
    return [&f, &in]() {
        copilot::TokenSources src;
        src.host = f.req.host;
        src.profile = f.req.profile;
        src.auth_file = f.auth;
        const bool from_stdin = f.auth && *f.auth == "-";
        src.stdin_text = in.get(from_stdin);
        std::string warnings;
        auto gt = copilot::find_github_token(src, &warnings);
        if (!warnings.empty() && !f.quiet) {
            size_t at = 0;
            for (size_t nl; (nl = warnings.find('\n', at)) != std::string::npos; at = nl + 1)
                tool::warn(warnings.substr(at, nl - at));
            tool::warn(warnings.substr(at));
        }
        if (!gt)
            throw Error(Exit::no_auth, "not logged in to " + f.req.host + "; run copilot-login");
        if (!gt->host.empty() && gt->host != f.req.host)
            throw Error(Exit::usage, "the GitHub login from " + gt->source + " is for " + gt->host +
                                         ", not " + f.req.host + "; add --host " + gt->host);
        tool::debug("GitHub token from " + gt->source + " (" + copilot::mask_secret(gt->token) +
                    ")");
        return gt->token;
    };
}

void add_hooks(copilot::TokenRequest& req) {
    if (!tool::verbose) return;
    req.log = [](const std::string& m) { tool::debug(m); };
    req.on_retry = [](int attempt, long wait_ms, const std::string& reason) {
        tool::debug("retry " + std::to_string(attempt) + " in " + std::to_string(wait_ms) +
                    " ms: " + reason);
    };
}

void print_token(const copilot::CopilotToken& t, Format format) {
    switch (format) {
    case Format::token:
        tool::out(t.token + "\n");
        break;
    case Format::json:
        tool::out(copilot::serialize_token_document(t));
        break;
    case Format::env:
        tool::out("export COPILOT_TOKEN=" + shell_quote(t.token) + "\n" +
                  "export COPILOT_API_URL=" + shell_quote(copilot::effective_api_url(t)) + "\n" +
                  "export COPILOT_TOKEN_EXPIRES_AT=" + shell_quote(std::to_string(t.expires_at)) +
                  "\n");
        break;
    case Format::header:
        tool::out("Authorization: Bearer " + t.token + "\n");
        break;
    }
}

int run_check(const Flags& f, StdinText& in) {
    const int64_t now = std::time(nullptr);
    copilot::TokenCheck c;
    if (const auto& piped = in.get(false)) {
        c = copilot::inspect_token_text(*piped, "standard input");
    } else {
        std::optional<copilot::CopilotToken> cached;
        if (f.req.use_cache) cached = copilot::read_token_cache(f.req.host, f.req.profile);
        if (!cached)
            throw Error(Exit::no_auth, "no Copilot token for " + f.req.host +
                                           (f.req.use_cache ? " in the cache" : " on standard input") +
                                           "; run copilot-token");
        c = copilot::inspect_token(*cached,
                                   "token cache " + copilot::token_cache_path(f.req.host, f.req.profile));
    }
    const bool ok = copilot::check_passes(c, now, f.req.min_ttl);
    if (f.format == Format::json) tool::out(copilot::check_summary_json(c, now, f.req.min_ttl));
    if (!f.quiet) tool::say(copilot::check_summary_text(c, now, f.req.min_ttl));
    return ok ? 0 : 1;
}

volatile std::sig_atomic_t g_stop = 0;
volatile pid_t g_child = 0;

extern "C" void on_stop_signal(int) { g_stop = 1; }
extern "C" void forward_signal(int sig) {
    if (g_child > 0) ::kill(g_child, sig);
}

void set_handler(int sig, void (*fn)(int)) {
    struct sigaction sa {};
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a signal must cut a sleep short
    ::sigaction(sig, &sa, nullptr);
}

// Sleeps until `deadline` (wall clock) in short steps so that SIGTERM ends it at once.
void sleep_until(int64_t deadline) {
    while (!g_stop && std::time(nullptr) < deadline) {
        struct timespec ts {0, 200 * 1000 * 1000};
        ::nanosleep(&ts, nullptr);
    }
}

bool permanent(Exit code) {
    return code == Exit::usage || code == Exit::data || code == Exit::no_auth ||
           code == Exit::permission;
}

int run_watch(Flags& f, StdinText& in) {
    set_handler(SIGTERM, on_stop_signal);
    set_handler(SIGINT, on_stop_signal);
    auto github_token = github_token_source(f, in);
    int failures = 0;
    while (!g_stop) {
        const int64_t now = std::time(nullptr);
        int64_t wait = 1;
        try {
            copilot::TokenResult r = copilot::get_copilot_token(f.req, github_token, now);
            f.req.force_refresh = false;  // only the first round obeys --refresh
            failures = 0;
            warn_all(f, r.warnings);
            const copilot::CopilotToken& t = r.token;
            wait = copilot::refresh_due_at(t, f.req.min_ttl) - now;
            // A token that is due as soon as it arrives (a refresh_in under
            // 60 s, or --min-ttl beyond its lifetime) must not make us spin.
            if (wait < 1) wait = 60;
            if (!f.quiet)
                tool::say(std::string(r.from_cache ? "cached" : "new") + " token for " + f.req.host +
                          " valid for " + copilot::describe_duration(t.expires_at - now) +
                          "; next refresh in " + copilot::describe_duration(wait));
        } catch (const Error& e) {
            if (permanent(e.code())) throw;
            ++failures;
            wait = std::min<int64_t>(int64_t{5} << std::min(failures - 1, 6), 300);
            if (!f.quiet)
                tool::say(std::string("refresh failed: ") + e.what() + "; retrying in " +
                          copilot::describe_duration(wait));
        }
        sleep_until(now + wait);
    }
    if (!f.quiet) tool::say("stopped");
    return 0;
}

int run_exec(const Flags& f, StdinText& in) {
    copilot::TokenResult r =
        copilot::get_copilot_token(f.req, github_token_source(f, in), std::time(nullptr));
    warn_all(f, r.warnings);
    const std::string api_url = copilot::effective_api_url(r.token);

    std::vector<char*> args;
    for (const auto& a : f.command) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    // The terminal sends SIGINT/SIGQUIT to the child too, so we ignore them
    // while it runs; SIGTERM/SIGHUP, which a supervisor sends to us alone,
    // are passed on. Blocked around fork() so none is lost before g_child is set.
    const int kSignals[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP};
    struct sigaction saved[4];
    sigset_t block, old_mask;
    sigemptyset(&block);
    for (int sig : kSignals) sigaddset(&block, sig);
    ::sigprocmask(SIG_BLOCK, &block, &old_mask);
    for (int i = 0; i < 4; ++i) ::sigaction(kSignals[i], nullptr, &saved[i]);
    set_handler(SIGTERM, forward_signal);
    set_handler(SIGHUP, forward_signal);
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGQUIT, SIG_IGN);

    pid_t pid = ::fork();
    if (pid == 0) {
        // The command gets the dispositions we were started with.
        for (int i = 0; i < 4; ++i) ::sigaction(kSignals[i], &saved[i], nullptr);
        std::signal(SIGPIPE, SIG_DFL);  // tool::run ignores it for our own writes
        ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
        // The token goes in the environment: argv is visible to every user.
        ::setenv("COPILOT_TOKEN", r.token.token.c_str(), 1);
        ::setenv("COPILOT_API_URL", api_url.c_str(), 1);
        ::setenv("COPILOT_TOKEN_EXPIRES_AT", std::to_string(r.token.expires_at).c_str(), 1);
        ::execvp(args[0], args.data());
        const int err = errno;
        tool::say("cannot run " + f.command[0] + ": " + std::strerror(err));
        ::_exit(err == ENOENT ? 127 : 126);
    }
    const int fork_errno = errno;
    if (pid > 0) g_child = pid;
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    if (pid < 0) throw Error(Exit::io, std::string("cannot fork: ") + std::strerror(fork_errno));
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) throw Error(Exit::io, std::string("waitpid: ") + std::strerror(errno));
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

int body(int argc, char** argv) {
    Flags f = parse_flags(argc, argv);
    add_hooks(f.req);
    StdinText in(!f.no_stdin);
    if (f.check) return run_check(f, in);
    if (f.watch) return run_watch(f, in);
    if (f.exec) return run_exec(f, in);

    copilot::TokenResult r =
        copilot::get_copilot_token(f.req, github_token_source(f, in), std::time(nullptr));
    warn_all(f, r.warnings);
    print_token(r.token, f.format);
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return tool::run("copilot-token", argc, argv, body); }
