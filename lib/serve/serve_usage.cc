#include "serve/serve_usage.h"

#include <cmath>
#include <cstdio>

#include "util/errors.h"
#include "util/json.h"

namespace copilot {

namespace {

std::string json_number(double v) {
    if (!std::isfinite(v)) return "null";
    if (v == std::floor(v) && std::fabs(v) < 9.0e15)
        return std::to_string(static_cast<int64_t>(v));
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

}  // namespace

ServeUsage::ServeUsage(int64_t started_ms, const std::string& ledger_path,
                       std::optional<double> budget)
    : totals_(started_ms), budget_(budget) {
    if (!ledger_path.empty()) ledger_ = std::make_unique<Ledger>(ledger_path);
}

std::optional<std::string> ServeUsage::refusal(const WireLog& w) const {
    if (!budget_ || !w.multiplier || !(*w.multiplier > 0)) return std::nullopt;
    if (totals_.within_budget(*budget_)) return std::nullopt;
    return totals_.budget_message(*budget_) +
           "; copilot-serve --budget serves no premium model until it restarts";
}

LedgerEntry ledger_entry(const RequestLog& log, int64_t now_ms) {
    LedgerEntry e;
    e.time_ms = now_ms;
    e.client_api = log.wire.api;
    e.upstream_endpoint = log.wire.upstream;
    e.model = log.model;
    e.agent = log.wire.initiator == "agent";
    e.tokens = log.wire.usage;
    e.multiplier = log.wire.multiplier;
    e.status = log.status;
    return e;
}

void ServeUsage::finish(RequestLog& log, int64_t now_ms, const ServeLog& out) {
    for (const auto& n : log.wire.quota_notes)
        if (out) out(LogKind::note, n);
    // Only the wire routes cost anything; /models, /healthz, ... are not counted.
    if (log.wire.api.empty()) return;
    const LedgerEntry e = ledger_entry(log, now_ms);
    if (e.multiplier) log.wire.premium = premium_spend(e);
    totals_.record(e);
    if (!log.wire.quota.empty()) totals_.record_quota(log.wire.quota);
    if (!ledger_) return;
    try {
        ledger_->append(e);
    } catch (const Error& err) {
        if (out) out(LogKind::warning, err.what());
    }
}

std::string ServeUsage::usage_json() const {
    std::string budget = "null";
    if (budget_) {
        const double spent = totals_.total().premium;
        budget = "{\"premium\":" + json_number(*budget_) + ",\"spent\":" + json_number(spent) +
                 ",\"left\":" + json_number(spent < *budget_ ? *budget_ - spent : 0) + "}";
    }
    std::string doc = json_with_member(totals_.json(), "budget", budget);
    return json_with_member(doc, "ledger", ledger_ ? json_quote(ledger_->path()) : "null");
}

std::string ServeUsage::quota_json() const { return answer_quota_json(totals_.latest_quota()); }

}  // namespace copilot
