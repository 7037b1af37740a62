// copilot-login: GitHub's OAuth device flow -> a long-lived GitHub token,
// stored as auth state for copilot-token (ARCHITECTURE.md). Also the split flow
// (--start / --poll), --with-token, --import, --status and --logout.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

#include "auth/auth_state.h"
#include "auth/copilot_token.h"
#include "auth/device_flow.h"
#include "util/files.h"
#include "net/endpoints.h"
#include "util/paths.h"
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
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
}

void check_interrupted() {
    if (g_interrupted) throw Error(Exit::interrupted, "interrupted");
}

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

std::string lifetime_text(int64_t seconds) {
    if (seconds >= 120) return std::to_string((seconds + 30) / 60) + " minutes";
    return std::to_string(std::max<int64_t>(seconds, 0)) + " seconds";
}

std::string login_name(const std::string& host, const std::string& profile) {
    return profile.empty() ? host : host + " (profile " + profile + ")";
}

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
    if (r.has("output") && !writes_auth)
        tool::usage_error("--output goes with a login (not --start, --status or --logout)");
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

// ---------------------------------------------------------------------------
// Showing the code and opening the browser

void show_code(const copilot::PendingLogin& p, const Flags& f, bool interactive) {
    const bool color = tool::use_color(2);
    const std::string code = color ? "\033[1m" + p.user_code + "\033[0m" : p.user_code;
    // The code and URL are what the user needs: never silenced in the
    // interactive flow, even with --quiet.
    if (interactive || !f.quiet) {
        tool::show("! First copy your one-time code: " + code);
        tool::show("Then open: " + p.verification_uri);
    }
    if (!f.quiet) tool::show("(code expires in " + lifetime_text(p.expires_at - now()) + ")");
}

// xdg-open URI, without a shell and without waiting for the browser. Only
// a failure to start it is reported; it is never fatal.
void open_in_browser(const std::string& uri) {
    const char* x11 = std::getenv("DISPLAY");
    const char* wayland = std::getenv("WAYLAND_DISPLAY");
    if (!(x11 && *x11) && !(wayland && *wayland)) {
        tool::debug("--open: no DISPLAY or WAYLAND_DISPLAY, not opening a browser");
        return;
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        tool::warn(std::string("cannot open a browser: ") + std::strerror(errno));
        return;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        tool::warn(std::string("cannot open a browser: ") + std::strerror(errno));
        ::close(fds[0]);
        ::close(fds[1]);
        return;
    }
    if (pid == 0) {
        ::setsid();  // Ctrl-C in our terminal must not reach the browser
        int null = ::open("/dev/null", O_RDWR);
        if (null >= 0) {
            ::dup2(null, 0);
            ::dup2(null, 1);  // stdout stays ours: clean data only
            ::dup2(null, 2);
        }
        char* const child_argv[] = {const_cast<char*>("xdg-open"), const_cast<char*>(uri.c_str()),
                                    nullptr};
        ::execvp("xdg-open", child_argv);
        int e = errno;
        ssize_t ignored = ::write(fds[1], &e, sizeof e);
        (void)ignored;
        ::_exit(127);
    }
    ::close(fds[1]);
    int e = 0;
    ssize_t n;
    do n = ::read(fds[0], &e, sizeof e);
    while (n < 0 && errno == EINTR);
    ::close(fds[0]);
    if (n == static_cast<ssize_t>(sizeof e))
        tool::warn(std::string("cannot run xdg-open: ") + std::strerror(e));
}

// ---------------------------------------------------------------------------
// Finishing a login: check the token, store it, say how it went

void on_retry(int attempt, long wait_ms, const std::string& reason) {
    tool::debug(reason + "; retry " + std::to_string(attempt) + " in " +
                std::to_string((wait_ms + 999) / 1000) + " s");
}

// Writes the auth state where --output says; returns where, for messages.
std::string save(const copilot::AuthState& st, const Flags& f) {
    check_interrupted();  // Ctrl-C before this point: nothing written
    const std::string doc = copilot::serialize_auth_state(st);
    if (f.output == "-") {
        tool::out(doc);
        return "standard output";
    }
    if (!f.output.empty()) {
        // Not a private dir of ours: only the file gets 0600.
        copilot::write_file_atomic(f.output, doc, 0600, false);
        return f.output;
    }
    std::string path = copilot::store_auth_state(st, f.profile);
    // A cached Copilot token belongs to the previous login of this host/profile.
    copilot::remove_token_cache(st.host, f.profile);
    return path;
}

// `fresh`: the token was just granted by the device flow, so it is saved
// even when Copilot access cannot be checked (a new login would be needed
// otherwise); a token given to us (--with-token, --import) is not.
int finish(const Flags& f, const std::string& host, const std::string& client_id,
           const std::string& token, const std::string& scope, bool fresh) {
    using Verdict = copilot::LoginCheck::Verdict;
    copilot::LoginCheck c = copilot::check_login(token, host, !f.no_verify, now(), on_retry);
    for (const auto& w : c.warnings) tool::warn(w);
    if (c.verdict == Verdict::invalid || (c.verdict == Verdict::unverified && !fresh))
        throw *c.problem;

    copilot::AuthState st;
    st.host = host;
    st.client_id = client_id;
    st.oauth_token = token;
    st.scope = scope;
    st.user = c.user;
    st.created_at = now();
    const std::string where = save(st, f);
    tool::debug("auth state written to " + where);

    const std::string who = host + (c.user.empty() ? "" : " as " + c.user);
    switch (c.verdict) {
    case Verdict::no_copilot:
        tool::say(c.problem->what());
        tool::say("the GitHub token is valid and was saved to " + where +
                  ", but this account has no Copilot access");
        return c.problem->status();
    case Verdict::unverified:
        tool::warn(std::string("logged in, but Copilot access could not be checked: ") +
                   c.problem->what());
        if (!f.quiet) tool::say("Logged in to " + who);
        return 0;
    default:
        if (!f.quiet)
            tool::say("Logged in to " + who +
                      (c.verified ? " (Copilot: " + (c.sku.empty() ? "?" : c.sku) + ")"
                                  : " (Copilot access not checked)"));
        return 0;
    }
}

copilot::PollAnswer wait_for_grant(copilot::PendingLogin& p) {
    copilot::PollLoop loop;
    loop.cancelled = [] { return g_interrupted != 0; };
    loop.note = [](const std::string& s) { tool::debug(s); };
    return copilot::poll_for_token(p, loop);
}

// ---------------------------------------------------------------------------
// The modes

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
    tool::out(copilot::serialize_pending_login(p));
    show_code(p, f, false);
    return 0;
}

copilot::PendingLogin read_pending(const Flags& f) {
    std::string text;
    std::string what;
    if (f.pending_file == "-") {
        if (!copilot::stdin_is_piped())
            tool::usage_error("--poll needs a FILE or a pending login on standard input");
        text = copilot::read_fd(0, copilot::kMaxStateFile, "standard input");
        what = "pending login on standard input";
    } else {
        auto t = copilot::read_file(f.pending_file, copilot::kMaxStateFile);
        if (!t) throw Error(Exit::data, "pending login " + f.pending_file + " does not exist");
        text = *t;
        what = "pending login " + f.pending_file;
    }
    copilot::PendingLogin p = copilot::parse_pending_login(text, {what, Exit::data});
    if (f.host_given && p.host != f.host)
        tool::usage_error("the pending login is for " + p.host + ", not --host " + f.host);
    return p;
}

int run_poll(const Flags& f) {
    catch_sigint();
    copilot::PendingLogin p = read_pending(f);
    if (now() >= p.expires_at) throw Error(Exit::temp, "the device code expired; start again");
    if (!f.once) {
        if (!f.quiet && !p.user_code.empty())
            tool::say("waiting for code " + p.user_code + " to be entered" +
                      (p.verification_uri.empty() ? "" : " at " + p.verification_uri));
        copilot::PollAnswer a = wait_for_grant(p);
        return finish(f, p.host, p.client_id, a.access_token, a.scope, true);
    }

    copilot::PollAnswer a = copilot::poll_once(p);
    using Kind = copilot::PollAnswer::Kind;
    switch (a.kind) {
    case Kind::granted:
        return finish(f, p.host, p.client_id, a.access_token, a.scope, true);
    case Kind::pending:
        throw Error(Exit::temp, "login still pending" +
                                    (p.user_code.empty() ? std::string()
                                                         : ": enter code " + p.user_code +
                                                               " at " + p.verification_uri));
    case Kind::slow_down:
        p.interval = copilot::slowed_interval(p.interval, a.interval);
        // Keep the new pace for the next --poll --once of this file.
        if (f.pending_file != "-")
            copilot::write_file_atomic(f.pending_file, copilot::serialize_pending_login(p), 0600,
                                       false);
        throw Error(Exit::temp, "the server asked to slow down: wait " +
                                    std::to_string(p.interval) + " s before the next poll");
    default:
        throw Error(a.retry_code, a.reason);
    }
}

std::string trim(const std::string& s) {
    const char* ws = " \t\r\n";
    size_t b = s.find_first_not_of(ws);
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

int run_with_token(const Flags& f) {
    if (!copilot::stdin_is_piped())
        tool::usage_error("--with-token reads the token from standard input "
                          "(copilot-login --with-token < FILE)");
    std::string token = trim(copilot::read_fd(0, 64 * 1024, "standard input"));
    if (token.empty()) throw Error(Exit::data, "--with-token: no token on standard input");
    for (unsigned char ch : token)
        if (ch <= ' ' || ch >= 0x7f)
            throw Error(Exit::data, "--with-token: standard input must hold exactly one token");
    return finish(f, f.host, f.client_id, token, "", false);
}

int run_import(const Flags& f) {
    std::string source;
    auto token = copilot::import_vim_token(f.host, &source);
    if (!token)
        throw Error(Exit::no_auth, "no copilot.vim/copilot.lua token for " + f.host + " in " +
                                       copilot::config_home() +
                                       "/github-copilot/apps.json or hosts.json");
    if (!f.quiet) tool::say("importing the GitHub token from " + source);
    return finish(f, f.host, f.client_id, *token, "", false);
}

int run_status(const Flags& f) {
    const std::string selected = copilot::state_name(f.host, f.profile);
    std::vector<copilot::StoredLogin> all = copilot::list_auth_states();
    const copilot::StoredLogin* sel = nullptr;
    for (const auto& s : all) {
        if (!s.warning.empty()) tool::warn(s.warning);
        if (s.name == selected) sel = &s;
    }

    if (f.json) {
        std::string list = "[";
        for (const auto& s : all) {
            copilot::JsonObjectWriter w;
            w.field("name", s.name).field("host", s.host).field("profile", s.profile);
            w.field("file", s.path).field("selected", s.name == selected);
            if (s.state) {
                w.field("user", s.state->user);
                w.field("token", copilot::mask_secret(s.state->oauth_token));
                w.field("created_at", s.state->created_at);
            } else {
                w.field("error", s.error);
            }
            list += (list.size() > 1 ? "," : "") + w.str();
        }
        copilot::JsonObjectWriter top;
        top.field("selected", selected).field("logged_in", sel && sel->state.has_value());
        top.raw_field("logins", list + "]");
        tool::out(top.str() + "\n");
    } else {
        size_t width = 0;
        for (const auto& s : all) width = std::max(width, s.name.size());
        for (const auto& s : all) {
            std::string line = (s.name == selected ? "* " : "  ") + s.name +
                               std::string(width - s.name.size() + 2, ' ');
            if (s.state)
                line += (s.state->user.empty() ? "(unknown user)" : s.state->user) + "  " +
                        copilot::mask_secret(s.state->oauth_token);
            else
                line += "(unreadable: " + s.error + ")";
            tool::out(line + "\n");
        }
    }
    for (const char* var : {"GITHUB_COPILOT_TOKEN", "GH_COPILOT_TOKEN"}) {
        const char* v = std::getenv(var);
        if (v && *v && !f.quiet) {
            tool::say(std::string(var) + " is set: the tools use it before any stored login");
            break;
        }
    }
    if (!sel) throw Error(Exit::no_auth, "not logged in to " + login_name(f.host, f.profile));
    if (!sel->state) throw Error(Exit::data, sel->error);
    return 0;
}

int run_logout(const Flags& f) {
    bool had_auth = copilot::remove_auth_state(f.host, f.profile);
    bool had_cache = copilot::remove_token_cache(f.host, f.profile);
    if (!had_auth && !had_cache)
        throw Error(Exit::no_auth, "not logged in to " + login_name(f.host, f.profile));
    if (!f.quiet)
        tool::say("Logged out of " + login_name(f.host, f.profile) +
                  (had_auth ? "" : " (only a cached Copilot token was left)"));
    return 0;
}

int body(int argc, char** argv) {
    const Flags f = parse_flags(argc, argv);
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
