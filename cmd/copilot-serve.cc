// copilot-serve: a local OpenAI-compatible endpoint backed by Copilot.
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <pthread.h>
#include <string>
#include <unistd.h>

#include <cxxopts.hpp>

#include "auth/token_keeper.h"
#include "net/endpoints.h"
#include "net/url_policy.h"
#include "serve/client_auth.h"
#include "serve/http_server.h"
#include "serve/listen.h"
#include "serve/relay.h"
#include "util/errors.h"
#include "util/paths.h"
#include "tool.h"

namespace {

using copilot::Error;
using copilot::Exit;

const char* kUsage = R"(usage: copilot-serve [OPTIONS]

Serve the OpenAI API on a local address and answer it with Copilot: any
OpenAI client can use base URL http://127.0.0.1:4141/v1 and any API key.
The Copilot token is injected and refreshed here; answers, streams
included, are relayed as they arrive. One line per request on stderr.

Routes (also without /v1): POST /v1/chat/completions, GET /v1/models,
GET /v1/models/ID, POST /v1/embeddings, GET /healthz.

  --listen ADDR:PORT     where to listen (default 127.0.0.1:4141; port 0
                         picks a free port); a non-loopback address needs
                         --api-key-file
  --api-key-file FILE    clients must send "Authorization: Bearer <key>"
                         with the key on the first line of FILE
  --max-body SIZE        largest request body, e.g. 16M (default), 512K
  --max-connections N    connections served at once (default 64)
  --idle-timeout SECONDS close a connection idle this long (default 60)
  --grace SECONDS        on SIGTERM/SIGINT, wait this long for answers in
                         flight before cutting them (default 10)
  --api-url URL          the upstream API base URL (default: the token's)
  --host HOST            GitHub host whose login to use (default github.com)
  --profile NAME         use the login stored under NAME for HOST
  --auth FILE            the GitHub auth state to use (see copilot-login)
  --no-login             when nobody is logged in, exit 66 instead of
                         starting GitHub's device flow
  --verbose              also say when the token is refreshed, and why
                         connections end
  --quiet                no request lines and no warnings, only errors
  -h, --help             show this help and exit
  --version              show the version and exit

The GitHub token comes from, first match wins: --auth, GITHUB_COPILOT_TOKEN,
GH_COPILOT_TOKEN, the stored login for HOST/PROFILE, copilot.vim's files.
With none, the device flow starts: enter the code printed here, and requests
get 503 until the login completes. See copilot-serve(1).
)";

struct Flags {
    copilot::ListenAddress listen;
    std::optional<std::string> api_key_file;
    size_t max_body = copilot::kDefaultMaxBody;
    unsigned max_connections = 64;
    unsigned idle_timeout = 60;
    unsigned grace = 10;
    copilot::TokenKeeperOptions keeper;
    bool quiet = false;
};

unsigned parse_count(const std::string& v, const std::string& flag, unsigned min, unsigned max) {
    if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(v) < min || std::stoul(v) > max)
        tool::usage_error(flag + " needs a whole number from " + std::to_string(min) + " to " +
                          std::to_string(max) + ", not '" + v + "'");
    return static_cast<unsigned>(std::stoul(v));
}

Flags parse_flags(int argc, char** argv) {
    cxxopts::Options opts("copilot-serve");
    opts.add_options()
        ("listen", "", cxxopts::value<std::string>()->default_value(copilot::kDefaultListen))
        ("api-key-file", "", cxxopts::value<std::string>())
        ("max-body", "", cxxopts::value<std::string>())
        ("max-connections", "", cxxopts::value<std::string>())
        ("idle-timeout", "", cxxopts::value<std::string>())
        ("grace", "", cxxopts::value<std::string>())
        ("api-url", "", cxxopts::value<std::string>())
        ("host", "", cxxopts::value<std::string>()->default_value(copilot::kDefaultHost))
        ("profile", "", cxxopts::value<std::string>()->default_value(""))
        ("auth", "", cxxopts::value<std::string>())
        ("no-login", "")
        ("verbose", "")
        ("quiet", "")
        ("h,help", "")
        ("version", "");
    auto r = opts.parse(argc, argv);
    tool::help_or_version(r.count("help"), r.count("version"), kUsage);
    if (!r.unmatched().empty()) tool::usage_error("unexpected argument '" + r.unmatched()[0] + "'");

    Flags f;
    f.listen = copilot::parse_listen(r["listen"].as<std::string>());
    if (r.count("api-key-file")) f.api_key_file = r["api-key-file"].as<std::string>();
    if (!f.listen.loopback && !f.api_key_file)
        tool::usage_error("--listen " + r["listen"].as<std::string>() +
                          " is not a loopback address: clients there must authenticate, "
                          "so give --api-key-file");
    if (r.count("max-body")) f.max_body = copilot::parse_size(r["max-body"].as<std::string>(), "--max-body");
    if (r.count("max-connections"))
        f.max_connections = parse_count(r["max-connections"].as<std::string>(), "--max-connections", 1, 10000);
    if (r.count("idle-timeout"))
        f.idle_timeout = parse_count(r["idle-timeout"].as<std::string>(), "--idle-timeout", 1, 86400);
    if (r.count("grace")) f.grace = parse_count(r["grace"].as<std::string>(), "--grace", 0, 86400);

    f.keeper.host = r["host"].as<std::string>();
    f.keeper.profile = r["profile"].as<std::string>();
    copilot::state_name(f.keeper.host, f.keeper.profile);  // rejects names that cannot be files
    if (r.count("auth")) {
        std::string a = r["auth"].as<std::string>();
        if (a.empty() || a == "-")
            tool::usage_error("--auth needs a FILE (a server does not read standard input)");
        f.keeper.auth_file = a;
    }
    if (r.count("api-url")) {
        std::string url = r["api-url"].as<std::string>();
        copilot::check_url_policy(url);
        f.keeper.api_url = url;
    }
    // A login given by file cannot be replaced by a device flow.
    f.keeper.device_login = r.count("no-login") == 0 && !f.keeper.auth_file;
    f.quiet = r.count("quiet") > 0;
    tool::verbose = r.count("verbose") > 0;
    return f;
}

std::string plural(uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

int body(int argc, char** argv) {
    Flags f = parse_flags(argc, argv);

    const bool quiet = f.quiet;
    copilot::ServeLog log = [quiet](copilot::LogKind kind, const std::string& m) {
        switch (kind) {
        case copilot::LogKind::request:
            if (!quiet) tool::say(m);
            break;
        case copilot::LogKind::notice: tool::say(m); break;
        case copilot::LogKind::note: tool::debug(m); break;
        case copilot::LogKind::warning:
            if (!quiet) tool::warn(m);
            break;
        }
    };

    copilot::ServeOptions so;
    so.listen = f.listen;
    so.admission.max_body = f.max_body;
    so.max_connections = f.max_connections;
    so.idle_timeout_s = f.idle_timeout;
    so.host = f.keeper.host;
    so.log = log;
    if (f.api_key_file) {
        std::string warning;
        so.admission.api_key = copilot::read_api_key_file(*f.api_key_file, &warning);
        if (!warning.empty() && !quiet) tool::warn(warning);
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

    // From here SIGTERM and SIGINT are taken by sigwait below, in this
    // thread only: blocked before the first thread starts, so that every
    // thread inherits the mask.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    keeper->start();
    auto proxy = std::make_shared<copilot::Proxy>(keeper);
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
    tool::say(std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") + ": not accepting connections" +
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
    if (const uint64_t left = server.in_flight())
        tool::warn("stopping with " + plural(left, "request", "requests") + " unfinished");
    server.stop();
    keeper->stop();
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
