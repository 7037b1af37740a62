// When to try again: the Retry-After header (RFC 9110 10.2.3) and the
// exponential backoff with jitter that the HTTP client waits between tries.
#pragma once

#include <ctime>
#include <optional>
#include <string_view>

namespace copilot {

// Retry-After: delta-seconds or an HTTP date. Returns the wait in seconds
// (>= 0) or nullopt if the value cannot be parsed.
std::optional<long> parse_retry_after(std::string_view value, std::time_t now);

// The wait before retry number `attempt` (1 = first retry): exponential
// backoff from base_ms, capped at cap_ms, with full jitter in [50%, 100%].
long backoff_ms(int attempt, long base_ms, long cap_ms);

}  // namespace copilot
