#include "serve/usage_summary.h"

#include <cmath>
#include <cstdio>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "serve/request_log.h"

namespace copilot {

namespace {

void add(UsageTally& t, const LedgerEntry& e) {
    t.requests += 1;
    if (e.tokens) {
        t.input_tokens += e.tokens->input;
        t.output_tokens += e.tokens->output;
        t.cached_tokens += e.tokens->cached;
        t.reasoning_tokens += e.tokens->reasoning;
    }
    t.premium += premium_spend(e);
}

// Premium requests for people and JSON: integers without a point.
std::string amount(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    std::string s = buf;
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s;
}

void write_tally(rapidjson::Writer<rapidjson::StringBuffer>& w, const UsageTally& t) {
    w.StartObject();
    w.Key("requests");
    w.Int64(t.requests);
    w.Key("tokens");
    w.StartObject();
    w.Key("input");
    w.Int64(t.input_tokens);
    w.Key("output");
    w.Int64(t.output_tokens);
    w.Key("cached");
    w.Int64(t.cached_tokens);
    w.Key("reasoning");
    w.Int64(t.reasoning_tokens);
    w.EndObject();
    w.Key("premium");
    if (t.premium == std::floor(t.premium) && t.premium < 9.0e15)
        w.Int64(static_cast<int64_t>(t.premium));
    else
        w.Double(t.premium);
    w.EndObject();
}

void write_map(rapidjson::Writer<rapidjson::StringBuffer>& w,
               const std::map<std::string, UsageTally>& m) {
    w.StartObject();
    for (const auto& [k, t] : m) {
        w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
        write_tally(w, t);
    }
    w.EndObject();
}

}  // namespace

void UsageTotals::record(const LedgerEntry& e) {
    // The keys are what the ledger line shows, so the two agree.
    const std::string model = e.model.empty() ? "-" : client_text(e.model, 200);
    const std::string api = e.client_api.empty() ? "-" : client_text(e.client_api, 32);
    std::lock_guard<std::mutex> lock(mu_);
    add(total_, e);
    add(by_model_[model], e);
    add(by_api_[api], e);
}

void UsageTotals::record_quota(const AnswerQuota& q) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : q.quotas) {
        bool replaced = false;
        for (auto& old : quota_.quotas)
            if (old.name == s.name) {
                old = s;
                replaced = true;
            }
        if (!replaced) quota_.quotas.push_back(s);
    }
    if (q.session) quota_.session = q.session;
    if (q.weekly) quota_.weekly = q.weekly;
}

UsageTally UsageTotals::total() const {
    std::lock_guard<std::mutex> lock(mu_);
    return total_;
}

std::map<std::string, UsageTally> UsageTotals::by_model() const {
    std::lock_guard<std::mutex> lock(mu_);
    return by_model_;
}

std::map<std::string, UsageTally> UsageTotals::by_client_api() const {
    std::lock_guard<std::mutex> lock(mu_);
    return by_api_;
}

AnswerQuota UsageTotals::latest_quota() const {
    std::lock_guard<std::mutex> lock(mu_);
    return quota_;
}

bool UsageTotals::within_budget(double budget) const {
    std::lock_guard<std::mutex> lock(mu_);
    return total_.premium < budget;
}

std::string UsageTotals::budget_message(double budget) const {
    const double spent = total().premium;
    return "the budget of " + amount(budget) + " premium requests since start is spent (" +
           amount(spent) + " spent)";
}

std::string UsageTotals::json() const {
    std::lock_guard<std::mutex> lock(mu_);
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("since");
    const std::string since = iso_time_ms(started_ms_);
    w.String(since.data(), static_cast<rapidjson::SizeType>(since.size()));
    w.Key("total");
    write_tally(w, total_);
    w.Key("by_model");
    write_map(w, by_model_);
    w.Key("by_client_api");
    write_map(w, by_api_);
    w.Key("quota");
    const std::string q = answer_quota_json(quota_);
    w.RawValue(q.data(), q.size(), rapidjson::kObjectType);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace copilot
