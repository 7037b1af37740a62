// The pending-login document (copilot-login --start writes it, --poll reads
// it) and the device-code answer it is made from. The same bytes go to both
// readers.
// Checks: bad input throws copilot::Error only (the document reader with its
// own exit code; the answer reader with a protocol or OAuth error code); a
// pending login, read or made from an answer, is written and read back to the
// same fields; an accepted answer has the properties the header promises
// (printable codes, an http(s) URI, a positive interval, a future expiry).
#include <cctype>

#include "auth/device_flow.h"
#include "fuzz_common.h"
#include "net/endpoints.h"

using namespace copilot;

namespace {

const JsonSource kSrc{"pending login /fuzz/pending.json", Exit::data};
constexpr int64_t kNow = 1763700000;

bool same(const PendingLogin& a, const PendingLogin& b) {
    return a.host == b.host && a.client_id == b.client_id && a.device_code == b.device_code &&
           a.user_code == b.user_code && a.verification_uri == b.verification_uri &&
           a.interval == b.interval && a.expires_at == b.expires_at;
}

bool printable(const std::string& s) {
    if (s.empty()) return false;
    for (unsigned char c : s)
        if (c <= 0x20 || c >= 0x7f) return false;
    return true;
}

void round_trip(const PendingLogin& p) {
    const std::string written = serialize_pending_login(p);
    FUZZ_CHECK(!written.empty() && written.find('\n') == written.size() - 1,
               "serialize_pending_login is not one line");
    PendingLogin back;
    try {
        back = parse_pending_login(written, kSrc);
    } catch (const Error& e) {
        std::fprintf(stderr, "re-reading the written pending login failed: %s\n", e.what());
        FUZZ_CHECK(false, "a written pending login cannot be read back");
    }
    FUZZ_CHECK(same(p, back), "a pending login changed across write + read");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);

    try {
        PendingLogin p = parse_pending_login(text, kSrc);
        FUZZ_CHECK(!p.device_code.empty() && p.interval > 0, "an unusable pending login was read");
        round_trip(p);
    } catch (const Error& e) {
        FUZZ_CHECK(e.code() == kSrc.code, "a malformed pending login is not reported as such");
    }

    HttpResponse resp;
    resp.status = 200;
    resp.body = text;
    try {
        PendingLogin p = parse_device_code_answer(resp, "github.com", kDefaultClientId, kNow);
        FUZZ_CHECK(printable(p.device_code) && printable(p.user_code) && p.user_code.size() <= 64,
                   "a device code answer with unprintable codes was accepted");
        std::string uri = p.verification_uri;
        for (char& c : uri) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        FUZZ_CHECK(uri.compare(0, 8, "https://") == 0 || uri.compare(0, 7, "http://") == 0,
                   "a verification_uri that is not http(s) was accepted");
        FUZZ_CHECK(p.interval > 0 && p.expires_at > kNow, "bad interval or expiry accepted");
        round_trip(p);
    } catch (const Error& e) {
        const Exit c = e.code();
        FUZZ_CHECK(c == Exit::protocol || c == Exit::permission || c == Exit::temp,
                   "a device code answer failed with an unexpected exit code");
    }
    return 0;
}
