#include "util/paths.h"

#include <cstdlib>
#include <pwd.h>
#include <unistd.h>

#include "util/errors.h"

namespace copilot {

namespace {

// $HOME when absolute, else the passwd entry's home (what a login shell
// would have set): a relative or unset $HOME is not a place to keep secrets.
std::string home_dir(const char* var) {
    const char* home = std::getenv("HOME");
    if (home && home[0] == '/') return home;
    if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_dir && pw->pw_dir[0] == '/')
        return pw->pw_dir;
    throw Error(Exit::io, std::string("cannot find the home directory: $HOME is ") +
                              (home ? "not an absolute path" : "unset") + ", $" + var +
                              " is not an absolute path and the passwd entry has none");
}

std::string xdg_dir(const char* var, const char* fallback) {
    const char* v = std::getenv(var);
    // The spec says relative values are invalid and must be ignored.
    if (v && v[0] == '/') return v;
    return home_dir(var) + "/" + fallback;
}

bool valid_name(const std::string& s) {
    if (s.empty() || s == "." || s == ".." || s.size() > 200) return false;
    for (unsigned char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_' || c == ':';
        if (!ok) return false;
    }
    return true;
}

}  // namespace

std::string config_home() { return xdg_dir("XDG_CONFIG_HOME", ".config"); }
std::string cache_home() { return xdg_dir("XDG_CACHE_HOME", ".cache"); }
std::string data_home() { return xdg_dir("XDG_DATA_HOME", ".local/share"); }
std::string state_home() { return xdg_dir("XDG_STATE_HOME", ".local/state"); }

std::string state_name(const std::string& host, const std::string& profile) {
    if (!valid_name(host)) throw Error(Exit::usage, "invalid host name: '" + host + "'");
    if (profile.empty()) return host;
    if (!valid_name(profile))
        throw Error(Exit::usage,
                    "invalid profile name: '" + profile + "' (use letters, digits, . - _)");
    return host + "@" + profile;
}

std::string auth_file_path(const std::string& host, const std::string& profile) {
    return config_home() + "/copilot-utils/auth/" + state_name(host, profile) + ".json";
}

std::string token_cache_path(const std::string& host, const std::string& profile) {
    return cache_home() + "/copilot-utils/token/" + state_name(host, profile) + ".json";
}

std::string dir_name(const std::string& path) {
    size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

}  // namespace copilot
