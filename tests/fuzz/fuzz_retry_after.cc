// Retry-After (RFC 9110 10.2.3): delta-seconds or an HTTP date in any of the
// three formats. The first 8 bytes choose "now" (a realistic clock value),
// the rest is the header value.
// Checks: never throws; a result is >= 0 and capped; all-digit values give
// their number (or the cap); the answer depends on nothing but the value and
// the clock (same input, same answer; surrounding blanks do not matter); for
// a date, a later clock never gives a longer wait.
#include <string>

#include "fuzz_common.h"
#include "net/retry.h"

using namespace copilot;

namespace {

constexpr long kCap = 1000000000L;  // lib/net/retry.cc: kMaxRetryAfterSeconds

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    const int64_t now = fuzz::plausible_now(in);
    const std::string value(in.rest());

    std::optional<long> r;
    try {
        r = parse_retry_after(value, static_cast<std::time_t>(now));
    } catch (...) {
        FUZZ_CHECK(false, "parse_retry_after threw");
    }
    FUZZ_CHECK(!r || (*r >= 0 && *r <= kCap), "a wait below 0 or above the cap");
    FUZZ_CHECK(parse_retry_after(value, static_cast<std::time_t>(now)) == r, "not deterministic");
    FUZZ_CHECK(parse_retry_after(" \t" + value + " ", static_cast<std::time_t>(now)) == r ||
                   value.find_first_of(" \t\r\n") != std::string::npos || value.empty(),
               "blanks around the value changed the answer");

    // All digits: the number itself, capped.
    if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos) {
        FUZZ_CHECK(r.has_value(), "delta-seconds were not understood");
        std::string digits = value.substr(std::min(value.find_first_not_of('0'), value.size()));
        if (digits.size() < 10) {
            const long expect = digits.empty() ? 0 : std::stol(digits);
            FUZZ_CHECK(*r == std::min(expect, kCap), "delta-seconds read wrong");
        } else {
            FUZZ_CHECK(*r == kCap, "a huge delta-seconds was not capped");
        }
    } else if (r) {
        // A date: waiting is monotone in the clock.
        auto later = parse_retry_after(value, static_cast<std::time_t>(now + 3600));
        FUZZ_CHECK(later && *later <= *r, "a later clock gave a longer wait");
    }
    return 0;
}
