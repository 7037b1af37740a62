// copilot-serve's usage bookkeeping (ARCHITECTURE.md, "Usage and quota"):
// per request, what it spent (serve/ledger's rule), added to the totals of
// GET /usage (serve/usage_summary), appended to the --ledger file, and the
// --budget check made before a premium model's request goes upstream.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "api/answer_usage.h"
#include "serve/ledger.h"
#include "serve/request_log.h"
#include "serve/usage_summary.h"

namespace copilot {

class ServeUsage {
public:
    // `ledger_path` "": no ledger; else opened now (Error(io) as Ledger's).
    // `budget`: --budget N, premium requests since start.
    ServeUsage(int64_t started_ms, const std::string& ledger_path, std::optional<double> budget);

    // A request on a premium model (its multiplier above 0) once the budget
    // is spent: the message of its 429 ("the budget of N premium requests
    // since start is spent (M spent); ..."); nullopt when it may go.
    std::optional<std::string> refusal(const WireLog& w) const;

    // The request has ended (its line is complete but for the spend): sets
    // log.wire.premium, adds it to the totals and the quota it reported,
    // appends its ledger line. A ledger that cannot be written is a warning
    // to `log`, never the request's failure; the quota notes go to `log` as
    // notes (--verbose).
    void finish(RequestLog& log, int64_t now_ms, const ServeLog& out);

    // GET /usage: usage_summary's json plus "budget": {"premium": N,
    // "spent": M, "left": L} or null, and "ledger": the path or null.
    std::string usage_json() const;
    // For /healthz: the latest quota the answers reported (answer_quota_json).
    std::string quota_json() const;

    const UsageTotals& totals() const { return totals_; }

private:
    UsageTotals totals_;
    std::unique_ptr<Ledger> ledger_;
    std::optional<double> budget_;
};

// The ledger's entry for a finished request.
LedgerEntry ledger_entry(const RequestLog& log, int64_t now_ms);

}  // namespace copilot
