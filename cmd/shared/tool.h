// What every copilot-* executable shares: turning errors into one line and
// an exit code, writing to stdout safely, messages for people on stderr.
// Only cmd/ prints; lib/ throws copilot::Error.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include "util/errors.h"

namespace tool {

// The program name used as the prefix of every message ("copilot-token").
extern const char* prog;

// Thrown for --help / --version and similar early, successful exits.
struct Done {
    int status;
};

// Runs body() and maps what it throws to a one-line message on stderr and
// an exit status: copilot::Error -> its code; a broken stdout pipe -> quiet
// exit (like `cat | head`); std::bad_alloc -> 74. A message longer than
// kMaxMessage bytes is cut: an error never repeats a huge input whole.
constexpr size_t kMaxMessage = 1000;
int run(const char* name, int argc, char** argv, int (*body)(int, char**));

// Writes to stdout with write(2), so every call is already "flushed" (a
// streamed answer appears as it arrives). A closed pipe (EPIPE) ends the
// program quietly; other write errors throw Error(io).
void out(std::string_view text);

// "prog: message" on stderr.
void say(std::string_view message);
// say()'s lines held back, then written together in one write (e.g.
// copilot-serve's request lines of one server turn). Any thread.
class HeldLines {
public:
    void add(std::string_view message);
    void flush();

private:
    std::mutex mu_;
    std::string text_;
};
// A line for people on stderr without the "prog:" prefix, for displays that
// must stand out (the device code).
void show(std::string_view line);
// "prog: warning: message" on stderr.
void warn(std::string_view message);
// Only with --verbose (set `verbose` from the flag).
extern bool verbose;
void debug(std::string_view message);

// Colour is allowed on `fd` only if it is a TTY, NO_COLOR is unset and TERM is not "dumb".
bool use_color(int fd);

// `value` in straight quotes for a message, cut to 64 bytes ("...") and with
// control characters shown as '?': what a user typed, never a terminal escape.
std::string quoted(std::string_view value);

// A usage error: throws Error(usage) with "message (see --help)".
[[noreturn]] void usage_error(const std::string& message);

// --help prints `usage`, --version "PROG VERSION"; either ends the tool
// with 0 (throws Done). Nothing happens when neither was given.
void help_or_version(bool help, bool version, std::string_view usage);

}  // namespace tool
