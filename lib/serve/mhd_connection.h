// What copilot-serve asks of a libmicrohttpd connection beyond the library's
// own calls (serve/http_server): who the client is, its socket, and the
// request path as sent (serve/parking watches whether the client is still there).
#pragma once

#include <cstddef>
#include <string>

#include <microhttpd.h>

namespace copilot {

// The client's IP address as text; "" for a Unix socket.
std::string client_ip(MHD_Connection* c);
// The connection's socket, -1 when libmicrohttpd does not say.
int connection_fd(MHD_Connection* c);
// MHD_OPTION_UNESCAPE_CALLBACK: the path is left as sent (see percent_decoded).
size_t keep_escaped(void* cls, MHD_Connection* c, char* s);
// The path with its %XX escapes decoded, every byte kept (%00 too).
std::string percent_decoded(const char* in);

}  // namespace copilot
