// Unit tests for lib/net/url_policy.cc: the URL policy and the one loopback
// test the toolkit has (URLs, sockets, copilot-serve's clients).
#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <string>

#include "check.h"
#include "net/endpoints.h"
#include "net/url_policy.h"
#include "util/errors.h"

using copilot::Exit;

TEST(url_policy_allows) {
    for (const char* u :
         {"https://api.github.com/copilot_internal/v2/token", "HTTPS://Example.COM",
          "https://user:pw@github.com:443/login?x=1#f", "https://[2001:db8::1]:8443/",
          "http://127.0.0.1:8080/", "http://127.1.2.3/x", "http://[::1]:9/", "http://localhost/",
          "HTTP://LOCALHOST:1/path", "http://user:pw@127.0.0.1:5/", "http://127.255.255.255",
          "http://[0:0:0:0:0:0:0:1]/"}) {
        try {
            copilot::check_url_policy(u);
        } catch (const copilot::Error& e) {
            check::fail(__FILE__, __LINE__, std::string(u) + " refused: " + e.what());
        }
    }
}

TEST(url_policy_refuses) {
    for (const char* u :
         {"http://example.com/", "http://10.0.0.1/", "http://127.0.0.1.evil.com/",
          "http://localhost.evil.com/", "http://127.0.0.1@evil.com/",
          "http://127.0.0.1:80@evil.com/", "http://evil.com#@127.0.0.1/",
          "http://evil.com?@127.0.0.1/", "http://0127.0.0.1/", "http://127.1/",
          "http://127.0.0.1.", "http://128.0.0.1/", "http://[::2]/", "http://[::1/",
          "http://127.0.0.1:80x/", "http://evil.com\\@127.0.0.1/", "http://127.0.0.1 /",
          "ftp://127.0.0.1/", "file:///etc/passwd", "", "example.com", "//example.com/",
          "https://", "https:///path", "http://", "gopher://localhost/", "https:example.com"}) {
        CHECK_THROWS(copilot::check_url_policy(u), Exit::usage);
    }
    CHECK_THROWS_MSG(copilot::check_url_policy("http://example.com/x"), Exit::usage,
                     "plain http is only allowed to loopback hosts");
    CHECK_THROWS_MSG(copilot::check_url_policy("ftp://example.com/x"), Exit::usage,
                     "unsupported URL");
}

TEST(loopback_hosts) {
    CHECK(copilot::is_loopback_host("localhost"));
    CHECK(copilot::is_loopback_host("LocalHost"));
    CHECK(copilot::is_loopback_host("127.0.0.1"));
    CHECK(copilot::is_loopback_host("127.200.3.4"));
    CHECK(copilot::is_loopback_host("::1"));
    CHECK(copilot::is_loopback_host("[::1]"));
    CHECK(!copilot::is_loopback_host(""));
    CHECK(!copilot::is_loopback_host("127.0.0"));
    CHECK(!copilot::is_loopback_host("127.0.0.1.2"));
    CHECK(!copilot::is_loopback_host("127.0.0.256"));
    CHECK(!copilot::is_loopback_host("1127.0.0.1"));
    CHECK(!copilot::is_loopback_host("0x7f.0.0.1"));
    CHECK(!copilot::is_loopback_host("localhost.evil.com"));
    CHECK(!copilot::is_loopback_host("::2"));
    CHECK(!copilot::is_loopback_host("10.0.0.1"));
}

TEST(url_host_parts) {
    CHECK_EQ(copilot::url_host("https://API.GitHub.com/x"), "api.github.com");
    CHECK_EQ(copilot::url_host("https://user:pw@github.com:443/login"), "github.com");
    CHECK_EQ(copilot::url_host("http://[::1]:8080/"), "::1");
    CHECK_EQ(copilot::url_host("http://127.0.0.1:5"), "127.0.0.1");
    CHECK_EQ(copilot::url_host("https://a.b?x=@c"), "a.b");
    CHECK_EQ(copilot::url_host("https://a.b#@c"), "a.b");
    CHECK_EQ(copilot::url_host("example.com"), "");
    CHECK_EQ(copilot::url_host(""), "");
}

TEST(loopback_client_addresses) {
    CHECK(copilot::is_loopback_peer("127.0.0.1"));
    CHECK(copilot::is_loopback_peer("127.255.0.3"));
    CHECK(copilot::is_loopback_peer("::1"));
    CHECK(copilot::is_loopback_peer("::ffff:127.0.0.1"));  // a dual-stack socket's IPv4 client
    CHECK(!copilot::is_loopback_peer("::ffff:10.0.0.1"));
    CHECK(!copilot::is_loopback_peer("10.0.0.1"));
    CHECK(!copilot::is_loopback_peer("fe80::1"));
    CHECK(!copilot::is_loopback_peer(""));
    CHECK(!copilot::is_loopback_peer("localhost"));
}

TEST(a_v4_mapped_address_is_a_loopback_peer_but_not_a_loopback_url_host) {
    CHECK(!copilot::is_loopback_ip("::ffff:127.0.0.1"));
    CHECK(!copilot::is_loopback_host("[::ffff:127.0.0.1]"));
    CHECK_THROWS(copilot::check_url_policy("http://[::ffff:127.0.0.1]/"), Exit::usage);
    CHECK(copilot::is_loopback_ip("127.0.0.1"));
    CHECK(copilot::is_loopback_ip("::1"));
}

TEST(loopback_socket_addresses) {
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.3.2.1", &v4.sin_addr);
    CHECK(copilot::is_loopback_sockaddr(reinterpret_cast<sockaddr*>(&v4), sizeof v4));
    ::inet_pton(AF_INET, "10.0.0.1", &v4.sin_addr);
    CHECK(!copilot::is_loopback_sockaddr(reinterpret_cast<sockaddr*>(&v4), sizeof v4));
    CHECK(!copilot::is_loopback_sockaddr(reinterpret_cast<sockaddr*>(&v4), 2));  // cut short
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    v6.sin6_addr = in6addr_loopback;
    CHECK(copilot::is_loopback_sockaddr(reinterpret_cast<sockaddr*>(&v6), sizeof v6));
    ::inet_pton(AF_INET6, "::2", &v6.sin6_addr);
    CHECK(!copilot::is_loopback_sockaddr(reinterpret_cast<sockaddr*>(&v6), sizeof v6));
}


// Issue 13: hostile endpoints.api values that name another host to libcurl.
TEST(trusted_copilot_api_url_refuses_hostile_forms) {
    using copilot::is_trusted_copilot_api_url;
    CHECK(is_trusted_copilot_api_url("https://api.githubcopilot.com", "github.com"));
    CHECK(is_trusted_copilot_api_url("https://api.githubcopilot.com:443/v1", "github.com"));
    CHECK(!is_trusted_copilot_api_url("https://evil.com\\.githubcopilot.com", "github.com"));
    CHECK(!is_trusted_copilot_api_url("https://x.githubcopilot.com@evil.com", "github.com"));
    CHECK(!is_trusted_copilot_api_url("https://evil.com#.githubcopilot.com", "github.com"));
    CHECK(!is_trusted_copilot_api_url("https://evil.com?.githubcopilot.com", "github.com"));
    CHECK(!is_trusted_copilot_api_url("https://api.githubcopilot.com/a\\b", "github.com"));
    CHECK(!is_trusted_copilot_api_url("https://api.githubcopilot.com:x", "github.com"));
    CHECK(!is_trusted_copilot_api_url("https://evil.com%2e.githubcopilot.com", "github.com"));
}
