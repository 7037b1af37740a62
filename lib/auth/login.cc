#include "auth/login.h"

#include "util/errors.h"
#include "util/files.h"

#include <optional>

namespace copilot {

LoginResult finish_login(const NewLogin& in, int64_t now,
                         std::vector<std::string>* warnings_on_error) {
    using Verdict = LoginCheck::Verdict;
    LoginResult r;
    r.check = check_login(in.github_token, in.host, in.verify, now, in.on_retry);
    const LoginCheck& c = r.check;
    if (c.verdict == Verdict::invalid || (c.verdict == Verdict::unverified && !in.granted)) {
        if (warnings_on_error)
            warnings_on_error->insert(warnings_on_error->end(), c.warnings.begin(),
                                      c.warnings.end());
        throw *c.problem;
    }

    r.profile = in.profile;
    r.state.host = in.host;
    r.state.client_id = in.client_id;
    r.state.oauth_token = in.github_token;
    r.state.scope = in.scope;
    r.state.user = c.user;
    r.state.created_at = now;
    r.document = serialize_auth_state(r.state);

    if (in.cancelled && in.cancelled()) throw Error(Exit::interrupted, "interrupted");
    if (in.output == "-") {
        r.saved_to = "standard output";
        return r;
    }
    if (!in.output.empty()) {
        // Not a private dir of ours: only a file we create gets 0600; a
        // device, FIFO or /dev/stdout is written in place, never replaced.
        // The cache belongs to the stored login, which this one does not replace.
        write_output_file(in.output, r.document);
        r.saved_to = in.output;
        return r;
    }
    // Under the cache lock, like a refresh: none writes a token of the
    // previous login after ours (a lock that cannot be had only costs the
    // next copilot-token an exchange).
    std::optional<FileLock> lock;
    try {
        lock.emplace(token_cache_lock(in.host, in.profile));
    } catch (const Error& e) {
        r.check.warnings.push_back(std::string("cannot lock the token cache: ") + e.what());
    }
    r.saved_to = store_auth_state(r.state, in.profile);
    // A cached Copilot token belongs to the previous login of this host/profile.
    remove_token_cache(in.host, in.profile);
    if (c.copilot_token && lock) {
        try {
            store_token_cache(*c.copilot_token, in.profile, in.github_token);
            r.token_cached = true;
        } catch (const Error& e) {
            // The login is stored; without the cache the next copilot-token exchanges.
            r.check.warnings.push_back(std::string("cannot cache the Copilot token: ") + e.what());
        }
    }
    return r;
}

LoginReport report_login(const LoginResult& r) {
    using Verdict = LoginCheck::Verdict;
    const LoginCheck& c = r.check;
    LoginReport rep;
    rep.warnings = c.warnings;
    const std::string who = login_name(r.state.host, r.profile) + (c.user.empty() ? "" : " as " + c.user);
    switch (c.verdict) {
    case Verdict::no_copilot:
        rep.notices.push_back(c.problem->what());
        rep.notices.push_back("the GitHub token is valid and was saved to " + r.saved_to +
                              ", but this account has no Copilot access");
        rep.status = c.problem->status();
        break;
    case Verdict::unverified:
        rep.warnings.push_back(std::string("logged in, but Copilot access could not be checked: ") +
                               c.problem->what());
        rep.summary = "Logged in to " + who;
        break;
    default:
        rep.summary = "Logged in to " + who +
                      (c.verified ? " (Copilot: " + (c.sku.empty() ? "?" : c.sku) + ")"
                                  : " (Copilot access not checked)");
        break;
    }
    return rep;
}

bool remove_login(const std::string& host, const std::string& profile) {
    // The lock a refresh holds from its lookup of the GitHub token to its
    // cache write: a refresh under way finishes first, and its token is
    // removed with the rest; one that starts later finds no login.
    std::optional<FileLock> lock;
    try {
        lock.emplace(token_cache_lock(host, profile));
    } catch (const Error&) {
        // No cache directory can be made (read-only): no refresh can write one either.
    }
    const bool had_auth = remove_auth_state(host, profile);
    const bool had_cache = remove_token_cache(host, profile);
    if (!had_auth && !had_cache)
        throw Error(Exit::no_auth, not_logged_in_message(host, profile));
    return had_auth;
}

}  // namespace copilot
