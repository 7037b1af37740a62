// What one answer cost (copilot-chat --usage): its tokens, the model's
// premium multiplier (the catalogue's billing) and the premium quota the
// answer's headers report (api/quota.h), as lines for people and as the
// `copilot_usage` object of --json.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/catalogue.h"
#include "api/chat.h"

namespace copilot {

struct AnswerUsage {
    std::optional<Usage> tokens;       // nullopt: the server sent no counts
    std::optional<double> multiplier;  // nullopt: the model is not in the catalogue
    AnswerQuota quota;
};

// A model's premium multiplier: billing.multiplier, else 0 for a model the
// catalogue says is not premium; nullopt when unknown (no entry, no billing).
std::optional<double> premium_multiplier(const ModelInfo* m);

// The usage of `result`, an answer of `model`: its tokens and quota, and the
// model's multiplier from the catalogue (cached, else fetched now; when that
// fails the multiplier stays unknown, with a note to `log`).
AnswerUsage answer_usage_of(const ChatResult& result, const std::string& model,
                            CatalogueSource& catalogue, int64_t now, const LogFn& log);

// Up to three lines (no prefix, no newline):
//   tokens: 12 prompt (0 cached) + 30 completion (0 reasoning) = 42 total
//   premium multiplier: 1x (0 when the model costs none; "unknown" when not known)
//   premium requests left: 299 of 300 (99.7%), resets 2026-12-31T00:00:00Z
// (or "unlimited", or that the answer reported none).
std::vector<std::string> answer_usage_lines(const AnswerUsage& u);

// {"tokens": {"prompt","completion","total","cached","reasoning"} | null,
//  "multiplier": N | null, "quota": answer_quota_json}
std::string answer_usage_json(const AnswerUsage& u);

// `object` (one JSON object, as ChatResult::json) with `"key": value` (raw
// JSON) added as its last member. Error(protocol) when it is not an object.
std::string json_with_member(const std::string& object, const std::string& key,
                             const std::string& value);

}  // namespace copilot
