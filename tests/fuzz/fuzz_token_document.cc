// The Copilot token document (copilot-token writes it to stdout and its
// cache; copilot-chat and copilot-token --check read it), through every
// public reader: parse_token_document, inspect_token_text (--check) and
// read_given_token (copilot-chat --token-file / COPILOT_TOKEN).
// Checks: bad input throws copilot::Error only, with the reader's exit code;
// a parsed document is written and read back to the same fields and text;
// the --check summaries are produced for any numbers (the JSON one parses);
// the chat reader never hands out a token with spaces or control bytes.
#include "auth/copilot_token.h"
#include "auth/credentials.h"
#include "fuzz_common.h"
#include "auth/token_check.h"

using namespace copilot;

namespace {

const JsonSource kSrc{"token cache /fuzz/github.com.json", Exit::data};

bool same(const CopilotToken& a, const CopilotToken& b) {
    return a.host == b.host && a.token == b.token && a.expires_at == b.expires_at &&
           a.refresh_in == b.refresh_in && a.fetched_at == b.fetched_at &&
           a.api_url == b.api_url && a.sku == b.sku;
}

void summaries(const CopilotTokenCheck& c, int64_t now) {
    (void)check_passes(c, now, 300);
    (void)check_summary_text(c, now, 300);
    (void)check_summary_text(c, now, 0);
    try {
        (void)json_parse(check_summary_json(c, now, 300), {"--check --json", Exit::protocol});
    } catch (const Error& e) {
        std::fprintf(stderr, "--check --json output does not parse: %s\n", e.what());
        FUZZ_CHECK(false, "check_summary_json wrote invalid JSON");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const int64_t now = 1763700000;

    try {
        CopilotToken t = parse_token_document(text, kSrc);
        const std::string written = serialize_token_document(t);
        CopilotToken back;
        try {
            back = parse_token_document(written, kSrc);
        } catch (const Error& e) {
            std::fprintf(stderr, "re-reading the written document failed: %s\n", e.what());
            FUZZ_CHECK(false, "a written token document cannot be read back");
        }
        FUZZ_CHECK(same(t, back), "a token document changed across write + read");
        FUZZ_CHECK(serialize_token_document(back) == written, "serialize_token_document not stable");
        (void)is_fresh(t, now, 300);
        (void)refresh_due_at(t, 300);
        summaries(inspect_token(t, "token cache"), now);
    } catch (const Error& e) {
        FUZZ_CHECK(e.code() == kSrc.code, "a malformed token document is not malformed input");
    }

    try {
        summaries(inspect_token_text(text, "standard input"), now);
    } catch (const Error& e) {
        FUZZ_CHECK(e.code() == Exit::data, "--check input failed with an unexpected exit code");
    }

    try {
        const std::string token = read_given_token(text, "--token-file -").token;
        FUZZ_CHECK(!token.empty(), "an empty Copilot token was accepted");
        for (unsigned char c : token)
            FUZZ_CHECK(c > 0x20 && c < 0x7f, "a token with spaces or control bytes was accepted");
        FUZZ_CHECK(token.compare(0, 4, "ghu_") != 0, "a GitHub token was taken for a Copilot token");
    } catch (const Error& e) {
        FUZZ_CHECK(e.code() == Exit::data, "--token-file input failed with an unexpected exit code");
    }
    return 0;
}
