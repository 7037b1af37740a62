// copilot-serve: a local OpenAI- and Anthropic-compatible endpoint backed by Copilot.
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <pthread.h>
#include <string>
#include <unistd.h>
#include <vector>

#include "auth/credentials.h"
#include "auth/token_keeper.h"
#include "util/errors.h"
#include "util/files.h"
#include "net/endpoints.h"
#include "net/url_policy.h"
#include "serve/client_auth.h"
#include "serve/http_server.h"
#include "serve/listen.h"
#include "serve/relay.h"
#include "util/errors.h"
#include "util/paths.h"
#include "copilot-serve.opts.h"  // kOptions, from cmd/options/copilot-serve.opts
#include "tool.h"

namespace {

using copilot::Error;
using copilot::Exit;

struct Flags {
    copilot::ListenAddress listen;
    std::optional<std::string> api_key_file;
    size_t max_body = copilot::kDefaultMaxBody;
    unsigned max_connections = 64;
    unsigned idle_timeout = 60;
    unsigned grace = 10;
    unsigned ping_interval = 10;
    copilot::wire::ModelMap model_map;
    copilot::TokenKeeperOptions keeper;
    bool quiet = false;
    // Who may ask, and slow clients (parse_security_flags).
    std::vector<std::string> allow_hosts, allow_origins;
    unsigned header_timeout = 10;
    unsigned max_connections_per_client = 32;
    // What requests cost (parse_usage_flags).
    std::optional<double> budget;
    std::string ledger;
};

unsigned parse_count(const std::string& v, const std::string& flag, unsigned min, unsigned max) {
    if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(v) < min || std::stoul(v) > max)
        tool::usage_error(flag + " needs a whole number from " + std::to_string(min) + " to " +
                          std::to_string(max) + ", not " + tool::quoted(v));
    return static_cast<unsigned>(std::stoul(v));
}

// --allow-host, --allow-origin, --header-timeout, --max-connections-per-client.
void parse_security_flags(const tool::Args& r, Flags& f) {
    for (const auto& h : r.values("allow-host")) {
        if (h.empty() || h.size() > 253 || h.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
                                                 std::string::npos)
            tool::usage_error("--allow-host needs a host name (letters, digits, '.' and '-', no port), not " +
                              tool::quoted(h));
        f.allow_hosts.push_back(h);
    }
    for (const auto& o : r.values("allow-origin")) {
        bool printable = !o.empty() && o.size() <= 2048;
        for (char c : o) printable = printable && c > 0x20 && c < 0x7f;
        if (!printable || o == "*" || (o.back() == '/' && o.find("://") != std::string::npos))
            tool::usage_error("--allow-origin needs an origin exactly as browsers send it, such as "
                              "http://localhost:5173 (no '*', no path or trailing '/'), not " +
                              tool::quoted(o));
        f.allow_origins.push_back(o);
    }
    if (auto v = r.value("header-timeout")) f.header_timeout = parse_count(*v, "--header-timeout", 1, 3600);
    if (auto v = r.value("max-connections-per-client"))
        f.max_connections_per_client = parse_count(*v, "--max-connections-per-client", 1, 10000);
}

// --budget N (premium requests since start; a decimal number), --ledger FILE.
void parse_usage_flags(const tool::Args& r, Flags& f) {
    if (auto v = r.value("budget")) {
        const size_t dot = v->find('.');
        const std::string whole = v->substr(0, dot);
        const std::string frac = dot == std::string::npos ? "" : v->substr(dot + 1);
        if (whole.empty() || whole.size() > 9 ||
            whole.find_first_not_of("0123456789") != std::string::npos ||
            (dot != std::string::npos &&
             (frac.empty() || frac.size() > 6 || frac.find_first_not_of("0123456789") != std::string::npos)))
            tool::usage_error("--budget needs a number of premium requests (such as 50 or 12.5), not " +
                              tool::quoted(*v));
        f.budget = std::stod(*v);
    }
    if (auto v = r.value("ledger")) {
        if (v->empty()) tool::usage_error("--ledger needs a FILE");
        f.ledger = *v;
    }
}

Flags parse_flags(int argc, char** argv) {
    const tool::Args r = tool::parse_args(kOptions, argc, argv);

    Flags f;
    const std::string listen = r.value_or("listen", copilot::kDefaultListen);
    f.listen = copilot::parse_listen(listen);
    f.api_key_file = r.value("api-key-file");
    if (!f.listen.loopback && !f.api_key_file)
        tool::usage_error("--listen " + tool::quoted(listen) +
                          " is not a loopback address: clients there must authenticate, "
                          "so give --api-key-file");
    if (auto v = r.value("max-body")) f.max_body = copilot::parse_size(*v, "--max-body");
    if (auto v = r.value("max-connections"))
        f.max_connections = parse_count(*v, "--max-connections", 1, 10000);
    if (auto v = r.value("idle-timeout")) f.idle_timeout = parse_count(*v, "--idle-timeout", 1, 86400);
    if (auto v = r.value("grace")) f.grace = parse_count(*v, "--grace", 0, 86400);
    if (auto v = r.value("ping-interval"))
        f.ping_interval = parse_count(*v, "--ping-interval", 1, 3600);
    for (const std::string& m : r.values("model-map"))
        f.model_map.push_back(copilot::wire::parse_model_map_entry(m));
    parse_security_flags(r, f);
    parse_usage_flags(r, f);

    f.keeper.host = r.value_or("host", copilot::kDefaultHost);
    f.keeper.profile = r.value_or("profile", "");
    copilot::state_name(f.keeper.host, f.keeper.profile);  // rejects names that cannot be files
    if (auto a = r.value("auth")) {
        if (a->empty()) tool::usage_error("--auth needs a FILE or -");
        f.keeper.auth_file = *a;
        // "-": the auth document is read once, now, and kept for every refresh.
        if (*a == "-") {
            f.keeper.auth_text = copilot::read_fd(0, copilot::kMaxStateFile, "standard input");
            if (f.keeper.auth_text->find_first_not_of(" \t\r\n") == std::string::npos)
                throw Error(Exit::data, "--auth -: nothing on standard input");
        }
    }
    if (auto url = r.value("api-url")) {
        copilot::check_url_policy(*url);
        f.keeper.api_url = *url;
    }
    // A login given by --auth cannot be replaced by a device flow, so
    // --no-login would say nothing more.
    if (f.keeper.auth_file && r.has("no-login"))
        tool::usage_error("--no-login goes without --auth (a login from --auth never starts the device flow)");
    f.keeper.device_login = !r.has("no-login") && !f.keeper.auth_file;
    // The Copilot token goes only to a Copilot host or loopback (copilot-utils(7)).
    if (f.keeper.api_url || std::getenv("COPILOT_API_URL"))
        copilot::require_copilot_api_url(copilot::copilot_api_url(f.keeper.api_url, "", f.keeper.host),
                                         f.keeper.host);
    f.quiet = r.has("quiet");
    return f;
}

std::string plural(uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

int body(int argc, char** argv) {
    Flags f = parse_flags(argc, argv);

    const bool quiet = f.quiet;
    // Request lines wait for the end of the server's turn (log_turn_end) and
    // go out together: one write for all the requests that ended in it.
    // Any other line first writes those, so the order stays.
    auto held = std::make_shared<tool::HeldLines>();
    copilot::ServeLog log = [quiet, held](copilot::LogKind kind, const std::string& m) {
        if (kind == copilot::LogKind::request) {
            if (!quiet) held->add(m);
            return;
        }
        held->flush();
        switch (kind) {
        case copilot::LogKind::request: break;
        case copilot::LogKind::notice: tool::say(m); break;
        case copilot::LogKind::note: tool::debug(m); break;
        case copilot::LogKind::warning:
            if (!quiet) tool::warn(m);
            break;
        }
    };

    // The ledger is opened now: a path that cannot be written fails at start.
    auto usage = std::make_shared<copilot::ServeUsage>(
        std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count(),
        f.ledger, f.budget);

    copilot::ServeOptions so;
    so.usage = usage;
    so.listen = f.listen;
    so.admission.max_body = f.max_body;
    so.max_connections = f.max_connections;
    so.idle_timeout_s = f.idle_timeout;
    so.header_timeout_s = f.header_timeout;
    so.max_connections_per_client = f.max_connections_per_client;
    so.admission.allow_hosts = f.allow_hosts;
    so.admission.allow_origins = f.allow_origins;
    so.host = f.keeper.host;
    so.log = log;
    so.log_turn_end = [held] { held->flush(); };
    if (f.api_key_file) {
        so.admission.api_key = copilot::read_api_key_file(*f.api_key_file);
    }

    // The keeper's token lines are details here; its failures are warnings.
    f.keeper.log = [log](copilot::KeeperLog kind, const std::string& m) {
        using K = copilot::KeeperLog;
        log(kind == K::notice                     ? copilot::LogKind::notice
            : kind == K::token || kind == K::note ? copilot::LogKind::note
                                                  : copilot::LogKind::warning,
            m);
    };
    auto keeper = std::make_shared<copilot::TokenKeeper>(f.keeper);
    // The first token now: a revoked login fails here, not on every request.
    // Signals still act as usual meanwhile (Ctrl-C ends a slow start).
    keeper->prime();

    // From here SIGTERM, SIGINT and SIGHUP (a closed terminal or a
    // supervisor: stop as gracefully as for SIGTERM) are taken by sigwait below, in this
    // thread only: blocked before the first thread starts, so that every
    // thread inherits the mask.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    keeper->start();
    copilot::ProxyOptions po;
    po.ping_interval = std::chrono::seconds(f.ping_interval);
    po.host = f.keeper.host;
    po.profile = f.keeper.profile;
    po.model_map = f.model_map;
    po.usage = usage;
    auto proxy = std::make_shared<copilot::Proxy>(keeper, po);
    copilot::HttpServer server(so, keeper, proxy);
    const int port = server.start();
    tool::say("listening on " + copilot::listen_url(f.listen, port));
    if (!f.listen.loopback && !quiet)
        tool::warn("listening on a non-loopback address: anyone who can reach it and has the "
                   "key uses your Copilot account");

    int sig = 0;
    while (sigwait(&stop_signals, &sig) != 0) {
    }
    server.quiesce();
    const uint64_t pending = server.in_flight();
    held->flush();
    tool::say(std::string(sig == SIGINT ? "SIGINT" : sig == SIGHUP ? "SIGHUP" : "SIGTERM") + ": not accepting connections" +
              (pending ? "; waiting up to " + std::to_string(f.grace) + " s for " +
                             plural(pending, "request", "requests") + " in flight"
                       : ""));
    // A second signal ends the wait.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(f.grace);
    const timespec no_wait{0, 0};
    while (!server.wait_idle(std::chrono::milliseconds(100))) {
        if (std::chrono::steady_clock::now() >= deadline || sigtimedwait(&stop_signals, nullptr, &no_wait) > 0)
            break;
    }
    held->flush();
    if (const uint64_t left = server.in_flight())
        tool::warn("stopping with " + plural(left, "request", "requests") + " unfinished");
    server.stop();
    keeper->stop();
    held->flush();
    if (!proxy->wait_idle(std::chrono::seconds(2))) {
        // Cancelled transfers end within a second or so; one that still
        // has not (a libcurl call that does not return) is not waited for,
        // and static destructors must not run under its feet.
        tool::warn("exiting with " + plural(proxy->running(), "upstream transfer", "upstream transfers") +
                   " still open");
        std::_Exit(0);
    }
    tool::say("stopped");
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return tool::run("copilot-serve", argc, argv, body); }
