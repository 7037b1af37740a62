// One error type for the whole toolkit: it carries the exit code from where
// the failure is detected to main(), which prints one line and exits.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace copilot {

// Exit status, the same in every tool (ARCHITECTURE.md). Values follow sysexits.h.
enum class Exit : int {
    ok = 0,
    check_failed = 1,   // --check: token expired or valid for less than --min-ttl
    usage = 64,         // bad flags or arguments
    data = 65,          // malformed input we were given (stdin, auth file)
    no_auth = 66,       // not logged in
    unavailable = 69,   // service answered 5xx after retries
    io = 74,            // local file I/O
    temp = 75,          // try again later: network, 429, pending, expired code
    protocol = 76,      // an answer we cannot understand
    permission = 77,    // revoked token, no Copilot access, denied login
    interrupted = 130,
};

class Error : public std::runtime_error {
public:
    Error(Exit code, const std::string& message)
        : std::runtime_error(message), code_(code) {}
    Exit code() const { return code_; }
    int status() const { return static_cast<int>(code_); }

private:
    Exit code_;
};

// Masks a secret for display: keeps a recognisable prefix ("ghu_", "tid=")
// and hides the rest, so logs can tell tokens apart without leaking them.
std::string mask_secret(const std::string& secret);

// Replaces every occurrence of `secret` in `text` by its mask; used before
// any server-supplied text is shown, in case a server echoes a token back.
std::string redact(std::string text, const std::string& secret);

// Server-supplied text made fit for a one-line message: `secret` masked
// first (so cutting can never leave part of it visible), control
// characters turned into spaces, runs of spaces folded, cut after max_chars.
std::string one_line(std::string_view text, const std::string& secret = "",
                     size_t max_chars = 300);

}  // namespace copilot
