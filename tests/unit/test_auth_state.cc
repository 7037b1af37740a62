#include <cstdlib>
#include <string>
#include <sys/stat.h>

#include "auth/auth_state.h"
#include "auth/login.h"
#include "check.h"
#include "util/files.h"
#include "net/endpoints.h"
#include "util/paths.h"

using namespace copilot;

namespace {

std::string make_home() {
    char tmpl[] = "/tmp/copilot-auth-test.XXXXXX";
    std::string home = mkdtemp(tmpl);
    setenv("HOME", home.c_str(), 1);
    setenv("XDG_CONFIG_HOME", (home + "/config").c_str(), 1);
    setenv("XDG_CACHE_HOME", (home + "/cache").c_str(), 1);
    unsetenv("GITHUB_COPILOT_TOKEN");
    unsetenv("GH_COPILOT_TOKEN");
    unsetenv("COPILOT_GITHUB_URL");
    unsetenv("COPILOT_GITHUB_API_URL");
    return home;
}

const char* kDoc =
    R"({"host":"github.com","client_id":"Iv1.b507a08c87ecfe98","oauth_token":"ghu_fake_doc",)"
    R"("scope":"read:user","user":"octocat","created_at":1763700000,"extra":[1]})";

}  // namespace

TEST(auth_state_round_trips_and_ignores_unknown_fields) {
    AuthState s = parse_auth_state(kDoc, {"doc", Exit::data});
    CHECK_EQ(s.oauth_token, std::string("ghu_fake_doc"));
    CHECK_EQ(s.user, std::string("octocat"));
    CHECK_EQ(s.created_at, 1763700000);
    AuthState back = parse_auth_state(serialize_auth_state(s), {"doc", Exit::data});
    CHECK_EQ(back.host, s.host);
    CHECK_EQ(back.client_id, s.client_id);
    CHECK_EQ(back.scope, s.scope);
    CHECK_EQ(serialize_auth_state(s).back(), '\n');
}

TEST(auth_state_names_missing_and_mistyped_fields) {
    CHECK_THROWS_MSG(parse_auth_state(R"({"host":"github.com"})", {"doc", Exit::data}), Exit::data,
                     "'oauth_token' is missing");
    CHECK_THROWS_MSG(parse_auth_state(R"({"host":"github.com","oauth_token":7})", {"doc", Exit::data}),
                     Exit::data, "'oauth_token' must be a string");
    CHECK_THROWS_MSG(parse_auth_state(R"({"oauth_token":"ghu_x"})", {"doc", Exit::data}), Exit::data,
                     "'host' is missing");
    CHECK_THROWS(parse_auth_state(R"({"host":"../etc","oauth_token":"ghu_x"})", {"doc", Exit::data}),
                 Exit::usage);
    CHECK_THROWS(parse_auth_state(R"({"host":"github.com","oauth_token":"gh u"})", {"doc", Exit::data}),
                 Exit::data);
}

TEST(store_and_load_use_the_xdg_path_with_private_modes) {
    std::string home = make_home();
    AuthState s = parse_auth_state(kDoc, {"doc", Exit::data});
    std::string path = store_auth_state(s, "work");
    CHECK_EQ(path, home + "/config/copilot-utils/auth/github.com@work.json");
    CHECK_EQ(static_cast<int>(file_mode(path).value()), 0600);
    CHECK_EQ(static_cast<int>(file_mode(home + "/config/copilot-utils/auth").value()), 0700);
    auto loaded = load_auth_state("github.com", "work");
    CHECK(loaded.has_value());
    CHECK_EQ(loaded->oauth_token, std::string("ghu_fake_doc"));
    CHECK(!load_auth_state("github.com", "").has_value());
    chmod(path.c_str(), 0644);  // refused like ssh refuses a key others can read
    CHECK_THROWS(load_auth_state("github.com", "work"), Exit::io);
    CHECK(remove_auth_state("github.com", "work"));
    CHECK(!remove_auth_state("github.com", "work"));
}

TEST(token_precedence_follows_the_design) {
    std::string home = make_home();
    AuthState stored = parse_auth_state(kDoc, {"doc", Exit::data});
    stored.oauth_token = "ghu_fake_stored";
    store_auth_state(stored, "");
    write_file_atomic(home + "/config/github-copilot/apps.json",
                      R"({"github.com:Iv1.b507a08c87ecfe98":{"user":"o","oauth_token":"ghu_fake_vim"}})");
    write_file_atomic(home + "/flag.json", R"({"host":"github.com","oauth_token":"ghu_fake_flag"})");

    GithubTokenSources src;
    src.auth_file = home + "/flag.json";
    src.stdin_text = R"({"host":"github.com","oauth_token":"ghu_fake_stdin"})";
    setenv("GITHUB_COPILOT_TOKEN", "ghu_fake_env", 1);
    CHECK_EQ(find_github_token(src)->token, std::string("ghu_fake_flag"));
    src.auth_file.reset();
    CHECK_EQ(find_github_token(src)->token, std::string("ghu_fake_stdin"));
    src.stdin_text = "  \n";  // empty stdin means nothing piped
    CHECK_EQ(find_github_token(src)->token, std::string("ghu_fake_env"));
    unsetenv("GITHUB_COPILOT_TOKEN");
    setenv("GH_COPILOT_TOKEN", "ghu_fake_env2", 1);
    CHECK_EQ(find_github_token(src)->token, std::string("ghu_fake_env2"));
    unsetenv("GH_COPILOT_TOKEN");
    auto t = find_github_token(src);
    CHECK_EQ(t->token, std::string("ghu_fake_stored"));
    CHECK(t->source.find("auth file") == 0);
    remove_auth_state("github.com", "");
    CHECK_EQ(find_github_token(src)->token, std::string("ghu_fake_vim"));
    remove_file(home + "/config/github-copilot/apps.json");
    CHECK(!find_github_token(src).has_value());
}

TEST(auth_flag_errors) {
    std::string home = make_home();
    GithubTokenSources src;
    src.auth_file = home + "/missing.json";
    CHECK_THROWS(find_github_token(src), Exit::no_auth);
    src.auth_file = "-";
    CHECK_THROWS(find_github_token(src), Exit::data);
    src.stdin_text = "{bad";
    CHECK_THROWS(find_github_token(src), Exit::data);
}

TEST(vim_import_reads_both_file_shapes) {
    std::string home = make_home();
    write_file_atomic(home + "/config/github-copilot/hosts.json",
                      R"({"github.com":{"user":"o","oauth_token":"ghu_fake_hosts"}})");
    std::string source;
    CHECK_EQ(import_vim_token("github.com", &source).value(), std::string("ghu_fake_hosts"));
    CHECK(source.find("hosts.json") != std::string::npos);
    CHECK(!import_vim_token("acme.ghe.com").has_value());
}

TEST(endpoints_per_host_kind) {
    make_home();
    auto gh = github_endpoints("github.com");
    CHECK_EQ(gh.web_url, std::string("https://github.com"));
    CHECK_EQ(gh.github_api_url, std::string("https://api.github.com"));
    auto dr = github_endpoints("acme.ghe.com");
    CHECK_EQ(dr.github_api_url, std::string("https://api.acme.ghe.com"));
    auto ghes = github_endpoints("ghe.example.com");
    CHECK_EQ(ghes.github_api_url, std::string("https://ghe.example.com/api/v3"));
    setenv("COPILOT_GITHUB_API_URL", "http://127.0.0.1:9/api/", 1);
    CHECK_EQ(github_endpoints("github.com").github_api_url, std::string("http://127.0.0.1:9/api"));
    unsetenv("COPILOT_GITHUB_API_URL");
}

TEST(trusted_copilot_api_urls) {
    CHECK(is_trusted_copilot_api_url("https://api.individual.githubcopilot.com", "github.com"));
    CHECK(!is_trusted_copilot_api_url("http://api.individual.githubcopilot.com", "github.com"));
    CHECK(!is_trusted_copilot_api_url("https://githubcopilot.com.evil.io", "github.com"));
    CHECK(!is_trusted_copilot_api_url("https://evil.io/.githubcopilot.com", "github.com"));
    CHECK(!is_trusted_copilot_api_url("https://x.github.com", "github.com"));
    CHECK(is_trusted_copilot_api_url("https://copilot-api.acme.ghe.com", "acme.ghe.com"));
}

TEST(copilot_headers_are_complete_with_fresh_request_ids) {
    auto a = copilot_api_headers("tid=fake");
    auto b = copilot_api_headers("tid=fake");
    auto get = [](const HeaderList& h, const std::string& k) {
        for (auto& kv : h) if (kv.first == k) return kv.second;
        return std::string();
    };
    CHECK_EQ(get(a, "Authorization"), std::string("Bearer tid=fake"));
    CHECK_EQ(get(a, "Editor-Version"), std::string("vscode/1.104.3"));
    CHECK_EQ(get(a, "Copilot-Integration-Id"), std::string("vscode-chat"));
    CHECK_EQ(get(a, "X-GitHub-Api-Version"), std::string("2025-04-01"));
    CHECK_EQ(get(a, "X-Initiator"), std::string("user"));
    CHECK_EQ(get(a, "Openai-Intent"), std::string("conversation-panel"));
    CHECK(get(a, "X-Request-Id") != get(b, "X-Request-Id"));
    std::string id = get(a, "X-Request-Id");
    CHECK_EQ(id.size(), size_t{36});
    CHECK_EQ(id[14], '4');
    // No token ("no key": an empty COPILOT_TOKEN), no Authorization header.
    for (auto& kv : copilot_api_headers("")) CHECK(kv.first != "Authorization");
}

TEST(with_token_drops_a_bom_and_names_a_json_document) {
    CHECK_EQ(read_github_token_text("\xEF\xBB\xBFghu_fake_1\r\n", "--with-token"), "ghu_fake_1");
    CHECK_THROWS_MSG(read_github_token_text(R"({"host":"github.com","oauth_token":"ghu_x"})",
                                            "--with-token"),
                     Exit::data, "holds a JSON document, not a token");
    CHECK_THROWS_MSG(read_github_token_text("", "--with-token"), Exit::data, "no token");
}

TEST(a_profile_login_says_the_profile) {
    LoginResult r;
    r.state.host = "github.com";
    r.profile = "work";
    r.check.verdict = LoginCheck::Verdict::ok;
    r.check.user = "octocat";
    r.check.verified = true;
    r.check.sku = "free";
    CHECK_EQ(report_login(r).summary,
             std::string("Logged in to github.com (profile work) as octocat (Copilot: free)"));
}

TEST(list_auth_states_finds_every_login_sorted_and_skips_foreign_files) {
    std::string home = make_home();
    AuthState s = parse_auth_state(kDoc, {"doc", Exit::data});
    store_auth_state(s, "work");
    store_auth_state(s, "");
    const std::string dir = home + "/config/copilot-utils/auth/";
    write_file_atomic(dir + "broken.example.json", "{not json");
    write_file_atomic(dir + ".github.com.json.tmp.abc123", "partial");
    write_file_atomic(dir + "notes.txt", "x");
    auto all = list_auth_states();
    CHECK_EQ(all.size(), size_t{3});
    CHECK_EQ(all[0].name, std::string("broken.example"));
    CHECK(!all[0].state.has_value());
    CHECK(all[0].error.find("not valid JSON") != std::string::npos);
    CHECK_EQ(all[1].name, std::string("github.com"));
    CHECK_EQ(all[2].name, std::string("github.com@work"));
    CHECK_EQ(all[2].profile, std::string("work"));
    CHECK_EQ(all[2].state->user, std::string("octocat"));
}
