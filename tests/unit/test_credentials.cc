// lib/auth/credentials and lib/auth/login: where the GitHub token and the
// Copilot token come from, the one reader of a given Copilot token, the one
// rule for the Copilot API base URL, and finishing a login (no network: the
// GitHub API points at a closed port).
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "auth/credential_id.h"
#include "auth/credentials.h"
#include "auth/login.h"
#include "check.h"
#include "util/files.h"
#include "util/paths.h"

using namespace copilot;

namespace copilot {
std::ostream& operator<<(std::ostream& os, Exit e) { return os << static_cast<int>(e); }
}  // namespace copilot

namespace {

const int64_t kNow = 1763700000;

// A fresh HOME and XDG dirs, no token in the environment, GitHub unreachable.
std::string make_home() {
    char tmpl[] = "/tmp/test_credentials.XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    if (!d) std::abort();
    std::string home = d;
    ::setenv("HOME", home.c_str(), 1);
    ::setenv("XDG_CONFIG_HOME", (home + "/config").c_str(), 1);
    ::setenv("XDG_CACHE_HOME", (home + "/cache").c_str(), 1);
    for (const char* v : {"GITHUB_COPILOT_TOKEN", "GH_COPILOT_TOKEN", "COPILOT_TOKEN",
                          "COPILOT_API_URL", "COPILOT_GITHUB_URL"})
        ::unsetenv(v);
    ::setenv("COPILOT_GITHUB_API_URL", "http://127.0.0.1:9", 1);  // discard: nothing listens
    ::setenv("COPILOT_TIMEOUT", "2", 1);
    return home;
}

void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

CopilotToken fresh_token(const std::string& token) {
    CopilotToken t;
    t.host = "github.com";
    t.token = token;
    t.fetched_at = kNow;
    t.refresh_in = 1500;
    t.expires_at = kNow + 1800;
    t.api_url = "https://api.individual.githubcopilot.com";
    return t;
}

const char* kStored = R"({"host":"github.com","oauth_token":"ghu_stored_0123"})";

}  // namespace

// --- the GitHub token ----------------------------------------------------------------

TEST(not_logged_in_has_one_wording) {
    make_home();
    CredentialRequest req;
    CHECK_EQ(not_logged_in_message("github.com"), "not logged in to github.com; run copilot-login");
    CHECK_THROWS_MSG(find_github_login(req), Exit::no_auth,
                     "not logged in to github.com; run copilot-login");
}

TEST(a_stored_auth_file_whose_host_differs_from_its_name_says_what_is_wrong) {
    make_home();
    const std::string auth = auth_file_path("github.com", "");
    make_dirs(dir_name(auth), 0700, true);
    write_file_atomic(auth, R"({"host":"ghe.example.com","oauth_token":"ghu_x_0123"})");
    CredentialRequest req;
    // Not "add --host ghe.example.com": that would read another file.
    CHECK_THROWS_MSG(find_github_login(req), Exit::data,
                     "is named for github.com but holds a login for ghe.example.com; run "
                     "copilot-login --host github.com");
}

TEST(a_login_for_another_host_is_a_usage_error) {
    std::string home = make_home();
    write(home + "/auth.json", R"({"host":"ghe.example.com","oauth_token":"ghu_x_0123"})");
    ::chmod((home + "/auth.json").c_str(), 0600);
    CredentialRequest req;
    req.auth_file = home + "/auth.json";
    CHECK_THROWS_MSG(find_github_login(req), Exit::usage,
                     "is for ghe.example.com, not github.com; add --host ghe.example.com");
}

TEST(a_loose_auth_file_is_refused_and_notes_mask_the_token) {
    std::string home = make_home();
    write(home + "/auth.json", kStored);
    ::chmod((home + "/auth.json").c_str(), 0600);
    CredentialRequest req;
    req.auth_file = home + "/auth.json";
    std::vector<std::string> notes;
    req.token.log = [&notes](const std::string& m) { notes.push_back(m); };
    GithubToken gt = find_github_login(req);
    CHECK_EQ(gt.token, "ghu_stored_0123");
    CHECK_EQ(notes.size(), size_t{1});
    CHECK(notes[0].find("ghu_stored_0123") == std::string::npos);
    ::chmod((home + "/auth.json").c_str(), 0644);
    CHECK_THROWS_MSG(find_github_login(req), Exit::io, "too open");
}

TEST(standard_input_is_a_given_credential_bound_to_its_cache_entry) {
    make_home();
    int asked = 0;
    CredentialRequest req;
    req.token.profile = "stdin";
    req.read_stdin = [&asked](bool required) -> std::optional<std::string> {
        ++asked;
        CHECK(!required);
        return std::string(kStored);
    };
    CHECK_EQ(find_github_login(req).token, "ghu_stored_0123");
    CHECK_EQ(asked, 1);
    // A fresh entry of another login is not handed to the piped credential:
    // an exchange is due (and fails here, GitHub being unreachable).
    store_token_cache(fresh_token("tid=other"), "stdin", "ghu_other_login");
    CHECK_THROWS(get_copilot_credentials(req, kNow + 10), Exit::temp);
    CHECK_EQ(read_token_cache("github.com", "stdin")->token, "tid=other");  // left as it was
    // An entry minted from the piped token is its own.
    store_token_cache(fresh_token("tid=mine"), "stdin", "ghu_stored_0123");
    CopilotTokenResult r = get_copilot_credentials(req, kNow + 10);
    CHECK(r.from_cache);
    CHECK_EQ(r.token.token, "tid=mine");
    // Without an explicit credential the entry is taken without any lookup.
    req.read_stdin = nullptr;
    store_token_cache(fresh_token("tid=stored"), "stdin", "ghu_whatever");
    CHECK_EQ(get_copilot_credentials(req, kNow + 10).token.token, "tid=stored");
}

TEST(an_entry_minted_from_a_given_token_is_not_the_stored_logins) {
    make_home();
    CopilotToken t = fresh_token("tid=given");
    t.given = true;
    t.credential = "hmac-sha256:00:00";
    write_file_atomic(token_cache_path("github.com", "g"), serialize_cache_entry(t));
    CredentialRequest req;
    req.token.profile = "g";
    // The stored login's path skips it (and, not logged in, says so).
    CHECK_THROWS_MSG(get_copilot_credentials(req, kNow + 10), Exit::no_auth, "not logged in");
    // --json never shows the binding.
    CHECK(serialize_token_document(t).find("credential") == std::string::npos);
    CHECK(parse_token_document(serialize_cache_entry(t), {"x", Exit::data}).given);
}

TEST(credential_ids_are_salted_and_match_only_their_secret) {
    const std::string a = credential_id("ghu_one"), b = credential_id("ghu_one");
    CHECK(a != b);  // a new salt each time
    CHECK(credential_matches(a, "ghu_one"));
    CHECK(credential_matches(b, "ghu_one"));
    CHECK(!credential_matches(a, "ghu_two"));
    CHECK(!credential_matches("", "ghu_one"));
    CHECK(!credential_matches("sha1:x:y", "ghu_one"));
    CHECK(a.find("ghu_one") == std::string::npos);
}

// --- the Copilot API base URL ----------------------------------------------------------

TEST(api_url_precedence_flag_env_trusted_token_default) {
    make_home();
    const std::string trusted = "https://api.business.githubcopilot.com/";
    CHECK_EQ(copilot_api_url(std::nullopt, trusted, "github.com"),
             "https://api.business.githubcopilot.com");
    CHECK_EQ(copilot_api_url(std::nullopt, "https://evil.example.com", "github.com"),
             "https://api.githubcopilot.com");
    CHECK_EQ(copilot_api_url(std::nullopt, "", "github.com"), "https://api.githubcopilot.com");
    ::setenv("COPILOT_API_URL", "http://127.0.0.1:8080/", 1);
    CHECK_EQ(copilot_api_url(std::nullopt, trusted, "github.com"), "http://127.0.0.1:8080");
    CHECK_EQ(copilot_api_url(std::string(""), trusted, "github.com"), "http://127.0.0.1:8080");
    CHECK_EQ(copilot_api_url(std::string("https://llm.example.com/v1/"), trusted, "github.com"),
             "https://llm.example.com/v1");
    ::unsetenv("COPILOT_API_URL");
}

// --- a given Copilot token -------------------------------------------------------------

TEST(given_token_bare) {
    GivenCopilotToken g = read_given_token("  tid=abc;exp=1763709999;sku=x:mac\n", "COPILOT_TOKEN");
    CHECK_EQ(g.token, "tid=abc;exp=1763709999;sku=x:mac");
    CHECK(!g.document);
    CHECK_EQ(g.expires_at, 1763709999);
    CHECK_EQ(g.sku, "x");
    CHECK_EQ(g.host, "");
    // a token without exp= (another OpenAI-compatible server's key) is read too
    CHECK_EQ(read_given_token("sk-local", "x").token, "sk-local");
    CHECK_EQ(read_given_token("sk-local", "x").expires_at, 0);
    CHECK_EQ(read_given_token("exp=soon", "x").expires_at, 0);
}

TEST(given_token_document) {
    std::string doc = R"({"host":"github.com","token":"tid=1;exp=1763709999:m","expires_at":1763709999,)"
                      R"("refresh_in":1500,"fetched_at":1763700000,"api_url":"https://api.individual.githubcopilot.com/","sku":"s"})";
    GivenCopilotToken g = read_given_token(doc, "--token-file t.json");
    CHECK(g.document);
    CHECK_EQ(g.token, "tid=1;exp=1763709999:m");
    CHECK_EQ(g.host, "github.com");
    CHECK_EQ(g.api_url, "https://api.individual.githubcopilot.com/");
    CHECK_EQ(g.sku, "s");
    CHECK_EQ(g.expires_at, 1763709999);
}

TEST(given_token_errors) {
    CHECK_THROWS_MSG(read_given_token("", "COPILOT_TOKEN"), Exit::data, "COPILOT_TOKEN: empty");
    CHECK_THROWS_MSG(read_given_token("two words", "x"), Exit::data, "x: not a Copilot token");
    CHECK_THROWS(read_given_token("[1]", "x"), Exit::data);
    CHECK_THROWS(read_given_token(std::string(8193, 'a'), "x"), Exit::data);
    CHECK_THROWS(read_given_token("{\"host\":\"github.com\"}", "x"), Exit::data);
    CHECK_THROWS(read_given_token("{not json", "x"), Exit::data);
    // a GitHub token where a Copilot token belongs: a hint, and the token not echoed
    try {
        read_given_token("ghu_abcdef123456", "COPILOT_TOKEN");
        CHECK(false);
    } catch (const Error& e) {
        CHECK_EQ(e.code(), Exit::data);
        CHECK(std::string(e.what()).find("GitHub token") != std::string::npos);
        CHECK(std::string(e.what()).find("abcdef") == std::string::npos);
    }
}

// --- credentials for the Copilot API -----------------------------------------------------

TEST(api_credentials_from_environment_and_base_url_precedence) {
    make_home();
    ::setenv("COPILOT_TOKEN", "tid=env;exp=9999999999:m", 1);
    ApiCredentialsRequest req;
    ApiCredentials a = resolve_api_credentials(req, kNow);
    CHECK_EQ(a.token, "tid=env;exp=9999999999:m");
    CHECK_EQ(a.source, "COPILOT_TOKEN");
    CHECK_EQ(a.api_url, "https://api.githubcopilot.com");  // the default
    CHECK(!a.refresh);                                      // nothing to refresh

    ::setenv("COPILOT_TOKEN", R"({"host":"github.com","token":"tid=doc","expires_at":9999999999,)"
                              R"("api_url":"https://api.business.githubcopilot.com/"})", 1);
    a = resolve_api_credentials(req, kNow);
    CHECK_EQ(a.api_url, "https://api.business.githubcopilot.com");
    CHECK(a.warnings.empty());
    ::setenv("COPILOT_API_URL", "http://127.0.0.1:8080/", 1);
    CHECK_EQ(resolve_api_credentials(req, kNow).api_url, "http://127.0.0.1:8080");
    req.api_url = "https://llm.example.com/v1/";
    CHECK_EQ(resolve_api_credentials(req, kNow).api_url, "https://llm.example.com/v1");
    ::unsetenv("COPILOT_API_URL");
    ::unsetenv("COPILOT_TOKEN");
}

TEST(api_credentials_warn_about_an_untrusted_api_url_and_ignore_it) {
    make_home();
    ::setenv("COPILOT_TOKEN", R"({"host":"github.com","token":"tid=1","expires_at":9999999999,)"
                              R"("api_url":"https://evil.example.com"})", 1);
    ApiCredentials a = resolve_api_credentials(ApiCredentialsRequest{}, kNow);
    CHECK_EQ(a.api_url, "https://api.githubcopilot.com");
    CHECK_EQ(a.warnings.size(), size_t{1});
    CHECK(a.warnings[0].find("ignoring api_url https://evil.example.com") != std::string::npos);
    ::unsetenv("COPILOT_TOKEN");
}

TEST(api_credentials_refuse_an_expired_token) {
    make_home();
    ::setenv("COPILOT_TOKEN", R"({"host":"github.com","token":"tid=1","expires_at":1763690000})", 1);
    CHECK_THROWS_MSG(resolve_api_credentials(ApiCredentialsRequest{}, kNow), Exit::permission,
                     "expired 2 h ago");
    ::setenv("COPILOT_TOKEN", "tid=1;exp=1763699990:m", 1);
    CHECK_THROWS_MSG(resolve_api_credentials(ApiCredentialsRequest{}, kNow), Exit::permission,
                     "expired 10 s ago");
    ::unsetenv("COPILOT_TOKEN");
}

TEST(api_credentials_send_the_copilot_token_only_to_copilot_hosts_and_loopback) {
    make_home();
    store_token_cache(fresh_token("tid=cached"), "", "ghu_x");
    ApiCredentialsRequest req;
    req.api_url = "https://ollama.example.com/v1";
    ApiCredentials a = resolve_api_credentials(req, kNow + 5);
    CHECK_EQ(a.token, "");  // no key: not the user's Copilot token
    CHECK_EQ(a.api_url, "https://ollama.example.com/v1");
    CHECK(!a.refresh);
    req.api_url.reset();
    ::setenv("COPILOT_API_URL", "https://ollama.example.com", 1);
    CHECK_EQ(resolve_api_credentials(req, kNow + 5).token, "");
    for (const char* ok : {"http://127.0.0.1:8080", "http://localhost:1/x", "http://[::1]:9",
                           "https://api.business.githubcopilot.com"}) {
        ::setenv("COPILOT_API_URL", ok, 1);
        CHECK_EQ(resolve_api_credentials(req, kNow + 5).token, "tid=cached");
    }
    // An explicit key goes wherever it is sent; an empty one is "no key".
    ::setenv("COPILOT_API_URL", "https://ollama.example.com", 1);
    ::setenv("COPILOT_TOKEN", "ollama-key", 1);
    CHECK_EQ(resolve_api_credentials(req, kNow + 5).token, "ollama-key");
    ::unsetenv("COPILOT_API_URL");
    ::setenv("COPILOT_TOKEN", "", 1);
    a = resolve_api_credentials(req, kNow + 5);
    CHECK_EQ(a.token, "");
    CHECK_EQ(a.source, "COPILOT_TOKEN (empty: no key)");
    ::unsetenv("COPILOT_TOKEN");
    CHECK(!copilot_token_may_go_to("https://127.0.0.1.example.com", "github.com"));
    CHECK(!copilot_token_may_go_to("ftp://127.0.0.1", "github.com"));
    CHECK_THROWS_MSG(require_copilot_api_url("https://llm.example.com", "github.com"), Exit::usage,
                     "not a Copilot API host");
}

TEST(api_credentials_an_expired_copilot_token_env_falls_back_to_a_stored_login) {
    std::string home = make_home();
    ::setenv("COPILOT_TOKEN", "tid=1;exp=1763699990:m", 1);
    // No stored login: the expired token is an error, as before.
    CHECK_THROWS_MSG(resolve_api_credentials(ApiCredentialsRequest{}, kNow), Exit::permission,
                     "expired 10 s ago");
    const std::string auth = auth_file_path("github.com", "");
    make_dirs(dir_name(auth), 0700, true);
    write_file_atomic(auth, kStored);
    store_token_cache(fresh_token("tid=cached"), "", "ghu_stored_0123");
    ApiCredentials a = resolve_api_credentials(ApiCredentialsRequest{}, kNow + 5);
    CHECK_EQ(a.token, "tid=cached");
    CHECK_EQ(a.source, "the token cache");
    CHECK(static_cast<bool>(a.refresh));
    CHECK_EQ(a.warnings.size(), size_t{1});
    CHECK(a.warnings[0].find("COPILOT_TOKEN expired") != std::string::npos);
    ::unsetenv("COPILOT_TOKEN");
}

TEST(api_credentials_token_file_wins_over_environment) {
    std::string home = make_home();
    ::setenv("COPILOT_TOKEN", "tid=env", 1);
    const std::string f = home + "/token";
    write(f, "tid=file;exp=9999999999:m\n");
    ::chmod(f.c_str(), 0600);
    ApiCredentialsRequest req;
    req.token_file = f;
    ApiCredentials a = resolve_api_credentials(req, kNow);
    CHECK_EQ(a.token, "tid=file;exp=9999999999:m");
    CHECK_EQ(a.source, "--token-file " + f);
    CHECK(!a.refresh);
    req.token_file = home + "/missing";
    CHECK_THROWS_MSG(resolve_api_credentials(req, kNow), Exit::no_auth, "does not exist");
    ::unsetenv("COPILOT_TOKEN");
}

TEST(api_credentials_from_the_cache_can_refresh) {
    make_home();
    store_token_cache(fresh_token("tid=cached"), "", "ghu_x");
    ApiCredentials a = resolve_api_credentials(ApiCredentialsRequest{}, kNow + 5);
    CHECK_EQ(a.token, "tid=cached");
    CHECK_EQ(a.source, "the token cache");
    CHECK_EQ(a.api_url, "https://api.individual.githubcopilot.com");
    CHECK(static_cast<bool>(a.refresh));
    CHECK_THROWS_MSG(a.refresh(), Exit::no_auth, "not logged in to github.com; run copilot-login");
}

// --- finishing a login --------------------------------------------------------------------

TEST(finish_login_to_standard_output_writes_nothing) {
    make_home();
    NewLogin in;
    in.client_id = "Iv1.x";
    in.github_token = "ghu_new_0123";
    in.verify = false;
    in.output = "-";
    LoginResult r = finish_login(in, kNow);
    CHECK_EQ(r.saved_to, "standard output");
    CHECK(r.document.find("\"oauth_token\":\"ghu_new_0123\"") != std::string::npos);
    CHECK_EQ(r.check.warnings.size(), size_t{1});  // the user lookup failed
    CHECK(!file_mode(auth_file_path("github.com", "")));
}

TEST(finish_login_stores_and_drops_the_stale_cache) {
    make_home();
    store_token_cache(fresh_token("tid=old-login"), "p", "ghu_old");
    NewLogin in;
    in.profile = "p";
    in.client_id = "Iv1.x";
    in.github_token = "ghu_new_0123";
    in.verify = false;
    LoginResult r = finish_login(in, kNow);
    CHECK_EQ(r.saved_to, auth_file_path("github.com", "p"));
    CHECK(!r.token_cached);
    CHECK(!read_token_cache("github.com", "p"));
    auto st = load_auth_state("github.com", "p");
    CHECK(st && st->oauth_token == "ghu_new_0123" && st->created_at == kNow);
}

TEST(finish_login_refuses_an_unverified_given_token_and_stops_when_cancelled) {
    make_home();
    NewLogin in;
    in.client_id = "Iv1.x";
    in.github_token = "ghu_new_0123";
    in.verify = true;  // the exchange cannot be made: unverified
    CHECK_THROWS(finish_login(in, kNow), Exit::temp);
    CHECK(!file_mode(auth_file_path("github.com", "")));
    in.granted = true;  // a token just granted is kept all the same...
    in.cancelled = [] { return true; };  // ...unless the user stopped us
    CHECK_THROWS(finish_login(in, kNow), Exit::interrupted);
    CHECK(!file_mode(auth_file_path("github.com", "")));
    in.cancelled = nullptr;
    LoginResult r = finish_login(in, kNow);
    CHECK(r.check.verdict == LoginCheck::Verdict::unverified);
    CHECK(file_mode(auth_file_path("github.com", "")).has_value());
}
