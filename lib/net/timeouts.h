// COPILOT_TIMEOUT, the user's bound on how long a silent server is waited
// for (copilot-utils(7)): read in this one place.
#pragma once

#include <optional>

namespace copilot {

// COPILOT_TIMEOUT in seconds (1 to 86400), nullopt when unset or empty;
// Error(usage) otherwise. Every tool checks it at start, so that a bad value
// fails the same way whether or not a request is made.
std::optional<long> copilot_timeout_env();

}  // namespace copilot
