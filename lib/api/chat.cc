#include "api/chat.h"
#include "util/text.h"

#include <cstdint>

#include <cstdlib>
#include <ctime>
#include <exception>
#include <memory>
#include <set>

#include "auth/auth_state.h"
#include "util/files.h"
#include "net/endpoints.h"
#include "util/json.h"
#include "util/paths.h"
#include "net/sse.h"

namespace copilot {

namespace {

constexpr size_t kMaxAnswer = 16u << 20;  // a non-streamed answer, or one sent as plain JSON

void note(const LogFn& log, const std::string& message) {
    if (log) log(message);
}




// Lenient readers for answers: a missing or mistyped optional field is
// treated as absent, so a server's extra or odd fields never break a chat.
const JsonValue* member(const JsonValue& obj, const char* key) {
    if (!obj.IsObject()) return nullptr;
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd() || it->value.IsNull()) return nullptr;
    return &it->value;
}

std::optional<std::string> str_member(const JsonValue& obj, const char* key) {
    const JsonValue* v = member(obj, key);
    if (!v || !v->IsString()) return std::nullopt;
    return std::string(v->GetString(), v->GetStringLength());
}

std::optional<int64_t> int_member(const JsonValue& obj, const char* key) {
    const JsonValue* v = member(obj, key);
    if (!v) return std::nullopt;
    if (v->IsInt64()) return v->GetInt64();
    if (v->IsDouble()) {
        double d = v->GetDouble();
        if (d >= -9.0e15 && d <= 9.0e15) return static_cast<int64_t>(d);
    }
    return std::nullopt;
}

std::optional<Usage> parse_usage(const JsonValue& obj) {
    const JsonValue* u = member(obj, "usage");
    if (!u || !u->IsObject()) return std::nullopt;
    Usage usage;
    usage.prompt_tokens = int_member(*u, "prompt_tokens").value_or(0);
    usage.completion_tokens = int_member(*u, "completion_tokens").value_or(0);
    int64_t sum = 0;
    if (__builtin_add_overflow(usage.prompt_tokens, usage.completion_tokens, &sum))
        sum = INT64_MAX;  // absurd counts from a server must not be UB
    usage.total_tokens = int_member(*u, "total_tokens").value_or(sum);
    return usage;
}

ApiError api_error_from(const JsonValue& err, const std::string& secret) {
    ApiError e;
    if (err.IsString()) {
        e.message = one_line(std::string_view(err.GetString(), err.GetStringLength()), secret);
        return e;
    }
    if (!err.IsObject()) return e;
    e.message = one_line(str_member(err, "message").value_or(""), secret);
    if (const JsonValue* c = member(err, "code")) {
        if (c->IsString())
            e.code = std::string(c->GetString(), c->GetStringLength());
        else if (c->IsInt64())
            e.code = std::to_string(c->GetInt64());
    }
    if (e.code.empty()) e.code = str_member(err, "type").value_or("");
    e.code = one_line(e.code, secret);
    return e;
}

std::string with_detail(const std::string& head, const ApiError& e) {
    if (e.message.empty()) return head;
    return head + ": " + e.message;
}

// --- the token ---------------------------------------------------------------

constexpr size_t kMaxBareToken = 8192;

bool looks_like_github_token(std::string_view t) {
    for (const char* p : {"ghu_", "gho_", "ghp_", "ghs_", "github_pat_"})
        if (starts_with(t, p)) return true;
    return false;
}

std::string expiry_text(int64_t expires_at, int64_t now) {
    int64_t ago = now - expires_at;
    if (ago < 120) return std::to_string(ago) + " s ago";
    if (ago < 7200) return std::to_string(ago / 60) + " min ago";
    return std::to_string(ago / 3600) + " h ago";
}

}  // namespace

std::string parse_token_input(std::string_view text, const std::string& what, int64_t now,
                              std::string* api_url, std::string* host,
                              std::vector<std::string>* warnings) {
    const std::string t = trim(text);
    if (t.empty()) throw Error(Exit::data, what + ": empty, expected a Copilot token");
    std::string token;
    int64_t expires_at = 0;
    if (t[0] == '{') {
        CopilotToken doc = parse_token_document(t, JsonSource{what, Exit::data});
        token = doc.token;
        expires_at = doc.expires_at;
        if (host) *host = doc.host;
        if (is_trusted_copilot_api_url(doc.api_url, doc.host)) {
            if (api_url) *api_url = strip_slashes(doc.api_url);
        } else if (warnings && doc.api_url != default_copilot_api_url(doc.host)) {
            warnings->push_back(what + ": ignoring api_url " + doc.api_url +
                                " (not a Copilot host; --api-url chooses another server)");
        }
    } else {
        // A bare token is a few hundred printable characters; anything else
        // (a JSON array, a megabyte of text) would only be sent to the
        // server as a huge Authorization header.
        bool bare = t.size() <= kMaxBareToken && t[0] != '[' && t[0] != '"';
        for (unsigned char c : t)
            if (c <= 0x20 || c >= 0x7f) bare = false;
        if (!bare)
            throw Error(Exit::data, what + ": not a Copilot token (expected copilot-token's "
                                           "JSON document or a bare token)");
        token = t;
        auto fields = token_fields(token);
        auto exp = fields.find("exp");
        if (exp != fields.end() && !exp->second.empty() &&
            exp->second.find_first_not_of("0123456789") == std::string::npos &&
            exp->second.size() < 16)
            expires_at = std::stoll(exp->second);
    }
    if (looks_like_github_token(token))
        throw Error(Exit::data, what + " holds a GitHub token, not a Copilot token; exchange it "
                                       "with copilot-token (or set GITHUB_COPILOT_TOKEN instead)");
    if (expires_at > 0 && expires_at <= now)
        throw Error(Exit::permission, "the Copilot token from " + what + " expired " +
                                          expiry_text(expires_at, now) +
                                          "; get a new one with copilot-token");
    return token;
}

ChatAuth resolve_chat_auth(const ChatAuthRequest& req, int64_t now) {
    ChatAuth a;
    a.host = req.host;
    std::string token_api;  // the token's own api_url, when trusted

    if (req.token_file) {
        std::string text;
        if (*req.token_file == "-") {
            a.source = "--token-file - (standard input)";
            text = read_fd(0, kMaxStateFile, "standard input");
        } else {
            a.source = "--token-file " + *req.token_file;
            auto content = read_file(*req.token_file, kMaxStateFile);
            if (!content)
                throw Error(Exit::no_auth, a.source + " does not exist");
            text = *content;
        }
        a.token = parse_token_input(text, a.source, now, &token_api, &a.host, &a.warnings);
    } else if (const char* env = std::getenv("COPILOT_TOKEN"); env && *env) {
        a.source = "COPILOT_TOKEN";
        a.token = parse_token_input(env, a.source, now, &token_api, &a.host, &a.warnings);
    } else {
        TokenRequest tr;
        tr.host = req.host;
        tr.profile = req.profile;
        tr.log = req.log;
        tr.on_retry = req.on_retry;
        // Looked up only when an exchange is needed: a fresh cache never
        // touches the GitHub credentials.
        auto gh_warnings = std::make_shared<std::string>();
        auto github_token = [host = req.host, profile = req.profile, log = req.log,
                             gh_warnings]() -> std::string {
            TokenSources src;
            src.host = host;
            src.profile = profile;
            src.stdin_text = std::nullopt;  // standard input is the prompt, never auth
            auto gh = find_github_token(src, gh_warnings.get());
            if (!gh)
                throw Error(Exit::no_auth,
                            "not logged in to " + host +
                                ": run copilot-login (or give a Copilot token with "
                                "--token-file or COPILOT_TOKEN)");
            if (!gh->host.empty() && gh->host != host)
                throw Error(Exit::usage, "the GitHub login from " + gh->source + " is for " +
                                             gh->host + ", not " + host + "; add --host " +
                                             gh->host);
            note(log, "GitHub token from " + gh->source + " (" + mask_secret(gh->token) + ")");
            return gh->token;
        };
        TokenResult r = get_copilot_token(tr, github_token, now);
        a.token = r.token.token;
        for (size_t at = 0; at < gh_warnings->size();) {
            size_t nl = gh_warnings->find('\n', at);
            if (nl == std::string::npos) nl = gh_warnings->size();
            a.warnings.push_back(gh_warnings->substr(at, nl - at));
            at = nl + 1;
        }
        a.warnings.insert(a.warnings.end(), r.warnings.begin(), r.warnings.end());
        a.source = r.from_cache ? "the token cache" : "a new token exchange";
        if (is_trusted_copilot_api_url(r.token.api_url, r.token.host))
            token_api = strip_slashes(r.token.api_url);
        a.refresh = [tr, github_token]() mutable {
            tr.force_refresh = true;
            return get_copilot_token(tr, github_token, std::time(nullptr)).token.token;
        };
    }

    const char* env_url = std::getenv("COPILOT_API_URL");
    if (req.api_url && !req.api_url->empty())
        a.api_url = strip_slashes(*req.api_url);
    else if (env_url && *env_url)
        a.api_url = strip_slashes(env_url);
    else if (!token_api.empty())
        a.api_url = token_api;
    else
        a.api_url = default_copilot_api_url(a.host);
    return a;
}

// --- the request -----------------------------------------------------------------

std::optional<std::string> compose_prompt(const std::optional<std::string>& args,
                                          const std::optional<std::string>& stdin_text) {
    const bool has_args = args && !trim(*args).empty();
    const bool has_stdin = stdin_text && !trim(*stdin_text).empty();
    if (has_args && has_stdin) return *args + "\n\n" + *stdin_text;
    if (has_args) return *args;
    if (has_stdin) return *stdin_text;
    return std::nullopt;
}

void check_utf8(std::string_view s, const std::string& what) {
    size_t i = 0, n = s.size();
    while (i < n) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            len = 0;
            cp = 0;
        }
        bool ok = len > 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; ++k) {
            unsigned char cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) ok = false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        // no overlong forms, no surrogates, nothing past U+10FFFF
        static const uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
        if (ok && (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
            ok = false;
        if (!ok)
            throw Error(Exit::data, what + " is not valid UTF-8 text (byte " + std::to_string(i) +
                                        ")");
        i += len;
    }
}

std::string build_chat_body(const ChatRequest& req) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto text = [&w](std::string_view s) {
        w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    };
    auto message = [&](const char* role, const std::string& content) {
        w.StartObject();
        w.Key("role");
        w.String(role);
        w.Key("content");
        text(content);
        w.EndObject();
    };

    w.StartObject();
    w.Key("model");
    text(req.model);
    w.Key("messages");
    w.StartArray();
    size_t count = 0;
    if (req.system) {
        message("system", *req.system);
        ++count;
    }
    if (req.messages_json) {
        const JsonSource src{req.messages_what, Exit::data};
        rapidjson::Document doc = json_parse(*req.messages_json, src, false);
        if (!doc.IsArray())
            throw Error(Exit::data, src.what + ": expected a JSON array of messages");
        size_t k = 0;
        for (const auto& m : doc.GetArray()) {
            ++k;
            const std::string at = src.what + ": message " + std::to_string(k);
            if (!m.IsObject()) throw Error(Exit::data, at + " is not an object");
            auto role = m.FindMember("role");
            if (role == m.MemberEnd() || !role->value.IsString() ||
                role->value.GetStringLength() == 0)
                throw Error(Exit::data, at + ": field 'role' must be a non-empty string");
            auto content = m.FindMember("content");
            if (content != m.MemberEnd() && !content->value.IsString() &&
                !content->value.IsArray() && !content->value.IsNull())
                throw Error(Exit::data, at + ": field 'content' must be a string or an array");
            // json_dump walks with its own stack; Accept() would recurse
            // once per level of a deeply nested message.
            const std::string raw = json_dump(m);
            w.RawValue(raw.data(), raw.size(), m.GetType());
            ++count;
        }
    }
    if (req.prompt) {
        message("user", *req.prompt);
        ++count;
    }
    w.EndArray();
    if (count == 0)
        throw Error(Exit::usage, "nothing to send: give a prompt (as arguments or on standard "
                                 "input) or --messages");
    if (req.temperature) {
        w.Key("temperature");
        w.Double(*req.temperature);
    }
    if (req.max_tokens) {
        w.Key("max_tokens");
        w.Int64(*req.max_tokens);
    }
    w.Key("stream");
    w.Bool(req.stream);
    if (req.stream) {  // OpenAI sends the usage chunk only when asked; Copilot always does
        w.Key("stream_options");
        w.StartObject();
        w.Key("include_usage");
        w.Bool(true);
        w.EndObject();
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

// --- answers --------------------------------------------------------------------

Exit api_error_exit(const std::string& code, long status) {
    static const std::set<std::string> permission = {
        "quota_exceeded", "unauthorized",   "forbidden",        "token_expired",
        "invalid_token",  "access_denied",  "no_copilot_access", "insufficient_quota"};
    static const std::set<std::string> temporary = {
        "rate_limited", "rate_limit_exceeded", "too_many_requests", "timeout", "overloaded"};
    if (code == "model_not_supported") return Exit::usage;
    if (permission.count(code)) return Exit::permission;
    if (temporary.count(code)) return Exit::temp;
    if (status == 401 || status == 402 || status == 403) return Exit::permission;
    if (status == 413) return Exit::data;
    if (status == 429) return Exit::temp;
    if (status >= 500) return Exit::unavailable;
    return Exit::protocol;
}

ApiError parse_api_error(std::string_view body, const std::string& secret) {
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (!doc.HasParseError() && doc.IsObject()) {
        if (const JsonValue* err = member(doc, "error")) {
            ApiError e = api_error_from(*err, secret);
            if (e.message.empty() && err->IsString() == false)
                e.message = one_line(str_member(doc, "message").value_or(""), secret);
            return e;
        }
        ApiError e;
        e.message = one_line(str_member(doc, "message").value_or(""), secret);
        e.code = one_line(str_member(doc, "code").value_or(""), secret);
        return e;
    }
    ApiError e;
    e.message = one_line(body, secret);
    return e;
}

namespace {

// An {"error": ...} inside a 2xx answer, as an Error with the exit code its code maps to.
Error answer_error(const JsonValue& err, const std::string& where) {
    ApiError e = api_error_from(err, "");
    std::string msg = "the server reported an error " + where;
    if (!e.message.empty()) msg += ": " + e.message;
    if (!e.code.empty()) msg += " (" + e.code + ")";
    return Error(api_error_exit(e.code, 0), msg);
}

// The fields of a chunk or of a whole completion (whose "message" is read like a delta).
ChatChunk read_chunk(const JsonValue& doc) {
    ChatChunk c;
    c.id = str_member(doc, "id").value_or("");
    c.model = str_member(doc, "model").value_or("");
    c.created = int_member(doc, "created").value_or(0);
    c.usage = parse_usage(doc);
    const JsonValue* choices = member(doc, "choices");
    if (!choices || !choices->IsArray()) return c;
    const JsonValue* choice = nullptr;
    for (const auto& ch : choices->GetArray()) {
        if (!ch.IsObject()) continue;
        if (int_member(ch, "index").value_or(0) == 0) {
            choice = &ch;
            break;
        }
    }
    if (!choice) return c;
    c.finish_reason = str_member(*choice, "finish_reason");
    const JsonValue* delta = member(*choice, "delta");
    if (!delta) delta = member(*choice, "message");  // some servers send whole messages
    if (!delta || !delta->IsObject()) return c;
    c.role = str_member(*delta, "role");
    if (const JsonValue* content = member(*delta, "content")) {
        if (!content->IsString())
            throw Error(Exit::protocol, "answer: field 'content' must be a string");
        c.content.assign(content->GetString(), content->GetStringLength());
    }
    return c;
}

}  // namespace

ChatChunk parse_chat_chunk(std::string_view data) {
    rapidjson::Document doc = json_parse(data, JsonSource{"answer chunk", Exit::protocol});
    if (const JsonValue* err = member(doc, "error"))
        throw answer_error(*err, "in the middle of the answer");
    return read_chunk(doc);
}

void CompletionAssembler::add(const ChatChunk& c) {
    if (id_.empty() && !c.id.empty()) id_ = c.id;
    if (model_.empty() && !c.model.empty()) model_ = c.model;
    if (created_ == 0 && c.created != 0) created_ = c.created;
    if (c.role && !c.role->empty()) role_ = *c.role;
    content_ += c.content;
    if (c.finish_reason) finish_reason_ = c.finish_reason;
    if (c.usage) usage_ = c.usage;
}

std::string CompletionAssembler::json() const {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto text = [&w](const std::string& s) {
        w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    };
    w.StartObject();
    w.Key("id");
    text(id_);
    w.Key("object");
    w.String("chat.completion");
    w.Key("created");
    w.Int64(created_);
    w.Key("model");
    text(model_);
    w.Key("choices");
    w.StartArray();
    w.StartObject();
    w.Key("index");
    w.Int(0);
    w.Key("message");
    w.StartObject();
    w.Key("role");
    text(role_);
    w.Key("content");
    text(content_);
    w.EndObject();
    w.Key("finish_reason");
    if (finish_reason_)
        text(*finish_reason_);
    else
        w.Null();
    w.EndObject();
    w.EndArray();
    if (usage_) {
        w.Key("usage");
        w.StartObject();
        w.Key("prompt_tokens");
        w.Int64(usage_->prompt_tokens);
        w.Key("completion_tokens");
        w.Int64(usage_->completion_tokens);
        w.Key("total_tokens");
        w.Int64(usage_->total_tokens);
        w.EndObject();
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

// --- talking to the API ---------------------------------------------------------

namespace {

HttpRequest api_request(const ChatAuth& auth, const std::string& method, const std::string& path,
                        const LogFn& log) {
    HttpRequest r;
    r.method = method;
    r.url = auth.api_url + path;
    r.headers = copilot_api_headers(auth.token);  // a fresh X-Request-Id each time
    r.retry = true;  // 429/5xx/connection errors, and never once a body has started
    r.max_attempts = 4;
    if (log)
        r.on_retry = [log](int attempt, long wait_ms, const std::string& reason) {
            log("retry " + std::to_string(attempt) + " in " + std::to_string(wait_ms) +
                " ms: " + reason);
        };
    return r;
}

// Sends what `make` builds; on 401/403 (the answer has not started: error
// bodies are never streamed) the token is refreshed once and the request
// made again with the new token and a new request id.
HttpResponse send_with_refresh(ChatAuth& auth, const std::function<HttpRequest()>& make,
                               const LogFn& log, bool* refreshed) {
    HttpResponse r = http_perform(make());
    if ((r.status == 401 || r.status == 403) && auth.refresh) {
        note(log, "HTTP " + std::to_string(r.status) +
                      ": refreshing the Copilot token and retrying once");
        auth.token = auth.refresh();
        auth.source = "a refreshed token";
        *refreshed = true;
        r = http_perform(make());
    }
    return r;
}

std::vector<std::string> chat_model_ids(const std::vector<ModelInfo>& models) {
    std::vector<std::string> ids;
    for (const auto& m : select_models(models, false)) ids.push_back(m.id);
    return ids;
}

// The error for a non-2xx answer.
Error status_error(ChatAuth& auth, const HttpResponse& r, bool refreshed, const std::string& what,
                   const std::string* model, const LogFn& log) {
    const ApiError e = parse_api_error(r.body, auth.token);
    const std::string status = "HTTP " + std::to_string(r.status);
    if (model && e.code == "model_not_supported") {
        std::string msg = "model '" + *model + "' is not supported";
        if (!e.message.empty()) msg += " (" + e.message + ")";
        try {
            auto models = parse_models(fetch_models(auth, log));
            auto ids = chat_model_ids(models);
            try {
                write_models_cache(models);
            } catch (const Error&) {
            }
            if (!ids.empty()) {
                msg += "; available:";
                for (size_t i = 0; i < ids.size(); ++i) msg += (i ? ", " : " ") + ids[i];
            }
        } catch (const Error& fe) {
            note(log, std::string("cannot list the models: ") + fe.what());
        }
        return Error(Exit::usage, msg + " (see --list-models)");
    }
    switch (r.status) {
    case 401:
    case 403:
        if (refreshed)
            return Error(Exit::permission,
                         with_detail("the Copilot API refused a freshly refreshed token (" +
                                         status + ")",
                                     e) +
                             "; check your Copilot access, or run copilot-login again");
        return Error(Exit::permission,
                     with_detail("the Copilot API refused the token from " + auth.source + " (" +
                                     status + ")",
                                 e) +
                         "; get a new one with copilot-token");
    case 402:
        return Error(Exit::permission, with_detail("Copilot quota exceeded (" + status + ")", e));
    case 404:
        return Error(Exit::protocol,
                     with_detail("no " + what + " at " + auth.api_url + " (" + status + ")", e) +
                         "; check --api-url");
    case 413:
        return Error(Exit::data, with_detail("the request is too large (" + status + ")", e));
    case 429: {
        std::string msg = with_detail("rate limited (" + status + ")", e);
        std::string ra = r.header("retry-after");
        if (auto secs = parse_retry_after(ra, std::time(nullptr)); secs && *secs > 0)
            msg += "; try again in " + std::to_string(*secs) + " s";
        return Error(Exit::temp, msg);
    }
    default:
        break;
    }
    if (r.status >= 500)
        return Error(Exit::unavailable,
                     with_detail("the Copilot API is unavailable (" + status + ")", e));
    std::string head = "the Copilot API refused the " + what + " (" + status + ")";
    if (!e.code.empty()) head += " [" + e.code + "]";
    return Error(api_error_exit(e.code, r.status), with_detail(head, e));
}

// The whole (non-streamed) completion object: deliver it.
void deliver_completion(std::string_view body, const ChatIo& io, ChatResult& result,
                        const std::string& secret) {
    rapidjson::Document doc = json_parse(body, JsonSource{"chat answer", Exit::protocol});
    if (const JsonValue* err = member(doc, "error")) {
        Error e = answer_error(*err, "instead of an answer");
        throw Error(e.code(), redact(e.what(), secret));
    }
    ChatChunk c = read_chunk(doc);
    result.id = c.id;
    result.model = c.model;
    result.finish_reason = c.finish_reason;
    result.usage = c.usage;
    if (io.want_json)
        result.json = json_dump(doc);
    else if (io.on_text && !c.content.empty())
        io.on_text(c.content);
}

// Text that can stand inside a JSON string as it is: no quote, backslash or
// control character, and valid UTF-8 (check_utf8, which is at least as strict
// as the JSON parser).
bool is_plain_text(std::string_view s) {
    bool ascii = true;
    for (char ch : s) {
        const unsigned char c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == '"' || c == '\\') return false;
        if (c >= 0x80) ascii = false;
    }
    if (ascii) return true;
    try {
        check_utf8(s, "text");
        return true;
    } catch (const Error&) {
        return false;
    }
}

// The fast path of a long answer. A stream repeats one JSON envelope around
// different text ({"id":..,"choices":[{..,"delta":{"content":"TEXT"}}]}),
// and parsing every chunk in full cost ~10x the transfer itself. So once a
// chunk has been parsed, the bytes before and after its content string are
// kept as a template; a later chunk that is exactly those bytes around
// plain text (is_plain_text) parses, by construction, to the same fields
// with that text as content, and is taken without parsing. The template is
// confirmed by parsing it once around a probe text: only if the probe comes
// back as the content is the split known to be the content string. Any
// other chunk goes through parse_chat_chunk.
class SteadyChunks {
public:
    // The content of `data` if it fits the template; its other fields are chunk().
    std::optional<std::string_view> match(std::string_view data) const {
        if (!ready_ || data.size() <= prefix_.size() + suffix_.size()) return std::nullopt;
        if (data.compare(0, prefix_.size(), prefix_) != 0 ||
            data.compare(data.size() - suffix_.size(), suffix_.size(), suffix_) != 0)
            return std::nullopt;
        std::string_view text =
            data.substr(prefix_.size(), data.size() - prefix_.size() - suffix_.size());
        if (!is_plain_text(text)) return std::nullopt;
        return text;
    }
    const ChatChunk& chunk() const { return chunk_; }

    // Called with each chunk that did not match, after parse_chat_chunk.
    void learn(std::string_view data, const ChatChunk& parsed) {
        if (probes_ >= kMaxProbes || parsed.content.empty() || !is_plain_text(parsed.content))
            return;
        const std::string key = "\"content\":\"" + parsed.content + "\"";
        const size_t at = data.find(key);
        if (at == std::string_view::npos) return;
        const size_t text_at = at + key.size() - parsed.content.size() - 1;
        const std::string_view prefix = data.substr(0, text_at);
        const std::string_view suffix = data.substr(text_at + parsed.content.size());
        ++probes_;  // bounded: a server whose every chunk differs costs a few parses, not 2x
        const std::string probe = parsed.content == "x" ? "y" : "x";
        ChatChunk c;
        try {
            c = parse_chat_chunk(std::string(prefix) + probe + std::string(suffix));
        } catch (const Error&) {
            return;
        }
        if (c.content != probe) return;
        c.content.clear();
        std::string p(prefix), s(suffix);  // allocated before any member changes
        chunk_ = std::move(c);
        prefix_ = std::move(p);
        suffix_ = std::move(s);
        ready_ = true;
    }

private:
    static constexpr int kMaxProbes = 16;
    std::string prefix_, suffix_;
    ChatChunk chunk_;
    bool ready_ = false;
    int probes_ = 0;
};

// trim(data) == "[DONE]", without copying every event's data.
bool is_done_marker(std::string_view data) {
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!data.empty() && blank(data.front())) data.remove_prefix(1);
    while (!data.empty() && blank(data.back())) data.remove_suffix(1);
    return data == "[DONE]";
}

// The state of one streamed answer, shared by the body callback and the
// code that looks at the outcome.
struct StreamState {
    enum class Mode { unknown, sse, json } mode = Mode::unknown;
    SseParser parser;
    std::string lead;       // whitespace before the first byte that tells the mode
    std::string json_body;  // Mode::json: a server that answered without streaming
    std::string pending;    // text of one read, written in one go
    bool done = false;      // [DONE] seen
    size_t bytes = 0;
    std::exception_ptr error;
    CompletionAssembler assembler;
    SteadyChunks steady;
};

}  // namespace

ChatResult run_chat(ChatAuth& auth, const ChatRequest& req, const ChatIo& io) {
    const std::string body = build_chat_body(req);
    ChatResult result;
    bool refreshed = false;

    if (!req.stream) {
        auto make = [&]() {
            HttpRequest r = api_request(auth, "POST", "/chat/completions", io.log);
            r.headers.push_back({"Content-Type", "application/json"});
            r.headers.push_back({"Accept", "application/json"});
            r.body = body;
            r.timeout_ms = 0;          // long answers take long
            r.low_speed_time_s = 600;  // but a silent server is given up on
            r.max_body = kMaxAnswer;
            return r;
        };
        note(io.log, "POST " + auth.api_url + "/chat/completions (model " + req.model + ")");
        HttpResponse r = send_with_refresh(auth, make, io.log, &refreshed);
        if (r.status < 200 || r.status >= 300)
            throw status_error(auth, r, refreshed, "chat completion", &req.model, io.log);
        deliver_completion(r.body, io, result, auth.token);
        return result;
    }

    StreamState st;
    auto flush = [&]() {
        if (st.pending.empty()) return;
        std::string text;
        text.swap(st.pending);
        if (io.on_text) io.on_text(text);
    };
    // One chunk's fields, with its content given apart (see SteadyChunks).
    auto take = [&](const ChatChunk& c, std::string_view content) {
        if (!c.id.empty() && result.id.empty()) result.id = c.id;
        if (!c.model.empty() && result.model.empty()) result.model = c.model;
        if (c.finish_reason) result.finish_reason = c.finish_reason;
        if (c.usage) result.usage = c.usage;
        if (io.want_json) {
            ChatChunk whole = c;
            whole.content.assign(content.data(), content.size());
            st.assembler.add(whole);
        } else {
            st.pending.append(content.data(), content.size());
        }
    };
    auto on_event = [&](const SseEvent& ev) {
        if (st.done) return;
        if (is_done_marker(ev.data)) {
            st.done = true;
            return;
        }
        if (std::string_view(ev.type) != "message") {
            if (ev.type == "error")
                throw Error(Exit::protocol,
                            with_detail("the server reported an error in the middle of the answer",
                                        parse_api_error(ev.data, auth.token)));
            return;  // other event kinds carry nothing for us
        }
        if (auto text = st.steady.match(ev.data)) {
            take(st.steady.chunk(), *text);
            return;
        }
        ChatChunk c;
        try {
            c = parse_chat_chunk(ev.data);
        } catch (const Error& e) {
            throw Error(e.code(), redact(e.what(), auth.token));
        }
        st.steady.learn(ev.data, c);
        take(c, c.content);
    };
    auto on_body = [&](std::string_view bytes) -> bool {
        // Nothing may unwind through libcurl's C frames: keep the exception
        // and stop the transfer; it is rethrown once http_perform returns.
        try {
            st.bytes += bytes.size();
            if (st.mode == StreamState::Mode::unknown) {
                size_t at = bytes.find_first_not_of(" \t\r\n");
                if (at == std::string_view::npos) {
                    if (st.lead.size() + bytes.size() > 4096)
                        throw Error(Exit::protocol, "the answer starts with only blank space");
                    st.lead.append(bytes.data(), bytes.size());
                    return true;
                }
                // An event stream never starts with '{': such a server ignored
                // "stream": true and sent one JSON completion.
                st.mode = bytes[at] == '{' ? StreamState::Mode::json : StreamState::Mode::sse;
                if (st.mode == StreamState::Mode::sse && !st.lead.empty())
                    st.parser.feed(st.lead, on_event);
                st.lead.clear();
            }
            if (st.mode == StreamState::Mode::json) {
                if (st.json_body.size() + bytes.size() > kMaxAnswer)
                    throw Error(Exit::protocol, "the answer is larger than " +
                                                    std::to_string(kMaxAnswer) + " bytes");
                st.json_body.append(bytes.data(), bytes.size());
                return true;
            }
            st.parser.feed(bytes, on_event);
            flush();
            return !st.done;
        } catch (...) {
            st.error = std::current_exception();
            try {
                flush();  // text that came before an error chunk is still shown
            } catch (...) {
                st.error = std::current_exception();  // e.g. stdout closed: that wins
            }
            return false;
        }
    };
    auto make = [&]() {
        HttpRequest r = api_request(auth, "POST", "/chat/completions", io.log);
        r.headers.push_back({"Content-Type", "application/json"});
        r.headers.push_back({"Accept", "text/event-stream"});
        r.body = body;
        r.timeout_ms = 0;          // a stream lasts as long as the answer
        r.low_speed_time_s = 300;  // but a stalled one is given up on
        r.on_body = on_body;
        return r;
    };

    note(io.log, "POST " + auth.api_url + "/chat/completions (model " + req.model + ", stream)");
    HttpResponse r;
    try {
        r = send_with_refresh(auth, make, io.log, &refreshed);
    } catch (const Error& e) {
        if (st.error) std::rethrow_exception(st.error);
        if (st.bytes > 0)  // the text so far stays delivered; it is incomplete
            throw Error(Exit::protocol, std::string("the answer was cut off: ") + e.what());
        throw;
    }
    if (st.error) std::rethrow_exception(st.error);
    if (r.status < 200 || r.status >= 300)
        throw status_error(auth, r, refreshed, "chat completion", &req.model, io.log);

    if (st.mode == StreamState::Mode::json) {
        note(io.log, "the server answered with one JSON object instead of a stream");
        deliver_completion(st.json_body, io, result, auth.token);
        return result;
    }
    if (!st.done) {
        st.parser.finish();
        if (st.bytes == 0) throw Error(Exit::protocol, "the server sent an empty answer");
        if (st.parser.events() == 0)
            throw Error(Exit::protocol, "the answer is not an event stream (Content-Type: " +
                                            one_line(r.header("content-type"), auth.token) + ")");
        throw Error(Exit::protocol, "the answer stream ended before [DONE]: it may be incomplete");
    }
    if (io.want_json) result.json = st.assembler.json();
    return result;
}

// --- models ---------------------------------------------------------------------

std::string fetch_models(ChatAuth& auth, const LogFn& log) {
    auto make = [&]() {
        HttpRequest r = api_request(auth, "GET", "/models", log);
        r.headers.push_back({"Accept", "application/json"});
        r.timeout_ms = 30000;
        return r;
    };
    note(log, "GET " + auth.api_url + "/models");
    bool refreshed = false;
    HttpResponse r = send_with_refresh(auth, make, log, &refreshed);
    if (r.status < 200 || r.status >= 300)
        throw status_error(auth, r, refreshed, "model list", nullptr, log);
    return r.body;
}

std::vector<ModelInfo> parse_models(std::string_view body) {
    const JsonSource src{"model list", Exit::protocol};
    rapidjson::Document doc = json_parse(body, src, false);
    const JsonValue* list = &doc;
    if (doc.IsObject()) list = member(doc, "data");
    if (!list || !list->IsArray())
        throw Error(Exit::protocol, "model list: expected {\"data\": [...]}");
    std::vector<ModelInfo> out;
    for (const auto& m : list->GetArray()) {
        auto id = str_member(m, "id");
        if (!id || id->empty()) continue;
        ModelInfo info;
        info.id = *id;
        info.name = str_member(m, "name").value_or("");
        info.vendor = str_member(m, "vendor").value_or(str_member(m, "owned_by").value_or(""));
        if (const JsonValue* p = member(m, "model_picker_enabled"); p && p->IsBool())
            info.picker = p->GetBool();
        if (const JsonValue* p = member(m, "preview"); p && p->IsBool()) info.preview = p->GetBool();
        if (const JsonValue* caps = member(m, "capabilities"); caps && caps->IsObject()) {
            if (auto type = str_member(*caps, "type"); type && !type->empty()) info.type = *type;
            if (const JsonValue* lim = member(*caps, "limits"); lim && lim->IsObject()) {
                info.context_window = int_member(*lim, "max_context_window_tokens");
                info.max_output = int_member(*lim, "max_output_tokens");
            }
        }
        out.push_back(std::move(info));
    }
    return out;
}

std::vector<ModelInfo> select_models(const std::vector<ModelInfo>& models, bool all) {
    std::vector<ModelInfo> out;
    std::set<std::string> seen;
    for (int pass = 0; pass < (all ? 2 : 1); ++pass) {
        for (const auto& m : models) {
            if ((m.type == "chat") != (pass == 0)) continue;
            if (seen.insert(m.id).second) out.push_back(m);
        }
    }
    return out;
}

std::string models_cache_path() { return cache_home() + "/copilot-utils/models.txt"; }

void write_models_cache(const std::vector<ModelInfo>& models) {
    std::string text;
    for (const auto& m : select_models(models, false)) {
        // one id a line: ids with line breaks or spaces would break completion
        if (m.id.find_first_of(" \t\r\n") != std::string::npos) continue;
        text += m.id + "\n";
    }
    write_file_atomic(models_cache_path(), text, 0600, true);
}

}  // namespace copilot
