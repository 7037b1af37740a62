// The auth state document (copilot-login writes it, every tool reads it).
// Checks: any bytes either parse or throw copilot::Error with the reader's
// exit code (a malformed auth file is 65; a host that could not name a file
// is 64, like --host with such a name); a parsed state written out with
// serialize_auth_state reads back to the same fields and the same text
// (what the tools write they can read again).
#include "auth/auth_state.h"
#include "fuzz_common.h"

using namespace copilot;

namespace {

const JsonSource kSrc{"auth file /fuzz/github.com.json", Exit::data};

bool same(const AuthState& a, const AuthState& b) {
    return a.host == b.host && a.client_id == b.client_id && a.oauth_token == b.oauth_token &&
           a.scope == b.scope && a.user == b.user && a.created_at == b.created_at;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    AuthState st;
    try {
        st = parse_auth_state(text, kSrc);
    } catch (const Error& e) {
        // A host that cannot name a file is Exit::usage, as state_name()
        // reports it (tests/unit/test_auth_state.cc holds that); all else
        // is the reader's own code.
        FUZZ_CHECK(e.code() == kSrc.code ||
                       (e.code() == Exit::usage && std::string(e.what()).find("host") != std::string::npos),
                   "a malformed auth state is not reported as malformed input");
        return 0;
    }
    FUZZ_CHECK(!st.oauth_token.empty(), "an auth state without a token was accepted");

    const std::string written = serialize_auth_state(st);
    FUZZ_CHECK(!written.empty() && written.back() == '\n' &&
                   written.find('\n') == written.size() - 1,
               "serialize_auth_state is not one line");
    AuthState back;
    try {
        back = parse_auth_state(written, kSrc);
    } catch (const Error& e) {
        std::fprintf(stderr, "re-reading the written state failed: %s\n", e.what());
        FUZZ_CHECK(false, "a written auth state cannot be read back");
    }
    FUZZ_CHECK(same(st, back), "an auth state changed across write + read");
    FUZZ_CHECK(serialize_auth_state(back) == written, "serialize_auth_state is not stable");
    return 0;
}
