#include "serve/mhd_connection.h"

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>

namespace copilot {

std::string client_ip(MHD_Connection* c) {
    const MHD_ConnectionInfo* ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr) return "";
    const sockaddr* sa = ci->client_addr;
    char buf[INET6_ADDRSTRLEN] = "";
    if (sa->sa_family == AF_INET) {
        sockaddr_in in{};
        std::memcpy(&in, sa, sizeof in);
        ::inet_ntop(AF_INET, &in.sin_addr, buf, sizeof buf);
    } else if (sa->sa_family == AF_INET6) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, sa, sizeof in6);
        ::inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof buf);
    }
    return buf;
}

int connection_fd(MHD_Connection* c) {
    const MHD_ConnectionInfo* ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

// libmicrohttpd's own unescaping writes into its C string, where %00 ends
// the path (GET /v1/models/gpt-4o%00junk would ask for gpt-4o): it is left
// undone here, and on_access decodes the path into a std::string, which
// holds any byte (control bytes then show as '?' wherever they are echoed).
size_t keep_escaped(void* /*cls*/, MHD_Connection* /*c*/, char* s) { return std::strlen(s); }

std::string percent_decoded(const char* in) {
    std::string out;
    for (; *in; ++in) {
        if (in[0] == '%' && hex_value(in[1]) >= 0 && hex_value(in[2]) >= 0) {
            out += static_cast<char>(hex_value(in[1]) * 16 + hex_value(in[2]));
            in += 2;
        } else {
            out += *in;
        }
    }
    return out;
}

}  // namespace copilot
