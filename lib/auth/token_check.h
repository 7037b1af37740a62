// copilot-token --check: what a Copilot token says about itself, without
// the network. Reads a token document or a bare token string and sums up
// its validity for people (stderr) and scripts (JSON).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "auth/copilot_token.h"

namespace copilot {

struct CopilotTokenCheck {
    std::string source;      // "standard input", "token cache PATH"
    std::string host;        // "" for a bare token
    int64_t expires_at = 0;  // from the document, else from the token's exp= field
    std::string sku;         // from the document, else from the token's sku= field
    std::map<std::string, std::string> fields;  // the token's fields (never its MAC)
};

// Reads what was piped to --check with read_given_token (credentials.h).
// Error(data) naming `source` when it is neither a token document nor a
// token, or when a bare token has no numeric exp= field.
CopilotTokenCheck inspect_token_text(std::string_view text, const std::string& source);

// The same summary for a token document already parsed (the cache).
CopilotTokenCheck inspect_token(const CopilotToken& token, const std::string& source);

// What --check inspects: the token piped on standard input when there is
// one, else the cached token of host/profile (with `use_cache`). Error(no_auth)
// when there is neither; the message names standard input only when it was
// read (`stdin_read`: a pipe or a file, not a terminal).
CopilotTokenCheck inspect_piped_or_cached(const std::optional<std::string>& piped,
                                          const std::string& host, const std::string& profile,
                                          bool use_cache, bool stdin_read);

// Valid for at least min_ttl seconds from now.
bool check_passes(const CopilotTokenCheck& c, int64_t now, int64_t min_ttl);

// One line for people: "valid for 24 min 13 s (until 2025-11-21 05:30:00 UTC);
// tid=… sku=… exp=…", or why it does not pass.
std::string check_summary_text(const CopilotTokenCheck& c, int64_t now, int64_t min_ttl);

// {"valid", "expires_at", "expires_in", "sku", "host", "source", "fields"}
// and a newline.
std::string check_summary_json(const CopilotTokenCheck& c, int64_t now, int64_t min_ttl);

// "1 h 5 min", "24 min 13 s", "42 s" (negative values as their magnitude).
std::string describe_duration(int64_t seconds);

}  // namespace copilot
