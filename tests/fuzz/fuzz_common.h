// Shared by the libFuzzer targets: a reader that turns the fuzzer's bytes
// into choices (split points, status codes, clock values), and the check
// that stops a run when an invariant fails.
//
// Convention of every target: copilot::Error is the expected answer to bad
// input and is caught; anything else (another exception, a sanitizer
// report, a failed invariant) is a finding and ends the run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "util/errors.h"

// Stops the run with a one-line reason; libFuzzer saves the input as crash-*.
#define FUZZ_CHECK(cond, what)                                                         \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            std::fprintf(stderr, "fuzz invariant failed at %s:%d: %s\n", __FILE__, __LINE__, \
                         what);                                                        \
            __builtin_trap();                                                          \
        }                                                                              \
    } while (0)

namespace fuzz {

// Takes choices from the front of the input; once the bytes run out every
// choice is 0, so short inputs still mean something.
class Input {
public:
    Input(const uint8_t* data, size_t size)
        : p_(reinterpret_cast<const char*>(data)), n_(size) {}

    uint8_t byte() {
        if (n_ == 0) return 0;
        --n_;
        return static_cast<uint8_t>(*p_++);
    }
    uint16_t u16() { return static_cast<uint16_t>(byte() | (byte() << 8)); }
    uint32_t u32() { return static_cast<uint32_t>(u16()) | (static_cast<uint32_t>(u16()) << 16); }
    int64_t i64() {
        uint64_t v = u32();
        v |= static_cast<uint64_t>(u32()) << 32;
        return static_cast<int64_t>(v);
    }
    // A length-prefixed piece (at most `max` bytes).
    std::string piece(size_t max) {
        size_t len = byte();
        if (len > max) len = max;
        if (len > n_) len = n_;
        std::string s(p_, len);
        p_ += len;
        n_ -= len;
        return s;
    }
    // Whatever is left.
    std::string_view rest() const { return std::string_view(p_, n_); }
    size_t left() const { return n_; }

private:
    const char* p_;
    size_t n_;
};

// A plausible "now" for parsers that compare with the clock: the fuzzer
// chooses it, but within what std::time() can return on a sane machine
// (1970 .. 2^40 s), so the arithmetic a caller does with it is realistic.
inline int64_t plausible_now(Input& in) {
    return static_cast<int64_t>(static_cast<uint64_t>(in.i64()) & ((uint64_t{1} << 40) - 1));
}

// Shows 16 or more characters of `secret` in a row that the server's text
// did not show outside a whole copy of the secret (which must be masked).
// A fragment counts only if its inner 14 characters are not in the server's
// text either: the library appends its own "; ..." or " (" to server text,
// and one such character may happen to continue a fragment the server sent.
inline bool leaks(const std::string& msg, std::string body, const std::string& secret) {
    if (msg.find(secret) != std::string::npos) return true;
    for (size_t at = body.find(secret); at != std::string::npos; at = body.find(secret, at))
        body.replace(at, secret.size(), "\x01");
    for (size_t i = 0; i + 16 <= secret.size(); ++i) {
        const std::string frag = secret.substr(i, 16);
        if (msg.find(frag) != std::string::npos && body.find(frag.substr(1, 14)) == std::string::npos)
            return true;
    }
    return false;
}

}  // namespace fuzz
