#include <cstdlib>
#include <string>
#include <pwd.h>
#include <unistd.h>

#include "check.h"
#include "util/paths.h"

using namespace copilot;

namespace {
void set(const char* k, const char* v) {
    if (v) setenv(k, v, 1); else unsetenv(k);
}
}  // namespace

TEST(xdg_absolute_value_is_used) {
    set("HOME", "/home/u");
    set("XDG_CONFIG_HOME", "/x/conf");
    set("XDG_CACHE_HOME", "/x/cache");
    CHECK_EQ(config_home(), std::string("/x/conf"));
    CHECK_EQ(cache_home(), std::string("/x/cache"));
}

TEST(xdg_unset_empty_or_relative_falls_back_to_home) {
    set("HOME", "/home/u");
    for (const char* v : {static_cast<const char*>(nullptr), "", "relative/dir", "./x"}) {
        set("XDG_CONFIG_HOME", v);
        set("XDG_CACHE_HOME", v);
        CHECK_EQ(config_home(), std::string("/home/u/.config"));
        CHECK_EQ(cache_home(), std::string("/home/u/.cache"));
    }
}

TEST(a_relative_or_unset_home_falls_back_to_the_passwd_entry) {
    set("XDG_CONFIG_HOME", nullptr);
    const passwd* pw = ::getpwuid(::getuid());
    CHECK(pw && pw->pw_dir && pw->pw_dir[0] == '/');
    const std::string want = std::string(pw->pw_dir) + "/.config";
    set("HOME", nullptr);
    CHECK_EQ(config_home(), want);
    set("HOME", "relative");
    CHECK_EQ(config_home(), want);
    set("HOME", "");
    CHECK_EQ(config_home(), want);
}

TEST(state_files_are_named_by_host_and_profile) {
    set("HOME", "/h");
    set("XDG_CONFIG_HOME", "/c");
    set("XDG_CACHE_HOME", "/k");
    CHECK_EQ(auth_file_path("github.com", ""), std::string("/c/copilot-utils/auth/github.com.json"));
    CHECK_EQ(auth_file_path("acme.ghe.com", "work"),
             std::string("/c/copilot-utils/auth/acme.ghe.com@work.json"));
    CHECK_EQ(token_cache_path("github.com", "ci"),
             std::string("/k/copilot-utils/token/github.com@ci.json"));
}

TEST(names_that_escape_the_directory_are_refused) {
    for (const char* bad : {"", "..", ".", "a/b", "../x", "a b", "x\n"}) {
        CHECK_THROWS(state_name(bad, ""), Exit::usage);
        CHECK_THROWS(state_name("github.com", bad[0] ? bad : "/"), Exit::usage);
    }
    CHECK_EQ(state_name("localhost:8443", ""), std::string("localhost:8443"));
}

TEST(dir_name_of_paths) {
    CHECK_EQ(dir_name("/a/b/c.json"), std::string("/a/b"));
    CHECK_EQ(dir_name("c.json"), std::string("."));
    CHECK_EQ(dir_name("/c.json"), std::string("/"));
}

TEST(data_home_follows_xdg_rules) {
    set("HOME", "/home/u");
    set("XDG_DATA_HOME", "/x/data");
    CHECK_EQ(data_home(), std::string("/x/data"));
    set("XDG_DATA_HOME", "relative");
    CHECK_EQ(data_home(), std::string("/home/u/.local/share"));
    set("XDG_DATA_HOME", nullptr);
    CHECK_EQ(data_home(), std::string("/home/u/.local/share"));
}
