// The Copilot token string ("tid=...;exp=...;sku=...;...:mac"): its fields
// (token_fields) and the bare-token readers built on them (copilot-token
// --check, copilot-chat's COPILOT_TOKEN). The input is the token string.
// Checks: token_fields returns exactly the key=value parts before the first
// ':' (keys non-empty, nothing from the MAC, no ';' inside a field); the
// --check reader takes exp= as the expiry when it accepts a bare token, and
// its summaries (text and JSON) are produced for any token; the JSON parses.
// The first 8 bytes also pick a duration for describe_duration.
#include <cctype>
#include <cstring>

#include "auth/copilot_token.h"
#include "auth/credentials.h"
#include "fuzz_common.h"
#include "auth/token_check.h"

using namespace copilot;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view token(reinterpret_cast<const char*>(data), size);
    const int64_t now = 1763700000;

    const auto fields = token_fields(token);
    const std::string_view head = token.substr(0, token.find(':'));
    size_t listed = 0;
    for (const auto& [key, value] : fields) {
        FUZZ_CHECK(!key.empty(), "token_fields returned an empty key");
        FUZZ_CHECK(key.find_first_of(";=:") == std::string::npos, "a key holds ; = or :");
        FUZZ_CHECK(value.find_first_of(";:") == std::string::npos, "a value holds ; or :");
        const std::string part = key + "=" + value;
        FUZZ_CHECK(head.find(part) != std::string_view::npos,
                   "token_fields returned a field that is not in the token");
        listed += part.size();
    }
    FUZZ_CHECK(listed <= head.size(), "token_fields returned more than the token holds");

    try {
        CopilotTokenCheck c = inspect_token_text(token, "standard input");
        // The reader trims blank space around the token first.
        size_t b = 0, e = token.size();
        while (b < e && std::isspace(static_cast<unsigned char>(token[b]))) ++b;
        while (e > b && std::isspace(static_cast<unsigned char>(token[e - 1]))) --e;
        const auto trimmed = token_fields(token.substr(b, e - b));
        auto exp = trimmed.find("exp");
        FUZZ_CHECK(exp != trimmed.end(), "a bare token without exp= was accepted");
        FUZZ_CHECK(std::to_string(c.expires_at) == exp->second ||
                       (exp->second.size() > 1 && exp->second[0] == '0'),
                   "--check did not take the expiry from exp=");
        (void)check_passes(c, now, 300);
        (void)check_summary_text(c, now, 300);
        (void)json_parse(check_summary_json(c, now, 300), {"--check --json", Exit::protocol});
    } catch (const Error& e) {
        FUZZ_CHECK(e.code() == Exit::data, "--check failed with an unexpected exit code");
    }

    try {
        const std::string t = read_given_token(token, "COPILOT_TOKEN").token;
        for (unsigned char c : t)
            FUZZ_CHECK(c > 0x20 && c < 0x7f, "a token with spaces or control bytes was accepted");
    } catch (const Error& e) {
        FUZZ_CHECK(e.code() == Exit::data, "COPILOT_TOKEN failed with an unexpected exit code");
    }

    int64_t seconds = 0;
    std::memcpy(&seconds, data, size < sizeof seconds ? size : sizeof seconds);
    const std::string d = describe_duration(seconds);
    FUZZ_CHECK(!d.empty() && d.size() < 40, "describe_duration gave an odd text");
    return 0;
}
