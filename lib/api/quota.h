// What is left of the Copilot quotas: the user document of
// GET {GitHub API}/copilot_internal/user (copilot-usage), read into one
// normalised summary, and the quota headers every Copilot answer may carry
// (x-quota-snapshot-<name>, x-usage-ratelimit-session/-weekly).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/copilot_token.h"
#include "net/http.h"

namespace copilot {

// One quota, from the user document or from a header. Numbers are as the
// service sent them (remaining may be fractional); nullopt when not given.
struct QuotaSnapshot {
    std::string name;                      // "premium_interactions", "chat", "session", ...
    bool unlimited = false;                // the document's unlimited, or a header's ent=-1
    std::optional<double> entitlement;
    std::optional<double> remaining;
    std::optional<double> percent_remaining;  // given, else remaining / entitlement
    std::optional<double> overage_count;
    std::optional<bool> overage_permitted;
    std::string reset_date;                // "" when not given
};

// The user document, normalised.
struct UsageSummary {
    std::string plan;        // copilot_plan, "" when absent
    std::string sku;         // access_type_sku, "" when absent
    std::string reset_date;  // quota_reset_date_utc, else quota_reset_date, else ""
    // premium_interactions, chat and completions first (those present), then
    // any other in the document's order.
    std::vector<QuotaSnapshot> quotas;

    const QuotaSnapshot* find(std::string_view name) const;
};

constexpr const char* kPremiumQuota = "premium_interactions";

// --- copilot-usage -------------------------------------------------------------------

// GET {GitHub API}/copilot_internal/user with the GitHub token, as the token
// exchange asks (copilot_internal_get: the same errors and exit codes).
// Returns the answer's body; a body that parse_usage_document refuses throws
// its Error(protocol), with the token masked.
std::string fetch_usage_document(const std::string& github_token, const std::string& host,
                                 const RetryHook& on_retry = {});

// Reads the user document. Error(protocol), "usage answer: ...", for what is
// not a JSON object, a duplicate key, quota_snapshots or a snapshot that is
// not an object, a mistyped field, or a limited quota without entitlement or
// remaining. Unknown fields are ignored.
UsageSummary parse_usage_document(std::string_view body);

// The normalised summary as one JSON object (no newline):
// {"plan", "sku", "reset_date", "quotas": {NAME: {"unlimited", "entitlement",
// "remaining", "percent_remaining", "overage_count", "overage_permitted",
// "reset_date"}}}; what is unknown is null.
std::string usage_summary_json(const UsageSummary& s);
// --json: {"user": the document as it came, "summary": usage_summary_json}
// and a newline. `body` must be what parse_usage_document read.
std::string usage_json(std::string_view body, const UsageSummary& s);
// The table for people: plan, sku and reset date, then one row per quota.
std::string usage_table(const UsageSummary& s, bool bold);
// --format env: `export NAME='value'` lines: COPILOT_PLAN, COPILOT_SKU,
// COPILOT_QUOTA_RESET_DATE, and per quota COPILOT_<Q>_{UNLIMITED,
// ENTITLEMENT, REMAINING, PERCENT_REMAINING, OVERAGE_COUNT,
// OVERAGE_PERMITTED} (booleans 1/0, unknown ''), where <Q> is PREMIUM for
// premium_interactions, else the name in upper case with '_' for what is
// not a letter or digit.
std::string usage_env(const UsageSummary& s);
std::string quota_env_name(const std::string& quota);

// --min-remaining N or N%: a number of premium requests, or a percentage.
struct MinRemaining {
    double value = 0;
    bool percent = false;
};
// nullopt unless a non-negative decimal number (at most 9 digits before and
// 6 after the point), optionally followed by '%' (then at most 100).
std::optional<MinRemaining> parse_min_remaining(std::string_view text);

struct UsageCheck {
    bool passes = false;
    std::string text;  // one line for stderr, e.g. "premium requests: 12 of 300 left (4%) ..."
};
// copilot-usage --check: passes when the premium quota is unlimited or has at
// least `min` left. Error(protocol) when the document has no premium quota.
UsageCheck check_premium(const UsageSummary& s, const MinRemaining& min);

// --- the quota headers of an answer ----------------------------------------------------

// One header value: URL-encoded `ent=&ov=&ovPerm=&rem=&rst=` (rem: percent
// remaining; ent=-1: unlimited; remaining = ent * rem / 100 when ent > 0).
// Unknown keys are ignored. nullopt, with the reason in `*why`, when it has
// neither ent nor rem, a key twice, a number that is not one, or ovPerm not
// true/false.
std::optional<QuotaSnapshot> parse_quota_header(std::string_view name, std::string_view value,
                                                std::string* why = nullptr);

struct AnswerQuota {
    std::vector<QuotaSnapshot> quotas;     // x-quota-snapshot-<name>, in header order
    std::optional<QuotaSnapshot> session;  // x-usage-ratelimit-session (name "session")
    std::optional<QuotaSnapshot> weekly;   // x-usage-ratelimit-weekly (name "weekly")
    bool empty() const { return quotas.empty() && !session && !weekly; }
};

// The quota headers of an answer (names compared case-insensitively). A
// header that does not parse is left out and told to `note` (for --verbose),
// never an error.
AnswerQuota quota_from_headers(const HeaderList& headers,
                               const std::function<void(const std::string&)>& note = {});

// {"quotas": {NAME: snapshot}, "session": snapshot|null, "weekly": snapshot|null},
// each snapshot the object of usage_summary_json.
std::string answer_quota_json(const AnswerQuota& q);

}  // namespace copilot
