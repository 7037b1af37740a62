// Unit tests for lib/api/quota: the copilot_internal/user document and its
// normalised summary, the table, JSON and env forms, --min-remaining and the
// premium check, and the x-quota-snapshot-* / x-usage-ratelimit-* headers.
#include <string>
#include <vector>

#include "check.h"
#include "api/quota.h"

using namespace copilot;

namespace {

// The shape api.github.com answers with, extra fields and all.
const char* kDocument = R"({
  "access_type_sku": "monthly_subscriber_quota", "analytics_tracking_id": "x",
  "assigned_date": "2025-01-01T00:00:00+00:00", "chat_enabled": true,
  "copilot_plan": "individual", "organization_list": [],
  "quota_reset_date": "2026-01-01", "quota_reset_date_utc": "2026-01-01T00:00:00.000Z",
  "quota_snapshots": {
    "agent_sessions": {"entitlement": 20, "remaining": 5, "unlimited": false},
    "chat": {"entitlement": 0, "overage_count": 0, "overage_permitted": false,
             "percent_remaining": 100.0, "quota_id": "chat", "quota_remaining": 0.0,
             "remaining": 0, "unlimited": true},
    "completions": {"entitlement": 0, "percent_remaining": 100.0, "remaining": 0,
                    "unlimited": true},
    "premium_interactions": {"entitlement": 300, "overage_count": 2,
             "overage_permitted": true, "percent_remaining": 95.5,
             "quota_id": "premium_interactions", "quota_remaining": 286.5,
             "remaining": 286.5, "unlimited": false}
  }
})";

}  // namespace

TEST(document_is_normalised_known_quotas_first) {
    const UsageSummary s = parse_usage_document(kDocument);
    CHECK_EQ(s.plan, "individual");
    CHECK_EQ(s.sku, "monthly_subscriber_quota");
    CHECK_EQ(s.reset_date, "2026-01-01T00:00:00.000Z");
    CHECK_EQ(s.quotas.size(), 4u);
    CHECK_EQ(s.quotas[0].name, "premium_interactions");
    CHECK_EQ(s.quotas[1].name, "chat");
    CHECK_EQ(s.quotas[2].name, "completions");
    CHECK_EQ(s.quotas[3].name, "agent_sessions");
    const QuotaSnapshot* p = s.find(kPremiumQuota);
    CHECK(p != nullptr);
    CHECK(!p->unlimited);
    CHECK_EQ(*p->entitlement, 300.0);
    CHECK_EQ(*p->remaining, 286.5);
    CHECK_EQ(*p->percent_remaining, 95.5);
    CHECK_EQ(*p->overage_count, 2.0);
    CHECK_EQ(*p->overage_permitted, true);
    CHECK_EQ(p->reset_date, "2026-01-01T00:00:00.000Z");
    // Computed when not given.
    CHECK_EQ(*s.find("agent_sessions")->percent_remaining, 25.0);
    CHECK(s.find("chat")->unlimited);
    CHECK(!s.find("completions")->overage_count);
    CHECK(s.find("nothing") == nullptr);
}

TEST(older_answers_quota_remaining_and_reset_date) {
    const UsageSummary s = parse_usage_document(
        R"({"quota_reset_date": "2026-02-01", "quota_snapshots": {"premium_interactions":
            {"entitlement": 50, "quota_remaining": 10}}})");
    CHECK_EQ(s.reset_date, "2026-02-01");
    CHECK_EQ(*s.quotas[0].remaining, 10.0);
    CHECK_EQ(*s.quotas[0].percent_remaining, 20.0);
    // No quotas at all is a document, with nothing to show.
    const UsageSummary empty = parse_usage_document(R"({"copilot_plan": "free"})");
    CHECK(empty.quotas.empty());
    CHECK_EQ(usage_table(empty, false), "plan    free\nsku     -\nresets  -\nno quotas\n");
}

TEST(malformed_documents_are_protocol_errors_naming_the_field) {
    CHECK_THROWS_MSG(parse_usage_document("<html>"), Exit::protocol, "usage answer: not valid JSON");
    CHECK_THROWS_MSG(parse_usage_document("[]"), Exit::protocol, "usage answer");
    CHECK_THROWS_MSG(parse_usage_document(R"({"copilot_plan": 1})"), Exit::protocol,
                     "field 'copilot_plan' must be a string");
    CHECK_THROWS_MSG(parse_usage_document(R"({"quota_snapshots": []})"), Exit::protocol,
                     "field 'quota_snapshots' must be an object");
    CHECK_THROWS_MSG(parse_usage_document(R"({"quota_snapshots": {"chat": null}})"),
                     Exit::protocol, "quota_snapshots.chat must be an object");
    CHECK_THROWS_MSG(
        parse_usage_document(R"({"quota_snapshots": {"chat": {"unlimited": true, "remaining": "x"}}})"),
        Exit::protocol, "quota_snapshots.chat: field 'remaining' must be a number");
    CHECK_THROWS_MSG(
        parse_usage_document(R"({"quota_snapshots": {"chat": {"remaining": 3}}})"),
        Exit::protocol, "quota_snapshots.chat: field 'entitlement' is missing");
    CHECK_THROWS_MSG(parse_usage_document(R"({"a": 1, "a": 2})"), Exit::protocol,
                     "duplicate key 'a'");
    // A limited quota needs both numbers; an unlimited one neither.
    CHECK_EQ(parse_usage_document(R"({"quota_snapshots": {"x": {"unlimited": true}}})").quotas.size(),
             1u);
}

TEST(summary_json_keeps_fractions_and_nulls) {
    const UsageSummary s = parse_usage_document(
        R"({"quota_snapshots": {"premium_interactions": {"entitlement": 300, "remaining": 12.25}}})");
    CHECK_EQ(usage_summary_json(s),
             R"({"plan":null,"sku":null,"reset_date":null,"quotas":{"premium_interactions":)"
             R"({"unlimited":false,"entitlement":300,"remaining":12.25,)"
             R"("percent_remaining":4.083333333333333,"overage_count":null,)"
             R"("overage_permitted":null,"reset_date":null}}})");
    const std::string doc = R"({"copilot_plan": "x",  "quota_snapshots": {}})";
    CHECK_EQ(usage_json(doc, parse_usage_document(doc)),
             R"({"user":{"copilot_plan":"x","quota_snapshots":{}},"summary":{"plan":"x",)"
             R"("sku":null,"reset_date":null,"quotas":{}}})"
             "\n");
}

TEST(table_rows) {
    const std::string t = usage_table(parse_usage_document(kDocument), false);
    CHECK_EQ(t,
             "plan    individual\n"
             "sku     monthly_subscriber_quota\n"
             "resets  2026-01-01T00:00:00.000Z\n"
             "\n"
             "QUOTA                 ENTITLEMENT  REMAINING  PERCENT  OVERAGE  PERMITTED\n"
             "premium_interactions          300      286.5    95.5%        2  yes\n"
             "chat                            -  unlimited        -        0  no\n"
             "completions                     -  unlimited        -        -  -\n"
             "agent_sessions                 20          5      25%        -  -\n");
    const std::string bold = usage_table(parse_usage_document(kDocument), true);
    CHECK(bold.find("\033[1mQUOTA") != std::string::npos);
}

TEST(env_lines_are_quoted_and_named) {
    const std::string e = usage_env(parse_usage_document(kDocument));
    CHECK(e.find("export COPILOT_PLAN='individual'\n") == 0);
    CHECK(e.find("export COPILOT_PREMIUM_REMAINING='286.5'\n") != std::string::npos);
    CHECK(e.find("export COPILOT_PREMIUM_OVERAGE_PERMITTED='1'\n") != std::string::npos);
    CHECK(e.find("export COPILOT_CHAT_UNLIMITED='1'\n") != std::string::npos);
    CHECK(e.find("export COPILOT_COMPLETIONS_OVERAGE_COUNT=''\n") != std::string::npos);
    CHECK(e.find("export COPILOT_AGENT_SESSIONS_REMAINING='5'\n") != std::string::npos);
    CHECK_EQ(quota_env_name("premium_interactions"), "PREMIUM");
    CHECK_EQ(quota_env_name("premium_models"), "PREMIUM_MODELS");
    CHECK_EQ(quota_env_name("a-b.c$"), "A_B_C_");
    const std::string q = usage_env(parse_usage_document(R"({"copilot_plan": "it's"})"));
    CHECK(q.find("export COPILOT_PLAN='it'\\''s'\n") == 0);
}

TEST(min_remaining_values) {
    CHECK_EQ(parse_min_remaining("50")->value, 50.0);
    CHECK(!parse_min_remaining("50")->percent);
    CHECK_EQ(parse_min_remaining("12.5%")->value, 12.5);
    CHECK(parse_min_remaining("12.5%")->percent);
    CHECK_EQ(parse_min_remaining("0")->value, 0.0);
    CHECK_EQ(parse_min_remaining("100%")->value, 100.0);
    for (const char* bad : {"", "%", "-1", "1e3", "101%", "1.", ".5", "abc", "5%%", " 5",
                            "1234567890", "1.1234567", "0x10"})
        CHECK(!parse_min_remaining(bad));
}

TEST(premium_check) {
    const UsageSummary s = parse_usage_document(kDocument);
    UsageCheck c = check_premium(s, *parse_min_remaining("286.5"));
    CHECK(c.passes);
    CHECK_EQ(c.text, "premium requests: 286.5 of 300 left (95.5%), at least the 286.5 required; "
                     "resets 2026-01-01T00:00:00.000Z");
    c = check_premium(s, *parse_min_remaining("287"));
    CHECK(!c.passes);
    CHECK(c.text.find("fewer than the 287 required") != std::string::npos);
    CHECK(check_premium(s, *parse_min_remaining("95.5%")).passes);
    CHECK(!check_premium(s, *parse_min_remaining("96%")).passes);
    const UsageSummary u = parse_usage_document(
        R"({"quota_snapshots": {"premium_interactions": {"unlimited": true, "entitlement": 0, "remaining": 0}}})");
    c = check_premium(u, *parse_min_remaining("100%"));
    CHECK(c.passes);
    CHECK_EQ(c.text, "premium requests: unlimited");
    CHECK_THROWS_MSG(check_premium(parse_usage_document("{}"), MinRemaining{}), Exit::protocol,
                     "no premium_interactions quota");
}

TEST(quota_header_values) {
    std::string why;
    auto q = parse_quota_header("premium_interactions",
                                "ent=300&ov=1.5&ovPerm=true&rem=25.0&rst=2026-07-01T00%3A00%3A00Z", &why);
    CHECK(q.has_value());
    CHECK_EQ(q->name, "premium_interactions");
    CHECK(!q->unlimited);
    CHECK_EQ(*q->entitlement, 300.0);
    CHECK_EQ(*q->percent_remaining, 25.0);
    CHECK_EQ(*q->remaining, 75.0);
    CHECK_EQ(*q->overage_count, 1.5);
    CHECK_EQ(*q->overage_permitted, true);
    CHECK_EQ(q->reset_date, "2026-07-01T00:00:00Z");
    // ent=-1: unlimited; a rate limit with ent=0 has only a percentage.
    q = parse_quota_header("chat", "ent=-1&ov=0.0&ovPerm=false&rem=100.0&rst=", &why);
    CHECK(q->unlimited);
    CHECK(!q->entitlement);
    CHECK(!q->remaining);
    q = parse_quota_header("session", "ent=0&ov=0.0&ovPerm=false&rem=99.6&rst=2026-04-22T14%3A30%3A56Z");
    CHECK_EQ(*q->percent_remaining, 99.6);
    CHECK(!q->remaining);
    // Unknown keys are ignored.
    CHECK(parse_quota_header("x", "rem=5&future=thing").has_value());
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"", "neither ent nor rem"},
        {"garbage", "neither ent nor rem"},
        {"ent=abc&rem=1", "ent is not a number"},
        {"ent=1&rem=1e5", "rem is not a number"},
        {"rem=1&rem=2", "'rem' twice"},
        {"rem=1&ovPerm=yes", "ovPerm is not true or false"},
        {"rem=1&ov=", "ov is not a number"},
        {"ent=-5&rem=1", "ent is negative"},
        {"rem=%zz", "a broken %-escape"},
        {"rem=1%2", "a broken %-escape"},
    };
    for (const auto& [value, reason] : bad) {
        why.clear();
        CHECK(!parse_quota_header("q", value, &why));
        CHECK_EQ(why, reason);
    }
}

TEST(headers_of_an_answer_and_notes_for_what_does_not_parse) {
    const HeaderList h = {
        {"content-type", "application/json"},
        {"X-Quota-Snapshot-Premium_Interactions", "ent=300&rem=50&rst=2026-07-01"},
        {"x-quota-snapshot-chat", "ent=-1&rem=100"},
        {"x-quota-snapshot-premium_models", "broken"},
        {"x-quota-snapshot-", "ent=1&rem=1"},
        {"x-usage-ratelimit-session", "ent=0&rem=70.0&rst=2026-06-24T16%3A00%3A00.000Z"},
        {"x-usage-ratelimit-weekly", "rem=oops"},
    };
    std::vector<std::string> notes;
    const AnswerQuota q = quota_from_headers(h, [&](const std::string& m) { notes.push_back(m); });
    CHECK_EQ(q.quotas.size(), 2u);
    CHECK_EQ(q.quotas[0].name, "premium_interactions");
    CHECK_EQ(*q.quotas[0].remaining, 150.0);
    CHECK(q.quotas[1].unlimited);
    CHECK(q.session.has_value());
    CHECK_EQ(q.session->reset_date, "2026-06-24T16:00:00.000Z");
    CHECK(!q.weekly);
    CHECK_EQ(notes.size(), 2u);
    CHECK_EQ(notes[0], "ignored header x-quota-snapshot-premium_models: neither ent nor rem");
    CHECK_EQ(notes[1], "ignored header x-usage-ratelimit-weekly: rem is not a number");
    CHECK(!q.empty());
    CHECK(quota_from_headers({{"content-type", "x"}}).empty());
    CHECK_EQ(answer_quota_json(q),
             R"({"quotas":{"premium_interactions":{"unlimited":false,"entitlement":300,)"
             R"("remaining":150,"percent_remaining":50,"overage_count":null,)"
             R"("overage_permitted":null,"reset_date":"2026-07-01"},"chat":{"unlimited":true,)"
             R"("entitlement":null,"remaining":null,"percent_remaining":null,"overage_count":null,)"
             R"("overage_permitted":null,"reset_date":null}},"session":{"unlimited":false,)"
             R"("entitlement":0,"remaining":null,"percent_remaining":70,"overage_count":null,)"
             R"("overage_permitted":null,"reset_date":"2026-06-24T16:00:00.000Z"},"weekly":null})");
}
