#include "tool.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "net/timeouts.h"
#include "util/version.h"

namespace tool {

const char* prog = "copilot";
bool verbose = false;

namespace {

struct BrokenPipe {};

bool g_stdout_closed = false;

// A tool started with fd 0, 1 or 2 closed would otherwise get that number
// for the next file it opens (a libcurl socket, the cache's lock file) and
// write its output or messages into it. /dev/null takes the place; a closed
// standard output is still reported when something is written to it.
void fill_closed_stdio() {
    for (int fd = 0; fd <= 2; ++fd) {
        if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        const int got = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (got != fd) {  // cannot happen: open takes the lowest free number
            if (got >= 0) ::close(got);
            continue;
        }
        if (fd == 1) g_stdout_closed = true;
    }
}

// The tools hold tokens in memory: no core file or ptrace-style reading of
// it by other processes of the user (PR_SET_DUMPABLE also makes /proc/PID/mem
// and environ root's).
void keep_secrets_in() {
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    struct rlimit none {0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
}

void write_fd(int fd, std::string_view text) {
    if (fd == 1 && g_stdout_closed && !text.empty())
        throw copilot::Error(copilot::Exit::io, "cannot write to standard output: it is closed");
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

namespace {
std::string said(std::string_view message) {
    return std::string(prog) + ": " + std::string(message) + "\n";
}
}  // namespace

void say(std::string_view message) { write_fd(2, said(message)); }

void HeldLines::add(std::string_view message) {
    std::lock_guard<std::mutex> lk(mu_);
    text_ += said(message);
}

void HeldLines::flush() {
    std::string out;
    {
        std::lock_guard<std::mutex> lk(mu_);
        out.swap(text_);
    }
    if (!out.empty()) write_fd(2, out);
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
    // Past `ulimit -f`, write(2) then fails with EFBIG: an I/O error (74)
    // like any other, instead of death by SIGXFSZ.
    std::signal(SIGXFSZ, SIG_IGN);
    fill_closed_stdio();
    keep_secrets_in();
    try {
        copilot::copilot_timeout_env();  // a bad value fails whether or not a request is made
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
        if (e.code() == copilot::Exit::interrupted) {
            // Die of SIGINT as the shell expects of a program it interrupted,
            // so that a script running us stops too (it sees 130 either way).
            std::signal(SIGINT, SIG_DFL);
            ::raise(SIGINT);
        }
        return e.status();
    } catch (const std::bad_alloc&) {
        say("out of memory");
        return static_cast<int>(copilot::Exit::io);
    }
}

}  // namespace tool
