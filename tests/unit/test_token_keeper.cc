// Unit tests for the token keeper (lib/auth/token_keeper.cc) that
// copilot-serve and `copilot-token --watch` share: its schedule, backoff,
// retry classification, forced refreshes and the device flow.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <thread>
#include <vector>

#include "auth/token_keeper.h"
#include "check.h"

using copilot::Error;
using copilot::Exit;
using namespace std::chrono_literals;

namespace {

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

copilot::CopilotToken copilot_token(const std::string& value, int64_t refresh_in = 1500,
                                    int64_t ttl = 1800, int64_t age = 0) {
    copilot::CopilotToken t;
    t.host = "github.com";
    t.token = value;
    t.fetched_at = now() - age;
    t.refresh_in = refresh_in;
    t.expires_at = t.fetched_at + ttl;
    t.api_url = "https://api.individual.githubcopilot.com";
    return t;
}

// What a fetch returns: a token just exchanged.
copilot::CopilotTokenResult token(const std::string& value, int64_t refresh_in = 1500,
                           int64_t ttl = 1800) {
    copilot::CopilotTokenResult r;
    r.token = copilot_token(value, refresh_in, ttl);
    return r;
}

// Polls `cond` for up to 10 s: a bound on a hang, not a timing assertion.
template <typename F>
bool eventually(F cond) {
    for (int i = 0; i < 1000; ++i) {
        if (cond()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return cond();
}

}  // namespace

TEST(the_keeper_holds_the_first_token_and_its_api_url) {
    ::unsetenv("COPILOT_API_URL");
    copilot::TokenKeeperOptions o;
    o.fetch = [](bool) { return token("tid=one"); };
    copilot::TokenKeeper k(o);
    k.start();
    auto s = k.status();
    CHECK(s.ready());
    CHECK_EQ(s.token, "tid=one");
    CHECK_EQ(s.api_url, "https://api.individual.githubcopilot.com");
    CHECK(s.refresh_at >= s.fetched_at + 1500 - 60 - 1);
    CHECK(s.refresh_at <= s.fetched_at + 1500 - 60 + 1);
    ::setenv("COPILOT_API_URL", "http://127.0.0.1:9/", 1);
    copilot::TokenKeeper k2(o);
    k2.start();
    CHECK_EQ(k2.status().api_url, "http://127.0.0.1:9");
    o.api_url = "http://127.0.0.1:7";
    copilot::TokenKeeper k3(o);
    k3.start();
    CHECK_EQ(k3.status().api_url, "http://127.0.0.1:7");
    ::unsetenv("COPILOT_API_URL");
}

TEST(the_keeper_refreshes_on_the_services_schedule) {
    std::atomic<int> calls{0};
    copilot::TokenKeeperOptions o;
    o.min_interval = 0;  // the default 60 s floor would hide the schedule
    // refresh_in 62: due 2 s after the fetch (refresh_in - 60)
    o.fetch = [&](bool force) {
        CHECK(!force);  // a scheduled refresh goes through the cache and its lock
        ++calls;
        return token("tid=" + std::to_string(calls.load()), 62);
    };
    copilot::TokenKeeper k(o);
    const auto t0 = std::chrono::steady_clock::now();
    k.start();
    CHECK_EQ(k.status().token, "tid=1");
    CHECK(eventually([&] { return calls.load() >= 2; }));
    CHECK(std::chrono::steady_clock::now() - t0 >= 900ms);  // not before it was due
    CHECK(eventually([&] { return k.status().token == "tid=2"; }));
    k.stop();
}

TEST(one_rejected_token_makes_one_refresh_for_all_requests) {
    std::atomic<int> calls{0};
    copilot::TokenKeeperOptions o;
    o.fetch = [&](bool) {
        int n = ++calls;
        if (n > 1) std::this_thread::sleep_for(50ms);
        return token("tid=" + std::to_string(n));
    };
    copilot::TokenKeeper k(o);
    k.start();
    std::optional<copilot::TokenStatus> a, b;
    std::thread t1([&] { a = k.refresh_after_rejection("tid=1"); });
    std::thread t2([&] { b = k.refresh_after_rejection("tid=1"); });
    t1.join();
    t2.join();
    CHECK(a && b);
    if (a && b) {
        CHECK_EQ(a->token, "tid=2");
        CHECK_EQ(b->token, "tid=2");
    }
    CHECK_EQ(calls.load(), 2);
    CHECK_EQ(k.fetches(), uint64_t{2});
    // a request that still carried the old token gets the new one at once
    auto c = k.refresh_after_rejection("tid=1");
    CHECK(c && c->token == "tid=2");
    CHECK_EQ(calls.load(), 2);
}

TEST(the_keeper_fails_fast_when_waiting_cannot_help) {
    copilot::TokenKeeperOptions o;
    o.fetch = [](bool) -> copilot::CopilotTokenResult {
        throw Error(Exit::permission, "GitHub token is invalid or revoked; run copilot-login");
    };
    copilot::TokenKeeper k(o);
    CHECK_THROWS_MSG(k.start(), Exit::permission, "revoked");

    copilot::TokenKeeperOptions n;
    n.device_login = false;
    n.fetch = [](bool) -> copilot::CopilotTokenResult {
        throw Error(Exit::no_auth, "not logged in to github.com: run copilot-login");
    };
    copilot::TokenKeeper k2(n);
    CHECK_THROWS(k2.start(), Exit::no_auth);
}

TEST(a_temporary_failure_at_start_leaves_the_server_up_and_unavailable) {
    copilot::TokenKeeperOptions o;
    o.fetch = [](bool) -> copilot::CopilotTokenResult {
        throw Error(Exit::temp, "cannot reach api.github.com: timed out");
    };
    copilot::TokenKeeper k(o);
    k.start();
    auto s = k.status();
    CHECK(s.state == copilot::TokenStatus::State::unavailable);
    CHECK_EQ(s.problem, "cannot reach api.github.com: timed out");
}

TEST(without_a_login_the_keeper_runs_the_device_flow_and_then_serves) {
    std::atomic<bool> logged_in{false};
    std::atomic<bool> approve{false};
    copilot::TokenKeeperOptions o;
    o.fetch = [&](bool) -> copilot::CopilotTokenResult {
        if (!logged_in) throw Error(Exit::no_auth, "not logged in to github.com: run copilot-login");
        return token("tid=after-login");
    };
    o.login = [&](const std::function<bool()>& cancelled,
                  const std::function<void(const copilot::PendingLogin&)>& on_code) {
        copilot::PendingLogin p;
        p.user_code = "WDJB-4837";
        p.verification_uri = "https://github.com/login/device";
        on_code(p);
        while (!approve) {
            if (cancelled()) throw Error(Exit::interrupted, "interrupted");
            std::this_thread::sleep_for(5ms);
        }
        logged_in = true;
    };
    std::vector<std::string> notices;
    std::mutex mu;
    o.log = [&](copilot::KeeperLog kind, const std::string& m) {
        std::lock_guard<std::mutex> lk(mu);
        if (kind == copilot::KeeperLog::notice) notices.push_back(m);
    };
    copilot::TokenKeeper k(o);
    k.start();
    CHECK(eventually([&] { return !k.status().user_code.empty(); }));
    auto s = k.status();
    CHECK(s.state == copilot::TokenStatus::State::login_pending);
    CHECK_EQ(s.problem, "waiting for GitHub login: enter WDJB-4837 at https://github.com/login/device");
    {
        std::lock_guard<std::mutex> lk(mu);
        bool shown = false;
        for (const auto& n : notices)
            if (n.find("WDJB-4837") != std::string::npos) shown = true;
        CHECK(shown);
    }
    approve = true;
    CHECK(eventually([&] { return k.status().ready(); }));
    CHECK_EQ(k.status().token, "tid=after-login");
    CHECK(k.status().user_code.empty());
}

TEST(stopping_the_keeper_cancels_a_pending_login) {
    copilot::TokenKeeperOptions o;
    o.fetch = [](bool) -> copilot::CopilotTokenResult {
        throw Error(Exit::no_auth, "not logged in");
    };
    std::atomic<bool> cancelled_seen{false};
    o.login = [&](const std::function<bool()>& cancelled,
                  const std::function<void(const copilot::PendingLogin&)>&) {
        while (!cancelled()) std::this_thread::sleep_for(5ms);
        cancelled_seen = true;
        throw Error(Exit::interrupted, "interrupted");
    };
    copilot::TokenKeeper k(o);
    k.start();
    std::this_thread::sleep_for(20ms);
    k.stop();  // returns: the login loop saw the cancel
    CHECK(cancelled_seen.load());
}

TEST(an_expired_token_is_not_served) {
    copilot::TokenKeeperOptions o;
    o.fetch = [](bool) { return token("tid=old", 1500, -5); };
    copilot::TokenKeeper k(o);
    k.start();
    auto s = k.status();
    CHECK(s.state == copilot::TokenStatus::State::unavailable);
    CHECK(s.problem.find("expired") != std::string::npos);
    k.stop();
}

// --- one schedule, one backoff, one classification ------------------------------------------

TEST(a_token_due_at_once_is_kept_for_the_minimum_interval) {
    const int64_t t0 = now();
    // refresh_in 61 is due 1 s after the exchange: without a floor, one exchange a second
    auto young = copilot_token("tid=1", 61);
    CHECK_EQ(copilot::next_refresh_at(young, 300, 60, t0), young.fetched_at + 60);
    // --min-ttl beyond the token's lifetime: due before it arrives, still kept 60 s
    auto short_lived = copilot_token("tid=2", 1500, 200);
    CHECK_EQ(copilot::next_refresh_at(short_lived, 300, 60, t0), short_lived.fetched_at + 60);
    // an old cached token keeps its own schedule (the floor counts from the fetch)
    auto cached = copilot_token("tid=3", 1500, 1800, 1430);
    CHECK_EQ(copilot::next_refresh_at(cached, 300, 60, t0), cached.fetched_at + 1440);
    // a token fetched "in the future" (the clock moved back) counts from now
    auto ahead = copilot_token("tid=4", 61);
    ahead.fetched_at = t0 + 50;
    CHECK_EQ(copilot::next_refresh_at(ahead, 300, 60, t0), t0 + 60);
    // never sooner than 2 s from now, even without a floor
    CHECK_EQ(copilot::next_refresh_at(copilot_token("tid=5", 30), 300, 0, t0), t0 + 2);
}

TEST(the_keeper_does_not_exchange_every_second_for_refresh_in_61) {
    std::atomic<int> calls{0};
    copilot::TokenKeeperOptions o;  // the default floor
    o.fetch = [&](bool) {
        ++calls;
        return token("tid=" + std::to_string(calls.load()), 61);
    };
    copilot::TokenKeeper k(o);
    k.start();
    const auto s = k.status();
    CHECK(s.refresh_at >= s.fetched_at + 60);
    std::this_thread::sleep_for(2500ms);
    CHECK_EQ(calls.load(), 1);
    k.stop();
}

TEST(failures_back_off_5_10_20_40_then_60_s) {
    const int64_t want[] = {5, 10, 20, 40, 60, 60, 60};
    for (int n = 1; n <= 7; ++n) CHECK_EQ(copilot::failure_backoff(n), want[n - 1]);
    CHECK_EQ(copilot::failure_backoff(1 << 20), int64_t{60});
}

TEST(only_what_waiting_can_fix_is_worth_retrying) {
    for (Exit e : {Exit::temp, Exit::unavailable, Exit::protocol}) CHECK(copilot::worth_retrying(e));
    for (Exit e : {Exit::usage, Exit::data, Exit::no_auth, Exit::permission, Exit::io})
        CHECK(!copilot::worth_retrying(e));
}

TEST(a_failure_waiting_cannot_fix_ends_a_keeper_that_stops_on_it) {
    for (bool stop_on_permanent : {true, false}) {
        std::atomic<int> calls{0};
        copilot::TokenKeeperOptions o;
        o.min_interval = 0;
        o.device_login = false;
        o.stop_on_permanent = stop_on_permanent;
        std::vector<std::string> failures;
        std::mutex mu;
        o.log = [&](copilot::KeeperLog kind, const std::string& m) {
            std::lock_guard<std::mutex> lk(mu);
            if (kind == copilot::KeeperLog::failure) failures.push_back(m);
        };
        o.fetch = [&](bool) -> copilot::CopilotTokenResult {
            if (++calls == 1) return token("tid=1", 62);  // due in 2 s
            throw Error(Exit::permission, "GitHub token is invalid or revoked; run copilot-login");
        };
        copilot::TokenKeeper k(o);
        k.start();
        if (stop_on_permanent) {
            CHECK(k.wait_failed(10s));
            auto e = k.failed();
            CHECK(e && e->code() == Exit::permission);
            CHECK_EQ(calls.load(), 2);
        } else {
            CHECK(eventually([&] { return calls.load() >= 2; }));
            CHECK(!k.wait_failed(100ms));
            CHECK(k.status().ready());  // the old token is still served
            std::lock_guard<std::mutex> lk(mu);
            CHECK_EQ(failures.size(), size_t{1});
            if (!failures.empty())  // not worth retrying: the slowest pace at once
                CHECK_EQ(failures[0], "refresh failed: GitHub token is invalid or revoked; "
                                      "run copilot-login; retrying in 1 min 0 s");
        }
        k.stop();
    }
}

TEST(every_token_taken_is_logged_with_its_next_refresh) {
    copilot::TokenKeeperOptions o;
    std::vector<std::string> lines;
    o.log = [&](copilot::KeeperLog kind, const std::string& m) {
        if (kind == copilot::KeeperLog::token) lines.push_back(m);
    };
    o.fetch = [](bool) {
        auto r = token("tid=1", 1500, 1800);
        r.from_cache = true;
        return r;
    };
    copilot::TokenKeeper k(o);
    k.prime();
    CHECK_EQ(lines.size(), size_t{1});
    if (!lines.empty())
        CHECK(lines[0].rfind("cached token for github.com valid for ", 0) == 0 &&
              lines[0].find("; next refresh in 2") != std::string::npos);
}
