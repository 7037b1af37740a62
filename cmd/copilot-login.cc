// copilot-login: GitHub's OAuth device flow -> a long-lived GitHub token,
// stored as auth state for copilot-token (ARCHITECTURE.md). Also the split flow
// (--start / --poll), --with-token, --import, --status and --logout.
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <unistd.h>
#include <vector>

#include "auth/login.h"
#include "util/files.h"
#include "net/endpoints.h"
#include "util/paths.h"
#include "util/process.h"
#include "copilot-login.opts.h"  // kOptions, from cmd/options/copilot-login.opts
#include "tool.h"

namespace {

using copilot::Error;
using copilot::Exit;

enum class Mode { interactive, start, poll, with_token, import, status, logout };

struct Flags {
    Mode mode = Mode::interactive;
    std::string host, profile, client_id, scope;
    std::string output;  // "" = the XDG auth file, "-" = stdout
    std::string pending_file = "-";
    bool host_given = false, client_id_given = false;
    bool once = false, open = false, no_verify = false, json = false, quiet = false;
};

volatile std::sig_atomic_t g_interrupted = 0;
void on_sigint(int) {
    // A second Ctrl-C does not wait for a slow request to end. Files are
    // replaced atomically, so dying here cannot leave half of one.
    if (g_interrupted) ::_exit(130);
    g_interrupted = 1;
}

// Ctrl-C must not kill us mid-write: the poll loop sees the flag, stops,
// and the run ends with 130 before anything is stored.
void catch_sigint() {
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
}

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

Flags parse_flags(int argc, char** argv) {
    const tool::Args r = tool::parse_args(kOptions, argc, argv);

    Flags f;
    f.host = r.value_or("host", copilot::kDefaultHost);
    f.profile = r.value_or("profile", "");
    f.client_id = r.value_or("client-id", copilot::kDefaultClientId);
    f.scope = r.value_or("scope", copilot::kDefaultScope);
    f.host_given = r.has("host");
    f.client_id_given = r.has("client-id");
    f.once = r.has("once");
    f.open = r.has("open");
    f.no_verify = r.has("no-verify");
    f.json = r.has("json");
    f.quiet = r.has("quiet");
    if (auto output = r.value("output")) {
        f.output = *output;
        if (f.output.empty()) tool::usage_error("--output needs a file name or -");
    }

    int modes = 0;
    const std::pair<const char*, Mode> mode_flags[] = {
        {"start", Mode::start},   {"poll", Mode::poll},     {"with-token", Mode::with_token},
        {"import", Mode::import}, {"status", Mode::status}, {"logout", Mode::logout}};
    for (const auto& [name, mode] : mode_flags)
        if (r.has(name)) {
            f.mode = mode;
            ++modes;
        }
    if (modes > 1)
        tool::usage_error("--start, --poll, --with-token, --import, --status and --logout "
                          "exclude each other");

    const std::vector<std::string>& args = r.operands;
    if (f.mode == Mode::poll) {
        if (args.size() > 1) tool::usage_error("--poll takes one FILE");
        if (!args.empty()) f.pending_file = args[0];
    } else if (!args.empty()) {
        tool::usage_error("unexpected argument " + tool::quoted(args[0]));
    }

    const bool writes_auth = f.mode == Mode::interactive || f.mode == Mode::poll ||
                             f.mode == Mode::with_token || f.mode == Mode::import;
    const bool requests_code = f.mode == Mode::interactive || f.mode == Mode::start;
    if (f.once && f.mode != Mode::poll) tool::usage_error("--once goes with --poll");
    if (f.json && f.mode != Mode::status) tool::usage_error("--json goes with --status");
    if (f.open && f.mode != Mode::interactive)
        tool::usage_error("--open goes with the interactive login only");
    if (r.has("output") && !writes_auth && f.mode != Mode::start)
        tool::usage_error("--output goes with a login or --start (not --status or --logout)");
    if (f.no_verify && !writes_auth)
        tool::usage_error("--no-verify goes with a login (not --start, --status or --logout)");
    if (r.has("scope") && !requests_code)
        tool::usage_error("--scope goes with the interactive login or --start");
    if (f.client_id_given && !requests_code && f.mode != Mode::with_token &&
        f.mode != Mode::import)
        tool::usage_error("--client-id does not go with this mode");
    if (f.client_id.empty() || f.scope.empty())
        tool::usage_error("--client-id and --scope must not be empty");
    copilot::state_name(f.host, f.profile);  // rejects bad host/profile names early
    return f;
}

void show_code(const copilot::PendingLogin& p, const Flags& f, bool interactive) {
    const bool color = tool::use_color(2);
    const std::string code = color ? "\033[1m" + p.user_code + "\033[0m" : p.user_code;
    // The code and URL are what the user needs: never silenced in the
    // interactive flow, even with --quiet.
    if (interactive || !f.quiet) {
        tool::show("! First copy your one-time code: " + code);
        tool::show("Then open: " + p.verification_uri);
    }
    if (!f.quiet) tool::show("(code expires in " + copilot::code_lifetime_text(p.expires_at - now()) + ")");
}

// xdg-open URI, without waiting for the browser; a failure to start it is
// reported, never fatal.
void open_in_browser(const std::string& uri) {
    const char* x11 = std::getenv("DISPLAY");
    const char* wayland = std::getenv("WAYLAND_DISPLAY");
    if (!(x11 && *x11) && !(wayland && *wayland))
        return tool::debug("--open: no DISPLAY or WAYLAND_DISPLAY, not opening a browser");
    if (auto e = copilot::start_detached({"xdg-open", uri}))
        tool::warn(std::string("cannot run xdg-open: ") + std::strerror(*e));
}

void on_retry(int attempt, long wait_ms, const std::string& reason) {
    tool::debug(reason + "; retry " + std::to_string(attempt) + " in " +
                std::to_string((wait_ms + 999) / 1000) + " s");
}

// Checks and stores the token (lib/auth/login: `granted` is kept even when
// unverified; Ctrl-C before the write stores nothing), then says how it went.
int finish(const Flags& f, const std::string& host, const std::string& client_id,
           const std::string& token, const std::string& scope, bool granted) {
    const copilot::NewLogin in{host, f.profile, client_id, scope, token, granted, !f.no_verify,
                               f.output, [] { return g_interrupted != 0; }, on_retry};
    std::vector<std::string> early;  // warnings before a refusal
    copilot::LoginResult r;
    try {
        r = copilot::finish_login(in, now(), &early);
    } catch (const Error&) {
        for (const auto& w : early) tool::warn(w);
        throw;
    }
    if (f.output == "-") tool::out(r.document);
    tool::debug("auth state written to " + r.saved_to + (r.token_cached ? "; token cached" : ""));
    const copilot::LoginReport rep = copilot::report_login(r);
    for (const auto& w : rep.warnings) tool::warn(w);
    for (const auto& n : rep.notices) tool::say(n);
    if (!f.quiet && !rep.summary.empty()) tool::say(rep.summary);
    return rep.status;
}

copilot::PollAnswer wait_for_grant(copilot::PendingLogin& p) {
    copilot::PollLoop loop;
    loop.cancelled = [] { return g_interrupted != 0; };
    loop.note = [](const std::string& s) { tool::debug(s); };
    return copilot::poll_for_token(p, loop);
}

int run_interactive(const Flags& f) {
    catch_sigint();
    copilot::PendingLogin p = copilot::request_device_code(f.host, f.client_id, f.scope, now());
    show_code(p, f, true);
    if (f.open) open_in_browser(p.verification_uri);
    if (!f.quiet) tool::show("Waiting for approval...");
    copilot::PollAnswer a = wait_for_grant(p);
    return finish(f, p.host, p.client_id, a.access_token, a.scope, true);
}

int run_start(const Flags& f) {
    copilot::PendingLogin p = copilot::request_device_code(f.host, f.client_id, f.scope, now());
    // --output FILE: 0600, not the umask's 0644 that `> pending.json` gives the device code.
    if (f.output.empty() || f.output == "-")
        tool::out(copilot::serialize_pending_login(p));
    else
        copilot::write_output_file(f.output, copilot::serialize_pending_login(p));
    show_code(p, f, false);
    return 0;
}

int run_poll(const Flags& f) {
    catch_sigint();
    copilot::PendingLogin p = copilot::read_pending_login(f.pending_file);
    if (f.host_given && p.host != f.host)
        tool::usage_error("the pending login is for " + p.host + ", not --host " + f.host);
    if (now() >= p.expires_at) throw Error(Exit::temp, "the device code expired; start again");
    copilot::PollAnswer a;
    if (f.once) {
        a = copilot::poll_pending_once(p, f.pending_file);
    } else {
        if (!f.quiet && !p.user_code.empty())
            tool::say("waiting for code " + p.user_code + " to be entered" +
                      (p.verification_uri.empty() ? "" : " at " + p.verification_uri));
        a = wait_for_grant(p);
    }
    return finish(f, p.host, p.client_id, a.access_token, a.scope, true);
}

int run_with_token(const Flags& f) {
    if (!copilot::stdin_is_piped())
        tool::usage_error("--with-token reads the token from standard input "
                          "(copilot-login --with-token < FILE)");
    const std::string token = copilot::read_github_token_text(
        copilot::read_fd(0, 64 * 1024, "standard input"), "--with-token");
    return finish(f, f.host, f.client_id, token, "", false);
}

int run_import(const Flags& f) {
    std::string source;
    const std::string token = copilot::require_vim_token(f.host, &source);
    if (!f.quiet) tool::say("importing the GitHub token from " + source);
    return finish(f, f.host, f.client_id, token, "", false);
}

int run_status(const Flags& f) {
    const std::string selected = copilot::state_name(f.host, f.profile);
    const std::vector<copilot::StoredLogin> all = copilot::list_auth_states();
    tool::out(f.json ? copilot::stored_logins_json(all, selected)
                     : copilot::stored_logins_text(all, selected));
    if (const char* var = copilot::github_token_env_var(); var && !f.quiet)
        tool::say(std::string(var) + " is set: the tools use it before any stored login");
    copilot::require_stored_login(all, f.host, f.profile);
    return 0;
}

int run_logout(const Flags& f) {
    const bool had_auth = copilot::remove_login(f.host, f.profile);
    if (!f.quiet)
        tool::say("Logged out of " + copilot::login_name(f.host, f.profile) +
                  (had_auth ? "" : " (only a cached Copilot token was left)"));
    return 0;
}

int body(int argc, char** argv) {
    const Flags f = parse_flags(argc, argv);
    // An --output we cannot write fails now (74), not after a login.
    if (!f.output.empty() && f.output != "-") copilot::check_output_writable(f.output);
    switch (f.mode) {
    case Mode::start: return run_start(f);
    case Mode::poll: return run_poll(f);
    case Mode::with_token: return run_with_token(f);
    case Mode::import: return run_import(f);
    case Mode::status: return run_status(f);
    case Mode::logout: return run_logout(f);
    case Mode::interactive: break;
    }
    return run_interactive(f);
}

}  // namespace

int main(int argc, char** argv) { return tool::run("copilot-login", argc, argv, body); }
