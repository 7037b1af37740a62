#include "auth/device_flow.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <thread>

#include "auth/copilot_token.h"
#include "net/endpoints.h"
#include "util/files.h"
#include "util/paths.h"

namespace copilot {

namespace {

constexpr const char* kGrantType = "urn:ietf:params:oauth:grant-type:device_code";
constexpr int64_t kMaxServerSeconds = 1000000;  // bounds server-given durations (no overflow)
constexpr int64_t kSleepSliceMs = 100;     // how quickly a wait notices cancellation
constexpr long kRetryCapMs = 60000;

HeaderList oauth_headers() {
    HeaderList h = {{"Accept", "application/json"},
                    {"Content-Type", "application/x-www-form-urlencoded"}};
    for (auto& kv : editor_headers()) h.push_back(kv);
    return h;
}

bool printable_word(const std::string& s, size_t max_len) {
    if (s.empty() || s.size() > max_len) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f;
    });
}


// A duration in seconds: any JSON number (rounded up, so a fractional
// interval never makes us poll faster); absent or null -> nullopt.
std::optional<int64_t> opt_seconds(const JsonValue& obj, const char* field, const JsonSource& src) {
    auto it = obj.FindMember(field);
    if (it == obj.MemberEnd() || it->value.IsNull()) return std::nullopt;
    if (!it->value.IsNumber())
        throw Error(src.code, src.what + ": field '" + field + "' must be a number");
    double d = std::ceil(it->value.GetDouble());
    if (!(d > 0)) return int64_t{0};  // also catches NaN
    return static_cast<int64_t>(std::min<double>(d, kMaxServerSeconds));
}

std::string opt_text(const JsonValue& obj, const char* field) {
    auto it = obj.FindMember(field);
    if (it == obj.MemberEnd() || !it->value.IsString()) return "";
    return std::string(it->value.GetString(), it->value.GetStringLength());
}

Error code_expired() {
    return Error(Exit::temp,
                 "the device code expired before the login was approved; run copilot-login again");
}

// The OAuth error codes of RFC 8628 / GitHub mapped to exit codes.
[[noreturn]] void throw_oauth_error(const std::string& code, const std::string& description,
                                    const PendingLogin& p) {
    std::string desc = one_line(redact(description, p.device_code));
    std::string why = one_line(redact(code, p.device_code)) + (desc.empty() ? "" : ": " + desc);
    if (code == "expired_token") throw code_expired();
    if (code == "access_denied")
        throw Error(Exit::permission, "the login was denied (" + why + ")");
    if (code == "incorrect_client_credentials" || code == "invalid_client")
        throw Error(Exit::permission, "GitHub refused the client ID '" + one_line(p.client_id) +
                                          "' (" + why + ")");
    if (code == "device_flow_disabled")
        throw Error(Exit::permission, "the device flow is disabled for client ID '" +
                                          one_line(p.client_id) + "' (" + why + ")");
    if (code == "incorrect_device_code")
        throw Error(Exit::protocol, "GitHub does not know this device code (" + why + ")");
    if (code == "unsupported_grant_type")
        throw Error(Exit::protocol, "GitHub does not support the device flow grant (" + why + ")");
    throw Error(Exit::protocol, "login failed (" + why + ")");
}

bool is_transient_status(long s) { return s == 429 || s >= 500; }

PollAnswer transient(long status, const HttpResponse& resp, const std::string& what) {
    PollAnswer a;
    a.kind = PollAnswer::Kind::retry;
    a.retry_code = status == 429 ? Exit::temp : Exit::unavailable;
    a.reason = what + " answered HTTP " + std::to_string(status);
    std::string ra = resp.header("retry-after");
    if (!ra.empty()) {
        if (auto secs = parse_retry_after(ra, std::time(nullptr))) a.retry_after_s = *secs;
    }
    return a;
}

}  // namespace

// ---------------------------------------------------------------------------
// Device code

PendingLogin parse_device_code_answer(const HttpResponse& resp, const std::string& host,
                                      const std::string& client_id, int64_t now) {
    const long s = resp.status;
    if (is_transient_status(s))
        throw Error(s == 429 ? Exit::temp : Exit::unavailable,
                    host + " answered HTTP " + std::to_string(s) +
                        " to the device code request; try again later");
    const JsonSource src{"device code answer from " + host, Exit::protocol};
    rapidjson::Document doc;
    try {
        doc = json_parse(resp.body, src);
    } catch (const Error&) {
        if (s != 200)
            throw Error(Exit::protocol, host + " refused the device code request (HTTP " +
                                            std::to_string(s) + ")");
        throw;
    }
    PendingLogin p;
    p.host = host;
    p.client_id = client_id;
    if (auto err = json_opt_string(doc, "error", src))
        throw_oauth_error(*err, opt_text(doc, "error_description"), p);
    if (s != 200)
        throw Error(Exit::protocol, host + " refused the device code request (HTTP " +
                                        std::to_string(s) + ")");

    p.device_code = json_string(doc, "device_code", src);
    if (!printable_word(p.device_code, 1024))
        throw Error(Exit::protocol, src.what + ": field 'device_code' is empty or not printable");
    p.user_code = json_string(doc, "user_code", src);
    if (!printable_word(p.user_code, 64))
        throw Error(Exit::protocol, src.what + ": field 'user_code' is empty or not printable");
    p.verification_uri = json_string(doc, "verification_uri", src);
    // The same rule the pending-login reader applies, so --start never
    // writes a file that --poll refuses.
    if (!printable_word(p.verification_uri, 2048))
        throw Error(Exit::protocol, src.what + ": field 'verification_uri' is not printable");
    try {
        check_url_policy(p.verification_uri);
    } catch (const Error& e) {
        // We show this URI and may hand it to xdg-open: it must be a web URL.
        throw Error(Exit::protocol, src.what + ": field 'verification_uri' is not usable (" +
                                        one_line(e.what()) + ")");
    }
    int64_t lifetime = opt_seconds(doc, "expires_in", src).value_or(kDefaultCodeLifetime);
    if (lifetime <= 0)
        throw Error(Exit::protocol, src.what + ": field 'expires_in' must be positive");
    p.expires_at = now + lifetime;
    int64_t interval = opt_seconds(doc, "interval", src).value_or(kDefaultPollInterval);
    p.interval = interval > 0 ? interval : kDefaultPollInterval;
    return p;
}

PendingLogin request_device_code(const std::string& host, const std::string& client_id,
                                 const std::string& scope, int64_t now) {
    HttpRequest req;
    req.method = "POST";
    req.url = github_endpoints(host).web_url + "/login/device/code";
    req.headers = oauth_headers();
    req.body = form_encode({{"client_id", client_id}, {"scope", scope}});
    // A retry at worst abandons a code nobody has seen yet.
    req.retry = true;
    req.max_attempts = 3;
    req.timeout_ms = 30000;
    req.max_body = 64 * 1024;
    return parse_device_code_answer(http_perform(req), host, client_id, now);
}

// ---------------------------------------------------------------------------
// Pending-login document

std::string serialize_pending_login(const PendingLogin& p) {
    JsonObjectWriter w;
    w.field("host", p.host).field("client_id", p.client_id).field("device_code", p.device_code);
    w.field("user_code", p.user_code).field("verification_uri", p.verification_uri);
    w.field("interval", p.interval).field("expires_at", p.expires_at);
    return w.str() + "\n";
}

PendingLogin parse_pending_login(std::string_view json, const JsonSource& src) {
    rapidjson::Document doc = json_parse(json, src);
    PendingLogin p;
    p.host = json_string(doc, "host", src);
    try {
        state_name(p.host, "");
    } catch (const Error&) {
        throw Error(src.code, src.what + ": field 'host' is not a valid host name");
    }
    p.client_id = json_string(doc, "client_id", src);
    p.device_code = json_string(doc, "device_code", src);
    if (p.device_code.empty()) throw Error(src.code, src.what + ": field 'device_code' is empty");
    p.user_code = json_opt_string(doc, "user_code", src).value_or("");
    p.verification_uri = json_opt_string(doc, "verification_uri", src).value_or("");
    // Both end up in messages on a terminal.
    if (!p.user_code.empty() && !printable_word(p.user_code, 64))
        throw Error(src.code, src.what + ": field 'user_code' is not printable");
    if (!p.verification_uri.empty() && !printable_word(p.verification_uri, 2048))
        throw Error(src.code, src.what + ": field 'verification_uri' is not printable");
    int64_t interval = opt_seconds(doc, "interval", src).value_or(kDefaultPollInterval);
    p.interval = interval > 0 ? interval : kDefaultPollInterval;
    p.expires_at = json_seconds(doc, "expires_at", src);
    return p;
}

// ---------------------------------------------------------------------------
// Polling

PollAnswer parse_poll_answer(const HttpResponse& resp, const PendingLogin& p) {
    const long s = resp.status;
    if (is_transient_status(s)) return transient(s, resp, p.host);
    const JsonSource src{"access token answer from " + p.host, Exit::protocol};
    rapidjson::Document doc;
    try {
        doc = json_parse(resp.body, src);
    } catch (const Error&) {
        if (s != 200 && s != 400 && s != 401)
            throw Error(Exit::protocol, p.host + " answered HTTP " + std::to_string(s) +
                                            " to the access token request");
        throw;
    }
    PollAnswer a;
    if (auto err = json_opt_string(doc, "error", src)) {
        if (*err == "authorization_pending") {
            a.kind = PollAnswer::Kind::pending;
            return a;
        }
        if (*err == "slow_down") {
            a.kind = PollAnswer::Kind::slow_down;
            a.interval = opt_seconds(doc, "interval", src).value_or(0);
            return a;
        }
        throw_oauth_error(*err, opt_text(doc, "error_description"), p);
    }
    if (s != 200)
        throw Error(Exit::protocol, p.host + " answered HTTP " + std::to_string(s) +
                                        " to the access token request, without an error code");
    auto token = json_opt_string(doc, "access_token", src);
    if (!token) throw Error(Exit::protocol, src.what + ": neither 'access_token' nor 'error'");
    // It goes into an HTTP header and a JSON file: no spaces, nothing unprintable.
    if (!printable_word(*token, 4096))
        throw Error(Exit::protocol, src.what + ": field 'access_token' is empty or not printable");
    a.kind = PollAnswer::Kind::granted;
    a.access_token = *token;
    a.token_type = opt_text(doc, "token_type");
    a.scope = one_line(opt_text(doc, "scope"));
    return a;
}

PollAnswer poll_once(const PendingLogin& p) {
    HttpRequest req;
    req.method = "POST";
    req.url = github_endpoints(p.host).web_url + "/login/oauth/access_token";
    req.headers = oauth_headers();
    req.body = form_encode(
        {{"client_id", p.client_id}, {"device_code", p.device_code}, {"grant_type", kGrantType}});
    req.retry = false;  // poll_for_token paces retries at the interval
    req.timeout_ms = 30000;
    req.max_body = 64 * 1024;
    HttpResponse resp;
    try {
        resp = http_perform(req);
    } catch (const Error& e) {
        if (e.code() != Exit::temp) throw;
        // A network error: the flow is still alive on the server.
        PollAnswer a;
        a.kind = PollAnswer::Kind::retry;
        a.retry_code = Exit::temp;
        a.reason = e.what();
        return a;
    }
    return parse_poll_answer(resp, p);
}

int64_t slowed_interval(int64_t current, int64_t carried) {
    if (carried > current) return std::min(carried, kMaxServerSeconds);
    return std::min(current + kSlowDownStep, kMaxServerSeconds);
}

int64_t retry_wait_ms(int64_t interval_s, int failures, long retry_after_s) {
    const int64_t base = std::max<int64_t>(interval_s, 1) * 1000;
    const long first = static_cast<long>(std::min<int64_t>(base, kRetryCapMs));
    int64_t wait = std::max<int64_t>(backoff_ms(failures, first, kRetryCapMs), base);
    if (retry_after_s >= 0) wait = std::max<int64_t>(wait, int64_t{retry_after_s} * 1000);
    return wait;
}

PollClock system_poll_clock() {
    PollClock c;
    c.now_ms = [] {
        using namespace std::chrono;
        return static_cast<int64_t>(
            duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
    };
    c.sleep_ms = [](int64_t ms) {
        if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    };
    return c;
}

PollAnswer poll_for_token(PendingLogin& pending, const PollLoop& loop) {
    const auto cancelled = [&] { return loop.cancelled && loop.cancelled(); };
    const auto note = [&](const std::string& s) {
        if (loop.note) loop.note(s);
    };
    const auto left_ms = [&] { return pending.expires_at * 1000 - loop.clock.now_ms(); };

    // Sleeps `ms` in slices (to notice Ctrl-C), but not past the code's end.
    const auto wait = [&](int64_t ms) {
        while (ms > 0) {
            if (cancelled()) throw Error(Exit::interrupted, "interrupted");
            int64_t left = left_ms();
            if (left <= 0) return;
            int64_t step = std::min({ms, kSleepSliceMs, left});
            loop.clock.sleep_ms(step);
            ms -= step;
        }
    };

    int failures = 0;
    std::string last_failure;  // why the polls failed, if they did until the end
    int64_t next_wait_ms = pending.interval * 1000;
    for (;;) {
        wait(next_wait_ms);
        if (cancelled()) throw Error(Exit::interrupted, "interrupted");
        if (left_ms() <= 0) {
            if (failures == 0) throw code_expired();
            // The code ran out while the service could not be reached: say so.
            throw Error(Exit::temp, "the device code expired while polling failed (" +
                                        one_line(last_failure) + "); run copilot-login again");
        }
        PollAnswer a = loop.poll(pending);
        if (cancelled()) throw Error(Exit::interrupted, "interrupted");
        switch (a.kind) {
        case PollAnswer::Kind::granted:
            return a;
        case PollAnswer::Kind::pending:
            failures = 0;
            next_wait_ms = pending.interval * 1000;
            note("authorization pending; next poll in " + std::to_string(pending.interval) + " s");
            break;
        case PollAnswer::Kind::slow_down:
            failures = 0;
            pending.interval = slowed_interval(pending.interval, a.interval);
            next_wait_ms = pending.interval * 1000;
            note("the server asked to slow down; polling every " +
                 std::to_string(pending.interval) + " s");
            break;
        case PollAnswer::Kind::retry:
            ++failures;
            last_failure = a.reason;
            next_wait_ms = retry_wait_ms(pending.interval, failures, a.retry_after_s);
            note(a.reason + "; polling again in " + std::to_string((next_wait_ms + 999) / 1000) +
                 " s");
            break;
        }
    }
}

// ---------------------------------------------------------------------------
// After the grant

std::optional<std::string> lookup_user(const std::string& github_token, const std::string& host,
                                       long* status, std::string* problem) {
    if (status) *status = 0;
    HttpRequest req;
    req.url = github_endpoints(host).github_api_url + "/user";
    req.headers = {{"Authorization", "token " + github_token},
                   {"Accept", "application/vnd.github+json"}};
    for (auto& kv : editor_headers()) req.headers.push_back(kv);
    req.max_attempts = 2;
    req.timeout_ms = 20000;
    req.max_body = 1 << 20;
    const auto fail = [&](const std::string& why) -> std::optional<std::string> {
        if (problem) *problem = redact(why, github_token);
        return std::nullopt;
    };
    HttpResponse r;
    try {
        r = http_perform(req);
    } catch (const Error& e) {
        return fail(e.what());
    }
    if (status) *status = r.status;
    if (r.status != 200) return fail(host + " answered HTTP " + std::to_string(r.status));
    try {
        const JsonSource src{"user answer from " + host, Exit::protocol};
        auto doc = json_parse(r.body, src);
        std::string login = json_string(doc, "login", src);
        if (!printable_word(login, 100)) return fail(src.what + ": field 'login' is not a name");
        return login;
    } catch (const Error& e) {
        return fail(e.what());
    }
}

LoginCheck check_login(const std::string& github_token, const std::string& host, bool verify,
                       int64_t now,
                       const std::function<void(int, long, const std::string&)>& on_retry) {
    LoginCheck c;
    long status = 0;
    std::string problem;
    auto user = lookup_user(github_token, host, &status, &problem);
    if (user) {
        c.user = *user;
    } else if (status == 401) {
        c.verdict = LoginCheck::Verdict::invalid;
        c.problem = Error(Exit::permission,
                          "GitHub refused the token (401): it is invalid or revoked");
        return c;
    } else {
        c.warnings.push_back("could not look up the GitHub user: " + problem);
    }
    if (!verify) return c;
    try {
        CopilotToken t = exchange_token(github_token, host, now, on_retry);
        c.verified = true;
        c.sku = one_line(t.sku);
        c.copilot_token = std::move(t);
    } catch (const Error& e) {
        // GitHub accepted the token (or was not asked), so a refusal here is
        // about Copilot, not about the token.
        c.verdict = e.code() == Exit::permission ? LoginCheck::Verdict::no_copilot
                                                 : LoginCheck::Verdict::unverified;
        c.problem = Error(e.code(), redact(e.what(), github_token));
    }
    return c;
}

// ---------------------------------------------------------------------------
// The split flow (--start, then --poll)

PendingLogin read_pending_login(const std::string& file) {
    std::string text, what;
    if (file == "-") {
        if (!stdin_is_piped())
            throw Error(Exit::usage, "--poll needs a FILE or a pending login on standard input "
                                     "(see --help)");
        text = read_fd(0, kMaxStateFile, "standard input");
        what = "pending login on standard input";
    } else if (const int fd = output_fd_alias(file); fd >= 0) {
        // --poll /dev/stdin: the open descriptor, as a shell would read it
        text = read_fd(fd, kMaxStateFile, file);
        what = "pending login " + file;
    } else {
        // It holds the device code: owner and mode checked (Error(io), 74).
        auto t = read_private_file(file, kMaxStateFile);
        if (!t) throw Error(Exit::data, "pending login " + file + " does not exist");
        text = *t;
        what = "pending login " + file;
    }
    return parse_pending_login(text, {what, Exit::data});
}

std::string code_lifetime_text(int64_t seconds) {
    if (seconds >= 120) return std::to_string((seconds + 30) / 60) + " minutes";
    return std::to_string(std::max<int64_t>(seconds, 0)) + " seconds";
}

PollAnswer poll_pending_once(PendingLogin& p, const std::string& file) {
    PollAnswer a = poll_once(p);
    switch (a.kind) {
    case PollAnswer::Kind::granted:
        return a;
    case PollAnswer::Kind::pending:
        throw Error(Exit::temp, "login still pending" +
                                    (p.user_code.empty() ? std::string()
                                                         : ": enter code " + p.user_code +
                                                               " at " + p.verification_uri));
    case PollAnswer::Kind::slow_down:
        p.interval = slowed_interval(p.interval, a.interval);
        // Only a file is rewritten: --poll /dev/stdin or a FIFO must not be
        // replaced by one (write_file_atomic renames over the name).
        if (file != "-" && names_regular_file(file))
            write_file_atomic(file, serialize_pending_login(p), 0600, false);
        throw Error(Exit::temp, "the server asked to slow down: wait " +
                                    std::to_string(p.interval) + " s before the next poll");
    case PollAnswer::Kind::retry:
        break;
    }
    throw Error(a.retry_code, a.reason);
}

}  // namespace copilot
