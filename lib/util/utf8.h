// UTF-8 validity: JSON needs it, and the prompt and messages become JSON.
#pragma once

#include <string>
#include <string_view>

namespace copilot {

// Error(data) naming `what` if `text` is not valid UTF-8 (no overlong forms,
// no surrogates, nothing past U+10FFFF).
void check_utf8(std::string_view text, const std::string& what);

}  // namespace copilot
