#include "net/timeouts.h"

#include <cstdlib>
#include <string>

#include "net/ascii.h"
#include "util/errors.h"

namespace copilot {

std::optional<long> copilot_timeout_env() {
    const char* v = std::getenv("COPILOT_TIMEOUT");
    if (!v || !*v) return std::nullopt;
    long secs = 0;
    for (const char* p = v; *p; ++p) {
        if (!is_ascii_digit(*p) || secs > 86400) {
            secs = -1;
            break;
        }
        secs = secs * 10 + (*p - '0');
    }
    if (secs < 1 || secs > 86400)
        throw Error(Exit::usage, "COPILOT_TIMEOUT must be a whole number of seconds from 1 to "
                                 "86400, not '" + std::string(v).substr(0, 20) + "'");
    return secs;
}

}  // namespace copilot
