// copilot-serve's configuration values: the listen address and byte sizes.
#pragma once

#include <cstddef>
#include <string>
#include <sys/types.h>

namespace copilot {

constexpr const char* kDefaultListen = "127.0.0.1:4141";
constexpr size_t kDefaultMaxBody = 16u << 20;  // request bodies; 413 past it

// --listen ADDR:PORT: an IPv4 literal, [IPv6 literal] or "localhost" (which
// means 127.0.0.1), a colon, and a port 0-65535 (0: the kernel picks one).
// Or --listen unix:PATH: a Unix socket, mode 0600 (only its user gets in,
// where a loopback port is every local user's).
struct ListenAddress {
    std::string host;  // as it goes in a URL: "127.0.0.1", "[::1]"
    std::string ip;    // the literal without brackets
    bool ipv6 = false;
    int port = 0;
    bool loopback = false;  // also true for a Unix socket: only local clients
    std::string unix_path;  // set: a Unix socket there
};
// Error(usage) naming the text when it is not such an address, or when
// unix:PATH names something that exists and is not a socket (it is never
// replaced; an old socket is, when no server answers on it).
ListenAddress parse_listen(const std::string& text);
// "http://HOST:PORT" ("unix:PATH"), for the "listening on" line.
std::string listen_url(const ListenAddress& a, int port);

// A Unix socket at `path` (mode 0600), listening; its device and inode go
// to *dev and *ino, so that the server removes only its own socket at the
// end. An old socket there is replaced only when nobody answers on it.
// Error(usage) when something else is there, Error(unavailable) otherwise.
int listen_unix(const std::string& path, dev_t* dev, ino_t* ino);

// "16M", "512K", "1048576": a byte count with an optional K/M/G suffix
// (powers of 1024). Error(usage) naming `flag` otherwise.
size_t parse_size(const std::string& text, const std::string& flag);

}  // namespace copilot
