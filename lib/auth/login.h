// Finishing a login (ARCHITECTURE.md, "the path of a token"): check the new
// GitHub token, store it as the auth state, and replace the token cache of
// the previous login with the Copilot token the check got. copilot-login
// and copilot-serve's device login both end here.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "auth/auth_state.h"
#include "auth/copilot_token.h"
#include "auth/device_flow.h"

namespace copilot {

struct NewLogin {
    std::string host = "github.com";
    std::string profile;
    std::string client_id;
    std::string scope;
    std::string github_token;  // secret
    // Just granted by the device flow: stored even when Copilot access cannot
    // be checked (a new login would be needed otherwise). A token given to us
    // (--with-token, --import) is not.
    bool granted = false;
    bool verify = true;  // one Copilot token exchange; its token fills the cache
    // Where the auth state goes: "" = the auth directory for host/profile
    // (the token cache follows it); "-" = nowhere, the caller prints
    // LoginResult::document; else that file (0600) and nothing else.
    std::string output;
    // Checked just before anything is written: true -> Error(interrupted).
    std::function<bool()> cancelled;
    RetryHook on_retry;  // HTTP retries of the user lookup and the exchange
};

struct LoginResult {
    LoginCheck check;      // verdict, user, sku, problem, warnings
    AuthState state;
    std::string document;  // serialize_auth_state(state)
    std::string saved_to;  // the path, or "standard output" for output "-"
    bool token_cached = false;  // the check's Copilot token is in the cache
    std::string profile;        // NewLogin's, for the summary
};

// check_login, then store. Throws check.problem when GitHub refused the
// token (invalid) or, for a token not just granted, when Copilot access
// could not be checked (unverified). no_copilot, and unverified for a
// granted token, are stored and returned: the caller reports them. When it
// throws, the check's warnings go to `*warnings_on_error` (when given).
LoginResult finish_login(const NewLogin& login, int64_t now,
                         std::vector<std::string>* warnings_on_error = nullptr);

// What to tell the user about a finished login: `warnings`, `notices`
// (said even with --quiet), `summary` ("Logged in to HOST as USER
// (Copilot: SKU)", login_name's "HOST (profile NAME)" for a profile; not
// with --quiet, "" for none) and the exit status:
// no Copilot access keeps the login and exits with its problem's status.
struct LoginReport {
    std::vector<std::string> warnings;
    std::vector<std::string> notices;
    std::string summary;
    int status = 0;
};
LoginReport report_login(const LoginResult& r);

// --logout: removes the auth state and the cached Copilot token of
// host/profile; true if there was an auth state. Error(no_auth) when there
// was neither.
bool remove_login(const std::string& host, const std::string& profile);

}  // namespace copilot
