#include "wire/model_names.h"

#include <algorithm>
#include <cctype>

#include "util/errors.h"

namespace copilot::wire {

namespace {

bool digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Lower case, no dated or "-latest" suffix, "." as "-".
std::string normal(std::string_view name) {
    std::string s;
    for (unsigned char c : name) s.push_back(c == '.' ? '-' : static_cast<char>(std::tolower(c)));
    if (const size_t at = s.find('@'); at != std::string::npos) s.erase(at);  // "claude-x@20250929"
    const size_t dash = s.rfind('-');
    if (dash != std::string::npos) {
        const std::string_view tail = std::string_view(s).substr(dash + 1);
        if (tail == "latest" || (tail.size() == 8 && digits(tail))) s.erase(dash);
    }
    return s;
}

std::string squashed(std::string_view name) {
    std::string s;
    for (char c : normal(name))
        if (c != '-' && c != '_') s.push_back(c);
    return s;
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

// The alphabetic words of a name ("claude", "sonnet"), three letters or more.
std::vector<std::string> words(std::string_view name) {
    std::vector<std::string> out;
    std::string w;
    for (char c : normal(name) + "-") {
        if (std::isalpha(static_cast<unsigned char>(c))) {
            w.push_back(c);
        } else {
            if (w.size() >= 3) out.push_back(w);
            w.clear();
        }
    }
    return out;
}

}  // namespace

std::pair<std::string, std::string> parse_model_map_entry(std::string_view entry) {
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == entry.size())
        throw Error(Exit::usage, "--model-map: expected FROM=TO, got '" + one_line(entry, "", 80) + "'");
    return {std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1))};
}

std::optional<std::string> map_model_name(std::string_view name, const std::vector<std::string>& ids,
                                          const ModelMap& user_map) {
    for (const auto& [from, to] : user_map)
        if (from == name) return to;
    for (const auto& [from, to] : user_map)
        if (normal(from) == normal(name)) return to;
    for (const auto& id : ids)
        if (id == name) return id;
    const std::string n = normal(name);
    for (const auto& id : ids)
        if (normal(id) == n) return id;
    const std::string q = squashed(name);
    for (const auto& id : ids)
        if (squashed(id) == q) return id;
    return std::nullopt;
}

std::vector<std::string> close_matches(std::string_view name, const std::vector<std::string>& ids,
                                       size_t max) {
    struct Scored {
        size_t shared;  // words in common
        size_t distance;
        size_t order;
        const std::string* id;
    };
    const std::string n = normal(name);
    const std::vector<std::string> name_words = words(name);
    std::vector<Scored> scored;
    for (size_t i = 0; i < ids.size(); ++i) {
        const std::string m = normal(ids[i]);
        size_t shared = 0;
        for (const auto& w : words(ids[i]))
            shared += std::count(name_words.begin(), name_words.end(), w) > 0;
        const size_t d = edit_distance(n, m);
        const bool prefix = !n.empty() && !m.empty() &&
                            (m.compare(0, n.size(), n) == 0 || n.compare(0, m.size(), m) == 0);
        if (shared == 0 && !prefix && d > std::max(n.size(), m.size()) / 2) continue;
        scored.push_back({shared, d, i, &ids[i]});
    }
    std::sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) {
        if (a.shared != b.shared) return a.shared > b.shared;
        if (a.distance != b.distance) return a.distance < b.distance;
        return a.order < b.order;
    });
    std::vector<std::string> out;
    for (const auto& s : scored) {
        if (out.size() == max) break;
        out.push_back(*s.id);
    }
    return out;
}

}  // namespace copilot::wire
