// Error answers from every server the tools talk to, through the public
// functions that read them:
//   - OAuth answers to the device flow (parse_poll_answer, and the error
//     path of parse_device_code_answer): {"error", "error_description"}
//     in a 200 or 4xx body;
//   - the token exchange (exchange_token, over a scripted transport): the 403
//     {"message", "error_details": {...}} envelope and every other status;
//   - Copilot API error bodies (parse_api_error, api_error_exit) in all the
//     shapes servers use.
// Input: byte 0 picks the HTTP status, byte 1 flags (bit 0: send a
// Retry-After, whose value is the length-prefixed piece that follows), then
// the body.
// Checks: only copilot::Error comes out, with the exit code the headers
// document for that status; every message is one printable line; no message
// shows a secret that was in play (the device code, the GitHub token, the
// Copilot token), not even a fragment of one cut off by truncation.
#include "api/chat.h"
#include "auth/copilot_token.h"
#include "auth/device_flow.h"
#include "fake_transport.h"
#include "fuzz_common.h"
#include "net/endpoints.h"

using namespace copilot;

namespace {

const long kStatus[] = {200, 200, 400, 400, 401, 403, 403, 404, 402, 413,
                        418, 422, 429, 500, 502, 503, 504, 302, 201, 204};

const std::string kDeviceCode = "3584d83530557fdd1f46af8289938c8ef79f9dc5";
const std::string kGithubToken = "ghu_FuzzSecretGithubToken0123456789abcdef";
const std::string kCopilotToken = "tid=fuzzsecret;exp=1763701800;sku=free:0123456789abcdef";

// One line, nothing a terminal would interpret.
bool one_printable_line(const std::string& s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f) return false;
    return true;
}

// `secret` empty: none is in play yet (the device code answer brings one).
void check_message(const std::string& msg, const std::string& body, const std::string& secret) {
    if (!one_printable_line(msg)) std::fprintf(stderr, "message: [%s]\n", msg.c_str());
    FUZZ_CHECK(one_printable_line(msg), "an error message is not one printable line");
    FUZZ_CHECK(secret.empty() || !fuzz::leaks(msg, body, secret),
               "an error message shows (part of) a secret");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    const long status = kStatus[in.byte() % (sizeof kStatus / sizeof kStatus[0])];
    const uint8_t flags = in.byte();
    HttpResponse resp;
    resp.status = status;
    if (flags & 1) resp.headers.push_back({"retry-after", in.piece(64)});
    resp.body = std::string(in.rest());
    const std::string& body = resp.body;

    // OAuth: the poll answer.
    PendingLogin p;
    p.host = "github.com";
    p.client_id = kDefaultClientId;
    p.device_code = kDeviceCode;
    try {
        PollAnswer a = parse_poll_answer(resp, p);
        switch (a.kind) {
        case PollAnswer::Kind::granted:
            FUZZ_CHECK(status == 200 && !a.access_token.empty(), "a token granted without a 200");
            for (unsigned char c : a.access_token)
                FUZZ_CHECK(c > 0x20 && c < 0x7f, "an unprintable access token was accepted");
            FUZZ_CHECK(one_printable_line(a.scope), "the scope is not one printable line");
            break;
        case PollAnswer::Kind::retry:
            FUZZ_CHECK(status == 429 || status >= 500, "retry for a status that is final");
            FUZZ_CHECK(a.retry_after_s >= -1, "a negative Retry-After");
            break;
        case PollAnswer::Kind::slow_down:
            FUZZ_CHECK(a.interval >= 0, "a negative slow_down interval");
            break;
        case PollAnswer::Kind::pending:
            break;
        }
    } catch (const Error& e) {
        const Exit c = e.code();
        FUZZ_CHECK(c == Exit::temp || c == Exit::permission || c == Exit::protocol,
                   "a poll answer failed with an undocumented exit code");
        check_message(e.what(), body, kDeviceCode);
    }

    // OAuth: the device code request refused.
    try {
        (void)parse_device_code_answer(resp, "github.com", kDefaultClientId, 1763700000);
        FUZZ_CHECK(status == 200, "a device code accepted from a non-200 answer");
    } catch (const Error& e) {
        const Exit c = e.code();
        FUZZ_CHECK(c == Exit::temp || c == Exit::unavailable || c == Exit::permission ||
                       c == Exit::protocol,
                   "a device code answer failed with an undocumented exit code");
        check_message(e.what(), body, "");
    }

    // The token exchange, over the scripted transport.
    fake::script = fake::Script{};
    fake::script.status = status;
    fake::script.headers = resp.headers;
    fake::script.body = body;
    try {
        CopilotToken t = exchange_token(kGithubToken, "github.com", 1763700000);
        FUZZ_CHECK(status >= 200 && status < 300, "a token accepted from an error answer");
        FUZZ_CHECK(!t.token.empty(), "an empty Copilot token was accepted");
        fake::reset();
    } catch (const Error& e) {
        fake::reset();
        const Exit c = e.code();
        Exit want = Exit::protocol;
        if (status == 401 || status == 403 || status == 404) want = Exit::permission;
        if (status == 429) want = Exit::temp;
        if (status >= 500) want = Exit::unavailable;
        if (c != want) std::fprintf(stderr, "HTTP %ld -> exit %d: %s\n", status, e.status(), e.what());
        FUZZ_CHECK(c == want, "the exchange mapped a status to the wrong exit code");
        check_message(e.what(), body, kGithubToken);
    }

    // Copilot API error bodies.
    const ApiError err = parse_api_error(body, kCopilotToken);
    check_message(err.message, body, kCopilotToken);
    check_message(err.code, body, kCopilotToken);
    FUZZ_CHECK(err.message.size() <= 400 && err.code.size() <= 400, "an unbounded error text");
    (void)api_error_exit(err.code, status);
    return 0;
}
