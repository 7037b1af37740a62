#include "auth/auth_state.h"
#include "util/text.h"

#include <algorithm>
#include <cstdlib>
#include <dirent.h>

#include "util/files.h"
#include "net/endpoints.h"
#include "util/paths.h"

namespace copilot {

namespace {


void check_token_text(const std::string& token, const JsonSource& src) {
    if (token.empty()) throw Error(src.code, src.what + ": field 'oauth_token' is empty");
    for (unsigned char c : token)
        if (c <= ' ' || c >= 0x7f)
            throw Error(src.code, src.what + ": field 'oauth_token' contains invalid characters");
}

GithubToken from_state(AuthState st, std::string source) {
    GithubToken t;
    t.token = st.oauth_token;
    t.host = st.host;
    t.source = std::move(source);
    t.state = std::move(st);
    return t;
}


}  // namespace

AuthState parse_auth_state(std::string_view json, const JsonSource& src) {
    rapidjson::Document doc = json_parse(json, src);
    AuthState st;
    st.host = json_string(doc, "host", src);
    st.oauth_token = json_string(doc, "oauth_token", src);
    check_token_text(st.oauth_token, src);
    st.client_id = json_opt_string(doc, "client_id", src).value_or(kDefaultClientId);
    st.scope = json_opt_string(doc, "scope", src).value_or("");
    st.user = json_opt_string(doc, "user", src).value_or("");
    st.created_at = json_opt_int(doc, "created_at", src).value_or(0);
    state_name(st.host, "");  // rejects hosts that could not name a file
    return st;
}

std::string serialize_auth_state(const AuthState& s) {
    JsonObjectWriter w;
    w.field("host", s.host).field("client_id", s.client_id).field("oauth_token", s.oauth_token);
    w.field("scope", s.scope).field("user", s.user).field("created_at", s.created_at);
    return w.str() + "\n";
}

std::optional<AuthState> load_auth_state(const std::string& host, const std::string& profile) {
    const std::string path = auth_file_path(host, profile);
    // Owner and mode checked before reading (Error(io), 74): a file another
    // user can read or write is not trusted, as OpenSSH treats a key.
    auto text = read_private_file(path, kMaxStateFile);
    if (!text) return std::nullopt;
    return parse_auth_state(*text, {"auth file " + path, Exit::data});
}

std::string store_auth_state(const AuthState& state, const std::string& profile) {
    const std::string path = auth_file_path(state.host, profile);
    write_file_atomic(path, serialize_auth_state(state));
    return path;
}

bool remove_auth_state(const std::string& host, const std::string& profile) {
    return remove_file(auth_file_path(host, profile));
}

std::vector<StoredLogin> list_auth_states() {
    std::vector<StoredLogin> out;
    const std::string dir = dir_name(auth_file_path(kDefaultHost, ""));
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        std::string file = e->d_name;
        if (file.size() <= 5 || file.compare(file.size() - 5, 5, ".json") != 0) continue;
        StoredLogin s;
        s.name = file.substr(0, file.size() - 5);
        size_t at = s.name.find('@');
        s.host = s.name.substr(0, at);
        s.profile = at == std::string::npos ? "" : s.name.substr(at + 1);
        try {
            s.path = auth_file_path(s.host, s.profile);
        } catch (const Error&) {
            continue;  // not a name we write
        }
        try {
            s.state = load_auth_state(s.host, s.profile);
            if (!s.state) continue;  // vanished meanwhile
        } catch (const Error& err) {
            s.error = err.what();
        }
        out.push_back(std::move(s));
    }
    ::closedir(d);
    std::sort(out.begin(), out.end(),
              [](const StoredLogin& a, const StoredLogin& b) { return a.name < b.name; });
    return out;
}

const char* github_token_env_var() {
    for (const char* var : {"GITHUB_COPILOT_TOKEN", "GH_COPILOT_TOKEN"}) {
        const char* v = std::getenv(var);
        if (v && !trim(v).empty()) return var;
    }
    return nullptr;
}

void require_stored_login(const std::vector<StoredLogin>& all, const std::string& host,
                          const std::string& profile) {
    const std::string selected = state_name(host, profile);
    for (const auto& s : all) {
        if (s.name != selected) continue;
        if (!s.state) throw Error(Exit::data, s.error);
        return;
    }
    throw Error(Exit::no_auth, not_logged_in_message(host, profile));
}

std::string require_vim_token(const std::string& host, std::string* source) {
    auto token = import_vim_token(host, source);
    if (!token)
        throw Error(Exit::no_auth, "no copilot.vim/copilot.lua token for " + host + " in " +
                                       config_home() + "/github-copilot/apps.json or hosts.json");
    return *token;
}

std::string read_github_token_text(std::string_view text, const std::string& what) {
    // A UTF-8 byte order mark (Windows editors write one) is not part of the token.
    if (starts_with(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
    const std::string token = trim(text);
    if (!token.empty() && token[0] == '{')
        throw Error(Exit::data, what + ": standard input holds a JSON document, not a token; "
                                       "an auth state is given with copilot-token --auth FILE, "
                                       "or its oauth_token with --with-token");
    if (token.empty()) throw Error(Exit::data, what + ": no token on standard input");
    for (unsigned char ch : token)
        if (ch <= ' ' || ch >= 0x7f)
            throw Error(Exit::data, what + ": standard input must hold exactly one token");
    return token;
}

std::string not_logged_in_message(const std::string& host, const std::string& profile) {
    return "not logged in to " + login_name(host, profile) + "; run copilot-login";
}

std::string login_name(const std::string& host, const std::string& profile) {
    return profile.empty() ? host : host + " (profile " + profile + ")";
}

std::string stored_logins_text(const std::vector<StoredLogin>& all, const std::string& selected) {
    size_t width = 0;
    for (const auto& s : all) width = std::max(width, s.name.size());
    std::string out;
    for (const auto& s : all) {
        out += (s.name == selected ? "* " : "  ") + s.name +
               std::string(width - s.name.size() + 2, ' ');
        if (s.state)
            out += (s.state->user.empty() ? "(unknown user)" : s.state->user) + "  " +
                   mask_secret(s.state->oauth_token);
        else
            out += "(unreadable: " + s.error + ")";
        out += "\n";
    }
    return out;
}

std::string stored_logins_json(const std::vector<StoredLogin>& all, const std::string& selected) {
    std::string list = "[";
    bool logged_in = false;
    for (const auto& s : all) {
        JsonObjectWriter w;
        w.field("name", s.name).field("host", s.host).field("profile", s.profile);
        w.field("file", s.path).field("selected", s.name == selected);
        if (s.state) {
            w.field("user", s.state->user);
            w.field("token", mask_secret(s.state->oauth_token));
            w.field("created_at", s.state->created_at);
        } else {
            w.field("error", s.error);
        }
        if (s.name == selected && s.state) logged_in = true;
        list += (list.size() > 1 ? "," : "") + w.str();
    }
    JsonObjectWriter top;
    top.field("selected", selected).field("logged_in", logged_in);
    top.raw_field("logins", list + "]");
    return top.str() + "\n";
}

std::optional<std::string> import_vim_token(const std::string& host, std::string* source) {
    const std::string dir = config_home() + "/github-copilot/";
    for (const char* name : {"apps.json", "hosts.json"}) {
        const std::string path = dir + name;
        auto text = read_file(path, kMaxStateFile);
        if (!text) continue;
        const JsonSource src{path, Exit::data};
        rapidjson::Document doc = json_parse(*text, src);
        for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
            std::string key(it->name.GetString(), it->name.GetStringLength());
            // apps.json keys are "HOST:CLIENT_ID"; hosts.json keys are "HOST".
            if (key != host && key.compare(0, host.size() + 1, host + ":") != 0) continue;
            if (!it->value.IsObject()) continue;
            auto token = json_opt_string(it->value, "oauth_token", {path + ": " + key, Exit::data});
            if (token && !token->empty()) {
                if (source) *source = path;
                return token;
            }
        }
    }
    return std::nullopt;
}

std::optional<GithubToken> find_github_token(const GithubTokenSources& s) {
    if (s.auth_file) {
        if (*s.auth_file == "-") {
            if (!s.stdin_text || trim(*s.stdin_text).empty())
                throw Error(Exit::data, "--auth -: nothing on standard input");
            return from_state(parse_auth_state(*s.stdin_text, {"standard input", Exit::data}),
                              "standard input");
        }
        auto text = read_private_file(*s.auth_file, kMaxStateFile);
        if (!text) throw Error(Exit::no_auth, "auth file " + *s.auth_file + " does not exist");
        return from_state(parse_auth_state(*text, {"auth file " + *s.auth_file, Exit::data}),
                          "auth file " + *s.auth_file);
    }
    if (s.stdin_text && !trim(*s.stdin_text).empty()) {
        try {
            return from_state(parse_auth_state(*s.stdin_text, {"standard input", Exit::data}),
                              "standard input");
        } catch (const Error& e) {
            // Read without being asked (it is a pipe or a file): say how not to.
            throw Error(e.code(), std::string(e.what()) +
                                      " (piped standard input is read as auth state; in a "
                                      "loop, use --no-stdin or </dev/null)");
        }
    }
    if (s.use_env) {
        if (const char* var = github_token_env_var()) {
            GithubToken t;
            t.token = trim(std::getenv(var));
            t.host = s.host;
            t.source = var;
            return t;
        }
    }
    if (auto st = load_auth_state(s.host, s.profile)) {
        // --host HOST would read HOST's own file, not this one: say what is wrong.
        if (st->host != s.host)
            throw Error(Exit::data, "auth file " + auth_file_path(s.host, s.profile) +
                                        " is named for " + s.host + " but holds a login for " +
                                        st->host + "; run copilot-login --host " + s.host +
                                        " to replace it (or copilot-login --host " + st->host +
                                        " to log in there)");
        return from_state(*st, "auth file " + auth_file_path(s.host, s.profile));
    }
    if (s.use_vim && s.profile.empty()) {
        std::string source;
        if (auto token = import_vim_token(s.host, &source)) {
            GithubToken t;
            t.token = *token;
            t.host = s.host;
            t.source = source;
            return t;
        }
    }
    return std::nullopt;
}

}  // namespace copilot
