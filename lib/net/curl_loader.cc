#include "net/curl_loader.h"

#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <string>

#include "util/errors.h"

namespace copilot {

namespace {

CurlApi g_curl;
std::string g_curl_error;  // set once if loading failed
std::once_flag g_curl_once;

template <typename F>
bool resolve(void* lib, const char* name, F& out) {
    void* sym = ::dlsym(lib, name);
    if (!sym) return false;
    // POSIX guarantees object pointers from dlsym convert to function pointers.
    static_assert(sizeof(F) == sizeof(void*), "function pointer size");
    std::memcpy(&out, &sym, sizeof out);
    return true;
}

void load_curl_once() {
    void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char* e = ::dlerror();
        g_curl_error = "cannot load libcurl (libcurl.so.4): " +
                       std::string(e ? e : "unknown error");
        return;
    }
    CurlApi api{};
    const char* missing = nullptr;
    if (!resolve(lib, "curl_global_init", api.global_init)) missing = "curl_global_init";
    else if (!resolve(lib, "curl_easy_init", api.easy_init)) missing = "curl_easy_init";
    else if (!resolve(lib, "curl_easy_setopt", api.setopt)) missing = "curl_easy_setopt";
    else if (!resolve(lib, "curl_easy_perform", api.perform)) missing = "curl_easy_perform";
    else if (!resolve(lib, "curl_easy_getinfo", api.getinfo)) missing = "curl_easy_getinfo";
    else if (!resolve(lib, "curl_easy_cleanup", api.cleanup)) missing = "curl_easy_cleanup";
    else if (!resolve(lib, "curl_easy_reset", api.reset)) missing = "curl_easy_reset";
    else if (!resolve(lib, "curl_easy_strerror", api.strerror)) missing = "curl_easy_strerror";
    else if (!resolve(lib, "curl_slist_append", api.slist_append)) missing = "curl_slist_append";
    else if (!resolve(lib, "curl_slist_free_all", api.slist_free_all))
        missing = "curl_slist_free_all";
    else if (!resolve(lib, "curl_easy_pause", api.easy_pause)) missing = "curl_easy_pause";
    else if (!resolve(lib, "curl_multi_init", api.multi_init)) missing = "curl_multi_init";
    else if (!resolve(lib, "curl_multi_setopt", api.multi_setopt)) missing = "curl_multi_setopt";
    else if (!resolve(lib, "curl_multi_add_handle", api.multi_add_handle))
        missing = "curl_multi_add_handle";
    else if (!resolve(lib, "curl_multi_remove_handle", api.multi_remove_handle))
        missing = "curl_multi_remove_handle";
    else if (!resolve(lib, "curl_multi_socket_action", api.multi_socket_action))
        missing = "curl_multi_socket_action";
    else if (!resolve(lib, "curl_multi_info_read", api.multi_info_read))
        missing = "curl_multi_info_read";
    else if (!resolve(lib, "curl_multi_assign", api.multi_assign)) missing = "curl_multi_assign";
    else if (!resolve(lib, "curl_multi_cleanup", api.multi_cleanup)) missing = "curl_multi_cleanup";
    if (missing) {
        g_curl_error = std::string("cannot load libcurl (libcurl.so.4): missing ") + missing;
        return;  // the library stays loaded; harmless
    }
    if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        g_curl_error = "cannot load libcurl (libcurl.so.4): curl_global_init failed";
        return;
    }
    g_curl = api;
}

}  // namespace

const CurlApi& curl_api() {
    std::call_once(g_curl_once, load_curl_once);
    if (!g_curl_error.empty()) throw Error(Exit::io, g_curl_error);
    return g_curl;
}

}  // namespace copilot
