// copilot-usage: the Copilot plan and what is left of each quota, from
// GitHub's copilot_internal/user with the GitHub token.
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include "api/quota.h"
#include "auth/credentials.h"
#include "net/endpoints.h"
#include "util/files.h"
#include "util/paths.h"
#include "copilot-usage.opts.h"  // kOptions, from cmd/options/copilot-usage.opts
#include "tool.h"

namespace {

using copilot::Error;

enum class Format { table, json, env };

struct Flags {
    std::string host;
    std::string profile;
    std::optional<std::string> auth;
    Format format = Format::table;
    bool no_stdin = false;
    bool check = false;
    copilot::MinRemaining min;
    bool quiet = false;
    bool output = true;  // --check prints on stdout only when a format is asked for
};

Flags parse_flags(int argc, char** argv) {
    const tool::Args r = tool::parse_args(kOptions, argc, argv);
    Flags f;
    f.host = r.value_or("host", copilot::kDefaultHost);
    f.profile = r.value_or("profile", "");
    copilot::state_name(f.host, f.profile);  // rejects names that cannot be files
    f.auth = r.value("auth");
    f.no_stdin = r.has("no-stdin");
    f.check = r.has("check");
    f.quiet = r.has("quiet");
    if (auto v = r.value("format")) {
        if (*v == "table") f.format = Format::table;
        else if (*v == "json") f.format = Format::json;
        else if (*v == "env") f.format = Format::env;
        else tool::usage_error("--format must be table, json or env, not " + tool::quoted(*v));
    }
    if (r.has("json")) {
        if (r.has("format") && f.format != Format::json)
            tool::usage_error("--json conflicts with --format " + *r.value("format"));
        f.format = Format::json;
    }
    f.min.value = 1;
    if (auto v = r.value("min-remaining")) {
        if (!f.check) tool::usage_error("--min-remaining goes with --check");
        auto m = copilot::parse_min_remaining(*v);
        if (!m)
            tool::usage_error("--min-remaining needs a number of requests or a percentage (N%), not " +
                              tool::quoted(*v));
        f.min = *m;
    }
    if (f.no_stdin && f.auth && *f.auth == "-") tool::usage_error("--auth - conflicts with --no-stdin");
    f.output = !f.check || r.has("json") || r.has("format");
    return f;
}

// The GitHub token, from the sources copilot-token looks in (lib/auth/credentials).
copilot::GithubToken github_login(const Flags& f, copilot::PipedStdin& in) {
    copilot::CredentialRequest cr;
    cr.token.host = f.host;
    cr.token.profile = f.profile;
    if (tool::verbose) cr.token.log = [](const std::string& m) { tool::debug(m); };
    cr.auth_file = f.auth;
    cr.read_stdin = [&in](bool required) { return in.get(required); };
    return copilot::find_github_login(cr);
}

int body(int argc, char** argv) {
    const Flags f = parse_flags(argc, argv);
    copilot::PipedStdin in(!f.no_stdin, 1 << 20);
    // The one rule of every tool (copilot-token(1), "STANDARD INPUT"): read
    // now when it is a pipe or a file, or for --auth -.
    in.get(f.auth && *f.auth == "-");
    const copilot::GithubToken gh = github_login(f, in);

    copilot::RetryHook on_retry;
    if (tool::verbose)
        on_retry = [](int attempt, long wait_ms, const std::string& reason) {
            tool::debug("retry " + std::to_string(attempt) + " in " + std::to_string(wait_ms) +
                        " ms: " + reason);
        };
    const std::string doc = copilot::fetch_usage_document(gh.token, f.host, on_retry);
    const copilot::UsageSummary s = copilot::parse_usage_document(doc);

    // Decided before anything is printed: a document without the premium
    // quota is an error, and then stdout stays empty.
    std::optional<copilot::UsageCheck> check;
    if (f.check) check = copilot::check_premium(s, f.min);

    if (f.output) {
        switch (f.format) {
        case Format::table: tool::out(copilot::usage_table(s, tool::use_color(1))); break;
        case Format::json: tool::out(copilot::usage_json(doc, s)); break;
        case Format::env: tool::out(copilot::usage_env(s)); break;
        }
    }
    if (!check) return 0;
    if (!f.quiet) tool::say(check->text);
    return check->passes ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return tool::run("copilot-usage", argc, argv, body); }
