// Unit tests for lib/api/answer_usage (copilot-chat --usage) and
// lib/serve/serve_usage (copilot-serve's spend, budget refusal, /usage).
#include <string>

#include "api/answer_usage.h"
#include "check.h"
#include "serve/serve_usage.h"
#include "util/json.h"

using namespace copilot;

TEST(json_with_member_adds_the_last_member) {
    CHECK_EQ(json_with_member("{\"a\":1}", "k", "[2]"), "{\"a\":1,\"k\":[2]}");
    CHECK_EQ(json_with_member("{}", "k", "null"), "{\"k\":null}");
    CHECK_EQ(json_with_member(" { } \n", "k", "1"), " { \"k\":1} \n");
    CHECK_THROWS(json_with_member("[1]", "k", "1"), Exit::protocol);
    CHECK_THROWS(json_with_member("", "k", "1"), Exit::protocol);
}

TEST(premium_multiplier_from_the_catalogue_entry) {
    CHECK(!premium_multiplier(nullptr));
    ModelInfo m;
    CHECK(!premium_multiplier(&m));  // no billing: unknown
    m.premium = false;
    CHECK(premium_multiplier(&m) == 0.0);
    m.premium = true;
    m.multiplier = 0.33;
    CHECK(premium_multiplier(&m) == 0.33);
    m.multiplier = -1;
    CHECK(!premium_multiplier(&m));
}

TEST(usage_lines_tokens_multiplier_quota) {
    AnswerUsage u;
    auto lines = answer_usage_lines(u);
    CHECK_EQ(lines.size(), 3u);
    CHECK_EQ(lines[0], "tokens: not reported by the server");
    CHECK_EQ(lines[1], "premium multiplier: unknown");
    CHECK_EQ(lines[2], "premium requests left: not reported by the server");
    Usage t;
    t.prompt_tokens = 10;
    t.completion_tokens = 5;
    t.total_tokens = 15;
    t.cached_tokens = 4;
    t.reasoning_tokens = 2;
    u.tokens = t;
    u.multiplier = 0.33;
    u.quota = quota_from_headers({{"x-quota-snapshot-premium_interactions",
                                   "ent=300&ov=0.0&ovPerm=false&rem=50.0&rst=2027-01-01"}});
    lines = answer_usage_lines(u);
    CHECK_EQ(lines[0], "tokens: 10 prompt (4 cached) + 5 completion (2 reasoning) = 15 total");
    CHECK_EQ(lines[1], "premium multiplier: 0.33x");
    CHECK_EQ(lines[2], "premium requests left: 150 of 300 (50%), resets 2027-01-01");
    const std::string j = answer_usage_json(u);
    CHECK(j.find("\"tokens\":{\"prompt\":10,\"completion\":5,\"total\":15,\"cached\":4,"
                 "\"reasoning\":2},\"multiplier\":0.33,\"quota\":{") == 1);
}

TEST(serve_usage_spends_only_known_premium_and_refuses_past_the_budget) {
    ServeUsage su(0, "", 1.0);
    WireLog w;
    w.api = "chat";
    w.upstream = "/chat/completions";
    w.initiator = "user";
    w.multiplier = 1;
    CHECK(!su.refusal(w));
    RequestLog log;
    log.model = "claude-sonnet-4.5";
    log.status = 200;
    log.wire = w;
    su.finish(log, 1000, {});
    CHECK(log.wire.premium && *log.wire.premium == 1.0);
    auto why = su.refusal(w);
    CHECK(why && why->find("the budget of 1 premium requests since start is spent (1 spent)") == 0);
    WireLog free = w;
    free.multiplier = 0;
    CHECK(!su.refusal(free));
    WireLog unknown = w;
    unknown.multiplier.reset();
    CHECK(!su.refusal(unknown));
    // off the wire routes nothing is counted
    RequestLog models;
    models.status = 200;
    su.finish(models, 1000, {});
    CHECK(su.usage_json().find("\"total\":{\"requests\":1,") != std::string::npos);
    CHECK(su.usage_json().find("\"budget\":{\"premium\":1,\"spent\":1,\"left\":0},\"ledger\":null}") !=
          std::string::npos);
}
