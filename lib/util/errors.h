// One error type for the whole toolkit: it carries the exit code from where
// the failure is detected to main(), which prints one line and exits.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace copilot {

// The exit-code table: the one list of the exit statuses of every tool and
// what each means (values follow sysexits.h). X(name, code, meaning).
// README.md, each man page's EXIT STATUS and copilot-utils(7) say the same:
// every entry there starts with the meaning given here, and tests/docs.bats
// reads this table to check it. Add a code here first.
#define COPILOT_EXIT_CODES(X)                                                        \
    X(ok, 0, "success")                                                              \
    X(check_failed, 1, "--check failed")  /* token: expires too soon; usage: too little left */ \
    X(usage, 64, "usage error")              /* bad flags or arguments */           \
    X(data, 65, "malformed input")           /* stdin, an auth or pending file */   \
    X(no_auth, 66, "not logged in")          /* --check: no token at all */         \
    X(unavailable, 69, "unavailable")        /* 5xx after retries, cannot bind */   \
    X(io, 74, "local file I/O error")                                                \
    X(temp, 75, "temporary failure")         /* network, 429, pending, code expired */ \
    X(protocol, 76, "protocol error")        /* an answer we cannot understand */   \
    X(permission, 77, "permission denied")   /* revoked, no Copilot, login denied */ \
    X(interrupted, 130, "interrupted")

enum class Exit : int {
#define COPILOT_EXIT_ENUM(name, code, meaning) name = code,
    COPILOT_EXIT_CODES(COPILOT_EXIT_ENUM)
#undef COPILOT_EXIT_ENUM
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
