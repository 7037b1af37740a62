// The URL policy of ARCHITECTURE.md, and the one loopback test of the
// toolkit: https:// to anywhere; http:// only to loopback hosts. Used
// before a connection (check_url_policy), when a socket opens
// (is_loopback_sockaddr) and by copilot-serve for its clients and its
// listen address (is_loopback_peer).
#pragma once

#include <string>
#include <sys/socket.h>

namespace copilot {

// Throws Error(usage) naming the URL when the policy refuses it (also for
// spaces, control characters or backslashes, on which URL parsers disagree).
void check_url_policy(const std::string& url);
// "localhost", or a loopback IP literal (brackets allowed around IPv6).
bool is_loopback_host(const std::string& host);
// A loopback IP literal: 127.0.0.0/8 in strict dotted-quad form (leading
// zeros refused: some resolvers read "0127.0.0.1" as octal) or ::1. The
// v4-mapped ::ffff:127.x.y.z is not one here: a URL naming it is refused.
bool is_loopback_ip(const std::string& ip);
// The same for a socket address (AF_INET, AF_INET6); false for others.
bool is_loopback_sockaddr(const sockaddr* a, socklen_t len);
// A client's (or a listen) address: is_loopback_ip, or ::ffff:127.x.y.z,
// which is how a dual-stack socket sees an IPv4 loopback client.
bool is_loopback_peer(const std::string& ip);

// Host part of a URL ("" if it has none). Lower-cased, without port or brackets.
std::string url_host(const std::string& url);
// Scheme of a URL, lower-cased ("" if it has none).
std::string url_scheme(const std::string& url);

}  // namespace copilot
