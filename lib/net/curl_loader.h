// libcurl, loaded with dlopen() on the first request rather than linked:
// loading it drags in OpenSSL, nghttp2, GSSAPI, LDAP... (~6 ms of dynamic
// linking), and copilot-token's fresh-cache path, which never touches the
// network, must not pay for that. Only types and constants come from
// <curl/curl.h>; calls go through the pointers below.
#pragma once

#include <curl/curl.h>

namespace copilot {

struct CurlApi {
    CURLcode (*global_init)(long flags);
    CURL* (*easy_init)();
    CURLcode (*setopt)(CURL*, CURLoption, ...);
    CURLcode (*perform)(CURL*);
    CURLcode (*getinfo)(CURL*, CURLINFO, ...);
    void (*cleanup)(CURL*);
    void (*reset)(CURL*);
    const char* (*strerror)(CURLcode);
    curl_slist* (*slist_append)(curl_slist*, const char*);
    void (*slist_free_all)(curl_slist*);
    CURLcode (*easy_pause)(CURL*, int bitmask);
    // The multi interface (net/http_loop: copilot-serve's transfers).
    CURLM* (*multi_init)();
    CURLMcode (*multi_setopt)(CURLM*, CURLMoption, ...);
    CURLMcode (*multi_add_handle)(CURLM*, CURL*);
    CURLMcode (*multi_remove_handle)(CURLM*, CURL*);
    CURLMcode (*multi_socket_action)(CURLM*, curl_socket_t, int ev_bitmask, int* running);
    CURLMsg* (*multi_info_read)(CURLM*, int* msgs_in_queue);
    CURLMcode (*multi_assign)(CURLM*, curl_socket_t, void* socketp);
    CURLMcode (*multi_cleanup)(CURLM*);
};

// libcurl, loaded and initialised once per process. Error(io) naming what
// is missing when it cannot be loaded (every later call throws the same).
const CurlApi& curl_api();

}  // namespace copilot
