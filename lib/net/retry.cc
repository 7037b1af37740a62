#include "net/retry.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "net/ascii.h"
#include "util/text.h"

namespace copilot {

namespace {

// ---------------------------------------------------------------------------
// HTTP dates (RFC 9110 5.6.7): IMF-fixdate, RFC 850, asctime.

int month_index(std::string_view m) {
    static const char* const names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};
    for (int i = 0; i < 12; ++i)
        if (ascii_iequals(m, names[i])) return i + 1;
    return 0;
}

bool is_weekday(std::string_view d) {
    static const char* const names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun",
                                        "monday", "tuesday", "wednesday", "thursday",
                                        "friday", "saturday", "sunday"};
    for (const char* n : names)
        if (ascii_iequals(d, n)) return true;
    return false;
}

bool parse_number(std::string_view s, size_t min_digits, size_t max_digits, int& out) {
    if (s.size() < min_digits || s.size() > max_digits) return false;
    int v = 0;
    for (char c : s) {
        if (!is_ascii_digit(c)) return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

bool parse_clock(std::string_view s, int& h, int& m, int& sec) {
    if (s.size() != 8 || s[2] != ':' || s[5] != ':') return false;
    return parse_number(s.substr(0, 2), 2, 2, h) && parse_number(s.substr(3, 2), 2, 2, m) &&
           parse_number(s.substr(6, 2), 2, 2, sec) && h <= 23 && m <= 59 && sec <= 60;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

std::optional<int64_t> parse_http_date(std::string_view v) {
    // Split on spaces, commas and dashes: the three formats become
    //   IMF:     Sun 06 Nov 1994 08:49:37 GMT
    //   RFC 850: Sunday 06 Nov 94 08:49:37 GMT
    //   asctime: Sun Nov 6 08:49:37 1994
    std::vector<std::string_view> t;
    size_t i = 0;
    while (i < v.size()) {
        while (i < v.size() && (v[i] == ' ' || v[i] == ',' || v[i] == '-')) ++i;
        size_t start = i;
        while (i < v.size() && v[i] != ' ' && v[i] != ',' && v[i] != '-') ++i;
        if (i > start) t.push_back(v.substr(start, i - start));
    }
    int day = 0, month = 0, year = 0, h = 0, m = 0, s = 0;
    if (t.size() == 6 && is_weekday(t[0]) && ascii_iequals(t[5], "GMT")) {
        month = month_index(t[2]);
        if (!parse_number(t[1], 1, 2, day) || !month || !parse_clock(t[4], h, m, s))
            return std::nullopt;
        if (t[3].size() == 2) {
            if (!parse_number(t[3], 2, 2, year)) return std::nullopt;
            year += year < 70 ? 2000 : 1900;
        } else if (!parse_number(t[3], 4, 4, year)) {
            return std::nullopt;
        }
    } else if (t.size() == 5 && is_weekday(t[0])) {
        month = month_index(t[1]);
        if (!month || !parse_number(t[2], 1, 2, day) || !parse_clock(t[3], h, m, s) ||
            !parse_number(t[4], 4, 4, year))
            return std::nullopt;
    } else {
        return std::nullopt;
    }
    if (day < 1 || day > 31) return std::nullopt;
    return days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + s;
}

constexpr long kMaxRetryAfterSeconds = 1000000000L;  // ~31 years: "never", without overflow

}  // namespace

std::optional<long> parse_retry_after(std::string_view value, std::time_t now) {
    std::string v = trim(value);
    if (v.empty()) return std::nullopt;
    if (std::all_of(v.begin(), v.end(),
                    [](char c) { return is_ascii_digit(c); })) {
        long secs = 0;
        for (char c : v) {
            secs = secs * 10 + (c - '0');
            if (secs >= kMaxRetryAfterSeconds) return kMaxRetryAfterSeconds;
        }
        return secs;
    }
    std::optional<int64_t> when = parse_http_date(v);
    if (!when) return std::nullopt;
    int64_t delta = *when - static_cast<int64_t>(now);
    if (delta <= 0) return 0L;
    return static_cast<long>(std::min<int64_t>(delta, kMaxRetryAfterSeconds));
}

long backoff_ms(int attempt, long base_ms, long cap_ms) {
    if (base_ms <= 0 || cap_ms <= 0) return 0;
    if (attempt < 1) attempt = 1;
    long d = std::min(base_ms, cap_ms);
    for (int i = 1; i < attempt && d < cap_ms; ++i) d = d > cap_ms / 2 ? cap_ms : d * 2;
    thread_local std::mt19937_64 gen = [] {
        std::seed_seq::result_type seed;
        try {
            std::random_device rd;
            seed = rd();
        } catch (...) {
            seed = static_cast<std::seed_seq::result_type>(
                std::chrono::steady_clock::now().time_since_epoch().count() ^ ::getpid());
        }
        std::seed_seq seq{seed, static_cast<std::seed_seq::result_type>(::getpid())};
        return std::mt19937_64(seq);
    }();
    std::uniform_int_distribution<long> dist(d - d / 2, d);
    return dist(gen);
}

}  // namespace copilot
