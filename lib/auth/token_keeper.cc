#include "auth/token_keeper.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>

#include "auth/auth_state.h"
#include "auth/credentials.h"
#include "auth/login.h"
#include "auth/token_check.h"
#include "util/text.h"

namespace copilot {

namespace {

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

// A token is never replaced more often than this, whatever it says (a
// token the upstream rejected included: a refresh that just failed is not
// repeated for every request).
constexpr int64_t kMinRefreshGap = 2;

const char* const kWaitingForLogin = "waiting for GitHub login: requesting a device code";

// The default fetch: the cache and the stored login, as copilot-token does
// (lib/auth/credentials). The GitHub token is looked up again at every
// exchange, so a copilot-login made while the keeper runs is picked up.
CopilotTokenResult library_fetch(const TokenKeeperOptions& o, bool force) {
    CredentialRequest cr;
    cr.token.host = o.host;
    cr.token.profile = o.profile;
    cr.token.min_ttl = o.min_ttl;
    cr.token.force_refresh = force;
    const KeeperLogFn log = o.log;
    if (log) cr.token.log = [log](const std::string& m) { log(KeeperLog::note, m); };
    cr.auth_file = o.auth_file;
    // A keeper reads no standard input; `--auth -` was read at start.
    if (o.auth_text) {
        const std::string text = *o.auth_text;
        cr.read_stdin = [text](bool) { return std::optional<std::string>(text); };
    }
    return get_copilot_credentials(cr, unix_now());
}

// The default login: the device flow, finished the way copilot-login
// finishes one (lib/auth/login): stored, and the check's Copilot token cached.
void library_login(const TokenKeeperOptions& o, const std::function<bool()>& cancelled,
                   const std::function<void(const PendingLogin&)>& on_code) {
    PendingLogin p = request_device_code(o.host, o.client_id, o.scope, unix_now());
    on_code(p);
    PollLoop loop;
    loop.cancelled = cancelled;
    const KeeperLogFn log = o.log;
    if (log) loop.note = [log](const std::string& m) { log(KeeperLog::note, m); };
    PollAnswer a = poll_for_token(p, loop);
    NewLogin login;
    login.host = p.host;
    login.profile = o.profile;
    login.client_id = p.client_id;
    login.scope = a.scope;
    login.github_token = a.access_token;
    login.granted = true;
    login.cancelled = cancelled;
    const LoginReport report = report_login(finish_login(login, unix_now()));
    if (!log) return;
    for (const auto& w : report.warnings) log(KeeperLog::warning, w);
    for (const auto& n : report.notices) log(KeeperLog::notice, n);
    if (!report.summary.empty()) log(KeeperLog::notice, report.summary);
}

}  // namespace

bool worth_retrying(Exit code) {
    return code == Exit::temp || code == Exit::unavailable || code == Exit::protocol;
}

int64_t failure_backoff(int failures) {
    int64_t s = 5;
    for (int i = 1; i < failures && s < 60; ++i) s *= 2;
    return std::min<int64_t>(s, 60);
}

int64_t next_refresh_at(const CopilotToken& t, int64_t min_ttl, int64_t min_interval,
                        int64_t now) {
    // fetched_at "in the future" (a clock that moved back) counts as now.
    const int64_t kept_until = std::min(t.fetched_at, now) + min_interval;
    return std::max({refresh_due_at(t, min_ttl), kept_until, now + kMinRefreshGap});
}

TokenKeeper::TokenKeeper(TokenKeeperOptions opts) : opts_(std::move(opts)) {
    if (!opts_.fetch) {
        // `this` outlives every call: the keeper's thread is joined in ~TokenKeeper.
        opts_.fetch = [this](bool force) { return library_fetch(opts_, force); };
    }
    if (!opts_.login) {
        opts_.login = [this](const std::function<bool()>& cancelled,
                             const std::function<void(const PendingLogin&)>& on_code) {
            library_login(opts_, cancelled, on_code);
        };
    }
    status_.problem = "starting: getting a Copilot token";
}

TokenKeeper::~TokenKeeper() { stop(); }

void TokenKeeper::log(KeeperLog kind, const std::string& message) const {
    if (opts_.log) opts_.log(kind, message);
}

// A fetched token replaces the one kept; called with fetch_mu_ held.
void TokenKeeper::take(const CopilotTokenResult& r) {
    ++fetches_;
    for (const auto& w : r.warnings) log(KeeperLog::warning, w);
    const CopilotToken& t = r.token;
    const int64_t now = unix_now();
    int64_t refresh_at;
    {
        std::lock_guard<std::mutex> lk(mu_);
        status_.state = TokenStatus::State::ready;
        status_.token = t.token;
        status_.api_url = copilot_api_url(opts_.api_url, t);
        status_.expires_at = t.expires_at;
        status_.fetched_at = t.fetched_at;
        status_.refresh_at = next_refresh_at(t, opts_.min_ttl, opts_.min_interval, now);
        status_.user_code.clear();
        status_.verification_uri.clear();
        status_.problem.clear();
        failures_ = 0;
        refresh_at = status_.refresh_at;
        cv_.notify_all();
    }
    log(KeeperLog::token, std::string(r.from_cache ? "cached" : "new") + " token for " +
                              opts_.host + " valid for " + describe_duration(t.expires_at - now) +
                              "; next refresh in " + describe_duration(refresh_at - now));
}

// A fetch failed: a login to start, a retry to schedule, or (not worth
// retrying, stop_on_permanent) the end.
void TokenKeeper::failed_fetch(const Error& e, const char* what, bool announce_login) {
    std::unique_lock<std::mutex> lk(mu_);
    if (e.code() == Exit::no_auth && opts_.device_login) {
        need_login_ = true;
        if (!status_.ready()) {
            status_.state = TokenStatus::State::login_pending;
            status_.problem = kWaitingForLogin;
        }
        cv_.notify_all();
        lk.unlock();
        if (announce_login)
            log(KeeperLog::notice, std::string(e.what()) + "; starting the GitHub device flow");
        return;
    }
    status_.problem = e.what();
    if (!status_.ready()) status_.state = TokenStatus::State::unavailable;
    if (!worth_retrying(e.code()) && opts_.stop_on_permanent) {
        failed_ = e;
        stopping_ = true;
        cv_.notify_all();
        return;
    }
    ++failures_;
    // Waiting will not fix it, but a person may (copilot-login): the slowest pace.
    retry_at_ = unix_now() + (worth_retrying(e.code()) ? failure_backoff(failures_)
                                                       : failure_backoff(1 << 20));
    const int64_t wait = retry_at_ - unix_now();
    lk.unlock();
    log(KeeperLog::failure, std::string(what) + ": " + e.what() + "; retrying in " +
                                describe_duration(wait));
}

void TokenKeeper::prime() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (primed_) return;
        primed_ = true;
    }
    try {
        std::lock_guard<std::mutex> fl(fetch_mu_);
        take(opts_.fetch(false));
    } catch (const Error& e) {
        const bool login = e.code() == Exit::no_auth && opts_.device_login;
        if (!login && !worth_retrying(e.code())) throw;
        failed_fetch(e, "refresh failed", false);
    }
}

void TokenKeeper::start() {
    prime();
    std::lock_guard<std::mutex> lk(mu_);
    if (!thread_.joinable() && !stopping_) thread_ = std::thread([this] { run(); });
}

void TokenKeeper::stop() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stopping_ = true;
        cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
}

TokenStatus TokenKeeper::status() const {
    std::lock_guard<std::mutex> lk(mu_);
    TokenStatus s = status_;
    if (s.ready() && s.expires_at <= unix_now()) {
        s.state = TokenStatus::State::unavailable;
        s.problem = "the Copilot token expired and could not be refreshed" +
                    (s.problem.empty() ? std::string() : ": " + s.problem);
    }
    return s;
}

std::optional<Error> TokenKeeper::failed() const {
    std::lock_guard<std::mutex> lk(mu_);
    return failed_;
}

bool TokenKeeper::wait_failed(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, wait, [this] { return failed_.has_value(); });
}

void TokenKeeper::fetch_and_set(bool force) {
    try {
        std::lock_guard<std::mutex> fl(fetch_mu_);
        take(opts_.fetch(force));
    } catch (const Error& e) {
        failed_fetch(e, "refresh failed", true);
    }
}

std::optional<TokenStatus> TokenKeeper::refresh_after_rejection(const std::string& rejected) {
    std::lock_guard<std::mutex> fl(fetch_mu_);
    {
        // Someone else already replaced the rejected token: use theirs.
        std::lock_guard<std::mutex> lk(mu_);
        if (status_.ready() && status_.token != rejected) return status_;
        if (unix_now() - forced_failed_at_ < kMinRefreshGap) return std::nullopt;
    }
    try {
        take(opts_.fetch(true));
        log(KeeperLog::note, "the Copilot API refused the token: refreshed it");
        std::lock_guard<std::mutex> lk(mu_);
        return status_;
    } catch (const Error& e) {
        log(KeeperLog::warning,
            std::string("the Copilot API refused the token and refreshing it failed: ") +
                e.what());
        std::lock_guard<std::mutex> lk(mu_);
        status_.problem = e.what();
        forced_failed_at_ = unix_now();
        if (e.code() == Exit::no_auth && opts_.device_login) {
            need_login_ = true;
            cv_.notify_all();
        }
        return std::nullopt;
    }
}

void TokenKeeper::run_login() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (!status_.ready()) {
            status_.state = TokenStatus::State::login_pending;
            status_.problem = kWaitingForLogin;
        }
    }
    auto cancelled = [this] {
        std::lock_guard<std::mutex> lk(mu_);
        return stopping_;
    };
    auto on_code = [this](const PendingLogin& p) {
        {
            std::lock_guard<std::mutex> lk(mu_);
            if (!status_.ready()) status_.state = TokenStatus::State::login_pending;
            status_.user_code = p.user_code;
            status_.verification_uri = p.verification_uri;
            if (!status_.ready())
                status_.problem = "waiting for GitHub login: enter " + p.user_code + " at " +
                                  p.verification_uri;
        }
        log(KeeperLog::notice, "to log in to GitHub, enter code " + p.user_code + " at " +
                                   p.verification_uri);
    };
    try {
        opts_.login(cancelled, on_code);
    } catch (const Error& e) {
        std::unique_lock<std::mutex> lk(mu_);
        if (stopping_) return;
        status_.user_code.clear();
        status_.verification_uri.clear();
        need_login_ = true;
        ++failures_;
        // An expired code is simply replaced; anything else waits a little.
        retry_at_ = unix_now() + (e.code() == Exit::temp && failures_ == 1
                                      ? 0
                                      : failure_backoff(failures_));
        if (!status_.ready()) {
            status_.state = TokenStatus::State::unavailable;
            status_.problem = std::string("GitHub login failed: ") + e.what();
        }
        const int64_t wait = retry_at_ - unix_now();
        lk.unlock();
        log(KeeperLog::warning, std::string("the GitHub login did not complete: ") + e.what() +
                                    "; starting a new one in " + std::to_string(wait) + " s");
        return;
    }
    fetch_and_set(false);
}

void TokenKeeper::run() {
    std::unique_lock<std::mutex> lk(mu_);
    while (!stopping_) {
        const int64_t now = unix_now();
        if (need_login_ && now >= retry_at_) {
            need_login_ = false;
            lk.unlock();
            run_login();
            lk.lock();
            continue;
        }
        int64_t due;
        if (need_login_)
            due = retry_at_;
        else if (status_.ready() && failures_ == 0)
            due = status_.refresh_at;
        else
            due = retry_at_;
        if (now >= due) {
            lk.unlock();
            fetch_and_set(false);
            lk.lock();
            continue;
        }
        // Woken early by stop(), a new token or a login request; re-checked
        // at least every minute in case the clock jumped.
        const int64_t wait = std::min<int64_t>(due - now, 60);
        cv_.wait_until(lk, std::chrono::system_clock::from_time_t(static_cast<std::time_t>(now + wait)));
    }
}

}  // namespace copilot
