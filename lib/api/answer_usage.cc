#include "api/answer_usage.h"

#include <cmath>
#include <cstdio>

#include "util/json.h"

namespace copilot {

namespace {

// 1, 0.33, 99.7: at most `decimals` after the point, no trailing zeros.
std::string number(double v, int decimals) {
    if (!std::isfinite(v)) return "?";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    std::string s(buf);
    if (s.find('.') != std::string::npos) {
        while (s.back() == '0') s.pop_back();
        if (s.back() == '.') s.pop_back();
    }
    return s == "-0" ? "0" : s;
}

// The premium quota: premium_interactions, else premium_models.
const QuotaSnapshot* premium_snapshot(const AnswerQuota& q) {
    const QuotaSnapshot* models = nullptr;
    for (const auto& s : q.quotas) {
        if (s.name == kPremiumQuota) return &s;
        if (s.name == "premium_models") models = &s;
    }
    return models;
}

}  // namespace

std::optional<double> premium_multiplier(const ModelInfo* m) {
    if (!m) return std::nullopt;
    if (m->multiplier && std::isfinite(*m->multiplier) && *m->multiplier >= 0) return m->multiplier;
    if (m->premium == false) return 0.0;
    return std::nullopt;
}

AnswerUsage answer_usage_of(const ChatResult& result, const std::string& model,
                            CatalogueSource& catalogue, int64_t now, const LogFn& log) {
    AnswerUsage u;
    u.tokens = result.usage;
    u.quota = result.quota;
    try {
        u.multiplier = premium_multiplier(catalogue.get(now).find(model));
    } catch (const Error& e) {
        if (log) log(std::string("no premium multiplier: ") + e.what());
    }
    return u;
}

std::vector<std::string> answer_usage_lines(const AnswerUsage& u) {
    std::vector<std::string> out;
    if (u.tokens) {
        const Usage& t = *u.tokens;
        out.push_back("tokens: " + std::to_string(t.prompt_tokens) + " prompt (" +
                      std::to_string(t.cached_tokens) + " cached) + " +
                      std::to_string(t.completion_tokens) + " completion (" +
                      std::to_string(t.reasoning_tokens) + " reasoning) = " +
                      std::to_string(t.total_tokens) + " total");
    } else {
        out.push_back("tokens: not reported by the server");
    }
    out.push_back("premium multiplier: " +
                  (u.multiplier ? number(*u.multiplier, 2) + "x" : std::string("unknown")));
    const QuotaSnapshot* p = premium_snapshot(u.quota);
    if (!p) {
        out.push_back("premium requests left: not reported by the server");
    } else if (p->unlimited) {
        out.push_back("premium requests left: unlimited");
    } else {
        std::string line = "premium requests left: ";
        if (p->remaining && p->entitlement)
            line += number(*p->remaining, 2) + " of " + number(*p->entitlement, 2);
        else if (p->remaining)
            line += number(*p->remaining, 2);
        if (p->percent_remaining)
            line += (p->remaining ? " (" : "") + number(*p->percent_remaining, 1) + "%" +
                    (p->remaining ? ")" : "");
        if (!p->reset_date.empty()) line += ", resets " + p->reset_date;
        out.push_back(line);
    }
    return out;
}

std::string answer_usage_json(const AnswerUsage& u) {
    std::string out = "{\"tokens\":";
    if (u.tokens) {
        const Usage& t = *u.tokens;
        out += "{\"prompt\":" + std::to_string(t.prompt_tokens) +
               ",\"completion\":" + std::to_string(t.completion_tokens) +
               ",\"total\":" + std::to_string(t.total_tokens) +
               ",\"cached\":" + std::to_string(t.cached_tokens) +
               ",\"reasoning\":" + std::to_string(t.reasoning_tokens) + "}";
    } else {
        out += "null";
    }
    out += ",\"multiplier\":";
    out += u.multiplier && std::isfinite(*u.multiplier) ? number(*u.multiplier, 6) : "null";
    out += ",\"quota\":" + answer_quota_json(u.quota) + "}";
    return out;
}

std::string json_with_member(const std::string& object, const std::string& key,
                             const std::string& value) {
    const size_t start = object.find_first_not_of(" \t\r\n");
    const size_t end = object.find_last_not_of(" \t\r\n");
    if (start == std::string::npos || object[start] != '{' || object[end] != '}')
        throw Error(Exit::protocol, "the answer is not a JSON object");
    const bool empty = object.find_last_not_of(" \t\r\n", end - 1) == start;
    return object.substr(0, end) + (empty ? "" : ",") + json_quote(key) + ":" + value +
           object.substr(end);
}

}  // namespace copilot
