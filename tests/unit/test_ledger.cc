// Unit tests for lib/serve/ledger and lib/serve/usage_summary: the ledger
// line, the premium rule, appends from 20 threads (every line whole JSON),
// the totals per model and per client API, the latest quota and the budget.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "check.h"
#include "serve/ledger.h"
#include "serve/usage_summary.h"
#include "util/files.h"
#include "util/json.h"

using namespace copilot;

namespace {

std::string temp_dir() {
    char tmpl[] = "/tmp/copilot-ledger-test.XXXXXX";
    const char* d = mkdtemp(tmpl);
    return d ? d : "/tmp";
}

const std::string kRoot = temp_dir();

LedgerEntry entry(const std::string& model, const std::string& api, double multiplier,
                  long status = 200, bool agent = false) {
    LedgerEntry e;
    e.time_ms = 1796173200123;  // 2026-12-02T01:00:00.123Z
    e.client_api = api;
    e.upstream_endpoint = "/chat/completions";
    e.model = model;
    e.agent = agent;
    e.tokens = wire::Usage{12, 3, 2, 1};
    e.multiplier = multiplier;
    e.status = status;
    return e;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < text.size()) {
        size_t nl = text.find('\n', start);
        if (nl == std::string::npos) {
            out.push_back(text.substr(start));  // a line without its newline: torn
            break;
        }
        out.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return out;
}

}  // namespace

TEST(ledger_line_fields) {
    CHECK_EQ(ledger_line(entry("gpt-4.1", "chat", 0)),
             R"({"time":"2026-12-02T01:00:00.123Z","client_api":"chat","upstream_endpoint":)"
             R"("/chat/completions","model":"gpt-4.1","initiator":"user","tokens":{"input":12,)"
             R"("output":3,"cached":2,"reasoning":1},"multiplier":0,"premium":0,"status":200})"
             "\n");
    LedgerEntry e = entry("claude-sonnet-4", "messages", 1.25, 200, true);
    e.tokens.reset();
    e.multiplier.reset();
    e.upstream_endpoint = "/v1/messages";
    CHECK_EQ(ledger_line(e),
             R"({"time":"2026-12-02T01:00:00.123Z","client_api":"messages","upstream_endpoint":)"
             R"("/v1/messages","model":"claude-sonnet-4","initiator":"agent","tokens":null,)"
             R"("multiplier":null,"premium":0,"status":200})"
             "\n");
    // Whatever the client named the model, the line is one line of JSON.
    e.model = std::string("bad\"\n\xff") + std::string(500, 'x');
    const std::string line = ledger_line(e);
    CHECK_EQ(line.find('\n'), line.size() - 1);
    CHECK(line.size() < 600);
    rapidjson::Document d = json_parse(line, JsonSource{"ledger line", Exit::data});
    CHECK(std::string(d["model"].GetString()).find("bad??") == 0);
}

TEST(premium_spend_rule) {
    CHECK_EQ(premium_spend(entry("o3", "chat", 1)), 1.0);
    CHECK_EQ(premium_spend(entry("opus", "chat", 10)), 10.0);
    CHECK_EQ(premium_spend(entry("gpt-4.1", "chat", 0)), 0.0);
    CHECK_EQ(premium_spend(entry("o3", "chat", 1, 200, true)), 0.0);  // an agent's turn
    CHECK_EQ(premium_spend(entry("o3", "chat", 1, 429)), 0.0);
    CHECK_EQ(premium_spend(entry("o3", "chat", 1, 500)), 0.0);
    CHECK_EQ(premium_spend(entry("o3", "chat", -1)), 0.0);
    LedgerEntry e = entry("x", "chat", 1);
    e.multiplier.reset();
    CHECK_EQ(premium_spend(e), 0.0);
}

TEST(ledger_appends_private_file) {
    const std::string path = kRoot + "/ledger.jsonl";
    umask(022);
    {
        Ledger l(path);
        l.append(entry("a", "chat", 1));
    }
    {
        Ledger l(path);  // appends, never truncates
        l.append(entry("b", "responses", 0.33));
    }
    struct stat st {};
    CHECK_EQ(stat(path.c_str(), &st), 0);
    CHECK_EQ(st.st_mode & 0777, 0600u);
    auto text = read_file(path, 1 << 20);
    const auto lines = lines_of(*text);
    CHECK_EQ(lines.size(), 2u);
    CHECK(lines[1].find(R"("model":"b")") != std::string::npos);
    CHECK(lines[1].find(R"("premium":0.33)") != std::string::npos);
    CHECK_THROWS_MSG(Ledger(kRoot), Exit::io, "cannot open the ledger");
    CHECK_THROWS_MSG(Ledger(kRoot + "/no/such/dir/ledger"), Exit::io, "cannot open the ledger");
}

TEST(twenty_threads_append_whole_lines) {
    const std::string path = kRoot + "/concurrent.jsonl";
    constexpr int kThreads = 20, kEach = 200;
    {
        Ledger l(path);
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t)
            threads.emplace_back([&l, t] {
                // Long models make each line a few hundred bytes, so torn
                // writes would show.
                const std::string model = "model-" + std::to_string(t) + "-" + std::string(150, 'm');
                for (int i = 0; i < kEach; ++i) l.append(entry(model, "chat", 1, 200 + (i % 2)));
            });
        for (auto& th : threads) th.join();
    }
    auto text = read_file(path, 64 << 20);
    CHECK(text.has_value());
    CHECK(!text->empty() && text->back() == '\n');
    const auto lines = lines_of(*text);
    CHECK_EQ(lines.size(), static_cast<size_t>(kThreads * kEach));
    std::vector<int> per_thread(kThreads, 0);
    int bad = 0;
    for (const auto& line : lines) {
        try {
            rapidjson::Document d = json_parse(line, JsonSource{"ledger line", Exit::data});
            const std::string model = d["model"].GetString();
            const int t = std::atoi(model.c_str() + 6);
            if (t >= 0 && t < kThreads) per_thread[t]++;
        } catch (const Error&) {
            ++bad;
        }
    }
    CHECK_EQ(bad, 0);
    for (int t = 0; t < kThreads; ++t) CHECK_EQ(per_thread[t], kEach);
}

TEST(totals_per_model_and_client_api) {
    UsageTotals u(1796173200000);
    u.record(entry("o3", "chat", 1));
    u.record(entry("o3", "responses", 1));
    u.record(entry("o3", "responses", 1, 200, true));
    u.record(entry("gpt-4.1", "messages", 0));
    u.record(entry("opus", "chat", 10, 500));
    const UsageTally t = u.total();
    CHECK_EQ(t.requests, 5);
    CHECK_EQ(t.input_tokens, 60);
    CHECK_EQ(t.output_tokens, 15);
    CHECK_EQ(t.cached_tokens, 10);
    CHECK_EQ(t.reasoning_tokens, 5);
    CHECK_EQ(t.premium, 2.0);
    const auto m = u.by_model();
    CHECK_EQ(m.at("o3").requests, 3);
    CHECK_EQ(m.at("o3").premium, 2.0);
    CHECK_EQ(m.at("opus").premium, 0.0);
    const auto a = u.by_client_api();
    CHECK_EQ(a.at("responses").requests, 2);
    CHECK_EQ(a.at("responses").premium, 1.0);
    CHECK_EQ(a.at("messages").premium, 0.0);
    CHECK_EQ(u.json(),
             R"({"since":"2026-12-02T01:00:00.000Z","total":{"requests":5,"tokens":{"input":60,)"
             R"("output":15,"cached":10,"reasoning":5},"premium":2},"by_model":{"gpt-4.1":)"
             R"({"requests":1,"tokens":{"input":12,"output":3,"cached":2,"reasoning":1},)"
             R"("premium":0},"o3":{"requests":3,"tokens":{"input":36,"output":9,"cached":6,)"
             R"("reasoning":3},"premium":2},"opus":{"requests":1,"tokens":{"input":12,"output":3,)"
             R"("cached":2,"reasoning":1},"premium":0}},"by_client_api":{"chat":{"requests":2,)"
             R"("tokens":{"input":24,"output":6,"cached":4,"reasoning":2},"premium":1},)"
             R"("messages":{"requests":1,"tokens":{"input":12,"output":3,"cached":2,)"
             R"("reasoning":1},"premium":0},"responses":{"requests":2,"tokens":{"input":24,)"
             R"("output":6,"cached":4,"reasoning":2},"premium":1}},"quota":{"quotas":{},)"
             R"("session":null,"weekly":null}})");
}

TEST(budget_of_premium_requests_since_start) {
    UsageTotals u(0);
    CHECK(u.within_budget(2));
    CHECK(!u.within_budget(0));
    u.record(entry("o3", "chat", 1));
    CHECK(u.within_budget(2));
    u.record(entry("mini", "chat", 0.33));
    u.record(entry("o3", "chat", 1, 200, true));  // not billed
    CHECK(u.within_budget(2));
    u.record(entry("o3", "chat", 1));
    CHECK(!u.within_budget(2));
    CHECK_EQ(u.budget_message(2), "the budget of 2 premium requests since start is spent (2.33 spent)");
}

TEST(latest_quota_snapshot_wins) {
    UsageTotals u(0);
    u.record_quota(quota_from_headers({{"x-quota-snapshot-premium_interactions", "ent=300&rem=50"},
                                       {"x-quota-snapshot-chat", "ent=-1&rem=100"},
                                       {"x-usage-ratelimit-weekly", "ent=0&rem=90"}}));
    u.record_quota(quota_from_headers({{"x-quota-snapshot-premium_interactions", "ent=300&rem=40"},
                                       {"x-usage-ratelimit-session", "ent=0&rem=70"}}));
    u.record_quota(quota_from_headers({{"x-quota-snapshot-premium_interactions", "garbage"}}));
    const AnswerQuota q = u.latest_quota();
    CHECK_EQ(q.quotas.size(), 2u);
    CHECK_EQ(q.quotas[0].name, "premium_interactions");
    CHECK_EQ(*q.quotas[0].remaining, 120.0);
    CHECK(q.quotas[1].unlimited);
    CHECK_EQ(*q.session->percent_remaining, 70.0);
    CHECK_EQ(*q.weekly->percent_remaining, 90.0);
    CHECK(u.json().find(R"("quota":{"quotas":{"premium_interactions":)") != std::string::npos);
}
