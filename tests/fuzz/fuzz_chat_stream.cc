// A whole chat request (run_chat) against a scripted transport: the answer's
// status, body and the way the network splits it come from the input, so
// the streaming loop, the SSE parser, the chunk parser, the error-body
// reader and the status mapping are exercised together.
// Input: byte 0 status, byte 1 flags (bit 0 --json, bit 1 no streaming,
// bit 2 connection reset mid-body, bit 3 a refreshable token, bit 4
// Retry-After: 7), 4 bytes seed the read sizes, 2 bytes the reset point,
// then the body.
// Checks: only copilot::Error comes out, with a documented exit code and a
// one-line message that does not show the token; the outcome (text, result,
// error) is the same whether the body arrives in one read or in many; with
// --json the completion object parses.
#include "api/chat.h"
#include "fake_transport.h"
#include "fuzz_common.h"
#include "util/json.h"

using namespace copilot;

namespace {

const long kStatus[] = {200, 200, 200, 200, 200, 200, 400, 401, 402, 403,
                        404, 413, 429, 500, 502, 503, 201, 302};
const std::string kToken = "tid=fuzzsecret;exp=1763701800;sku=free:0123456789abcdef";
const std::string kFresh = "tid=fuzzrefreshed;exp=1763709999;sku=free:fedcba9876543210";

struct Outcome {
    std::string text;
    std::string id, model, json;
    std::optional<std::string> finish;
    bool has_usage = false;
    int64_t total_tokens = 0;
    int code = 0;  // exit status of the Error, 0 when none
    std::string message;
    std::string token_used;  // by the last request (a refresh changes it)
    bool operator==(const Outcome& o) const {
        return text == o.text && id == o.id && model == o.model && json == o.json &&
               finish == o.finish && has_usage == o.has_usage &&
               total_tokens == o.total_tokens && code == o.code &&
               without_offsets(message) == without_offsets(o.message);
    }
    // A JSON error's "at byte N" counts from where the JSON started, and
    // blank space before it may or may not arrive in the same read: the
    // number may differ, nothing else may.
    static std::string without_offsets(std::string m) {
        for (size_t at = m.find("at byte "); at != std::string::npos; at = m.find("at byte ", at + 1)) {
            size_t end = at + 8;
            while (end < m.size() && m[end] >= '0' && m[end] <= '9') ++end;
            m.erase(at + 8, end - at - 8);
        }
        return m;
    }
};

Outcome run(uint8_t flags) {
    Outcome o;
    ApiCredentials auth;
    auth.token = kToken;
    auth.host = "github.com";
    auth.api_url = "https://api.individual.githubcopilot.com";
    auth.source = "COPILOT_TOKEN";
    if (flags & 8) auth.refresh = [] { return kFresh; };
    ChatRequest req;
    req.prompt = "hello";
    req.stream = !(flags & 2);
    ChatIo io;
    io.want_json = flags & 1;
    io.on_text = [&](std::string_view s) {
        FUZZ_CHECK(!s.empty(), "on_text called with nothing");
        o.text.append(s.data(), s.size());
    };
    fake::calls = 0;
    try {
        ChatResult r = run_chat(auth, req, io);
        o.id = r.id;
        o.model = r.model;
        o.json = r.json;
        o.finish = r.finish_reason;
        o.has_usage = r.usage.has_value();
        if (r.usage) o.total_tokens = r.usage->total_tokens;
        if (io.want_json) {
            try {
                (void)json_parse(r.json, {"--json output", Exit::protocol});
            } catch (const Error& e) {
                std::fprintf(stderr, "--json output does not parse: %s\n", e.what());
                FUZZ_CHECK(false, "run_chat --json wrote JSON that does not parse");
            }
        }
    } catch (const Error& e) {
        o.code = e.status();
        o.message = e.what();
    }
    o.token_used = fake::last_authorization.substr(fake::last_authorization.find(' ') + 1);
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    const long status = kStatus[in.byte() % (sizeof kStatus / sizeof kStatus[0])];
    const uint8_t flags = in.byte();
    uint32_t seed = in.u32() | 1;
    const uint16_t reset_at = in.u16();

    fake::Script s;
    s.status = status;
    if (flags & 16) s.headers.push_back({"retry-after", "7"});
    s.body = std::string(in.rest());
    s.reset_after = flags & 4;
    s.reset_at = reset_at;

    // Whole: the body in one read.
    fake::script = s;
    const Outcome whole = run(flags);

    // Split: reads of 1..8 bytes, now and then up to 1 KiB.
    for (size_t total = 0; total < s.body.size();) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        size_t n = 1 + ((seed & 0x70) == 0 ? (seed >> 8) % 1024 : (seed >> 8) % 8);
        s.pieces.push_back(n);
        total += n;
    }
    fake::script = s;
    const Outcome split = run(flags);
    fake::reset();

    if (!(split == whole))
        std::fprintf(stderr, "whole: exit %d [%s] text %zu\nsplit: exit %d [%s] text %zu\n",
                     whole.code, whole.message.c_str(), whole.text.size(), split.code,
                     split.message.c_str(), split.text.size());
    FUZZ_CHECK(split == whole, "the outcome depends on how the network split the answer");

    if (whole.code != 0) {
        static const int documented[] = {64, 65, 69, 74, 75, 76, 77};
        bool ok = false;
        for (int c : documented) ok = ok || c == whole.code;
        if (!ok) std::fprintf(stderr, "exit %d: %s\n", whole.code, whole.message.c_str());
        FUZZ_CHECK(ok, "run_chat failed with an undocumented exit code");
        for (unsigned char c : whole.message)
            FUZZ_CHECK(c >= 0x20 && c != 0x7f, "an error message is not one printable line");
        // The token of the request answered: a server echoes what it got.
        const bool leak = !whole.token_used.empty() && fuzz::leaks(whole.message, s.body, whole.token_used);
        if (leak) std::fprintf(stderr, "message: [%s]\n", whole.message.c_str());
        FUZZ_CHECK(!leak, "an error message shows (part of) the Copilot token");
    }
    return 0;
}
