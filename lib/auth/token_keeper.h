// The Copilot token kept fresh in a long-running process: copilot-serve and
// `copilot-token --watch` use the same keeper, so they share one schedule
// (refresh_due_at, never sooner than min_interval after the token was
// fetched), one backoff (failure_backoff) and one classification of what
// is worth retrying (worth_retrying).
//
// Nothing here prints: what people should see goes to a KeeperLog callback.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "auth/copilot_token.h"
#include "auth/device_flow.h"
#include "net/endpoints.h"
#include "util/errors.h"

namespace copilot {

enum class KeeperLog {
    token,    // a token was taken: "new token for HOST valid for ...; next refresh in ..."
    failure,  // a refresh failed and will be retried: "refresh failed: ...; retrying in ..."
    notice,   // what people must see: the device code, a completed login
    note,     // details for --verbose
    warning,  // something went wrong but the keeper goes on
};
using KeeperLogFn = std::function<void(KeeperLog, const std::string&)>;

// Temporary failures (network, 429, 5xx, an answer that cannot be read):
// waiting may fix them. Everything else (revoked token, no Copilot access,
// malformed auth state, not logged in, local I/O) needs a person.
bool worth_retrying(Exit code);
// The wait after the n-th failure in a row: 5, 10, 20, 40, 60, 60... s.
int64_t failure_backoff(int failures);
// When the keeper refreshes a token it got at `now`: refresh_due_at (the
// service's schedule, or earlier for min_ttl), but never sooner than
// min_interval after the token was fetched (a refresh_in of 61 would
// otherwise mean an exchange every second), and never sooner than 2 s from now.
int64_t next_refresh_at(const CopilotToken& t, int64_t min_ttl, int64_t min_interval,
                        int64_t now);

struct TokenStatus {
    enum class State { starting, ready, login_pending, unavailable };
    State state = State::starting;
    std::string token;    // secret; set when state == ready
    std::string api_url;  // where requests go, without a trailing slash
    int64_t expires_at = 0, fetched_at = 0, refresh_at = 0;
    std::string user_code, verification_uri;  // login_pending
    std::string problem;  // why requests cannot be served (or the last refresh error)
    bool ready() const { return state == State::ready; }
};

struct TokenKeeperOptions {
    std::string host = "github.com";
    std::string profile;
    std::optional<std::string> auth_file;  // --auth FILE
    std::optional<std::string> auth_text;  // --auth -: the document, read at start
    std::optional<std::string> api_url;    // --api-url
    int64_t min_ttl = 300;                 // a token is refreshed before it has less left
    int64_t min_interval = 60;             // s: a token is kept at least this long
    bool device_login = true;              // start the device flow when nobody is logged in
    // A failure not worth retrying, after the first token: true ends the
    // keeper's thread (failed() says why; --watch exits with it), false
    // keeps trying at the longest backoff (a server waits for copilot-login).
    bool stop_on_permanent = false;
    std::string client_id = kDefaultClientId;
    std::string scope = kDefaultScope;
    KeeperLogFn log;

    // Injectable. fetch(force) returns a Copilot token (default:
    // get_copilot_token with the cache and the stored GitHub login);
    // login(cancelled, on_code) runs a device flow to its end and stores the
    // login (default: the real flow against GitHub).
    std::function<CopilotTokenResult(bool force)> fetch;
    std::function<void(const std::function<bool()>& cancelled,
                       const std::function<void(const PendingLogin&)>& on_code)>
        login;
};

// Keeps the Copilot token in memory. A background thread refreshes it at
// next_refresh_at, retries failures with failure_backoff while the old
// token is still served, and runs the device flow when no GitHub login is
// found (device_login).
class TokenKeeper {
public:
    explicit TokenKeeper(TokenKeeperOptions opts);
    ~TokenKeeper();  // stop() and join
    TokenKeeper(const TokenKeeper&) = delete;
    TokenKeeper& operator=(const TokenKeeper&) = delete;

    // The first token, fetched in the caller's thread. Throws what the fetch
    // throws when it is not worth_retrying (no_auth only without
    // device_login); temporary failures and a missing login are left to the
    // background thread.
    void prime();
    // The background thread (after prime(), which it calls if need be).
    void start();
    void stop();

    TokenStatus status() const;
    // The failure that ended the keeper (stop_on_permanent), if any.
    std::optional<Error> failed() const;
    // Waits up to `wait` for failed() to be set; true when it is.
    bool wait_failed(std::chrono::milliseconds wait);

    // After the upstream rejected `rejected` (401/403): one forced refresh,
    // shared by every request that saw the same token rejected. Returns the
    // token to retry with, or nullopt when none could be had.
    std::optional<TokenStatus> refresh_after_rejection(const std::string& rejected);

    // How many tokens have been fetched (for tests and /healthz).
    uint64_t fetches() const { return fetches_.load(); }

private:
    void run();
    void fetch_and_set(bool force);
    void take(const CopilotTokenResult& r);
    void failed_fetch(const Error& e, const char* what, bool announce_login);
    void run_login();
    void log(KeeperLog kind, const std::string& message) const;

    TokenKeeperOptions opts_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    TokenStatus status_;
    int failures_ = 0;
    int64_t retry_at_ = 0;  // unix s: the next try after a failure
    int64_t forced_failed_at_ = 0;  // unix s: the last failed refresh_after_rejection
    bool need_login_ = false;
    bool stopping_ = false;
    bool primed_ = false;
    std::optional<Error> failed_;
    std::atomic<uint64_t> fetches_{0};
    std::mutex fetch_mu_;  // one exchange at a time
    std::thread thread_;
};

}  // namespace copilot
