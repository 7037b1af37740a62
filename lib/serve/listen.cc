#include "serve/listen.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/ascii.h"
#include "net/url_policy.h"
#include "util/errors.h"

namespace copilot {

ListenAddress parse_listen(const std::string& text) {
    auto bad = [&](const std::string& why) -> Error {
        return Error(Exit::usage, "--listen " + text + ": " + why + " (see --help)");
    };
    ListenAddress a;
    if (text.compare(0, 5, "unix:") == 0) {
        a.unix_path = text.substr(5);
        a.loopback = true;
        if (a.unix_path.empty()) throw bad("no PATH after unix:");
        if (a.unix_path.size() >= sizeof(sockaddr_un{}.sun_path))
            throw bad("the path is longer than a Unix socket's " +
                      std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
        struct stat st {};
        if (::lstat(a.unix_path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode))
            throw bad("it exists and is not a socket (it is not replaced)");
        return a;
    }
    std::string host, port;
    if (!text.empty() && text[0] == '[') {
        size_t close = text.find(']');
        if (close == std::string::npos) throw bad("missing ']' after the IPv6 address");
        host = text.substr(1, close - 1);
        if (close + 1 >= text.size() || text[close + 1] != ':')
            throw bad("expected ADDR:PORT, e.g. 127.0.0.1:4141 or [::1]:4141");
        port = text.substr(close + 2);
        a.ipv6 = true;
    } else {
        size_t colon = text.rfind(':');
        if (colon == std::string::npos)
            throw bad("expected ADDR:PORT, e.g. 127.0.0.1:4141 or [::1]:4141");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string::npos)
            throw bad("an IPv6 address goes in brackets: [::1]:4141");
    }
    if (host.empty()) throw bad("no address (use 127.0.0.1, or 0.0.0.0 for every interface)");
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stol(port) > 65535)
        throw bad("the port must be a number from 0 to 65535");
    a.port = static_cast<int>(std::stol(port));
    if (!a.ipv6 && ascii_iequals(host, "localhost")) host = "127.0.0.1";
    unsigned char buf[sizeof(in6_addr)];
    if (a.ipv6) {
        if (::inet_pton(AF_INET6, host.c_str(), buf) != 1) throw bad("not an IPv6 address");
    } else if (::inet_pton(AF_INET, host.c_str(), buf) != 1) {
        throw bad("not an IPv4 address (host names other than localhost are not resolved)");
    }
    a.ip = host;
    a.host = a.ipv6 ? "[" + host + "]" : host;
    a.loopback = is_loopback_peer(host);
    return a;
}

std::string listen_url(const ListenAddress& a, int port) {
    if (!a.unix_path.empty()) return "unix:" + a.unix_path;
    return "http://" + a.host + ":" + std::to_string(port);
}

size_t parse_size(const std::string& text, const std::string& flag) {
    auto bad = [&]() -> Error {
        return Error(Exit::usage, flag + " needs a size such as 16M, 512K or 1048576, not '" +
                                      text + "' (see --help)");
    };
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0 || digits > 12) throw bad();
    uint64_t n = std::stoull(text.substr(0, digits));
    std::string unit = text.substr(digits);
    uint64_t mult = 1;
    if (unit.empty() || unit == "B")
        mult = 1;
    else if (ascii_iequals(unit, "K") || ascii_iequals(unit, "KiB") || ascii_iequals(unit, "KB"))
        mult = 1ull << 10;
    else if (ascii_iequals(unit, "M") || ascii_iequals(unit, "MiB") || ascii_iequals(unit, "MB"))
        mult = 1ull << 20;
    else if (ascii_iequals(unit, "G") || ascii_iequals(unit, "GiB") || ascii_iequals(unit, "GB"))
        mult = 1ull << 30;
    else
        throw bad();
    if (n == 0 || n > (1ull << 40) / mult) throw bad();  // 1 TiB is plenty
    return static_cast<size_t>(n * mult);
}

// A Unix socket at `path`, mode 0600, listening. An old socket there is
// replaced only when nobody answers on it; anything else was refused by
// parse_listen (and is refused again here, should it have appeared since).
int listen_unix(const std::string& path, dev_t* dev, ino_t* ino) {
    auto fail = [&](const std::string& why) {
        return Error(Exit::unavailable, "cannot listen on unix:" + path + ": " + why);
    };
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);  // length checked by parse_listen
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            throw Error(Exit::usage, "--listen unix:" + path + ": it exists and is not a socket (it is not replaced)");
        const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const bool live = probe >= 0 &&
                          ::connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
        if (probe >= 0) ::close(probe);
        if (live) throw fail("another server is listening there");
        ::unlink(path.c_str());
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw fail(std::strerror(errno));
    // The socket file's mode comes from the umask alone (Linux ignores a
    // fchmod before bind): 0600 whatever the caller's umask.
    const mode_t old = ::umask(0177);
    const int bound = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    const int bind_errno = errno;
    ::umask(old);
    if (bound != 0 || ::listen(fd, 64) != 0 || ::lstat(path.c_str(), &st) != 0) {
        const std::string why = std::strerror(bound != 0 ? bind_errno : errno);
        ::close(fd);
        throw fail(why);
    }
    *dev = st.st_dev;
    *ino = st.st_ino;
    return fd;
}

}  // namespace copilot
