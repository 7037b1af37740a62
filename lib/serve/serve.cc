#include "serve/serve.h"
#include "util/text.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <netinet/in.h>
#include <system_error>

#include "auth/auth_state.h"
#include "api/chat.h"
#include "util/files.h"
#include "net/endpoints.h"
#include "util/json.h"
#include "util/version.h"

namespace copilot {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}




int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

// Client-supplied text in a log line (or an error message): bounded, one
// line, no quotes, ASCII.
std::string log_field(std::string_view s, size_t max) {
    std::string out;
    for (char c : s) {
        if (out.size() >= max) {
            out += "...";
            break;
        }
        const unsigned char u = static_cast<unsigned char>(c);
        out += (u <= 0x20 || u >= 0x7f || c == '"') ? '?' : c;
    }
    return out;
}

}  // namespace

// --- configuration ---------------------------------------------------------------

ListenAddress parse_listen(const std::string& text) {
    auto bad = [&](const std::string& why) -> Error {
        return Error(Exit::usage, "--listen " + text + ": " + why + " (see --help)");
    };
    ListenAddress a;
    std::string host, port;
    if (!text.empty() && text[0] == '[') {
        size_t close = text.find(']');
        if (close == std::string::npos) throw bad("missing ']' after the IPv6 address");
        host = text.substr(1, close - 1);
        if (close + 1 >= text.size() || text[close + 1] != ':')
            throw bad("expected ADDR:PORT, e.g. 127.0.0.1:4141 or [::1]:4141");
        port = text.substr(close + 2);
        a.ipv6 = true;
    } else {
        size_t colon = text.rfind(':');
        if (colon == std::string::npos)
            throw bad("expected ADDR:PORT, e.g. 127.0.0.1:4141 or [::1]:4141");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string::npos)
            throw bad("an IPv6 address goes in brackets: [::1]:4141");
    }
    if (host.empty()) throw bad("no address (use 127.0.0.1, or 0.0.0.0 for every interface)");
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stol(port) > 65535)
        throw bad("the port must be a number from 0 to 65535");
    a.port = static_cast<int>(std::stol(port));
    if (!a.ipv6 && iequals(host, "localhost")) host = "127.0.0.1";
    unsigned char buf[sizeof(in6_addr)];
    if (a.ipv6) {
        if (::inet_pton(AF_INET6, host.c_str(), buf) != 1) throw bad("not an IPv6 address");
    } else if (::inet_pton(AF_INET, host.c_str(), buf) != 1) {
        throw bad("not an IPv4 address (host names other than localhost are not resolved)");
    }
    a.ip = host;
    a.host = a.ipv6 ? "[" + host + "]" : host;
    a.loopback = is_loopback_ip(host);
    return a;
}

std::string listen_url(const ListenAddress& a, int port) {
    return "http://" + a.host + ":" + std::to_string(port);
}

bool is_loopback_ip(const std::string& ip) {
    in_addr v4{};
    if (::inet_pton(AF_INET, ip.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    if (::inet_pton(AF_INET6, ip.c_str(), &v6) != 1) return false;
    if (std::memcmp(&v6, &in6addr_loopback, sizeof v6) == 0) return true;
    // ::ffff:127.x.y.z, how a dual-stack socket sees an IPv4 loopback client
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(v6.s6_addr, mapped, sizeof mapped) == 0 && v6.s6_addr[12] == 127;
}

size_t parse_size(const std::string& text, const std::string& flag) {
    auto bad = [&]() -> Error {
        return Error(Exit::usage, flag + " needs a size such as 16M, 512K or 1048576, not '" +
                                      text + "' (see --help)");
    };
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0 || digits > 12) throw bad();
    uint64_t n = std::stoull(text.substr(0, digits));
    std::string unit = text.substr(digits);
    uint64_t mult = 1;
    if (unit.empty() || unit == "B")
        mult = 1;
    else if (iequals(unit, "K") || iequals(unit, "KiB") || iequals(unit, "KB"))
        mult = 1ull << 10;
    else if (iequals(unit, "M") || iequals(unit, "MiB") || iequals(unit, "MB"))
        mult = 1ull << 20;
    else if (iequals(unit, "G") || iequals(unit, "GiB") || iequals(unit, "GB"))
        mult = 1ull << 30;
    else
        throw bad();
    if (n == 0 || n > (1ull << 40) / mult) throw bad();  // 1 TiB is plenty
    return static_cast<size_t>(n * mult);
}

// --- routes ---------------------------------------------------------------------

RouteMatch match_route(std::string_view method, std::string_view path) {
    struct Entry {
        const char* path;
        const char* method;
        Route route;
        const char* upstream;
        bool takes_id;  // `path` is a prefix and a non-empty {id} follows it
    };
    static const Entry table[] = {
        {"/chat/completions", "POST", Route::chat, "/chat/completions", false},
        {"/models", "GET", Route::models, "/models", false},
        // no upstream route for one model: the list is fetched and searched
        {"/models/", "GET", Route::models, "/models", true},
        {"/embeddings", "POST", Route::embeddings, "/embeddings", false},
        {"/healthz", "GET", Route::healthz, "", false},
    };
    if (starts_with(path, "/v1/")) path.remove_prefix(3);
    RouteMatch m;
    for (const auto& e : table) {
        const std::string_view p = e.path;
        if (e.takes_id ? !(path.size() > p.size() && starts_with(path, p)) : path != p) continue;
        const bool get = std::string_view(e.method) == "GET";
        if (method == e.method || (get && method == "HEAD")) {
            m.route = e.route;
            m.upstream_path = e.upstream;
            if (e.takes_id) m.model_id = std::string(path.substr(p.size()));
        } else {
            m.route = Route::wrong_method;
            m.allow = get ? "GET, HEAD" : e.method;
        }
        return m;
    }
    return m;
}

// --- client authentication ------------------------------------------------------

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
    if (v.size() < 7 || !iequals(std::string_view(v).substr(0, 6), "bearer") ||
        (v[6] != ' ' && v[6] != '\t'))
        return std::nullopt;
    std::string cred = trim(std::string_view(v).substr(7));
    if (cred.empty()) return std::nullopt;
    return cred;
}

std::string read_api_key_file(const std::string& path, std::string* warning) {
    auto text = read_file(path, 64 * 1024);
    if (!text) throw Error(Exit::io, "--api-key-file " + path + " does not exist");
    std::string first = text->substr(0, text->find('\n'));
    std::string key = trim(first);
    if (key.empty()) throw Error(Exit::data, "--api-key-file " + path + " holds no key");
    for (unsigned char c : key)
        if (c <= 0x20 || c >= 0x7f)
            throw Error(Exit::data, "--api-key-file " + path +
                                        ": the key must be printable ASCII without spaces");
    auto mode = file_mode(path);
    if (warning && mode && (*mode & 077)) {
        char m[8];
        std::snprintf(m, sizeof m, "%04o", static_cast<unsigned>(*mode & 07777));
        *warning = "--api-key-file " + path + " is readable by others (mode " + m +
                   "); chmod 600 it";
    }
    return key;
}

// --- bodies ---------------------------------------------------------------------

std::string openai_error(std::string_view message, std::string_view type,
                         std::string_view code) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto text = [&w](std::string_view s) {
        w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    };
    w.StartObject();
    w.Key("error");
    w.StartObject();
    w.Key("message");
    text(message);
    w.Key("type");
    text(type);
    w.Key("param");
    w.Null();
    w.Key("code");
    if (code.empty())
        w.Null();
    else
        text(code);
    w.EndObject();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

const char* error_type_for_status(long status) {
    if (status == 401) return "authentication_error";
    if (status == 403) return "permission_error";
    if (status == 429) return "rate_limit_error";
    if (status >= 500) return "server_error";
    return "invalid_request_error";
}

RequestFacts inspect_request_body(std::string_view body) {
    RequestFacts f;
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
    if (doc.HasParseError() || !doc.IsObject()) return f;
    f.json_object = true;
    auto m = doc.FindMember("model");
    if (m != doc.MemberEnd() && m->value.IsString())
        f.model.assign(m->value.GetString(), m->value.GetStringLength());
    auto s = doc.FindMember("stream");
    f.stream = s != doc.MemberEnd() && s->value.IsBool() && s->value.GetBool();
    return f;
}

namespace {

// The entries of Copilot's model list (an object's "data", or a bare array),
// parsed into `doc`. Error(protocol) when it is not a list.
const JsonValue& model_list(rapidjson::Document& doc, std::string_view copilot_body) {
    doc.Parse<rapidjson::kParseIterativeFlag>(copilot_body.data(), copilot_body.size());
    if (doc.HasParseError())
        throw Error(Exit::protocol, "the Copilot API sent a model list that is not JSON");
    if (doc.IsArray()) return doc;
    if (doc.IsObject()) {
        auto d = doc.FindMember("data");
        if (d != doc.MemberEnd() && d->value.IsArray()) return d->value;
    }
    throw Error(Exit::protocol, "the Copilot API sent a model list without \"data\"");
}

// The id of a usable entry (an object with a string "id"), else nullopt.
std::optional<std::string_view> model_entry_id(const JsonValue& entry) {
    if (!entry.IsObject()) return std::nullopt;
    auto id = entry.FindMember("id");
    if (id == entry.MemberEnd() || !id->value.IsString()) return std::nullopt;
    return std::string_view(id->value.GetString(), id->value.GetStringLength());
}

// One entry in OpenAI's shape: Copilot's fields kept, the fields OpenAI
// clients read added when missing.
rapidjson::Value openai_model_entry(const JsonValue& entry,
                                    rapidjson::Document::AllocatorType& alloc) {
    rapidjson::Value e(entry, alloc);
    if (!e.HasMember("object")) e.AddMember("object", "model", alloc);
    if (!e.HasMember("created")) e.AddMember("created", 0, alloc);
    if (!e.HasMember("owned_by")) {
        auto vendor = entry.FindMember("vendor");
        rapidjson::Value owner;
        if (vendor != entry.MemberEnd() && vendor->value.IsString())
            owner.SetString(vendor->value.GetString(), vendor->value.GetStringLength(), alloc);
        else
            owner.SetString("github-copilot", alloc);
        e.AddMember("owned_by", owner, alloc);
    }
    return e;
}

}  // namespace

std::string openai_models(std::string_view copilot_body) {
    rapidjson::Document doc;
    const JsonValue& list = model_list(doc, copilot_body);
    rapidjson::Document out;
    out.SetObject();
    auto& alloc = out.GetAllocator();
    rapidjson::Value data(rapidjson::kArrayType);
    for (const auto& entry : list.GetArray())
        if (model_entry_id(entry)) data.PushBack(openai_model_entry(entry, alloc), alloc);
    out.AddMember("object", "list", alloc);
    out.AddMember("data", data, alloc);
    return json_dump(out);
}

std::optional<std::string> openai_model(std::string_view copilot_body, std::string_view id) {
    rapidjson::Document doc;
    const JsonValue& list = model_list(doc, copilot_body);
    for (const auto& entry : list.GetArray()) {
        if (model_entry_id(entry) != id) continue;
        rapidjson::Document out;  // owns the copy's memory
        return json_dump(openai_model_entry(entry, out.GetAllocator()));
    }
    return std::nullopt;
}

std::string model_not_found_body(std::string_view id) {
    return openai_error("the model '" + log_field(id, 80) +
                            "' does not exist; GET /v1/models lists the models there are",
                        error_type_for_status(404), "model_not_found");
}

std::string upstream_error_body(long status, std::string_view body, const std::string& secret) {
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (!doc.HasParseError() && doc.IsObject()) {
        auto err = doc.FindMember("error");
        if (err != doc.MemberEnd() && err->value.IsObject())
            return redact(std::string(body), secret);
    }
    ApiError e = parse_api_error(body, secret);
    std::string message = e.message.empty()
                              ? "the Copilot API answered HTTP " + std::to_string(status)
                              : e.message;
    return openai_error(message, error_type_for_status(status), e.code);
}

std::string sse_error_event(std::string_view message, std::string_view tail) {
    // Does `tail` end with an empty line (two line ends in a row), i.e. is
    // no event half-written? Line ends are CRLF, LF or CR.
    auto strip_line_end = [](std::string_view& s) {
        if (s.size() >= 2 && s.substr(s.size() - 2) == "\r\n") {
            s.remove_suffix(2);
            return true;
        }
        if (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
            s.remove_suffix(1);
            return true;
        }
        return false;
    };
    std::string_view t = tail;
    const bool ended = t.empty() || (strip_line_end(t) && strip_line_end(t));
    std::string out = ended ? "" : "\n\n";
    out += "data: " + openai_error(message, "server_error", "upstream_error") + "\n\n";
    return out;
}

// --- the request log ------------------------------------------------------------

std::string format_request_log(const RequestLog& r) {
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.1f", r.ms);
    std::string line = log_field(r.client.empty() ? "-" : r.client, 64) + " " +
                       log_field(r.method, 16) + " " + log_field(r.path, 200) +
                       " model=" + (r.model.empty() ? "-" : log_field(r.model, 80));
    if (r.stream) line += " stream";
    line += " status=" + std::to_string(r.status) + " bytes=" + std::to_string(r.bytes) +
            " ms=" + ms;
    if (!r.note.empty()) {
        std::string note;
        for (char c : r.note) note += (c == '"' || static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
        line += " note=\"" + note + "\"";
    }
    return line;
}

// --- the Copilot token ------------------------------------------------------------

std::string serve_api_url(const std::optional<std::string>& flag, const CopilotToken& t) {
    if (flag && !flag->empty()) return strip_slashes(*flag);
    const char* env = std::getenv("COPILOT_API_URL");
    if (env && *env) return strip_slashes(env);
    if (is_trusted_copilot_api_url(t.api_url, t.host)) return strip_slashes(t.api_url);
    return strip_slashes(default_copilot_api_url(t.host));
}

namespace {

constexpr int64_t kMinRefreshGap = 2;  // s: a token is never refreshed more often

CopilotToken library_fetch(const TokenKeeperOptions& o, bool force) {
    TokenRequest tr;
    tr.host = o.host;
    tr.profile = o.profile;
    tr.min_ttl = o.min_ttl;
    tr.force_refresh = force;
    const ServeLog log = o.log;
    if (log) tr.log = [log](const std::string& m) { log(LogKind::note, m); };
    // Looked up only when an exchange is needed, and again at every one: a
    // copilot-login made while the server runs is picked up.
    auto github_token = [&o, log]() -> std::string {
        TokenSources src;
        src.host = o.host;
        src.profile = o.profile;
        src.auth_file = o.auth_file;
        src.stdin_text = o.auth_text;  // read once at start, for --auth - only
        std::string warnings;
        auto gh = find_github_token(src, &warnings);
        if (log && !warnings.empty()) {
            for (size_t at = 0; at < warnings.size();) {
                size_t nl = warnings.find('\n', at);
                if (nl == std::string::npos) nl = warnings.size();
                if (nl > at) log(LogKind::warning, warnings.substr(at, nl - at));
                at = nl + 1;
            }
        }
        if (!gh) throw Error(Exit::no_auth, "not logged in to " + o.host + ": run copilot-login");
        if (!gh->host.empty() && gh->host != o.host)
            throw Error(Exit::usage, "the GitHub login from " + gh->source + " is for " +
                                         gh->host + ", not " + o.host + "; add --host " + gh->host);
        if (log) log(LogKind::note, "GitHub token from " + gh->source);
        return gh->token;
    };
    TokenResult r = get_copilot_token(tr, github_token, unix_now());
    if (log)
        for (const auto& w : r.warnings) log(LogKind::warning, w);
    return r.token;
}

void library_login(const TokenKeeperOptions& o, const std::function<bool()>& cancelled,
                   const std::function<void(const PendingLogin&)>& on_code) {
    PendingLogin p = request_device_code(o.host, o.client_id, o.scope, unix_now());
    on_code(p);
    PollLoop loop;
    loop.cancelled = cancelled;
    const ServeLog log = o.log;
    if (log) loop.note = [log](const std::string& m) { log(LogKind::note, m); };
    PollAnswer a = poll_for_token(p, loop);
    // Stored the way copilot-login stores it, so the other tools use it too.
    AuthState st;
    st.host = p.host;
    st.client_id = p.client_id;
    st.oauth_token = a.access_token;
    st.scope = a.scope;
    long status = 0;
    std::string problem;
    st.user = lookup_user(a.access_token, o.host, &status, &problem).value_or("");
    st.created_at = unix_now();
    const std::string path = store_auth_state(st, o.profile);
    remove_token_cache(o.host, o.profile);  // it belonged to the previous login
    if (log)
        log(LogKind::notice, "logged in to " + o.host +
                                 (st.user.empty() ? "" : " as " + st.user) + "; saved " + path);
}

// Waits after the n-th failure in a row: 5, 10, 20, 40, 60, 60... s.
int64_t failure_backoff(int failures) {
    int64_t s = 5;
    for (int i = 1; i < failures && s < 60; ++i) s *= 2;
    return std::min<int64_t>(s, 60);
}

bool worth_retrying(Exit code) {
    return code == Exit::temp || code == Exit::unavailable || code == Exit::protocol;
}

}  // namespace

TokenKeeper::TokenKeeper(TokenKeeperOptions opts) : opts_(std::move(opts)) {
    if (!opts_.fetch) {
        // `this` outlives every call: the keeper's thread is joined in ~TokenKeeper.
        opts_.fetch = [this](bool force) { return library_fetch(opts_, force); };
    }
    if (!opts_.login) {
        opts_.login = [this](const std::function<bool()>& cancelled,
                             const std::function<void(const PendingLogin&)>& on_code) {
            library_login(opts_, cancelled, on_code);
        };
    }
    status_.problem = "starting: getting a Copilot token";
}

TokenKeeper::~TokenKeeper() { stop(); }

void TokenKeeper::log(LogKind kind, const std::string& message) const {
    if (opts_.log) opts_.log(kind, message);
}

void TokenKeeper::set_token(const CopilotToken& t) {
    const int64_t now = unix_now();
    std::lock_guard<std::mutex> lk(mu_);
    status_.state = TokenStatus::State::ready;
    status_.token = t.token;
    status_.api_url = serve_api_url(opts_.api_url, t);
    status_.expires_at = t.expires_at;
    status_.fetched_at = t.fetched_at;
    status_.refresh_at = std::max(refresh_due_at(t, opts_.min_ttl), now + kMinRefreshGap);
    status_.user_code.clear();
    status_.verification_uri.clear();
    status_.problem.clear();
    failures_ = 0;
    cv_.notify_all();
}

void TokenKeeper::prime() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (primed_) return;
        primed_ = true;
    }
    try {
        std::lock_guard<std::mutex> fl(fetch_mu_);
        CopilotToken t = opts_.fetch(false);
        ++fetches_;
        set_token(t);
        log(LogKind::note, "Copilot token ready: expires in " +
                               std::to_string(t.expires_at - unix_now()) + " s");
    } catch (const Error& e) {
        std::lock_guard<std::mutex> lk(mu_);
        if (e.code() == Exit::no_auth && opts_.device_login) {
            need_login_ = true;
            status_.state = TokenStatus::State::login_pending;
            status_.problem = "waiting for GitHub login: requesting a device code";
        } else if (worth_retrying(e.code())) {
            failures_ = 1;
            retry_at_ = unix_now() + failure_backoff(failures_);
            status_.state = TokenStatus::State::unavailable;
            status_.problem = e.what();
            if (opts_.log)
                opts_.log(LogKind::warning, std::string("cannot get a Copilot token: ") +
                                                e.what() + "; retrying in " +
                                                std::to_string(retry_at_ - unix_now()) + " s");
        } else {
            throw;
        }
    }
}

void TokenKeeper::start() {
    prime();
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void TokenKeeper::stop() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stopping_ = true;
        cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
}

TokenStatus TokenKeeper::status() const {
    std::lock_guard<std::mutex> lk(mu_);
    TokenStatus s = status_;
    if (s.ready() && s.expires_at <= unix_now()) {
        s.state = TokenStatus::State::unavailable;
        s.problem = "the Copilot token expired and could not be refreshed" +
                    (s.problem.empty() ? std::string() : ": " + s.problem);
    }
    return s;
}

void TokenKeeper::fetch_and_set(bool force) {
    try {
        std::lock_guard<std::mutex> fl(fetch_mu_);
        CopilotToken t = opts_.fetch(force);
        ++fetches_;
        set_token(t);
        log(LogKind::note, "Copilot token refreshed: expires in " +
                               std::to_string(t.expires_at - unix_now()) + " s");
    } catch (const Error& e) {
        std::unique_lock<std::mutex> lk(mu_);
        if (e.code() == Exit::no_auth && opts_.device_login) {
            need_login_ = true;
            if (!status_.ready()) {
                status_.state = TokenStatus::State::login_pending;
                status_.problem = "waiting for GitHub login: requesting a device code";
            }
            cv_.notify_all();
            lk.unlock();
            log(LogKind::notice, std::string(e.what()) + "; starting the GitHub device flow");
            return;
        }
        ++failures_;
        retry_at_ = unix_now() + failure_backoff(failures_);
        status_.problem = e.what();
        if (!status_.ready()) status_.state = TokenStatus::State::unavailable;
        const int64_t wait = retry_at_ - unix_now();
        lk.unlock();
        log(LogKind::warning, std::string("cannot refresh the Copilot token: ") + e.what() +
                                  "; retrying in " + std::to_string(wait) + " s");
    }
}

std::optional<TokenStatus> TokenKeeper::refresh_after_rejection(const std::string& rejected) {
    std::lock_guard<std::mutex> fl(fetch_mu_);
    {
        // Someone else already replaced the rejected token: use theirs.
        std::lock_guard<std::mutex> lk(mu_);
        if (status_.ready() && status_.token != rejected) return status_;
        // A refresh that just failed is not repeated for every request.
        if (unix_now() - forced_failed_at_ < kMinRefreshGap) return std::nullopt;
    }
    try {
        CopilotToken t = opts_.fetch(true);
        ++fetches_;
        set_token(t);
        log(LogKind::note, "the Copilot API refused the token: refreshed it");
        std::lock_guard<std::mutex> lk(mu_);
        return status_;
    } catch (const Error& e) {
        log(LogKind::warning,
            std::string("the Copilot API refused the token and refreshing it failed: ") +
                e.what());
        std::lock_guard<std::mutex> lk(mu_);
        status_.problem = e.what();
        forced_failed_at_ = unix_now();
        if (e.code() == Exit::no_auth && opts_.device_login) {
            need_login_ = true;
            cv_.notify_all();
        }
        return std::nullopt;
    }
}

void TokenKeeper::run_login() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (!status_.ready()) {
            status_.state = TokenStatus::State::login_pending;
            status_.problem = "waiting for GitHub login: requesting a device code";
        }
    }
    auto cancelled = [this] {
        std::lock_guard<std::mutex> lk(mu_);
        return stopping_;
    };
    auto on_code = [this](const PendingLogin& p) {
        {
            std::lock_guard<std::mutex> lk(mu_);
            if (!status_.ready()) status_.state = TokenStatus::State::login_pending;
            status_.user_code = p.user_code;
            status_.verification_uri = p.verification_uri;
            if (!status_.ready())
                status_.problem = "waiting for GitHub login: enter " + p.user_code + " at " +
                                  p.verification_uri;
        }
        log(LogKind::notice, "to log in to GitHub, enter code " + p.user_code + " at " +
                                 p.verification_uri);
    };
    try {
        opts_.login(cancelled, on_code);
    } catch (const Error& e) {
        std::unique_lock<std::mutex> lk(mu_);
        if (stopping_) return;
        status_.user_code.clear();
        status_.verification_uri.clear();
        need_login_ = true;
        ++failures_;
        // An expired code is simply replaced; anything else waits a little.
        retry_at_ = unix_now() + (e.code() == Exit::temp && failures_ == 1
                                      ? 0
                                      : failure_backoff(failures_));
        if (!status_.ready()) {
            status_.state = TokenStatus::State::unavailable;
            status_.problem = std::string("GitHub login failed: ") + e.what();
        }
        const int64_t wait = retry_at_ - unix_now();
        lk.unlock();
        log(LogKind::warning, std::string("the GitHub login did not complete: ") + e.what() +
                                  "; starting a new one in " + std::to_string(wait) + " s");
        return;
    }
    fetch_and_set(false);
}

void TokenKeeper::run() {
    std::unique_lock<std::mutex> lk(mu_);
    while (!stopping_) {
        const int64_t now = unix_now();
        if (need_login_ && now >= retry_at_) {
            need_login_ = false;
            lk.unlock();
            run_login();
            lk.lock();
            continue;
        }
        int64_t due;
        if (need_login_)
            due = retry_at_;
        else if (status_.ready() && failures_ == 0)
            due = status_.refresh_at;
        else
            due = retry_at_;
        if (now >= due) {
            lk.unlock();
            fetch_and_set(false);
            lk.lock();
            continue;
        }
        // Woken early by stop(), a new token or a login request; re-checked
        // at least every minute in case the clock jumped.
        const int64_t wait = std::min<int64_t>(due - now, 60);
        cv_.wait_until(lk, std::chrono::system_clock::from_time_t(static_cast<std::time_t>(now + wait)));
    }
}

std::string health_json(const TokenStatus& s, const std::string& host, int64_t now,
                        uint64_t in_flight, uint64_t upstream_in_flight) {
    using State = TokenStatus::State;
    const char* status = "starting";
    switch (s.state) {
    case State::ready: status = "ok"; break;
    case State::login_pending: status = "waiting_for_login"; break;
    case State::unavailable: status = "unavailable"; break;
    case State::starting: status = "starting"; break;
    }
    JsonObjectWriter w;
    w.field("status", status).field("host", host).field("logged_in", s.ready());
    if (s.expires_at > 0) {
        w.field("token_expires_at", s.expires_at);
        w.field("token_expires_in", std::max<int64_t>(0, s.expires_at - now));
        w.field("token_refresh_at", s.refresh_at);
    } else {
        w.null_field("token_expires_at").null_field("token_expires_in").null_field(
            "token_refresh_at");
    }
    if (!s.api_url.empty()) w.field("api_url", s.api_url);
    if (!s.user_code.empty()) {
        w.field("user_code", s.user_code);
        w.field("verification_uri", s.verification_uri);
    }
    if (!s.problem.empty()) w.field("problem", s.problem);
    w.field("requests_in_flight", static_cast<int64_t>(in_flight));
    w.field("upstream_requests_in_flight", static_cast<int64_t>(upstream_in_flight));
    w.field("version", COPILOT_UTILS_VERSION);
    return w.str();
}

// --- the relay --------------------------------------------------------------------

bool RelayQueue::push(std::string_view bytes) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [this] { return cancelled_ || queued_ < capacity_; });
    if (cancelled_) return false;
    if (bytes.empty()) return true;
    chunks_.emplace_back(bytes);
    queued_ += bytes.size();
    cv_.notify_all();
    return true;
}

void RelayQueue::finish(std::string tail, std::string note) {
    std::lock_guard<std::mutex> lk(mu_);
    if (!cancelled_ && !tail.empty()) {
        queued_ += tail.size();
        chunks_.push_back(std::move(tail));
    }
    finished_ = true;
    if (note_.empty()) note_ = std::move(note);
    cv_.notify_all();
}

RelayQueue::Pull RelayQueue::pull(char* buf, size_t max, size_t* n,
                                  std::chrono::milliseconds wait) {
    *n = 0;
    std::unique_lock<std::mutex> lk(mu_);
    if (!cv_.wait_for(lk, wait, [this] { return cancelled_ || queued_ > 0 || finished_; }))
        return Pull::timeout;
    if (cancelled_) return Pull::cancelled;
    if (queued_ == 0) return Pull::end;
    size_t copied = 0;
    while (copied < max && !chunks_.empty()) {
        std::string& front = chunks_.front();
        const size_t take = std::min(max - copied, front.size() - front_offset_);
        std::memcpy(buf + copied, front.data() + front_offset_, take);
        copied += take;
        front_offset_ += take;
        if (front_offset_ == front.size()) {
            chunks_.pop_front();
            front_offset_ = 0;
        }
    }
    queued_ -= copied;
    bytes_out_ += copied;
    *n = copied;
    cv_.notify_all();  // room for the producer
    return Pull::data;
}

void RelayQueue::cancel() {
    std::lock_guard<std::mutex> lk(mu_);
    cancelled_ = true;
    chunks_.clear();
    queued_ = 0;
    cv_.notify_all();
}

bool RelayQueue::cancelled() const {
    std::lock_guard<std::mutex> lk(mu_);
    return cancelled_;
}

bool RelayQueue::finished() const {
    std::lock_guard<std::mutex> lk(mu_);
    return finished_;
}

std::string RelayQueue::note() const {
    std::lock_guard<std::mutex> lk(mu_);
    return note_;
}

size_t RelayQueue::queued() const {
    std::lock_guard<std::mutex> lk(mu_);
    return queued_;
}

bool Exchange::wait_head(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, wait, [this] { return has_head_; });
}

ProxyResponse Exchange::head() const {
    std::lock_guard<std::mutex> lk(mu_);
    return head_;
}

void Exchange::cancel() {
    std::shared_ptr<RelayQueue> q;
    {
        std::lock_guard<std::mutex> lk(mu_);
        cancelled_ = true;
        q = queue_;
    }
    if (q) q->cancel();
}

bool Exchange::cancelled() const {
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (cancelled_) return true;
    }
    return gone_ && gone_();
}

bool Exchange::done() const {
    std::lock_guard<std::mutex> lk(mu_);
    return done_;
}

void Exchange::set_head(ProxyResponse r) {
    std::lock_guard<std::mutex> lk(mu_);
    if (has_head_) return;
    head_ = std::move(r);
    has_head_ = true;
    cv_.notify_all();
}

namespace {

ProxyResponse error_response(long status, const std::string& message, const std::string& code,
                             const std::string& note) {
    ProxyResponse r;
    r.status = status;
    r.headers.push_back({"Content-Type", "application/json"});
    r.body = openai_error(message, error_type_for_status(status), code);
    r.note = note;
    return r;
}

// A whole (buffered) upstream answer, as the client gets it.
ProxyResponse relay_whole(const ProxyRequest& req, const HttpResponse& up,
                          const std::string& token) {
    ProxyResponse r;
    r.status = up.status;
    const bool ok = up.status >= 200 && up.status < 300;
    if (ok && req.route == Route::models) {
        std::optional<std::string> body;
        try {
            if (req.model_id.empty())
                body = openai_models(up.body);
            else
                body = openai_model(up.body, req.model_id);
        } catch (const Error& e) {
            return error_response(502, e.what(), "bad_upstream_answer", "bad model list");
        }
        if (body) {
            r.body = std::move(*body);
        } else {
            r.status = 404;
            r.body = model_not_found_body(req.model_id);
            r.note = "model_not_found";  // like the other errors the server itself answers
        }
        r.headers.push_back({"Content-Type", "application/json"});
    } else if (ok) {
        r.body = up.body;
        std::string ct = up.header("content-type");
        r.headers.push_back({"Content-Type", ct.empty() ? "application/json" : ct});
    } else {
        r.body = upstream_error_body(up.status, up.body, token);
        r.headers.push_back({"Content-Type", "application/json"});
        r.note = "upstream error";
    }
    for (const char* name : {"retry-after", "x-request-id", "x-github-request-id"}) {
        std::string v = up.header(name);
        if (!v.empty() && v.find_first_of("\r\n") == std::string::npos)
            r.headers.push_back({name, v});
    }
    return r;
}

}  // namespace

Proxy::Proxy(std::shared_ptr<TokenKeeper> keeper, ProxyOptions opts)
    : keeper_(std::move(keeper)), opts_(opts) {}

// Workers use the proxy: it waits for them. Exchanges still running are
// let go by the server first (cancelled), so this is short.
Proxy::~Proxy() {
    std::unique_lock<std::mutex> lk(mu_);
    stopping_ = true;
    jobs_cv_.notify_all();
    cv_.wait(lk, [this] { return threads_ == 0 && running_ == 0; });
}

namespace {
// A worker waits this long for another job before it ends: a steady flow of
// requests reuses threads instead of starting one per request, and an idle
// server keeps none.
constexpr auto kWorkerIdleLife = std::chrono::seconds(30);
}  // namespace

std::shared_ptr<Exchange> Proxy::start(ProxyRequest req) {
    auto ex = std::make_shared<Exchange>();
    std::unique_lock<std::mutex> lk(mu_);
    ++running_;
    jobs_.push_back({ex, std::move(req)});
    if (idle_ >= jobs_.size()) {  // an idle worker will take it
        jobs_cv_.notify_one();
        return ex;
    }
    try {
        std::thread([this] { worker(); }).detach();
        ++threads_;
    } catch (const std::system_error&) {
        jobs_.pop_back();
        --running_;
        cv_.notify_all();
        lk.unlock();
        ex->set_head(error_response(503, "the server is out of threads; try again", "overloaded",
                                    "no thread"));
        std::lock_guard<std::mutex> el(ex->mu_);
        ex->done_ = true;
    }
    return ex;
}

void Proxy::worker() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
        ++idle_;
        const bool got = jobs_cv_.wait_for(lk, kWorkerIdleLife,
                                           [this] { return !jobs_.empty() || stopping_; });
        --idle_;
        if (!got || jobs_.empty()) break;  // idle for long, or stopping with nothing to do
        Job job = std::move(jobs_.front());
        jobs_.pop_front();
        lk.unlock();
        execute(job);
        job = Job{};  // the request and the exchange are let go outside the lock
        lk.lock();
        --running_;
        cv_.notify_all();
    }
    --threads_;
    cv_.notify_all();
}

void Proxy::execute(Job& job) {
    Exchange& ex = *job.ex;
    try {
        run(ex, job.req);
    } catch (const std::exception& e) {
        ex.set_head(error_response(500, std::string("internal error: ") + e.what(),
                                   "internal_error", "internal error"));
        std::shared_ptr<RelayQueue> q;
        {
            std::lock_guard<std::mutex> lk(ex.mu_);
            q = ex.queue_;
        }
        if (q) q->finish("", "internal error");
    }
    std::lock_guard<std::mutex> lk(ex.mu_);
    ex.done_ = true;
}

ProxyResponse Proxy::answer(const ProxyRequest& req, std::function<bool()> gone) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        ++running_;
    }
    struct Done {  // counted out however the exchange ends
        Proxy* p;
        ~Done() {
            std::lock_guard<std::mutex> lk(p->mu_);
            --p->running_;
            p->cv_.notify_all();
        }
    } done{this};
    Exchange ex;
    ex.gone_ = std::move(gone);
    try {
        run(ex, req);
    } catch (const std::exception& e) {
        ex.set_head(error_response(500, std::string("internal error: ") + e.what(),
                                   "internal_error", "internal error"));
    }
    ex.set_head(error_response(500, "internal error: no answer", "internal_error",
                               "internal error"));  // a no-op when run() answered
    return ex.head();
}

size_t Proxy::running() const {
    std::lock_guard<std::mutex> lk(mu_);
    return running_;
}

bool Proxy::wait_idle(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, wait, [this] { return running_ == 0; });
}

void Proxy::run(Exchange& ex, const ProxyRequest& req) {
    TokenStatus tok = keeper_->status();
    if (!tok.ready()) {
        const bool login = tok.state == TokenStatus::State::login_pending;
        ProxyResponse r = error_response(503, tok.problem, login ? "login_required" : "unavailable",
                                         login ? "waiting for login" : "no token");
        r.headers.push_back({"Retry-After", "5"});
        ex.set_head(std::move(r));
        return;
    }

    const bool stream = req.route == Route::chat && req.facts.stream;
    std::shared_ptr<RelayQueue> queue;
    if (stream) {
        queue = std::make_shared<RelayQueue>(opts_.queue_capacity);
        std::lock_guard<std::mutex> lk(ex.mu_);
        ex.queue_ = queue;
        if (ex.cancelled_) queue->cancel();
    }

    // The stream's head goes out with its first byte that is not blank
    // space: that byte tells an event stream from a server that ignored
    // "stream": true and sent one JSON object.
    bool started = false;
    long up_status = 200;  // a stream's status and type, from the upstream's head
    std::string up_type;
    std::string lead;
    std::string tail;  // the last bytes relayed, to end a cut stream cleanly
    auto remember_tail = [&tail](std::string_view b) {
        if (b.size() >= 8) {
            tail.assign(b.substr(b.size() - 8));
        } else {
            tail.append(b.data(), b.size());
            if (tail.size() > 8) tail.erase(0, tail.size() - 8);
        }
    };

    for (int attempt = 1; attempt <= 2; ++attempt) {
        HttpRequest r;
        const bool get = req.route == Route::models;
        r.method = get ? "GET" : "POST";
        r.url = tok.api_url + req.upstream_path;
        r.headers = copilot_api_headers(tok.token);  // the client's Authorization never goes on
        if (!get) {
            r.headers.push_back({"Content-Type", "application/json"});
            r.body = req.body;
        }
        r.headers.push_back({"Accept", stream ? "text/event-stream" : "application/json"});
        // Upstream answers are relayed, not retried: the client sees the
        // status (and Retry-After) and decides, as with OpenAI itself.
        r.retry = false;
        r.connect_timeout_ms = opts_.connect_timeout_ms;
        r.timeout_ms = 0;  // answers take as long as they take...
        r.low_speed_time_s = opts_.low_speed_time_s;  // ...but a silent upstream is given up on
        r.max_body = opts_.max_answer;
        r.cancelled = [&ex] { return ex.cancelled(); };
        if (stream) {
            r.on_head = [&](long status, const HeaderList& headers) {
                up_status = status;
                for (const auto& [name, value] : headers)
                    if (name == "content-type" && value.find_first_of("\r\n") == std::string::npos)
                        up_type = value;
            };
            r.on_body = [&](std::string_view bytes) -> bool {
                if (!started) {
                    lead.append(bytes.data(), bytes.size());
                    const size_t at = lead.find_first_not_of(" \t\r\n");
                    if (at == std::string::npos && lead.size() < 4096) return !queue->cancelled();
                    started = true;
                    ProxyResponse head;
                    head.status = up_status;
                    const bool json = at != std::string::npos && lead[at] == '{';
                    // The upstream's own type when it gave one (an HTML error
                    // page stays HTML); else what the first byte says.
                    head.headers.push_back(
                        {"Content-Type", !up_type.empty() ? up_type
                                         : json           ? "application/json"
                                                          : "text/event-stream"});
                    head.headers.push_back({"Cache-Control", "no-cache"});
                    head.stream = queue;
                    ex.set_head(std::move(head));
                    remember_tail(lead);
                    std::string first;
                    first.swap(lead);
                    return queue->push(first);
                }
                remember_tail(bytes);
                return queue->push(bytes);
            };
        }

        HttpResponse up;
        try {
            up = http_perform(r);
        } catch (const Error& e) {
            const std::string msg = redact(e.what(), tok.token);
            if (started) {
                queue->finish(
                    sse_error_event("the connection to the Copilot API broke in the middle of "
                                    "the answer: " + msg,
                                    tail),
                    "upstream cut off");
                return;
            }
            const bool timed_out = msg.find("timed out") != std::string::npos;
            if (e.code() == Exit::protocol)  // reached, but the answer was cut off or too large
                ex.set_head(error_response(502, "the Copilot API sent a broken answer: " + msg,
                                           "bad_upstream_answer", "bad upstream answer"));
            else
                ex.set_head(error_response(timed_out ? 504 : 502,
                                           "cannot reach the Copilot API: " + msg,
                                           "upstream_unreachable", "upstream unreachable"));
            if (queue) queue->finish();
            return;
        }
        if (started) {
            queue->finish("", up.aborted_by_callback ? "client closed" : "");
            return;
        }
        if (up.aborted_by_callback) {  // cancelled before the answer began
            ex.set_head(error_response(503, "the request was cancelled", "cancelled", "cancelled"));
            if (queue) queue->finish();
            return;
        }
        if ((up.status == 401 || up.status == 403) && attempt == 1) {
            // The token may have been revoked or expired early: one fresh
            // token and one more try, as the service's own clients do.
            if (auto fresh = keeper_->refresh_after_rejection(tok.token)) {
                tok = *fresh;
                continue;
            }
        }
        if (stream && up.status >= 200 && up.status < 300 && up.body.empty()) up.body = lead;
        ex.set_head(relay_whole(req, up, tok.token));
        if (queue) queue->finish();
        return;
    }
}

}  // namespace copilot
