// Unit tests for lib/net/retry.cc: Retry-After and the backoff between tries.
#include <algorithm>
#include <climits>
#include <ctime>

#include "check.h"
#include "net/retry.h"

TEST(retry_after_seconds) {
    const std::time_t now = 1700000000;  // Tue, 14 Nov 2023 22:13:20 GMT
    CHECK(copilot::parse_retry_after("120", now) == 120L);
    CHECK(copilot::parse_retry_after("0", now) == 0L);
    CHECK(copilot::parse_retry_after("  5  ", now) == 5L);
    CHECK(copilot::parse_retry_after("\t7", now) == 7L);
    auto huge = copilot::parse_retry_after("99999999999999999999999999999999", now);
    CHECK(huge.has_value() && *huge >= 100000000L);
    for (const char* bad : {"", "   ", "soon", "-5", "+5", "1.5", "12abc", "0x10", "5 5"})
        CHECK(!copilot::parse_retry_after(bad, now).has_value());
}

TEST(retry_after_dates) {
    const std::time_t now = 1700000000;  // Tue, 14 Nov 2023 22:13:20 GMT
    CHECK(copilot::parse_retry_after("Tue, 14 Nov 2023 22:15:20 GMT", now) == 120L);
    CHECK(copilot::parse_retry_after("Tuesday, 14-Nov-23 22:15:20 GMT", now) == 120L);
    CHECK(copilot::parse_retry_after("Tue Nov 14 22:15:20 2023", now) == 120L);
    CHECK(copilot::parse_retry_after("Wed, 15 Nov 2023 00:00:00 GMT", now) == 6400L);
    CHECK(copilot::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now) == 0L);
    CHECK(copilot::parse_retry_after("Tue, 14 Nov 2023 22:13:19 GMT", now) == 0L);
    CHECK(copilot::parse_retry_after("  Tue, 14 Nov 2023 22:13:21 GMT ", now) == 1L);
    for (const char* bad :
         {"Tue, 32 Nov 2023 22:15:20 GMT", "Tue, 14 Foo 2023 22:15:20 GMT",
          "Tue, 14 Nov 2023 25:15:20 GMT", "Tue, 14 Nov 2023 22:15 GMT",
          "14 Nov 2023 22:15:20 GMT", "Tue, 14 Nov 2023 22:15:20 PST", "Tue, 14 Nov 2023"})
        CHECK(!copilot::parse_retry_after(bad, now).has_value());
}

TEST(backoff_bounds) {
    struct Case {
        int attempt;
        long lo, hi;
    };
    for (Case c : {Case{1, 250, 500}, Case{2, 500, 1000}, Case{3, 1000, 2000},
                   Case{4, 2000, 4000}, Case{5, 4000, 8000}, Case{6, 4000, 8000},
                   Case{60, 4000, 8000}, Case{INT_MAX, 4000, 8000}, Case{0, 250, 500},
                   Case{-3, 250, 500}}) {
        long mn = LONG_MAX, mx = 0;
        for (int i = 0; i < 2000; ++i) {
            long w = copilot::backoff_ms(c.attempt, 500, 8000);
            mn = std::min(mn, w);
            mx = std::max(mx, w);
        }
        CHECK(mn >= c.lo);
        CHECK(mx <= c.hi);
        CHECK(mx > mn);  // there is jitter
        CHECK(mx > c.lo + (c.hi - c.lo) / 2);
    }
    // Never overflows, even with huge bases and caps.
    for (int a : {1, 2, 40, 70, INT_MAX}) {
        long w = copilot::backoff_ms(a, LONG_MAX / 2, LONG_MAX);
        CHECK(w >= LONG_MAX / 4);
        CHECK(w > 0);
    }
    CHECK_EQ(copilot::backoff_ms(3, 0, 8000), 0L);
    long capped = copilot::backoff_ms(1, 10000, 1000);
    CHECK(capped >= 500 && capped <= 1000);
}

