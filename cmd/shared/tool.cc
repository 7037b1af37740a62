#include "tool.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <unistd.h>

#include "util/version.h"

namespace tool {

const char* prog = "copilot";
bool verbose = false;

namespace {

struct BrokenPipe {};

void write_fd(int fd, std::string_view text) {
    const char* p = text.data();
    size_t n = text.size();
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (fd == 1 && errno == EPIPE) throw BrokenPipe{};
            if (fd == 1)
                throw copilot::Error(copilot::Exit::io,
                                     std::string("cannot write to standard output: ") +
                                         std::strerror(errno));
            return;  // stderr is gone: nothing sensible left to do
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
}

// At most `max` bytes of `s`, never ending inside a UTF-8 sequence.
std::string cut(std::string_view s, size_t max) {
    if (s.size() <= max) return std::string(s);
    size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return std::string(s.substr(0, n)) + "...";
}

}  // namespace

std::string quoted(std::string_view value) {
    std::string v = cut(value, 64);
    for (char& c : v)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return "'" + v + "'";
}

void out(std::string_view text) {
    write_fd(1, text);
}

void say(std::string_view message) {
    std::string line = std::string(prog) + ": " + std::string(message) + "\n";
    write_fd(2, line);
}

void show(std::string_view line) { write_fd(2, std::string(line) + "\n"); }

void warn(std::string_view message) { say("warning: " + std::string(message)); }

void debug(std::string_view message) {
    if (verbose) say(message);
}

bool use_color(int fd) {
    const char* no_color = std::getenv("NO_COLOR");
    if (no_color && *no_color) return false;
    const char* term = std::getenv("TERM");
    if (term && std::strcmp(term, "dumb") == 0) return false;
    return ::isatty(fd) == 1;
}

void usage_error(const std::string& message) {
    throw copilot::Error(copilot::Exit::usage, message + " (see --help)");
}

void help_or_version(bool help, bool version, std::string_view usage) {
    if (help) {
        out(usage);
        throw Done{0};
    }
    if (version) {
        out(std::string(prog) + " " COPILOT_UTILS_VERSION "\n");
        throw Done{0};
    }
}

int run(const char* name, int argc, char** argv, int (*body)(int, char**)) {
    prog = name;
    // Writes to a closed pipe must come back as EPIPE so we can end quietly
    // instead of being killed mid-write with a partial line.
    std::signal(SIGPIPE, SIG_IGN);
    try {
        return body(argc, argv);
    } catch (const Done& d) {
        return d.status;
    } catch (const BrokenPipe&) {
        return 0;
    } catch (const copilot::Error& e) {
        try {
            say(cut(e.what(), kMaxMessage));
        } catch (...) {
        }
        return e.status();
    } catch (const std::bad_alloc&) {
        say("out of memory");
        return static_cast<int>(copilot::Exit::io);
    }
}

}  // namespace tool
