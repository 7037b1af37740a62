// Unit tests for copilot-serve's modules (lib/serve/): everything but the
// libmicrohttpd glue, which the Bats suite drives over real sockets.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "check.h"
#include "net/url_policy.h"
#include "util/json.h"
#include "serve/admission.h"
#include "serve/bodies.h"
#include "serve/client_auth.h"
#include "serve/listen.h"
#include "serve/relay.h"
#include "serve/request_log.h"
#include "serve/routes.h"

using copilot::Error;
using copilot::Exit;
using namespace std::chrono_literals;

namespace {

rapidjson::Document parse(const std::string& s) {
    return copilot::json_parse(s, {"test", Exit::protocol}, false);
}

std::string str(const copilot::JsonValue& v, const char* key) {
    auto it = v.FindMember(key);
    if (it == v.MemberEnd() || !it->value.IsString()) return "<none>";
    return it->value.GetString();
}

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

// What a keeper's fetch returns: a token just exchanged.
copilot::CopilotTokenResult token(const std::string& value, int64_t refresh_in = 1500,
                           int64_t ttl = 1800) {
    copilot::CopilotTokenResult r;
    copilot::CopilotToken& t = r.token;
    t.host = "github.com";
    t.token = value;
    t.fetched_at = now();
    t.refresh_in = refresh_in;
    t.expires_at = now() + ttl;
    t.api_url = "https://api.individual.githubcopilot.com";
    return r;
}

// Polls `cond` for up to 10 s: a bound on a hang, not a timing assertion.
template <typename F>
bool eventually(F cond) {
    for (int i = 0; i < 1000; ++i) {
        if (cond()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return cond();
}

}  // namespace

// --- listen addresses and sizes ------------------------------------------------------

TEST(listen_parses_ipv4_ipv6_and_localhost) {
    auto a = copilot::parse_listen("127.0.0.1:4141");
    CHECK_EQ(a.ip, "127.0.0.1");
    CHECK_EQ(a.port, 4141);
    CHECK(a.loopback);
    CHECK(!a.ipv6);
    CHECK_EQ(copilot::listen_url(a, 4141), "http://127.0.0.1:4141");

    auto b = copilot::parse_listen("[::1]:0");
    CHECK(b.ipv6);
    CHECK(b.loopback);
    CHECK_EQ(b.port, 0);
    CHECK_EQ(copilot::listen_url(b, 5000), "http://[::1]:5000");

    auto c = copilot::parse_listen("localhost:8080");
    CHECK_EQ(c.ip, "127.0.0.1");
    CHECK(c.loopback);

    auto d = copilot::parse_listen("0.0.0.0:4141");
    CHECK(!d.loopback);
    auto e = copilot::parse_listen("[::]:4141");
    CHECK(!e.loopback);
    CHECK(copilot::parse_listen("127.8.9.10:1").loopback);
}

TEST(listen_refuses_what_is_not_an_address_and_port) {
    for (const char* bad : {"", "4141", "127.0.0.1", "127.0.0.1:", ":4141", "127.0.0.1:65536",
                            "127.0.0.1:-1", "127.0.0.1:http", "::1:4141", "[::1]4141", "[::1",
                            "example.com:80", "256.1.1.1:80", "[127.0.0.1]:80"})
        CHECK_THROWS(copilot::parse_listen(bad), Exit::usage);
    CHECK_THROWS_MSG(copilot::parse_listen("4141"), Exit::usage, "ADDR:PORT");
}

TEST(sizes_take_k_m_g_suffixes) {
    CHECK_EQ(copilot::parse_size("1048576", "--max-body"), size_t{1048576});
    CHECK_EQ(copilot::parse_size("16M", "--max-body"), size_t{16} << 20);
    CHECK_EQ(copilot::parse_size("512k", "--max-body"), size_t{512} << 10);
    CHECK_EQ(copilot::parse_size("1G", "--max-body"), size_t{1} << 30);
    CHECK_EQ(copilot::parse_size("2MiB", "--max-body"), size_t{2} << 20);
    for (const char* bad : {"", "0", "M", "12X", "-1", "1.5M", "99999999999999", "2000G"})
        CHECK_THROWS_MSG(copilot::parse_size(bad, "--max-body"), Exit::usage, "--max-body");
}

// --- routes -----------------------------------------------------------------------------

TEST(every_route_answers_with_and_without_v1) {
    using copilot::Route;
    for (const char* prefix : {"", "/v1"}) {
        const std::string p = prefix;
        auto chat = copilot::match_route("POST", p + "/chat/completions");
        CHECK(chat.route == Route::chat);
        CHECK_EQ(chat.upstream_path, "/chat/completions");
        auto models = copilot::match_route("GET", p + "/models");
        CHECK(models.route == Route::models);
        CHECK_EQ(models.upstream_path, "/models");
        CHECK(copilot::match_route("HEAD", p + "/models").route == Route::models);
        auto emb = copilot::match_route("POST", p + "/embeddings");
        CHECK(emb.route == Route::embeddings);
        CHECK_EQ(emb.upstream_path, "/embeddings");
        CHECK(copilot::match_route("GET", p + "/healthz").route == Route::healthz);
    }
}

TEST(models_by_id_take_everything_after_models_as_the_id) {
    using copilot::Route;
    for (const char* prefix : {"", "/v1"}) {
        const std::string p = prefix;
        for (const char* method : {"GET", "HEAD"}) {
            auto m = copilot::match_route(method, p + "/models/gpt-4.1");
            CHECK(m.route == Route::models);
            CHECK_EQ(m.upstream_path, "/models");  // the list: Copilot has no /models/{id}
            CHECK_EQ(m.model_id, "gpt-4.1");
        }
        CHECK_EQ(copilot::match_route("GET", p + "/models/ft:gpt-4o:org:x").model_id,
                 "ft:gpt-4o:org:x");
        CHECK_EQ(copilot::match_route("GET", p + "/models/org/model.v2").model_id, "org/model.v2");
        CHECK_EQ(copilot::match_route("GET", p + "/models/v1/models").model_id, "v1/models");
        auto w = copilot::match_route("POST", p + "/models/gpt-4.1");
        CHECK(w.route == Route::wrong_method);
        CHECK_EQ(w.allow, "GET, HEAD");
        CHECK_EQ(w.model_id, "");
        // "/models/" alone names no model: not a route (the list is at /models)
        CHECK(copilot::match_route("GET", p + "/models/").route == Route::not_found);
        CHECK(copilot::match_route("POST", p + "/models/").route == Route::not_found);
    }
    CHECK_EQ(copilot::match_route("GET", "/models").model_id, "");
    CHECK(copilot::match_route("GET", "/modelsx").route == Route::not_found);
    CHECK(copilot::match_route("GET", "/v2/models/gpt-4.1").route == Route::not_found);
    CHECK(copilot::match_route("GET", "/chat/completions/x").route == Route::not_found);
}

TEST(unknown_paths_and_wrong_methods_are_told_apart) {
    using copilot::Route;
    CHECK(copilot::match_route("GET", "/").route == Route::not_found);
    CHECK(copilot::match_route("GET", "/v1").route == Route::not_found);
    CHECK(copilot::match_route("GET", "/v2/models").route == Route::not_found);
    CHECK(copilot::match_route("GET", "/v1/v1/models").route == Route::not_found);
    CHECK(copilot::match_route("GET", "/models/").route == Route::not_found);
    CHECK(copilot::match_route("POST", "/completions").route == Route::not_found);
    auto m = copilot::match_route("GET", "/v1/chat/completions");
    CHECK(m.route == Route::wrong_method);
    CHECK_EQ(m.allow, "POST");
    auto g = copilot::match_route("POST", "/models");
    CHECK(g.route == Route::wrong_method);
    CHECK_EQ(g.allow, "GET, HEAD");
}

TEST(the_route_list_people_see_comes_from_the_route_table) {
    const std::string list = copilot::route_summary();
    CHECK_EQ(list, "POST /v1/chat/completions, POST /v1/responses, POST /v1/messages, "
                   "POST /v1/messages/count_tokens, GET /v1/models, GET /v1/models/ID, "
                   "POST /v1/embeddings, GET /healthz, GET /usage");
    for (size_t i = 0; i < copilot::kRouteCount; ++i) {
        const copilot::RouteSpec& r = copilot::kRoutes[i];
        const std::string path = std::string(r.path) + (r.takes_id ? "x" : "");
        CHECK(copilot::match_route(r.method, path).route == r.route);
        CHECK(list.find(r.shown) != std::string::npos);
    }
}

// --- admission: every refusal, decided in one place --------------------------------------

namespace {

copilot::RequestHead head(const std::string& method, const std::string& path,
                          const std::string& peer = "127.0.0.1") {
    copilot::RequestHead h;
    h.method = method;
    h.path = path;
    h.peer = peer;
    h.host = "127.0.0.1:4141";
    if (method == "POST") h.content_type = "application/json";
    return h;
}

std::string header(const copilot::HeaderList& hs, const std::string& name) {
    for (const auto& [k, v] : hs)
        if (k == name) return v;
    return "<none>";
}

}  // namespace

TEST(admission_refuses_before_the_body_in_a_fixed_order) {
    copilot::AdmissionRules open;
    open.max_body = 100;
    auto ok = copilot::admit_head(open, head("POST", "/v1/chat/completions"), false);
    CHECK(!ok.refusal);
    CHECK(ok.route.route == copilot::Route::chat);

    auto draining = copilot::admit_head(open, head("POST", "/nowhere", "10.0.0.1"), true);
    CHECK(draining.refusal && draining.refusal->status == 503);
    if (draining.refusal) {
        CHECK_EQ(header(draining.refusal->headers, "Connection"), "close");
        CHECK_EQ(header(draining.refusal->headers, "Retry-After"), "1");
        CHECK_EQ(draining.refusal->code, "shutting_down");
    }
    // without a key, only loopback clients (v4-mapped too)
    auto far = copilot::admit_head(open, head("GET", "/healthz", "10.0.0.1"), false);
    CHECK(far.refusal && far.refusal->status == 403);
    CHECK(!copilot::admit_head(open, head("GET", "/healthz", "::ffff:127.0.0.1"), false).refusal);

    copilot::AdmissionRules keyed = open;
    keyed.api_key = "k3y-0123456789abcdef";
    auto nokey = copilot::admit_head(keyed, head("GET", "/nowhere", "10.0.0.1"), false);
    CHECK(nokey.refusal && nokey.refusal->status == 401);  // the key before the route
    if (nokey.refusal) CHECK_EQ(header(nokey.refusal->headers, "WWW-Authenticate"), "Bearer");
    auto with = head("GET", "/healthz", "10.0.0.1");
    with.authorization = "Bearer k3y-0123456789abcdef";
    CHECK(!copilot::admit_head(keyed, with, false).refusal);

    auto unknown = copilot::admit_head(open, head("GET", "/v1/nowhere"), false);
    CHECK(unknown.refusal && unknown.refusal->status == 404);
    if (unknown.refusal)
        CHECK_EQ(unknown.refusal->message,
                 "unknown route GET /v1/nowhere (try " + copilot::route_summary() + ")");
    auto wrong = copilot::admit_head(open, head("GET", "/v1/chat/completions"), false);
    CHECK(wrong.refusal && wrong.refusal->status == 405);
    if (wrong.refusal) CHECK_EQ(header(wrong.refusal->headers, "Allow"), "POST");

    auto big = head("POST", "/v1/chat/completions");
    big.content_length = "101";
    auto refused = copilot::admit_head(open, big, false);
    CHECK(refused.refusal && refused.refusal->status == 413);
    if (refused.refusal) CHECK_EQ(header(refused.refusal->headers, "Connection"), "<none>");
    big.content_length = "100";
    CHECK(!copilot::admit_head(open, big, false).refusal);
}

TEST(hosts_of_ours_are_localhost_loopback_and_the_names_allowed) {
    copilot::AdmissionRules r;
    r.allow_hosts = {"copilot.internal"};
    for (const char* h : {"localhost", "LocalHost:4141", "127.0.0.1", "127.9.8.7:1", "[::1]",
                          "[::1]:4141", " localhost ", "copilot.internal", "COPILOT.internal:80"})
        CHECK(copilot::host_allowed(r, h));
    for (const char* h : {"", " ", "evil.example", "localhost.evil.example", "127.0.0.1.evil.example",
                          "127.0.0.1@evil.example", "192.0.2.10", "[::2]", "[::1", "::1",
                          "localhost:", "localhost:123456", "localhost:12a", "x.copilot.internal",
                          "copilot.internal.evil.example", "localhost.", "127.1", "[127.0.0.1]"})
        CHECK(!copilot::host_allowed(r, h));
    r.any_ip_host = true;  // a non-loopback listen address (a key is required)
    CHECK(copilot::host_allowed(r, "192.0.2.10:4141"));
    CHECK(copilot::host_allowed(r, "[2001:db8::1]"));
    CHECK(!copilot::host_allowed(r, "evil.example"));
}

TEST(json_media_types) {
    for (const char* t : {"application/json", "Application/JSON", "application/json; charset=utf-8",
                          " application/json ;charset=UTF-8"})
        CHECK(copilot::is_json_media_type(t));
    for (const char* t : {"", "text/plain", "application/jsonx", "text/json", "application/json-seq",
                          "application/x-www-form-urlencoded"})
        CHECK(!copilot::is_json_media_type(t));
}

TEST(admission_host_then_origin_then_the_rest) {
    copilot::AdmissionRules r;
    r.api_key = "k3y-0123456789abcdef";
    auto h = head("POST", "/v1/chat/completions");
    h.host = "evil.example";
    h.origin = "http://evil.example";
    h.content_type = "text/plain";
    auto a = copilot::admit_head(r, h, true);  // before 503 and 401
    CHECK(a.refusal && a.refusal->status == 403 && a.refusal->code == "host_not_allowed");
    h.host.reset();
    a = copilot::admit_head(r, h, false);
    CHECK(a.refusal && a.refusal->code == "host_not_allowed");
    h.host = "localhost:4141";
    a = copilot::admit_head(r, h, false);
    CHECK(a.refusal && a.refusal->status == 403 && a.refusal->code == "origin_not_allowed");
    CHECK(a.cors.empty());
    r.allow_origins = {"http://app.example"};
    h.origin = "http://app.example";
    a = copilot::admit_head(r, h, false);  // allowed: the key is asked for, with CORS headers
    CHECK(a.refusal && a.refusal->status == 401);
    CHECK_EQ(header(a.cors, "Access-Control-Allow-Origin"), "http://app.example");
    CHECK_EQ(header(a.cors, "Vary"), "Origin");
    h.authorization = "Bearer k3y-0123456789abcdef";
    a = copilot::admit_head(r, h, false);
    CHECK(a.refusal && a.refusal->status == 415 && a.refusal->code == "unsupported_media_type");
    h.content_type.reset();
    CHECK(copilot::admit_head(r, h, false).refusal->status == 415);
    h.content_type = "application/json; charset=utf-8";
    CHECK(!copilot::admit_head(r, h, false).refusal);
    // a preflight carries no key and is answered before the key check
    auto pre = head("OPTIONS", "/v1/chat/completions");
    pre.origin = "http://app.example";
    pre.request_headers = "authorization, x-stainless-os, bad header, content-type";
    a = copilot::admit_head(r, pre, false);
    CHECK(a.preflight && !a.refusal);
    CHECK_EQ(header(a.cors, "Access-Control-Allow-Headers"), "Authorization, Content-Type, x-stainless-os");
    pre.origin = "http://evil.example";
    a = copilot::admit_head(r, pre, false);
    CHECK(!a.preflight && a.refusal && a.refusal->code == "origin_not_allowed");
    // on a Unix socket no Host is checked, and every peer is local
    copilot::AdmissionRules u;
    u.unix_socket = true;
    auto any = head("GET", "/v1/models", "");
    any.host.reset();
    CHECK(!copilot::admit_head(u, any, false).refusal);
}

TEST(admission_after_the_body_refuses_oversized_and_non_json_bodies) {
    copilot::AdmissionRules rules;
    rules.max_body = 100;
    auto chat = copilot::match_route("POST", "/v1/chat/completions");
    copilot::InspectedBody facts;
    auto big = copilot::admit_body(rules, chat, true, "", &facts);
    CHECK(big && big->status == 413);
    if (big) {
        CHECK_EQ(header(big->headers, "Connection"), "close");
        CHECK(big->body().find("\"request_too_large\"") != std::string::npos);
    }
    auto bad = copilot::admit_body(rules, chat, false, "[1]", &facts);
    CHECK(bad && bad->status == 400 && bad->code == "invalid_json");
    CHECK(!copilot::admit_body(rules, chat, false, R"({"model":"m","stream":true})", &facts));
    CHECK_EQ(facts.facts.model, "m");
    CHECK(facts.facts.stream);
    // GET routes read no body
    auto models = copilot::match_route("GET", "/v1/models");
    CHECK(!copilot::admit_body(rules, models, false, "not json", &facts));
}

// --- client authentication ----------------------------------------------------------------

TEST(keys_compare_exactly) {
    CHECK(copilot::constant_time_equals("sk-local-123", "sk-local-123"));
    CHECK(!copilot::constant_time_equals("sk-local-12", "sk-local-123"));
    CHECK(!copilot::constant_time_equals("sk-local-1234", "sk-local-123"));
    CHECK(!copilot::constant_time_equals("sk-local-124", "sk-local-123"));
    CHECK(!copilot::constant_time_equals("", "sk"));
    CHECK(!copilot::constant_time_equals("", ""));  // an empty key never matches
}

TEST(bearer_credentials_are_read_from_the_header) {
    CHECK(copilot::bearer_credentials("Bearer abc") == std::optional<std::string>("abc"));
    CHECK(copilot::bearer_credentials("bearer   abc  ") == std::optional<std::string>("abc"));
    CHECK(copilot::bearer_credentials("BEARER\tabc") == std::optional<std::string>("abc"));
    CHECK(!copilot::bearer_credentials("Basic abc"));
    CHECK(!copilot::bearer_credentials("Bearer"));
    CHECK(!copilot::bearer_credentials("Bearer "));
    CHECK(!copilot::bearer_credentials("Bearerabc"));
    CHECK(!copilot::bearer_credentials(""));
}

// --- bodies -------------------------------------------------------------------------------

TEST(openai_errors_have_the_openai_shape) {
    auto d = parse(copilot::openai_error("no such \"route\"", "invalid_request_error", "x"));
    CHECK(d.IsObject() && d["error"].IsObject());
    CHECK_EQ(str(d["error"], "message"), "no such \"route\"");
    CHECK_EQ(str(d["error"], "type"), "invalid_request_error");
    CHECK_EQ(str(d["error"], "code"), "x");
    CHECK(d["error"]["param"].IsNull());
    auto n = parse(copilot::openai_error("m", "server_error"));
    CHECK(n["error"]["code"].IsNull());
    CHECK_EQ(std::string(copilot::error_type_for_status(401)), "authentication_error");
    CHECK_EQ(std::string(copilot::error_type_for_status(403)), "permission_error");
    CHECK_EQ(std::string(copilot::error_type_for_status(429)), "rate_limit_error");
    CHECK_EQ(std::string(copilot::error_type_for_status(502)), "server_error");
    CHECK_EQ(std::string(copilot::error_type_for_status(413)), "invalid_request_error");
}

TEST(request_bodies_give_their_model_and_stream_flag) {
    auto f = copilot::inspect_request_body(
        R"({"model":"gpt-4.1","stream":true,"messages":[{"role":"user","content":"secret"}]})");
    CHECK(f.json_object);
    CHECK_EQ(f.facts.model, "gpt-4.1");
    CHECK(f.facts.stream);
    auto g = copilot::inspect_request_body(R"({"model":"x","stream":"yes"})");
    CHECK(!g.facts.stream);
    auto h = copilot::inspect_request_body(R"({"messages":[]})");
    CHECK(h.json_object);
    CHECK_EQ(h.facts.model, "");
    CHECK(!copilot::inspect_request_body("[1,2]").json_object);
    CHECK(!copilot::inspect_request_body("{").json_object);
    CHECK(!copilot::inspect_request_body("").json_object);
}

TEST(the_model_list_gets_openai_fields) {
    std::string out = copilot::openai_models(
        R"({"data":[{"id":"gpt-4.1","vendor":"Azure OpenAI","capabilities":{"type":"chat"}},)"
        R"({"id":"m2","object":"model","owned_by":"me","created":5},{"name":"no id"},7],)"
        R"("object":"list"})");
    auto d = parse(out);
    CHECK_EQ(str(d, "object"), "list");
    CHECK(d["data"].IsArray());
    CHECK_EQ(d["data"].Size(), 2u);
    const auto& a = d["data"][0];
    CHECK_EQ(str(a, "id"), "gpt-4.1");
    CHECK_EQ(str(a, "object"), "model");
    CHECK_EQ(str(a, "owned_by"), "Azure OpenAI");
    CHECK(a["created"].IsInt());
    CHECK(a["capabilities"].IsObject());  // Copilot's own fields stay
    CHECK_EQ(str(d["data"][1], "owned_by"), "me");
    CHECK_EQ(d["data"][1]["created"].GetInt(), 5);
    // a bare array is a list too
    auto b = parse(copilot::openai_models(R"([{"id":"x"}])"));
    CHECK_EQ(str(b["data"][0], "owned_by"), "github-copilot");
    CHECK_THROWS(copilot::openai_models("{}"), Exit::protocol);
    CHECK_THROWS(copilot::openai_models("not json"), Exit::protocol);
    CHECK_THROWS(copilot::openai_models(R"({"data":{}})"), Exit::protocol);
}

TEST(one_model_has_the_shape_of_a_list_entry) {
    const std::string list =
        R"({"data":[{"id":"gpt-4.1","vendor":"Azure OpenAI","capabilities":{"type":"chat"}},)"
        R"({"name":"no id"},7,{"id":"ft:gpt-4o:org:x","object":"model","owned_by":"me","created":5},)"
        R"({"id":"gpt-4.1","vendor":"second"}],"object":"list"})";
    auto one = copilot::openai_model(list, "gpt-4.1");
    CHECK(one.has_value());
    // byte for byte the entry the list gives (the first of two with that id)
    auto all = parse(copilot::openai_models(list));
    CHECK_EQ(*one, copilot::json_dump(all["data"][0]));
    auto d = parse(*one);
    CHECK_EQ(str(d, "id"), "gpt-4.1");
    CHECK_EQ(str(d, "object"), "model");
    CHECK_EQ(str(d, "owned_by"), "Azure OpenAI");
    CHECK(d["created"].IsInt());
    CHECK(d["capabilities"].IsObject());
    auto ft = parse(*copilot::openai_model(list, "ft:gpt-4o:org:x"));
    CHECK_EQ(str(ft, "owned_by"), "me");
    CHECK_EQ(ft["created"].GetInt(), 5);
    auto bare = parse(*copilot::openai_model(R"([{"id":"x"}])", "x"));
    CHECK_EQ(str(bare, "owned_by"), "github-copilot");
    // ids match exactly
    CHECK(!copilot::openai_model(list, "GPT-4.1"));
    CHECK(!copilot::openai_model(list, "gpt-4"));
    CHECK(!copilot::openai_model(list, ""));
    CHECK(!copilot::openai_model(list, "no id"));
    CHECK_THROWS(copilot::openai_model("{}", "x"), Exit::protocol);
    CHECK_THROWS(copilot::openai_model("not json", "x"), Exit::protocol);
}

TEST(an_unknown_model_gets_a_404_body_naming_it_cleanly) {
    auto d = parse(copilot::model_not_found_body("gpt-99"));
    CHECK_EQ(str(d["error"], "message"),
             "the model 'gpt-99' does not exist; GET /v1/models lists the models there are");
    CHECK_EQ(str(d["error"], "type"), copilot::error_type_for_status(404));
    CHECK_EQ(str(d["error"], "type"), "invalid_request_error");
    CHECK_EQ(str(d["error"], "code"), "model_not_found");
    CHECK(d["error"]["param"].IsNull());
    // what the client sent is shortened and cleared of control characters and quotes
    auto e = parse(copilot::model_not_found_body("x\r\n\"\x1b[31m" + std::string(500, 'm')));
    const std::string m = str(e["error"], "message");
    CHECK(m.rfind("the model 'x????[31m", 0) == 0);
    CHECK(m.find_first_of("\r\n\"\x1b") == std::string::npos);
    CHECK(m.find("mmm...' does not exist") != std::string::npos);
    CHECK(m.size() < 160);
}

TEST(upstream_errors_become_openai_errors) {
    const std::string tok = "tid=secret;exp=1:abcdef";
    // already OpenAI-shaped: relayed as it is (with the token masked)
    std::string same = R"({"error":{"message":"The requested model is not supported.","code":"model_not_supported","param":"model","type":"invalid_request_error"}})";
    CHECK_EQ(copilot::upstream_error_body(400, same, tok), same);
    std::string echoed = copilot::upstream_error_body(
        401, R"({"error":{"message":"bad token tid=secret;exp=1:abcdef"}})", tok);
    CHECK(echoed.find("abcdef") == std::string::npos);
    // text: wrapped
    auto d = parse(copilot::upstream_error_body(401, "unauthorized: token expired\n", tok));
    CHECK_EQ(str(d["error"], "message"), "unauthorized: token expired");
    CHECK_EQ(str(d["error"], "type"), "authentication_error");
    // {"message": ...}
    auto g = parse(copilot::upstream_error_body(403, R"({"message":"nope","code":"forbidden"})", tok));
    CHECK_EQ(str(g["error"], "message"), "nope");
    CHECK_EQ(str(g["error"], "code"), "forbidden");
    // nothing at all
    auto e = parse(copilot::upstream_error_body(502, "", tok));
    CHECK_EQ(str(e["error"], "message"), "the Copilot API answered HTTP 502");
    CHECK_EQ(str(e["error"], "type"), "server_error");
}

TEST(the_sse_error_event_never_joins_a_half_written_event) {
    const std::string ev = copilot::sse_error_event("boom", "data: x\n\n");
    CHECK(ev.rfind("data: {\"error\":", 0) == 0);
    CHECK(ev.size() > 2 && ev.substr(ev.size() - 2) == "\n\n");
    auto d = parse(ev.substr(6, ev.size() - 8));
    CHECK_EQ(str(d["error"], "message"), "boom");
    CHECK_EQ(str(d["error"], "code"), "upstream_error");
    CHECK_EQ(copilot::sse_error_event("boom", "").rfind("data: ", 0), size_t{0});
    CHECK_EQ(copilot::sse_error_event("boom", "x\r\n\r\n").rfind("data: ", 0), size_t{0});
    CHECK_EQ(copilot::sse_error_event("boom", "x\r\r").rfind("data: ", 0), size_t{0});
    CHECK_EQ(copilot::sse_error_event("boom", "data: {\"a\":").rfind("\n\ndata: ", 0), size_t{0});
    CHECK_EQ(copilot::sse_error_event("boom", "data: x\n").rfind("\n\ndata: ", 0), size_t{0});
    CHECK_EQ(copilot::sse_error_event("boom", "data: x\r\n").rfind("\n\ndata: ", 0), size_t{0});
}

// --- the request log ----------------------------------------------------------------------

TEST(the_request_log_line_has_every_field) {
    copilot::RequestLog r;
    r.client = "127.0.0.1";
    r.method = "POST";
    r.path = "/v1/chat/completions";
    r.model = "gpt-4.1";
    r.status = 200;
    r.bytes = 1834;
    r.ms = 12.345;
    r.stream = true;
    CHECK_EQ(copilot::format_request_log(r),
             "127.0.0.1 POST /v1/chat/completions model=gpt-4.1 stream status=200 bytes=1834 "
             "ms=12.3");
    r.stream = false;
    r.model.clear();
    r.note = "client closed";
    CHECK_EQ(copilot::format_request_log(r),
             "127.0.0.1 POST /v1/chat/completions model=- status=200 bytes=1834 ms=12.3 "
             "note=\"client closed\"");
}

TEST(the_request_log_line_cannot_be_forged_by_a_client) {
    copilot::RequestLog r;
    r.client = "::1";
    r.method = "GET";
    r.path = "/x\ncopilot-serve: 127.0.0.1 GET /fake \"quoted\"";
    r.model = std::string("gpt\r\n\x1b[31m") + std::string(500, 'm');
    const std::string line = copilot::format_request_log(r);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find('\r') == std::string::npos);
    CHECK(line.find('\x1b') == std::string::npos);
    CHECK(line.find('"') == std::string::npos);
    CHECK(line.size() < 400);
}

// --- the relay queue ------------------------------------------------------------------------

TEST(the_queue_keeps_order_and_ends) {
    copilot::RelayQueue q(1024);
    CHECK(q.push("hello "));
    CHECK(q.push("world"));
    q.finish("!", "note");
    char buf[4];
    size_t n = 0;
    std::string got;
    for (;;) {
        auto r = q.pull(buf, sizeof buf, &n, 0ms);
        if (r == copilot::RelayQueue::Pull::end) break;
        CHECK(r == copilot::RelayQueue::Pull::data);
        if (r != copilot::RelayQueue::Pull::data) break;
        got.append(buf, n);
    }
    CHECK_EQ(got, "hello world!");
    CHECK_EQ(q.bytes_out(), uint64_t{12});
    CHECK_EQ(q.note(), "note");
}

TEST(a_finished_queue_is_taken_whole_only_before_any_pull_or_cancel) {
    copilot::RelayQueue q(1024);
    CHECK(q.push("hello "));
    CHECK(!q.take_whole());  // still coming: nothing taken
    CHECK_EQ(q.queued(), size_t{6});
    CHECK(q.push("world"));
    q.finish("!");
    auto all = q.take_whole();
    CHECK(all.has_value());
    CHECK_EQ(all.value_or(""), "hello world!");
    CHECK_EQ(q.bytes_out(), uint64_t{12});
    CHECK_EQ(q.queued(), size_t{0});
    char buf[4];
    size_t n = 0;
    CHECK(q.pull(buf, sizeof buf, &n, 0ms) == copilot::RelayQueue::Pull::end);

    copilot::RelayQueue pulled(1024);  // a reader has begun: the rest is its
    CHECK(pulled.push("abcdef"));
    pulled.finish();
    CHECK(pulled.pull(buf, 2, &n, 0ms) == copilot::RelayQueue::Pull::data);
    CHECK(!pulled.take_whole());
    CHECK_EQ(pulled.queued(), size_t{4});

    copilot::RelayQueue cancelled(1024);
    CHECK(cancelled.push("x"));
    cancelled.finish();
    cancelled.cancel();
    CHECK(!cancelled.take_whole());
}

TEST(the_queue_waits_for_bytes_then_times_out) {
    copilot::RelayQueue q(1024);
    char buf[8];
    size_t n = 99;
    CHECK(q.pull(buf, sizeof buf, &n, 1ms) == copilot::RelayQueue::Pull::timeout);
    CHECK_EQ(n, size_t{0});
}

TEST(a_full_queue_pauses_the_producer_until_the_consumer_has_taken_half) {
    int changes = 0;
    copilot::RelayQueue q(10, [&] { ++changes; });
    int resumed = 0;
    CHECK(!q.pause_if_full([&] { ++resumed; }));  // empty: no pause
    CHECK(q.push("0123456789"));                  // full now
    CHECK_EQ(changes, 1);                         // the consumer was told
    CHECK(q.pause_if_full([&] { ++resumed; }));
    char buf[16];
    size_t n = 0;
    CHECK(q.pull(buf, 4, &n, 0ms) == copilot::RelayQueue::Pull::data);
    CHECK_EQ(n, size_t{4});
    CHECK_EQ(resumed, 0);  // 6 bytes still wait: more than half
    CHECK(q.pull(buf, 1, &n, 0ms) == copilot::RelayQueue::Pull::data);
    CHECK_EQ(resumed, 1);  // 5 left: the producer goes on, once
    CHECK(q.pull(buf, 1, &n, 0ms) == copilot::RelayQueue::Pull::data);
    CHECK_EQ(resumed, 1);
    CHECK_EQ(q.queued(), size_t{4});
}

TEST(cancelling_the_queue_resumes_a_paused_producer_which_then_stops) {
    int changes = 0;
    copilot::RelayQueue q(4, [&] { ++changes; });
    CHECK(q.push("full"));
    int resumed = 0;
    CHECK(q.pause_if_full([&] { ++resumed; }));
    q.cancel();
    CHECK_EQ(resumed, 1);
    CHECK_EQ(changes, 2);  // the push, the cancel
    CHECK(!q.pause_if_full([&] { ++resumed; }));  // cancelled: push, and be told no
    CHECK(!q.push("again"));
    char buf[8];
    size_t n = 0;
    CHECK(q.ready());
    CHECK(q.pull(buf, sizeof buf, &n, 0ms) == copilot::RelayQueue::Pull::cancelled);
}

// --- /healthz ------------------------------------------------------------------------------

TEST(health_reports_state_and_expiry_without_secrets) {
    copilot::TokenStatus s;
    s.state = copilot::TokenStatus::State::ready;
    s.token = "tid=secret:mac";
    s.api_url = "https://api.githubcopilot.com";
    s.expires_at = 2000;
    s.refresh_at = 1500;
    const std::string h = copilot::health_json(s, "github.com", 1000, 3, 2);
    CHECK(h.find("secret") == std::string::npos);
    auto d = parse(h);
    CHECK_EQ(str(d, "status"), "ok");
    CHECK(d["token_ready"].GetBool());
    CHECK_EQ(d["token_expires_at"].GetInt64(), int64_t{2000});
    CHECK_EQ(d["token_expires_in"].GetInt64(), int64_t{1000});
    CHECK_EQ(d["token_refresh_at"].GetInt64(), int64_t{1500});
    CHECK_EQ(d["requests_in_flight"].GetInt64(), int64_t{3});
    CHECK_EQ(d["upstream_requests_in_flight"].GetInt64(), int64_t{2});

    copilot::TokenStatus w;
    w.state = copilot::TokenStatus::State::login_pending;
    w.user_code = "ABCD-1234";
    w.verification_uri = "https://github.com/login/device";
    w.problem = "waiting for GitHub login: enter ABCD-1234 at https://github.com/login/device";
    auto e = parse(copilot::health_json(w, "github.com", 1000, 0, 0));
    CHECK_EQ(str(e, "status"), "waiting_for_login");
    CHECK(!e["token_ready"].GetBool());
    CHECK(e["token_expires_at"].IsNull());
    CHECK_EQ(str(e, "user_code"), "ABCD-1234");
}

// --- the proxy (no network needed) ---------------------------------------------------------

TEST(requests_wait_with_503_while_the_login_is_pending) {
    copilot::TokenKeeperOptions o;
    o.fetch = [](bool) -> copilot::CopilotTokenResult { throw Error(Exit::no_auth, "not logged in"); };
    o.login = [](const std::function<bool()>& cancelled,
                 const std::function<void(const copilot::PendingLogin&)>& on_code) {
        copilot::PendingLogin p;
        p.user_code = "WDJB-4837";
        p.verification_uri = "https://github.com/login/device";
        on_code(p);
        while (!cancelled()) std::this_thread::sleep_for(5ms);
        throw Error(Exit::interrupted, "interrupted");
    };
    auto k = std::make_shared<copilot::TokenKeeper>(o);
    k->start();
    CHECK(eventually([&] { return !k->status().user_code.empty(); }));
    auto proxy = std::make_shared<copilot::Proxy>(k);
    copilot::ProxyRequest req;
    req.route = copilot::Route::chat;
    req.upstream_path = "/chat/completions";
    req.body = R"({"model":"gpt-4.1","messages":[]})";
    auto ex = proxy->start(req);
    CHECK(ex->wait_head(10s));
    auto head = ex->take_head();
    CHECK_EQ(head.status, 503L);
    CHECK(!head.stream);
    auto d = parse(head.body);
    CHECK_EQ(str(d["error"], "message"),
             "waiting for GitHub login: enter WDJB-4837 at https://github.com/login/device");
    bool retry_after = false;
    for (const auto& [name, value] : head.headers)
        if (name == "Retry-After") retry_after = true;
    CHECK(retry_after);
    CHECK(proxy->wait_idle(10s));
    k->stop();
}

TEST(an_unreachable_upstream_is_a_502_without_the_token) {
    copilot::TokenKeeperOptions o;
    o.api_url = "http://127.0.0.1:9";  // discard: nothing listens there
    o.fetch = [](bool) { return token("tid=never-shown"); };
    auto k = std::make_shared<copilot::TokenKeeper>(o);
    k->start();
    auto proxy = std::make_shared<copilot::Proxy>(k);
    for (bool stream : {false, true}) {
        copilot::ProxyRequest req;
        req.route = copilot::Route::chat;
        req.upstream_path = "/chat/completions";
        req.facts.stream = stream;
        req.body = R"({"model":"gpt-4.1","messages":[]})";
        auto ex = proxy->start(req);
        CHECK(ex->wait_head(30s));
        auto head = ex->take_head();
        CHECK_EQ(head.status, 502L);
        CHECK(head.body.find("cannot reach the Copilot API") != std::string::npos);
        CHECK(head.body.find("never-shown") == std::string::npos);
    }
    CHECK(proxy->wait_idle(10s));
    k->stop();
}

TEST(many_exchanges_at_once_all_get_their_answer_and_the_workers_end) {
    copilot::TokenKeeperOptions o;
    o.device_login = true;
    o.fetch = [](bool) -> copilot::CopilotTokenResult { throw Error(Exit::temp, "offline"); };
    auto k = std::make_shared<copilot::TokenKeeper>(o);
    k->prime();  // no background thread: the state stays "unavailable"
    auto proxy = std::make_shared<copilot::Proxy>(k);
    std::vector<std::shared_ptr<copilot::Exchange>> all;
    for (int round = 0; round < 3; ++round) {  // later rounds reuse the idle workers
        for (int i = 0; i < 40; ++i) {
            copilot::ProxyRequest req;
            req.route = copilot::Route::models;
            req.upstream_path = "/models";
            all.push_back(proxy->start(req));
        }
        CHECK(proxy->wait_idle(10s));
    }
    for (auto& ex : all) {
        CHECK(ex->wait_head(10s));
        CHECK_EQ(ex->take_head().status, 503L);
        CHECK(ex->done());
    }
    CHECK_EQ(proxy->running(), size_t{0});
    proxy.reset();  // returns: idle workers are told to end
}

// --- the wire routes (ARCHITECTURE.md, "Wire APIs") -------------------------------------

TEST(the_wire_routes_carry_their_client_api) {
    using copilot::Route;
    using copilot::wire::Api;
    for (const char* prefix : {"", "/v1"}) {
        const std::string p = prefix;
        auto r = copilot::match_route("POST", p + "/responses");
        CHECK(r.route == Route::responses);
        CHECK(r.api == Api::responses);
        auto m = copilot::match_route("POST", p + "/messages");
        CHECK(m.route == Route::messages);
        CHECK(m.api == Api::messages);
        auto c = copilot::match_route("POST", p + "/messages/count_tokens");
        CHECK(c.route == Route::count_tokens);
        CHECK(c.api == Api::messages);
        CHECK(copilot::match_route("POST", p + "/chat/completions").api == Api::chat);
    }
    // what is no route under /v1/messages still gets Anthropic's shape
    auto nf = copilot::match_route("POST", "/v1/messages/batches");
    CHECK(nf.route == Route::not_found);
    CHECK(nf.api == Api::messages);
    CHECK(copilot::match_route("GET", "/v1/messages").api == Api::messages);
    CHECK(copilot::match_route("GET", "/v1/nothing").api == Api::chat);
    CHECK(copilot::match_route("GET", "/v1/messagesx").api == Api::chat);
    CHECK(copilot::wire_api(Route::messages) == Api::messages);
    CHECK(!copilot::wire_api(Route::count_tokens));
    CHECK(!copilot::wire_api(Route::embeddings));
}

TEST(client_keys_come_as_bearer_or_x_api_key_and_x_api_key_decides) {
    using copilot::client_credentials;
    CHECK(client_credentials(std::string("Bearer k1"), std::nullopt) == std::string("k1"));
    CHECK(client_credentials(std::nullopt, std::string(" k2 ")) == std::string("k2"));
    // both: x-api-key is the one looked at, so a wrong one is not rescued
    CHECK(client_credentials(std::string("Bearer good"), std::string("bad")) == std::string("bad"));
    CHECK(!client_credentials(std::nullopt, std::string("  ")));
    CHECK(!client_credentials(std::nullopt, std::nullopt));
    copilot::AdmissionRules rules;
    rules.api_key = "0123456789abcdef";
    auto h = head("POST", "/v1/messages");
    h.x_api_key = "0123456789abcdef";
    CHECK(!copilot::admit_head(rules, h, false).refusal);
    h.x_api_key = "0123456789abcdeX";
    auto a = copilot::admit_head(rules, h, false);
    CHECK(a.refusal && a.refusal->status == 401);
    // its body is Anthropic's on an Anthropic route
    auto doc = parse(a.refusal->body(a.route.api));
    CHECK_EQ(str(doc, "type"), "error");
    CHECK_EQ(str(doc["error"], "type"), "authentication_error");
}

TEST(errors_take_the_client_s_shape_and_the_status_s_type) {
    using copilot::wire::Api;
    const std::pair<long, const char*> anthropic[] = {
        {400, "invalid_request_error"}, {401, "authentication_error"}, {403, "permission_error"},
        {404, "not_found_error"},       {413, "request_too_large"},    {429, "rate_limit_error"},
        {500, "api_error"},             {529, "overloaded_error"}};
    for (const auto& [status, type] : anthropic) {
        auto doc = parse(copilot::client_error(Api::messages, status, "m"));
        CHECK_EQ(str(doc, "type"), "error");
        CHECK_EQ(str(doc["error"], "type"), type);
        CHECK_EQ(str(doc["error"], "message"), "m");
    }
    for (Api api : {Api::chat, Api::responses}) {
        auto doc = parse(copilot::client_error(api, 404, "m", "model_not_found"));
        CHECK_EQ(str(doc["error"], "type"), "invalid_request_error");
        CHECK_EQ(str(doc["error"], "code"), "model_not_found");
    }
    // an upstream error: an OpenAI body for a Messages client is rebuilt in Anthropic's shape
    auto up = parse(copilot::upstream_error_body(
        429, R"({"error":{"message":"slow down","code":"rate_limited"}})", "", Api::messages));
    CHECK_EQ(str(up["error"], "type"), "rate_limit_error");
    CHECK_EQ(str(up["error"], "message"), "slow down");
    // ... and an Anthropic one stays as it came
    const std::string native = R"({"type":"error","error":{"type":"overloaded_error","message":"busy"}})";
    CHECK_EQ(copilot::upstream_error_body(529, native, "", Api::messages), native);
    // the event that ends a cut Anthropic stream
    const std::string ev = copilot::sse_error_event("cut", "", Api::messages);
    CHECK(ev.rfind("event: error\ndata: {\"type\":\"error\"", 0) == 0);
}

TEST(only_the_known_anthropic_betas_go_upstream) {
    CHECK_EQ(copilot::filter_anthropic_beta(
                 "interleaved-thinking-2025-05-14, files-api-2025-04-14,context-management-2025-06-27"),
             "interleaved-thinking-2025-05-14,context-management-2025-06-27");
    CHECK_EQ(copilot::filter_anthropic_beta("files-api-2025-04-14"), "");
    CHECK_EQ(copilot::filter_anthropic_beta(""), "");
    CHECK_EQ(copilot::filter_anthropic_beta(
                 "interleaved-thinking-2025-05-14,interleaved-thinking-2025-05-14"),
             "interleaved-thinking-2025-05-14");
}

namespace {

copilot::Catalogue fake_catalogue() {
    return copilot::catalogue_from_body(
        R"({"data":[{"id":"gpt-4.1"},)"
        R"({"id":"gpt-5-codex","supported_endpoints":["/responses"]},)"
        R"({"id":"claude-sonnet-4.5","supported_endpoints":["/chat/completions","/v1/messages"]}]})",
        now());
}

copilot::WirePlan plan(copilot::wire::Api api, const std::string& body,
                       const copilot::Catalogue* cat, const copilot::wire::ModelMap& map = {},
                       const copilot::HeaderList& headers = {}) {
    auto facts = copilot::inspect_request_body(body, api).facts;
    return copilot::plan_wire_request(api, body, facts, cat, map, headers);
}

}  // namespace

TEST(the_plan_passes_through_when_the_model_takes_the_client_s_api) {
    using copilot::wire::Api;
    const copilot::Catalogue cat = fake_catalogue();
    const std::string body = R"({"model":"gpt-5-codex", "input":"hi"})";
    auto p = plan(Api::responses, body, &cat);
    CHECK(!p.translated());
    CHECK_EQ(p.body, body);  // byte for byte
    CHECK_EQ(header(p.headers, "X-Initiator"), "user");
    CHECK_EQ(header(p.headers, "Copilot-Vision-Request"), "<none>");
    // a Messages passthrough keeps anthropic-version and the known betas
    auto m = plan(Api::messages,
                  R"({"model":"claude-sonnet-4.5","max_tokens":5,"messages":[{"role":"user","content":"x"}]})",
                  &cat, {},
                  {{"anthropic-version", "2023-06-01"},
                   {"anthropic-beta", "files-api-2025-04-14,interleaved-thinking-2025-05-14"}});
    CHECK(!m.translated());
    CHECK_EQ(header(m.headers, "anthropic-version"), "2023-06-01");
    CHECK_EQ(header(m.headers, "anthropic-beta"), "interleaved-thinking-2025-05-14");
    // no catalogue: the client's own API
    CHECK(!plan(Api::chat, R"({"model":"gpt-5-codex","messages":[{"role":"user","content":"x"}]})",
                nullptr)
               .translated());
}

TEST(a_responses_passthrough_drops_what_copilot_refuses_and_keeps_the_rest) {
    using copilot::wire::Api;
    const copilot::Catalogue cat = fake_catalogue();
    // Codex's request: client_metadata and non-function tools go, in that order.
    auto p = plan(Api::responses,
                  R"({"model":"gpt-5-codex","input":"hi","client_metadata":{"x":1},)"
                  R"("tools":[{"type":"function","name":"exec_command","parameters":{}},)"
                  R"({"type":"web_search"},{"type":"namespace","name":"n"},{"type":"web_search"},7],)"
                  R"("prompt_cache_key":"k","store":false})",
                  &cat);
    CHECK(!p.translated());
    std::string dropped;
    for (const auto& d : p.dropped) dropped += (dropped.empty() ? "" : ",") + d;
    CHECK_EQ(dropped, "client_metadata,tools[web_search],tools[namespace]");
    const auto body = parse(p.body);
    CHECK(!body.HasMember("client_metadata"));
    CHECK_EQ(body["tools"].Size(), 2u);  // the function, and what is not an object (Copilot's 400)
    CHECK_EQ(std::string(body["tools"][0]["name"].GetString()), "exec_command");
    CHECK_EQ(std::string(body["prompt_cache_key"].GetString()), "k");
    CHECK(body.HasMember("store"));
    // nothing to drop: byte for byte, and nothing said
    const std::string clean = R"({"model":"gpt-5-codex",  "input":"hi","tools":[{"type":"function","name":"f"}]})";
    auto q = plan(Api::responses, clean, &cat);
    CHECK_EQ(q.body, clean);
    CHECK(q.dropped.empty());
}

TEST(the_plan_translates_and_chains_when_the_model_needs_it) {
    using copilot::wire::Api;
    const copilot::Catalogue cat = fake_catalogue();
    auto c = plan(Api::chat, R"({"model":"gpt-5-codex","messages":[{"role":"user","content":"x"}]})", &cat);
    CHECK(c.upstream == Api::responses);
    CHECK(parse(c.body).HasMember("input"));
    auto r = plan(Api::responses, R"({"model":"gpt-4.1","input":"x"})", &cat);
    CHECK(r.upstream == Api::chat);
    CHECK(parse(r.body).HasMember("messages"));
    auto m = plan(Api::messages,
                  R"({"model":"gpt-5-codex","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"ok"}]}]})",
                  &cat);
    CHECK(m.upstream == Api::responses);  // Messages -> Chat -> Responses
    CHECK(parse(m.body).HasMember("input"));
    CHECK_EQ(header(m.headers, "X-Initiator"), "agent");
    CHECK(m.input_estimate > 0);
}

TEST(model_names_are_mapped_and_an_unknown_anthropic_name_is_a_model_not_found) {
    using copilot::wire::Api;
    const copilot::Catalogue cat = fake_catalogue();
    const char* body = R"({"model":"%s","max_tokens":5,"messages":[{"role":"user","content":"x"}]})";
    auto with = [&](const std::string& model) {
        std::string b = body;
        b.replace(b.find("%s"), 2, model);
        return b;
    };
    auto p = plan(Api::messages, with("claude-sonnet-4-5-20250929"), &cat);
    CHECK_EQ(p.model, "claude-sonnet-4.5");
    CHECK_EQ(p.asked, "claude-sonnet-4-5-20250929");
    CHECK_EQ(parse(p.body)["model"].GetString(), std::string("claude-sonnet-4.5"));
    CHECK_EQ(p.ctx.model, "claude-sonnet-4-5-20250929");  // the answer names what was asked
    auto q = plan(Api::messages, with("haiku"), &cat, {{"haiku", "gpt-4.1"}});
    CHECK_EQ(q.model, "gpt-4.1");
    CHECK(q.upstream == Api::chat);
    CHECK_THROWS_MSG(plan(Api::messages, with("claude-sonet-4.5"), &cat), Exit::data, "claude-sonnet-4.5");
    // an OpenAI client's unknown name goes on: the upstream answers it
    CHECK_EQ(plan(Api::chat, R"({"model":"gpt-99","messages":[{"role":"user","content":"x"}]})", &cat).model,
             "gpt-99");
}

TEST(an_untranslatable_field_names_itself) {
    using copilot::wire::Api;
    const copilot::Catalogue cat = fake_catalogue();
    bool thrown = false;
    try {
        plan(Api::responses, R"({"model":"gpt-4.1","input":"x","tools":[{"type":"web_search"}]})", &cat);
    } catch (const copilot::wire::Untranslatable& e) {
        thrown = true;
        CHECK_EQ(e.field(), "tools[0].type");
    }
    CHECK(thrown);
}

TEST(a_chained_stream_ends_clean_or_with_the_client_s_error) {
    using copilot::wire::Api;
    const copilot::Catalogue cat = fake_catalogue();
    auto p = plan(Api::messages,
                  R"({"model":"gpt-5-codex","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"x"}]})",
                  &cat);
    const std::string created =
        "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,"
        "\"response\":{\"id\":\"r\",\"status\":\"in_progress\",\"output\":[]}}\n\n";
    const std::string delta =
        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
        "\"sequence_number\":1,\"item_id\":\"m\",\"output_index\":0,\"content_index\":0,"
        "\"delta\":\"hi\"}\n\n";
    {
        copilot::TranslatedStream ts(p);
        ts.feed(created);
        ts.feed(delta.substr(0, 30));  // events split anywhere
        ts.feed(delta.substr(30));
        CHECK(ts.ping());
        // EOF without response.completed: the answer was cut
        CHECK(!ts.end());
        const std::string out = ts.take();
        CHECK(out.find("event: message_start") != std::string::npos);
        CHECK(out.find("\"text\":\"hi\"") != std::string::npos);
        CHECK(out.find("event: ping") != std::string::npos);
        CHECK(out.rfind("event: error") != std::string::npos);
        CHECK(out.find("message_stop") == std::string::npos);
        CHECK(!ts.ping());  // over
    }
    {
        copilot::TranslatedStream ts(p);
        ts.feed(created + delta +
                "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":2,"
                "\"response\":{\"status\":\"failed\",\"error\":{\"code\":\"x\",\"message\":\"boom\"}}}\n\n");
        const std::string out = ts.take();
        CHECK(out.find("boom") != std::string::npos);
        CHECK(out.rfind("event: error") != std::string::npos);
        CHECK(ts.over());
    }
}

TEST(the_request_log_line_has_the_wire_route_s_fields) {
    copilot::RequestLog r;
    r.client = "127.0.0.1";
    r.method = "POST";
    r.path = "/v1/messages";
    r.model = "claude-sonnet-4.5";
    r.status = 200;
    r.bytes = 10;
    r.ms = 1;
    r.stream = true;
    r.wire.api = "messages";
    r.wire.upstream = "/chat/completions";
    r.wire.translated = true;
    r.wire.asked = "claude-sonnet-4-5";
    r.wire.initiator = "agent";
    r.wire.usage = copilot::wire::Usage{12, 34, 0, 0};
    r.wire.dropped = {"top_k"};
    CHECK_EQ(copilot::format_request_log(r),
             "127.0.0.1 POST /v1/messages model=claude-sonnet-4.5 asked=claude-sonnet-4-5 stream "
             "api=messages upstream=/chat/completions translated initiator=agent status=200 "
             "bytes=10 ms=1.0 input_tokens=12 output_tokens=34 dropped=top_k");
}
