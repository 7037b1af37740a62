// The incremental text/event-stream parser, fed the same stream in pieces.
// Input: 4 bytes seed the split points, 1 byte picks a small memory cap, the
// rest is the stream.
// Checks:
//   - fed in random pieces (and, for short streams, one byte at a time) it
//     dispatches exactly the events it dispatches when fed the whole stream,
//     and finish() says the same about a pending partial event;
//   - those events are the ones a straightforward, whole-buffer reading of
//     the WHATWG rules (written here, independently) gives;
//   - with a small cap it throws copilot::Error (protocol) instead of
//     buffering, and the events it gave before that are a prefix of the
//     uncapped ones.
#include <vector>

#include "fuzz_common.h"
#include "net/sse.h"

using namespace copilot;

namespace {

struct Outcome {
    std::vector<SseEvent> events;
    bool pending = false;
    bool operator==(const Outcome& o) const { return events == o.events && pending == o.pending; }
};

// Splits chosen by a small PRNG seeded from the input: mostly short pieces,
// sometimes empty ones, sometimes long ones, so CR|LF and the BOM get cut.
Outcome feed_split(std::string_view s, uint32_t seed) {
    SseParser p;
    Outcome o;
    uint32_t x = seed | 1;
    size_t i = 0;
    while (i < s.size()) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        size_t n = (x & 0x30) == 0 ? (x >> 8) % 512 : (x >> 8) % 8;  // 0..7, or up to 511
        n = std::min(n, s.size() - i);
        for (auto& e : p.feed(s.substr(i, n))) o.events.push_back(e);
        i += n;
    }
    o.pending = p.finish();
    return o;
}

Outcome feed_whole(std::string_view s) {
    SseParser p;
    Outcome o;
    o.events = p.feed(s);
    FUZZ_CHECK(p.events() == o.events.size(), "events() miscounted");
    o.pending = p.finish();
    return o;
}

Outcome feed_bytes(std::string_view s) {
    SseParser p;
    Outcome o;
    for (size_t i = 0; i < s.size(); ++i)
        for (auto& e : p.feed(s.substr(i, 1))) o.events.push_back(e);
    o.pending = p.finish();
    return o;
}

// The WHATWG "event stream interpretation", read off the spec over the
// whole buffer: strip one BOM, cut into lines at CRLF / CR / LF, drop an
// unterminated last line, and process fields. (The parser's one extension,
// `retry`, is mirrored: digits only, at most 9 of them.)
Outcome reference(std::string_view s) {
    Outcome o;
    if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
    std::string data, type, last_id;
    std::optional<long> retry;
    bool fields = false;
    size_t i = 0;
    while (true) {
        size_t end = s.find_first_of("\r\n", i);
        if (end == std::string_view::npos) {
            o.pending = i < s.size() || fields;
            break;
        }
        std::string_view line = s.substr(i, end - i);
        i = end + 1;
        if (s[end] == '\r' && i < s.size() && s[i] == '\n') ++i;
        if (line.empty()) {
            fields = false;
            if (!data.empty()) {
                SseEvent e;
                data.pop_back();
                e.data = data;
                if (!type.empty()) e.type = type;
                e.id = last_id;
                e.retry = retry;
                o.events.push_back(e);
            }
            data.clear();
            type.clear();
            continue;
        }
        fields = true;
        if (line[0] == ':') continue;
        size_t colon = line.find(':');
        std::string_view name = line.substr(0, colon), value;
        if (colon != std::string_view::npos) {
            value = line.substr(colon + 1);
            if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
        }
        if (name == "data") {
            data.append(value.data(), value.size());
            data += '\n';
        } else if (name == "event") {
            type.assign(value.data(), value.size());
        } else if (name == "id") {
            if (value.find('\0') == std::string_view::npos) last_id.assign(value.data(), value.size());
        } else if (name == "retry") {
            if (!value.empty() && value.size() <= 9 &&
                value.find_first_not_of("0123456789") == std::string_view::npos)
                retry = std::stol(std::string(value));
        }
    }
    return o;
}

void report(const char* what, const Outcome& a, const Outcome& b) {
    std::fprintf(stderr, "%s: %zu vs %zu events, pending %d vs %d\n", what, a.events.size(),
                 b.events.size(), a.pending, b.pending);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    const uint32_t seed = in.u32();
    const uint8_t cap_choice = in.byte();
    const std::string_view stream = in.rest();

    // No cap is reached here: inputs are far below the default 8 MiB.
    const Outcome whole = feed_whole(stream);
    const Outcome split = feed_split(stream, seed);
    if (!(split == whole)) report("split", split, whole);
    FUZZ_CHECK(split == whole, "events depend on how the stream was split");
    if (stream.size() <= 2048) {
        const Outcome bytes = feed_bytes(stream);
        if (!(bytes == whole)) report("bytes", bytes, whole);
        FUZZ_CHECK(bytes == whole, "events differ when fed one byte at a time");
    }
    const Outcome ref = reference(stream);
    if (!(ref == whole)) report("reference", whole, ref);
    FUZZ_CHECK(ref == whole, "events differ from the WHATWG reading of the stream");

    // A small cap: an Error, never unbounded growth, and no invented events.
    SseParser capped(16 + cap_choice);
    std::vector<SseEvent> got;
    try {
        capped.feed(stream, [&](const SseEvent& e) { got.push_back(e); });
    } catch (const Error& e) {
        FUZZ_CHECK(e.code() == Exit::protocol, "the cap is not a protocol error");
    }
    FUZZ_CHECK(got.size() <= whole.events.size(), "a capped parser gave more events");
    for (size_t k = 0; k < got.size(); ++k)
        FUZZ_CHECK(got[k] == whole.events[k], "a capped parser gave different events");
    return 0;
}
