#include "net/url_policy.h"

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <string_view>

#include "net/ascii.h"
#include "util/errors.h"

namespace copilot {

namespace {

struct UrlParts {
    bool has_authority = false;  // "scheme://..." form
    std::string scheme;          // lower-cased
    std::string host;            // lower-cased, no brackets
    bool bad_port = false;
    bool bad_brackets = false;
};

// A deliberately small parser: scheme "://" [userinfo "@"] host [":" port].
// check_url_policy() rejects anything that could make it disagree with
// libcurl's parser (spaces, control characters, backslashes).
UrlParts parse_url(std::string_view url) {
    UrlParts p;
    size_t sep = url.find("://");
    if (sep == std::string_view::npos || sep == 0) return p;
    std::string_view scheme = url.substr(0, sep);
    if (!is_ascii_alpha(scheme[0])) return p;
    for (char c : scheme)
        if (!is_ascii_alnum(c) && c != '+' && c != '-' && c != '.')
            return p;
    p.has_authority = true;
    p.scheme = ascii_lowered(scheme);

    std::string_view rest = url.substr(sep + 3);
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    size_t at = authority.rfind('@');
    if (at != std::string_view::npos) authority.remove_prefix(at + 1);

    std::string_view host, port;
    bool has_port = false;
    if (!authority.empty() && authority[0] == '[') {
        size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            p.bad_brackets = true;
            return p;
        }
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') p.bad_port = true;
            has_port = true;
            port = after.substr(1);
        }
    } else {
        size_t colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            has_port = true;
            port = authority.substr(colon + 1);
        }
    }
    if (has_port) {
        if (port.size() > 5) p.bad_port = true;
        for (char c : port)
            if (!is_ascii_digit(c)) p.bad_port = true;
    }
    p.host = ascii_lowered(host);
    return p;
}

}  // namespace

bool is_loopback_ip(const std::string& ip) {
    // inet_pton takes strict dotted quads only (no octal, hex or short forms).
    in_addr v4{};
    if (::inet_pton(AF_INET, ip.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    if (::inet_pton(AF_INET6, ip.c_str(), &v6) != 1) return false;
    return std::memcmp(&v6, &in6addr_loopback, sizeof v6) == 0;
}

bool is_loopback_peer(const std::string& ip) {
    if (is_loopback_ip(ip)) return true;
    in6_addr v6{};
    if (::inet_pton(AF_INET6, ip.c_str(), &v6) != 1) return false;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(v6.s6_addr, mapped, sizeof mapped) == 0 && v6.s6_addr[12] == 127;
}

bool is_loopback_sockaddr(const sockaddr* a, socklen_t len) {
    char buf[INET6_ADDRSTRLEN] = "";
    if (a->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        sockaddr_in in{};
        std::memcpy(&in, a, sizeof in);
        ::inet_ntop(AF_INET, &in.sin_addr, buf, sizeof buf);
    } else if (a->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, a, sizeof in6);
        ::inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof buf);
    }
    return is_loopback_ip(buf);
}

bool is_loopback_host(const std::string& host) {
    std::string h = ascii_lowered(host);
    if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    return h == "localhost" || is_loopback_ip(h);
}

std::string url_host(const std::string& url) {
    UrlParts p = parse_url(url);
    return p.has_authority ? p.host : "";
}

std::string url_scheme(const std::string& url) { return parse_url(url).scheme; }

void check_url_policy(const std::string& url) {
    if (url.empty()) throw Error(Exit::usage, "unsupported URL (empty)");
    for (char c : url) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '\\')
            throw Error(Exit::usage,
                        "unsupported URL: it contains spaces, control characters or backslashes");
    }
    UrlParts p = parse_url(url);
    if (!p.has_authority || (p.scheme != "https" && p.scheme != "http"))
        throw Error(Exit::usage, "unsupported URL " + url +
                                     ": only https:// (and http:// to loopback hosts) is allowed");
    if (p.bad_brackets || p.bad_port)
        throw Error(Exit::usage, "unsupported URL " + url + ": malformed host or port");
    if (p.host.empty()) throw Error(Exit::usage, "unsupported URL " + url + ": no host");
    if (p.scheme == "http" && !is_loopback_host(p.host))
        throw Error(Exit::usage, "refusing to connect to " + url +
                                     ": plain http is only allowed to loopback hosts");
}

}  // namespace copilot
