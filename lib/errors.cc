#include "errors.h"

namespace copilot {

std::string mask_secret(const std::string& secret) {
    if (secret.empty()) return "";
    size_t keep = 0;
    for (const char* prefix : {"ghu_", "gho_", "ghp_", "github_pat_", "tid="}) {
        std::string p(prefix);
        if (secret.compare(0, p.size(), p) == 0) keep = p.size();
    }
    return secret.substr(0, keep) + "****";
}

std::string redact(std::string text, const std::string& secret) {
    if (secret.size() < 4) return text;  // too short to be a secret worth hiding
    const std::string mask = mask_secret(secret);
    for (size_t at = text.find(secret); at != std::string::npos;
         at = text.find(secret, at + mask.size()))
        text.replace(at, secret.size(), mask);
    return text;
}

}  // namespace copilot
