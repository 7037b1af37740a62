#include "util/errors.h"

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

std::string one_line(std::string_view text, const std::string& secret, size_t max_chars) {
    const std::string masked = redact(std::string(text), secret);
    std::string out;
    for (char c : masked) {
        auto u = static_cast<unsigned char>(c);
        char keep = (u < 0x20 || u == 0x7f) ? ' ' : c;
        if (keep == ' ' && (out.empty() || out.back() == ' ')) continue;
        if (out.size() >= max_chars) {
            out += "...";
            return out;
        }
        out += keep;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

}  // namespace copilot
