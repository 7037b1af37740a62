// The binding of a cached Copilot token to the GitHub credential it was
// minted from (ARCHITECTURE.md, "the path of a token"): a salted
// HMAC-SHA256 of the GitHub token, stored with the cache entry, so that
// another credential never gets that entry. libcrypto is loaded only when
// an id is computed: the fresh-cache path without an explicit credential
// never computes one.
#pragma once

#include <string>
#include <string_view>

namespace copilot {

// "hmac-sha256:SALT:MAC" (hex): a new random 16-byte salt, and
// HMAC-SHA256(key = salt, data = secret). Error(io) when libcrypto cannot
// be loaded or no random bytes can be had.
std::string credential_id(std::string_view secret);
// Whether `id` (as credential_id writes it) was computed from `secret`;
// false for "" or any other shape. Constant-time in the MAC comparison.
bool credential_matches(const std::string& id, std::string_view secret);

}  // namespace copilot
