#include "serve/client_auth.h"

#include <cstdio>

#include "net/ascii.h"
#include "util/errors.h"
#include "util/files.h"
#include "util/text.h"

namespace copilot {

bool constant_time_equals(std::string_view given, std::string_view expected) {
    // Every byte of `expected` is looked at whatever `given` holds; the
    // length difference is folded into the result, not returned early.
    unsigned diff = given.size() == expected.size() ? 0u : 1u;
    for (size_t i = 0; i < expected.size(); ++i) {
        const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
        diff |= g ^ static_cast<unsigned char>(expected[i]);
    }
    return diff == 0 && !expected.empty();
}

std::optional<std::string> bearer_credentials(std::string_view authorization) {
    std::string v = trim(authorization);
    if (v.size() < 7 || !ascii_iequals(std::string_view(v).substr(0, 6), "bearer") ||
        (v[6] != ' ' && v[6] != '\t'))
        return std::nullopt;
    std::string cred = trim(std::string_view(v).substr(7));
    if (cred.empty()) return std::nullopt;
    return cred;
}

std::optional<std::string> client_credentials(const std::optional<std::string>& authorization,
                                              const std::optional<std::string>& x_api_key) {
    if (x_api_key) {
        std::string key = trim(*x_api_key);
        if (key.empty()) return std::nullopt;
        return key;
    }
    return authorization ? bearer_credentials(*authorization) : std::nullopt;
}

std::string read_api_key_file(const std::string& path, std::string* warning) {
    auto text = read_private_file(path, 64 * 1024);  // owner and mode checked
    if (!text) throw Error(Exit::io, "--api-key-file " + path + " does not exist");
    std::string first = text->substr(0, text->find('\n'));
    std::string key = trim(first);
    if (key.empty()) throw Error(Exit::data, "--api-key-file " + path + " holds no key");
    for (unsigned char c : key)
        if (c <= 0x20 || c >= 0x7f)
            throw Error(Exit::data, "--api-key-file " + path +
                                        ": the key must be printable ASCII without spaces");
    // A short key on a non-loopback address can be guessed: refused, not warned about.
    if (key.size() < 16)
        throw Error(Exit::data, "--api-key-file " + path + ": the key must be at least 16 bytes long");
    if (warning) warning->clear();  // a loose mode is refused above, not warned about
    return key;
}

}  // namespace copilot
