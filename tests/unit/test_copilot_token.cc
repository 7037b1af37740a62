// Unit tests for lib/copilot_token and lib/token_check: the exchange answer,
// the token document, the token's fields, the freshness rule, the cache's
// fresh path and the --check summary.
#include <cstdio>
#include <cstdlib>
#include <ftw.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "auth/copilot_token.h"
#include "auth/credentials.h"
#include "util/files.h"
#include "util/paths.h"
#include "auth/token_check.h"

using namespace copilot;

namespace {

// The shape api.github.com answers with today, extra fields and all.
const char* kEnvelope = R"({
  "agent_mode_auto_approval": true, "annotations_enabled": true, "azure_only": false,
  "chat_enabled": true, "code_quote_enabled": true, "codesearch": false,
  "endpoints": {"api": "https://api.individual.githubcopilot.com",
                "origin-tracker": "https://origin-tracker.individual.githubcopilot.com",
                "proxy": "https://proxy.individual.githubcopilot.com",
                "telemetry": "https://telemetry.individual.githubcopilot.com"},
  "expires_at": 1763701800, "individual": true, "limited_user_quotas": null,
  "limited_user_reset_date": null, "prompt_8k": true, "public_suggestions": "disabled",
  "refresh_in": 1500, "sku": "free_limited_copilot", "telemetry": "disabled",
  "token": "tid=abc123;exp=1763701800;sku=free_limited_copilot;proxy-ep=proxy.individual.githubcopilot.com;st=dotcom;chat=1;8kp=1:0123456789abcdef",
  "tracking_id": "xyz", "xcode": true, "xcode_chat": false
})";

std::string envelope_with(const std::string& fields) {
    return "{" + fields + "}";
}

const char* kGood = R"("token": "tid=1;exp=2:m", "expires_at": 2, "refresh_in": 1500)";

CopilotToken sample() {
    CopilotToken t;
    t.host = "github.com";
    t.token = "tid=abc;exp=1763701800;sku=pro:mac";
    t.expires_at = 1763701800;
    t.refresh_in = 1500;
    t.fetched_at = 1763700000;
    t.api_url = "https://api.individual.githubcopilot.com";
    t.sku = "pro";
    return t;
}

int remove_entry(const char* path, const struct stat*, int, struct FTW*) {
    return std::remove(path);
}

// A private XDG_CACHE_HOME for the cache tests, removed at exit.
struct TempCacheHome {
    std::string dir;
    TempCacheHome() {
        char tmpl[] = "/tmp/test_copilot_token.XXXXXX";
        if (::mkdtemp(tmpl)) dir = tmpl;
        ::setenv("XDG_CACHE_HOME", dir.c_str(), 1);
    }
    ~TempCacheHome() {
        if (!dir.empty()) ::nftw(dir.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
};

std::string temp_cache_home() {
    static TempCacheHome home;
    CHECK(!home.dir.empty());
    return home.dir;
}

std::string no_credentials() {
    throw Error(Exit::no_auth, "credentials looked up");
}

}  // namespace

// ---------------------------------------------------------------- the envelope

TEST(envelope_real_shape_is_parsed_and_extra_fields_ignored) {
    CopilotToken t = parse_token_envelope(kEnvelope, "github.com", 1763700300);
    CHECK_EQ(t.host, "github.com");
    CHECK_EQ(t.token.substr(0, 11), "tid=abc123;");
    CHECK_EQ(t.expires_at, 1763701800);
    CHECK_EQ(t.refresh_in, 1500);
    CHECK_EQ(t.fetched_at, 1763700300);
    CHECK_EQ(t.api_url, "https://api.individual.githubcopilot.com");
    CHECK_EQ(t.sku, "free_limited_copilot");
}

TEST(envelope_missing_required_fields_are_named) {
    CHECK_THROWS_MSG(parse_token_envelope(R"({"expires_at": 2, "refresh_in": 3})", "github.com", 0),
                     Exit::protocol, "field 'token' is missing");
    CHECK_THROWS_MSG(parse_token_envelope(R"({"token": "t", "refresh_in": 3})", "github.com", 0),
                     Exit::protocol, "field 'expires_at' is missing");
    CHECK_THROWS_MSG(parse_token_envelope(R"({"token": "t", "expires_at": 2})", "github.com", 0),
                     Exit::protocol, "field 'refresh_in' is missing");
}

TEST(envelope_mistyped_required_fields_are_named) {
    CHECK_THROWS_MSG(
        parse_token_envelope(R"({"token": 5, "expires_at": 2, "refresh_in": 3})", "github.com", 0),
        Exit::protocol, "field 'token' must be a string");
    CHECK_THROWS_MSG(
        parse_token_envelope(R"({"token": "t", "expires_at": "2", "refresh_in": 3})", "github.com", 0),
        Exit::protocol, "field 'expires_at' must be an integer");
    CHECK_THROWS_MSG(
        parse_token_envelope(R"({"token": "t", "expires_at": 2, "refresh_in": true})", "github.com", 0),
        Exit::protocol, "field 'refresh_in' must be an integer");
}

TEST(envelope_that_is_not_a_json_object_is_a_protocol_error) {
    CHECK_THROWS(parse_token_envelope("<html>", "github.com", 0), Exit::protocol);
    CHECK_THROWS(parse_token_envelope("[1,2]", "github.com", 0), Exit::protocol);
    CHECK_THROWS(parse_token_envelope("", "github.com", 0), Exit::protocol);
}

TEST(envelope_token_with_spaces_or_control_characters_is_refused) {
    CHECK_THROWS_MSG(parse_token_envelope(
                         R"({"token": "a b", "expires_at": 2, "refresh_in": 3})", "github.com", 0),
                     Exit::protocol, "invalid characters");
    CHECK_THROWS_MSG(parse_token_envelope(
                         R"({"token": "a\nX-Evil: 1", "expires_at": 2, "refresh_in": 3})",
                         "github.com", 0),
                     Exit::protocol, "invalid characters");
    CHECK_THROWS_MSG(parse_token_envelope(
                         R"({"token": "", "expires_at": 2, "refresh_in": 3})", "github.com", 0),
                     Exit::protocol, "empty");
}

TEST(envelope_untrusted_endpoints_api_falls_back_to_the_default) {
    for (const char* api : {"http://api.individual.githubcopilot.com", "https://evil.example.com",
                            "https://githubcopilot.com.evil.example", "not a url"}) {
        std::string body = envelope_with(std::string(kGood) + R"(, "endpoints": {"api": ")" +
                                         api + "\"}");
        CHECK_EQ(parse_token_envelope(body, "github.com", 0).api_url, "https://api.githubcopilot.com");
    }
    // A mistyped or absent endpoints/api is tolerated the same way.
    for (const char* extra : {R"(, "endpoints": {"api": 5})", R"(, "endpoints": "x")", ""}) {
        std::string body = envelope_with(std::string(kGood) + extra);
        CHECK_EQ(parse_token_envelope(body, "github.com", 0).api_url, "https://api.githubcopilot.com");
    }
}

TEST(envelope_trusted_endpoints_api_is_kept_without_trailing_slash) {
    std::string body = envelope_with(std::string(kGood) +
                                     R"(, "endpoints": {"api": "https://api.business.githubcopilot.com/"})");
    CHECK_EQ(parse_token_envelope(body, "github.com", 0).api_url,
             "https://api.business.githubcopilot.com");
}

TEST(envelope_mistyped_sku_is_ignored) {
    std::string body = envelope_with(std::string(kGood) + R"(, "sku": 7)");
    CHECK_EQ(parse_token_envelope(body, "github.com", 0).sku, "");
}

// ---------------------------------------------------------------- the document

TEST(token_document_round_trips) {
    const CopilotToken t = sample();
    const std::string doc = serialize_token_document(t);
    CHECK(doc.back() == '\n');
    CHECK(doc.find('\n') == doc.size() - 1);
    CopilotToken u = parse_token_document(doc, {"doc", Exit::data});
    CHECK_EQ(u.host, t.host);
    CHECK_EQ(u.token, t.token);
    CHECK_EQ(u.expires_at, t.expires_at);
    CHECK_EQ(u.refresh_in, t.refresh_in);
    CHECK_EQ(u.fetched_at, t.fetched_at);
    CHECK_EQ(u.api_url, t.api_url);
    CHECK_EQ(u.sku, t.sku);
    CHECK_EQ(serialize_token_document(u), doc);
}

TEST(token_document_keeps_design_field_order) {
    const std::string doc = serialize_token_document(sample());
    size_t at = 0;
    for (const char* key : {"\"host\"", "\"token\"", "\"expires_at\"", "\"refresh_in\"",
                            "\"fetched_at\"", "\"api_url\"", "\"sku\""}) {
        size_t p = doc.find(key);
        CHECK(p != std::string::npos && p >= at);
        at = p;
    }
}

TEST(token_document_errors_name_the_field_with_the_given_code) {
    const JsonSource src{"standard input", Exit::data};
    CHECK_THROWS_MSG(parse_token_document(R"({"token": "t", "expires_at": 1})", src), Exit::data,
                     "standard input: field 'host' is missing");
    CHECK_THROWS_MSG(parse_token_document(R"({"host": "h", "token": "t", "expires_at": 1, "fetched_at": "x"})", src),
                     Exit::data, "field 'fetched_at' must be an integer");
    CHECK_THROWS(parse_token_document("nope", src), Exit::data);
}

TEST(token_document_optional_fields_default) {
    CopilotToken t = parse_token_document(
        R"({"host": "github.com", "token": "t", "expires_at": 9, "future": [1]})", {"d", Exit::data});
    CHECK_EQ(t.refresh_in, 0);
    CHECK_EQ(t.fetched_at, 0);
    CHECK_EQ(t.api_url, "https://api.githubcopilot.com");
    CHECK_EQ(t.sku, "");
}

// ---------------------------------------------------------------- token fields

TEST(token_fields_reads_the_fields_before_the_mac) {
    auto f = token_fields("tid=abc;exp=1763701800;sku=free;proxy-ep=proxy.x.com;8kp=1:ab:cd=ef");
    CHECK_EQ(f.size(), 5u);
    CHECK_EQ(f["tid"], "abc");
    CHECK_EQ(f["exp"], "1763701800");
    CHECK_EQ(f["sku"], "free");
    CHECK_EQ(f["proxy-ep"], "proxy.x.com");
    CHECK_EQ(f["8kp"], "1");
    CHECK(f.count("cd") == 0);
}

TEST(token_fields_skips_fields_without_a_key_or_an_equals_sign) {
    auto f = token_fields("a=1;;junk;=v;b=x=y;c=");
    CHECK_EQ(f.size(), 3u);
    CHECK_EQ(f["a"], "1");
    CHECK_EQ(f["b"], "x=y");
    CHECK_EQ(f["c"], "");
    CHECK(token_fields("").empty());
    CHECK(token_fields(":a=1").empty());
}

// ---------------------------------------------------------------- freshness

TEST(is_fresh_boundaries_of_refresh_in) {
    CopilotToken t = sample();  // fetched 1763700000, refresh_in 1500 -> stale at +1440
    CHECK(is_fresh(t, t.fetched_at, 300));
    CHECK(is_fresh(t, t.fetched_at + 1439, 300));
    CHECK(!is_fresh(t, t.fetched_at + 1440, 300));
    CHECK(!is_fresh(t, t.fetched_at + 5000, 0));
}

TEST(is_fresh_boundaries_of_min_ttl) {
    CopilotToken t = sample();
    const int64_t now = t.fetched_at + 100;
    CHECK(is_fresh(t, now, t.expires_at - now));       // exactly min_ttl left
    CHECK(!is_fresh(t, now, t.expires_at - now + 1));  // one second short
    CHECK(is_fresh(t, now, 0));
}

TEST(is_fresh_distrusts_a_fetch_in_the_future_and_a_tiny_refresh_in) {
    CopilotToken t = sample();
    CHECK(is_fresh(t, t.fetched_at - 1, 0));    // another caller's clock read, a second later
    CHECK(is_fresh(t, t.fetched_at - 60, 0));
    CHECK(!is_fresh(t, t.fetched_at - 61, 0));  // the clock moved back
    t.refresh_in = 60;
    CHECK(!is_fresh(t, t.fetched_at, 0));
}

TEST(refresh_due_at_is_the_first_second_that_is_not_fresh) {
    CopilotToken t = sample();  // refresh point wins: fetched + 1440
    int64_t due = refresh_due_at(t, 300);
    CHECK_EQ(due, t.fetched_at + 1440);
    CHECK(is_fresh(t, due - 1, 300));
    CHECK(!is_fresh(t, due, 300));
    t.expires_at = t.fetched_at + 1000;  // min_ttl wins: expires - 300 is the last fresh second
    due = refresh_due_at(t, 300);
    CHECK_EQ(due, t.fetched_at + 701);
    CHECK(is_fresh(t, due - 1, 300));
    CHECK(!is_fresh(t, due, 300));
}

// ---------------------------------------------------------------- the cache

TEST(cache_fresh_path_needs_no_credentials) {
    temp_cache_home();
    CopilotToken t = sample();
    const int64_t now = t.fetched_at + 10;
    t.expires_at = now + 1800;
    write_file_atomic(token_cache_path("github.com", "unit"), serialize_token_document(t));
    CopilotTokenRequest req;
    req.profile = "unit";
    CopilotTokenResult r = get_copilot_token(req, no_credentials, now);
    CHECK(r.from_cache);
    CHECK_EQ(r.token.token, t.token);
    CHECK(r.warnings.empty());
    // No lock was taken on the fresh path.
    CHECK(!file_mode(token_cache_path("github.com", "unit") + ".lock"));
}

TEST(cache_stale_or_forced_asks_for_credentials) {
    temp_cache_home();
    CopilotToken t = sample();
    write_file_atomic(token_cache_path("github.com", "stale"), serialize_token_document(t));
    CopilotTokenRequest req;
    req.profile = "stale";
    CHECK_THROWS_MSG(get_copilot_token(req, no_credentials, t.fetched_at + 1440), Exit::no_auth,
                     "credentials looked up");
    req.force_refresh = true;
    CHECK_THROWS(get_copilot_token(req, no_credentials, t.fetched_at + 1), Exit::no_auth);
    // The failed refresh left the cache as it was.
    CHECK_EQ(read_token_cache("github.com", "stale")->token, t.token);
}

TEST(cache_no_cache_never_touches_the_cache) {
    temp_cache_home();
    CopilotTokenRequest req;
    req.profile = "nocache";
    req.use_cache = false;
    CHECK_THROWS(get_copilot_token(req, no_credentials, 1), Exit::no_auth);
    CHECK(!file_mode(token_cache_path("github.com", "nocache")));
    CHECK(!file_mode(token_cache_path("github.com", "nocache") + ".lock"));
}

TEST(cache_read_refuses_corrupt_and_foreign_documents) {
    temp_cache_home();
    const std::string path = token_cache_path("github.com", "corrupt");
    write_file_atomic(path, "{bad");
    CHECK_THROWS(read_token_cache("github.com", "corrupt"), Exit::data);
    CopilotToken t = sample();
    t.host = "ghe.example.com";
    write_file_atomic(path, serialize_token_document(t));
    CHECK_THROWS_MSG(read_token_cache("github.com", "corrupt"), Exit::data, "does not match");
    CHECK(!read_token_cache("github.com", "absent"));
    CHECK(remove_token_cache("github.com", "corrupt"));
    CHECK(!remove_token_cache("github.com", "corrupt"));
}

TEST(copilot_api_url_prefers_copilot_api_url_then_a_trusted_token_url) {
    CopilotToken t = sample();
    ::unsetenv("COPILOT_API_URL");
    CHECK_EQ(copilot_api_url(std::nullopt, t), t.api_url);
    ::setenv("COPILOT_API_URL", "http://127.0.0.1:9/", 1);
    CHECK_EQ(copilot_api_url(std::nullopt, t), "http://127.0.0.1:9");
    CHECK_EQ(copilot_api_url(std::string("http://127.0.0.1:7//"), t), "http://127.0.0.1:7");
    ::setenv("COPILOT_API_URL", "", 1);
    CHECK_EQ(copilot_api_url(std::nullopt, t), t.api_url);
    // A cache document whose api_url is not a Copilot host is not followed.
    t.api_url = "https://evil.example.com";
    CHECK_EQ(copilot_api_url(std::nullopt, t), "https://api.githubcopilot.com");
    CHECK_EQ(copilot_api_url(std::nullopt, "", "acme.ghe.com"), "https://copilot-api.acme.ghe.com");
    ::unsetenv("COPILOT_API_URL");
}

// ---------------------------------------------------------------- --check

TEST(check_reads_a_bare_token_from_its_exp_field) {
    CopilotTokenCheck c = inspect_token_text("  tid=x;exp=1000;sku=pro:mac\n", "standard input");
    CHECK_EQ(c.expires_at, 1000);
    CHECK_EQ(c.sku, "pro");
    CHECK_EQ(c.fields["tid"], "x");
    CHECK(c.host.empty());
    CHECK(check_passes(c, 700, 300));
    CHECK(!check_passes(c, 701, 300));
}

TEST(check_reads_a_token_document) {
    CopilotTokenCheck c = inspect_token_text(serialize_token_document(sample()), "standard input");
    CHECK_EQ(c.host, "github.com");
    CHECK_EQ(c.expires_at, 1763701800);
    CHECK_EQ(c.sku, "pro");
}

TEST(check_refuses_garbage_with_exit_65) {
    CHECK_THROWS_MSG(inspect_token_text("hello world", "standard input"), Exit::data,
                     "standard input: not a Copilot token");
    CHECK_THROWS_MSG(inspect_token_text("tid=1;sku=x", "standard input"), Exit::data, "no exp=");
    CHECK_THROWS_MSG(inspect_token_text("exp=soon", "standard input"), Exit::data, "not a unix time");
    CHECK_THROWS_MSG(inspect_token_text("exp=99999999999999999999", "in"), Exit::data, "not a unix time");
    CHECK_THROWS(inspect_token_text("{\"host\": 1}", "standard input"), Exit::data);
    CHECK_THROWS(inspect_token_text("", "standard input"), Exit::data);
}

TEST(check_summary_text_in_words) {
    CopilotTokenCheck c = inspect_token_text("tid=x;exp=10000;sku=pro:mac", "in");
    CHECK_EQ(check_summary_text(c, 10000 - 1453, 300),
             "valid for 24 min 13 s (until 1970-01-01 02:46:40 UTC); tid=x sku=pro exp=10000");
    CHECK_EQ(check_summary_text(c, 10000 - 120, 300).substr(0, 18), "expires in 2 min 0");
    CHECK_EQ(check_summary_text(c, 10000 + 5, 300).substr(0, 15), "expired 5 s ago");
}

TEST(check_summary_json_fields) {
    CopilotTokenCheck c = inspect_token_text("tid=x;exp=10000;sku=pro:mac", "standard input");
    CHECK_EQ(check_summary_json(c, 9000, 300),
             "{\"valid\":true,\"expires_at\":10000,\"expires_in\":1000,\"sku\":\"pro\",\"host\":null,"
             "\"source\":\"standard input\",\"fields\":{\"exp\":\"10000\",\"sku\":\"pro\",\"tid\":\"x\"}}\n");
}

TEST(describe_duration_words) {
    CHECK_EQ(describe_duration(0), "0 s");
    CHECK_EQ(describe_duration(42), "42 s");
    CHECK_EQ(describe_duration(60), "1 min 0 s");
    CHECK_EQ(describe_duration(1453), "24 min 13 s");
    CHECK_EQ(describe_duration(3900), "1 h 5 min");
    CHECK_EQ(describe_duration(90000), "1 d 1 h");
    CHECK_EQ(describe_duration(-42), "42 s");
}
