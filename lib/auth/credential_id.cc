#include "auth/credential_id.h"

#include <cerrno>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <sys/random.h>

#include "util/errors.h"

namespace copilot {

namespace {

constexpr const char* kPrefix = "hmac-sha256:";
constexpr size_t kSaltBytes = 16;

// libcrypto's one-shot HMAC, loaded on first use (as net/curl_loader loads
// libcurl): linking it would cost every start, the fresh path included.
using EvpMdFn = const void* (*)();
using HmacFn = unsigned char* (*)(const void* md, const void* key, int key_len,
                                  const unsigned char* d, size_t n, unsigned char* out,
                                  unsigned int* out_len);
struct Crypto {
    EvpMdFn sha256 = nullptr;
    HmacFn hmac = nullptr;
};
Crypto g_crypto;
std::once_flag g_once;

template <typename F>
bool resolve(void* lib, const char* name, F& out) {
    void* sym = ::dlsym(lib, name);
    if (!sym) return false;
    static_assert(sizeof(F) == sizeof(void*), "function pointer size");
    std::memcpy(&out, &sym, sizeof out);
    return true;
}

const Crypto& crypto() {
    std::call_once(g_once, [] {
        void* lib = ::dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
        if (!lib) return;
        Crypto c;
        if (resolve(lib, "EVP_sha256", c.sha256) && resolve(lib, "HMAC", c.hmac)) g_crypto = c;
    });
    if (!g_crypto.hmac)
        throw Error(Exit::io, "cannot load libcrypto (libcrypto.so.3) to bind the token cache "
                              "to its GitHub login (--no-cache works without it)");
    return g_crypto;
}

std::string hex(const unsigned char* p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        out += digits[p[i] >> 4];
        out += digits[p[i] & 15];
    }
    return out;
}

std::string mac_hex(const std::string& salt_hex, std::string_view secret) {
    const Crypto& c = crypto();
    unsigned char out[64];
    unsigned int len = 0;
    if (!c.hmac(c.sha256(), salt_hex.data(), static_cast<int>(salt_hex.size()),
                reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), out, &len))
        throw Error(Exit::io, "libcrypto's HMAC failed");
    return hex(out, len);
}

}  // namespace

std::string credential_id(std::string_view secret) {
    unsigned char salt[kSaltBytes];
    size_t got = 0;
    while (got < sizeof salt) {
        ssize_t n = ::getrandom(salt + got, sizeof salt - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(Exit::io, std::string("cannot get random bytes: ") + std::strerror(errno));
        }
        got += static_cast<size_t>(n);
    }
    const std::string salt_hex = hex(salt, sizeof salt);
    return kPrefix + salt_hex + ":" + mac_hex(salt_hex, secret);
}

bool credential_matches(const std::string& id, std::string_view secret) {
    const size_t prefix = std::strlen(kPrefix);
    if (id.compare(0, prefix, kPrefix) != 0) return false;
    const size_t colon = id.find(':', prefix);
    if (colon == std::string::npos || colon == prefix) return false;
    const std::string want = mac_hex(id.substr(prefix, colon - prefix), secret);
    const std::string got = id.substr(colon + 1);
    if (got.size() != want.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < want.size(); ++i)
        diff |= static_cast<unsigned char>(want[i] ^ got[i]);
    return diff == 0;
}

}  // namespace copilot
