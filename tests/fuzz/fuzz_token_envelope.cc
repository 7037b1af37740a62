// The token exchange answer (GET /copilot_internal/v2/token, 200), read by
// parse_token_envelope for github.com and for a GHE host.
// Checks: bad input throws copilot::Error with the protocol exit code only;
// an accepted token is printable ASCII without spaces (it goes into HTTP
// headers and shell code); api_url is the host's default or a URL that
// is_trusted_copilot_api_url accepts; the token document written from it
// reads back to the same fields; the freshness test and the --check summary
// cope with whatever numbers the server sent.
#include "auth/copilot_token.h"
#include "fuzz_common.h"
#include "net/endpoints.h"
#include "auth/token_check.h"

using namespace copilot;

namespace {

const JsonSource kDocSrc{"token cache /fuzz/github.com.json", Exit::data};

bool same(const CopilotToken& a, const CopilotToken& b) {
    return a.host == b.host && a.token == b.token && a.expires_at == b.expires_at &&
           a.refresh_in == b.refresh_in && a.fetched_at == b.fetched_at &&
           a.api_url == b.api_url && a.sku == b.sku;
}

void check_one(std::string_view body, const std::string& host, int64_t now) {
    CopilotToken t;
    try {
        t = parse_token_envelope(body, host, now);
    } catch (const Error& e) {
        FUZZ_CHECK(e.code() == Exit::protocol, "a bad token answer is not a protocol error");
        return;
    }
    FUZZ_CHECK(!t.token.empty(), "an empty token was accepted");
    for (unsigned char c : t.token)
        FUZZ_CHECK(c > 0x20 && c < 0x7f, "a token with spaces or unprintable bytes was accepted");
    FUZZ_CHECK(t.host == host && t.fetched_at == now, "host or fetched_at not taken from the caller");
    FUZZ_CHECK(t.api_url == default_copilot_api_url(host) ||
                   is_trusted_copilot_api_url(t.api_url, host),
               "an untrusted endpoints.api was kept");

    const std::string written = serialize_token_document(t);
    CopilotToken back;
    try {
        back = parse_token_document(written, kDocSrc);
    } catch (const Error& e) {
        std::fprintf(stderr, "re-reading the written token document failed: %s\n", e.what());
        FUZZ_CHECK(false, "a token document written from an answer cannot be read back");
    }
    FUZZ_CHECK(same(t, back), "the token changed across answer -> document -> read");

    // What copilot-token does next with it: the cache freshness rule and --check.
    (void)is_fresh(t, now, 300);
    (void)is_fresh(t, now + 1, 0);
    (void)refresh_due_at(t, 300);
    CopilotTokenCheck c = inspect_token(t, "token cache");
    (void)check_passes(c, now, 300);
    (void)check_summary_text(c, now, 300);
    (void)json_parse(check_summary_json(c, now, 300), {"--check --json", Exit::protocol});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const int64_t now = 1763700000;
    check_one(body, "github.com", now);
    check_one(body, "acme.ghe.com", now);
    return 0;
}
