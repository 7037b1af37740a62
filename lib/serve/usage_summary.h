// What copilot-serve has used since it started: requests, tokens and
// premium requests per model and per client API, the latest quota the
// answers reported, and the budget check (--budget N: "N premium requests
// spent since start"). For GET /usage and the ledger's reader; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "api/quota.h"
#include "serve/ledger.h"

namespace copilot {

struct UsageTally {
    int64_t requests = 0;
    int64_t input_tokens = 0;
    int64_t output_tokens = 0;
    int64_t cached_tokens = 0;
    int64_t reasoning_tokens = 0;
    double premium = 0;  // premium_spend summed
};

class UsageTotals {
public:
    explicit UsageTotals(int64_t started_ms) : started_ms_(started_ms) {}

    // One finished request (what its ledger line says).
    void record(const LedgerEntry& e);
    // The quota headers of an answer: each snapshot replaces the one of its
    // name; session and weekly replace theirs when present.
    void record_quota(const AnswerQuota& q);

    UsageTally total() const;
    std::map<std::string, UsageTally> by_model() const;
    std::map<std::string, UsageTally> by_client_api() const;
    AnswerQuota latest_quota() const;

    // --budget N: premium requests may still be served while fewer than N
    // have been spent since start (N = 0 serves none).
    bool within_budget(double budget) const;
    // For the 429 once it is spent: "the budget of N premium requests since
    // start is spent (M spent)".
    std::string budget_message(double budget) const;

    // {"since":"2026-12-02T01:00:00.000Z","total":TALLY,"by_model":{ID:TALLY},
    //  "by_client_api":{API:TALLY},"quota":answer_quota_json}, TALLY being
    // {"requests","tokens":{"input","output","cached","reasoning"},"premium"}.
    std::string json() const;

private:
    const int64_t started_ms_;
    mutable std::mutex mu_;
    UsageTally total_;
    std::map<std::string, UsageTally> by_model_;
    std::map<std::string, UsageTally> by_api_;
    AnswerQuota quota_;
};

}  // namespace copilot
