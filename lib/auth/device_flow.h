// GitHub's OAuth device flow (RFC 8628, ARCHITECTURE.md protocol 1-2): request a
// device code, poll for the token at the server's pace, and the pending-login
// document that lets one process start a login and another finish it.
//
// Where popular clients go wrong, this one is strict: polls are never closer
// than the interval, slow_down raises it for good, expired_token and the
// code's own lifetime end the loop, and a network error or a 5xx while
// polling is retried with backoff instead of losing the flow.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/copilot_token.h"
#include "util/errors.h"
#include "net/http.h"
#include "util/json.h"

namespace copilot {

constexpr int64_t kDefaultPollInterval = 5;  // s, when the server names none (RFC 8628)
constexpr int64_t kDefaultCodeLifetime = 900;
constexpr int64_t kSlowDownStep = 5;         // s added by each slow_down

// ARCHITECTURE.md's pending-login document.
struct PendingLogin {
    std::string host;
    std::string client_id;
    std::string device_code;  // whoever holds it gets the token once approved: keep private
    std::string user_code;
    std::string verification_uri;
    int64_t interval = kDefaultPollInterval;  // s between polls
    int64_t expires_at = 0;                   // unix s
};

// POST {web}/login/device/code with client_id and scope (form body,
// Accept: application/json, editor headers). Errors: the server's OAuth error
// (see parse_poll_answer for the codes), 5xx after retries -> unavailable,
// an answer that is not a usable device code -> protocol.
PendingLogin request_device_code(const std::string& host, const std::string& client_id,
                                 const std::string& scope, int64_t now);

// The device-code answer. device_code, user_code and verification_uri are
// required; expires_in (default 900) and interval (default 5) optional.
// The user code and URI are shown to people and the URI may be opened, so
// they must be printable and the URI http(s): anything else -> protocol.
PendingLogin parse_device_code_answer(const HttpResponse& resp, const std::string& host,
                                      const std::string& client_id, int64_t now);

// One JSON object and a newline, fields in ARCHITECTURE.md's order.
std::string serialize_pending_login(const PendingLogin& p);
// host, client_id, device_code and expires_at are required; errors (src.code)
// name the field.
PendingLogin parse_pending_login(std::string_view json, const JsonSource& src);

// The pending login in `file` ("-": standard input, which must be a pipe or
// a file: Error(usage) otherwise). Error(data) when the file does not exist
// or the document is malformed.
PendingLogin read_pending_login(const std::string& file);

// "15 minutes", "42 seconds": how long a device code stays valid.
std::string code_lifetime_text(int64_t seconds);

// One poll's outcome, short of the terminal errors (which are thrown).
struct PollAnswer {
    enum class Kind { granted, pending, slow_down, retry };
    Kind kind = Kind::pending;
    // granted
    std::string access_token;  // secret
    std::string token_type;
    std::string scope;
    // slow_down: the interval the answer carries (0 when none)
    int64_t interval = 0;
    // retry: a network error, 429 or 5xx, worth trying again later
    Exit retry_code = Exit::temp;  // how to report it when not retried
    std::string reason;            // "HTTP 502", "cannot reach ...: ..."
    long retry_after_s = -1;       // the server's Retry-After, -1 when none
};

// Interprets an access-token answer. Errors may come in a 200 body (GitHub)
// or a 400/401 body (RFC 6749 servers). Thrown, with the server's
// description (redacted, one line):
//   expired_token                  -> temp        "the device code expired ..."
//   access_denied                  -> permission  "the login was denied ..."
//   incorrect_client_credentials,
//   device_flow_disabled           -> permission
//   incorrect_device_code,
//   unsupported_grant_type,
//   any other error, bad JSON      -> protocol
PollAnswer parse_poll_answer(const HttpResponse& resp, const PendingLogin& p);

// One POST {web}/login/oauth/access_token, not retried by the HTTP layer
// (the loop below paces retries): network errors come back as Kind::retry.
PollAnswer poll_once(const PendingLogin& p);

// copilot-login --poll --once: one poll of the pending login read from
// `file`. The granted answer, else Error(temp) while the login is pending
// (naming the code and page) or after a slow_down (the new interval is
// written back to `file` unless it is "-", so the next --once keeps the
// pace), or the error of a poll worth retrying.
PollAnswer poll_pending_once(PendingLogin& p, const std::string& file);

// The interval after a slow_down: the one the answer carries when it is
// larger than the current one (GitHub sends the new minimum), else +5 s.
int64_t slowed_interval(int64_t current, int64_t carried);

// The wait before retrying after `failures` consecutive transient errors:
// backoff from the interval, doubling, capped at a minute, never below the
// interval nor below the server's Retry-After.
int64_t retry_wait_ms(int64_t interval_s, int failures, long retry_after_s);

// Time, injectable so the loop can be tested without real waiting.
struct PollClock {
    std::function<int64_t()> now_ms;         // wall clock, ms since the epoch
    std::function<void(int64_t)> sleep_ms;  // sleep at least this long
};
PollClock system_poll_clock();

struct PollLoop {
    PollClock clock = system_poll_clock();
    // Checked before each poll and at least every 100 ms while waiting;
    // true ends the loop with Error(interrupted).
    std::function<bool()> cancelled;
    // The poll itself (poll_once by default; tests substitute a script).
    std::function<PollAnswer(const PendingLogin&)> poll = poll_once;
    // Progress for --verbose ("slow_down: polling every 10 s"); never secrets.
    std::function<void(const std::string&)> note;
};

// Waits an interval, polls, and repeats until the token is granted (returned
// as a granted PollAnswer) or the flow ends: terminal answers throw as in
// parse_poll_answer; the code's lifetime running out (pending.expires_at)
// throws Error(temp). slow_down raises pending.interval, so a caller can
// persist it. Transient failures are retried with retry_wait_ms.
PollAnswer poll_for_token(PendingLogin& pending, const PollLoop& loop);

// What finishing a login learned about a new GitHub token.
struct LoginCheck {
    enum class Verdict {
        ok,          // Copilot access confirmed by an exchange (or not asked for)
        no_copilot,  // a valid GitHub token, but the exchange was refused (403/404)
        unverified,  // the exchange could not be made (network, 5xx, bad answer)
        invalid,     // GitHub refused the token itself (401)
    };
    Verdict verdict = Verdict::ok;
    bool verified = false;  // an exchange succeeded
    std::string user;       // "" when the lookup failed
    std::string sku;        // from the exchange
    // The Copilot token that exchange got: finish_login caches it, so the
    // first copilot-token after a login makes no second exchange.
    std::optional<CopilotToken> copilot_token;
    // no_copilot, unverified, invalid: what went wrong, with its exit code.
    std::optional<Error> problem;
    std::vector<std::string> warnings;  // e.g. the user lookup failed
};

// GET {api}/user for the login name (failure is only a warning, except a
// 401, which makes the verdict `invalid`), then, with `verify`, one Copilot
// token exchange. `on_retry` hears about HTTP retries.
LoginCheck check_login(const std::string& github_token, const std::string& host, bool verify,
                       int64_t now,
                       const std::function<void(int, long, const std::string&)>& on_retry = {});

// The login name from GET {api}/user: nullopt and `problem` set on failure;
// `status` gets the HTTP status (0 when the request failed).
std::optional<std::string> lookup_user(const std::string& github_token, const std::string& host,
                                       long* status, std::string* problem);

}  // namespace copilot
