// Small string helpers shared across the library.
#pragma once

#include <string>
#include <string_view>

namespace copilot {

// Without leading and trailing spaces, tabs, CRs and LFs.
std::string trim(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);
// A base URL without trailing slashes, so paths can be appended with "/".
std::string strip_slashes(std::string url);
// Single-quoted for sh: safe in `eval` whatever the value holds.
std::string shell_quote(std::string_view s);

}  // namespace copilot
