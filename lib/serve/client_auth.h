// copilot-serve's client keys: the Bearer header, the --api-key-file, and
// a comparison that does not leak the key through timing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace copilot {

// Compares in time that depends on the length of `expected` only, so that
// a client cannot find the key byte by byte from response times.
bool constant_time_equals(std::string_view given, std::string_view expected);
// The credentials of "Bearer <key>" (scheme case-insensitive), or nullopt.
std::optional<std::string> bearer_credentials(std::string_view authorization);
// The key a client sends, the OpenAI way ("Authorization: Bearer <key>") or
// the Anthropic way ("x-api-key: <key>"); x-api-key first when both are
// there, so that one wrong key is never rescued by the other header.
std::optional<std::string> client_credentials(const std::optional<std::string>& authorization,
                                              const std::optional<std::string>& x_api_key);
// The key in an --api-key-file: the first line, trimmed. Error(data) when
// empty or not printable ASCII, Error(io)/(no_auth) when unreadable/missing.
// `warning` gets a message when the file is readable by group or others.
std::string read_api_key_file(const std::string& path, std::string* warning);

}  // namespace copilot
