#include "options.h"

#include <algorithm>
#include <stdexcept>

#include "tool.h"

namespace tool {

namespace {

const Option* by_long(const OptionTable& t, std::string_view name) {
    for (size_t i = 0; i < t.count; ++i)
        if (name == t.options[i].name) return &t.options[i];
    return nullptr;
}

const Option* by_short(const OptionTable& t, char c) {
    for (size_t i = 0; i < t.count; ++i)
        if (t.options[i].short_name != 0 && t.options[i].short_name == c) return &t.options[i];
    return nullptr;
}

// Optimal string alignment distance: a transposition counts as one edit.
size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i)
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

[[noreturn]] void unknown_long(const OptionTable& t, std::string_view name) {
    std::string m = "unknown option " + quoted("--" + std::string(name));
    if (auto near = nearest_option(t, name)) m += "; did you mean " + quoted("--" + *near) + "?";
    usage_error(m);
}

}  // namespace

std::optional<std::string> nearest_option(const OptionTable& t, std::string_view typed) {
    // Only short names are compared: a 120 KB typo costs nothing.
    if (typed.empty() || typed.size() > 40) return std::nullopt;
    std::optional<std::string> best;
    size_t best_d = 0;
    for (size_t i = 0; i < t.count; ++i) {
        const std::string_view name = t.options[i].name;
        size_t dist = edit_distance(typed, name);
        // A prefix ("--ref") is as good as one edit.
        if (typed.size() >= 3 && name.substr(0, typed.size()) == typed) dist = std::min<size_t>(dist, 1);
        const size_t allowed = name.size() <= 4 ? 1 : 2;
        if (dist <= allowed && (!best || dist < best_d)) {
            best = std::string(name);
            best_d = dist;
        }
    }
    return best;
}

const Option& Args::find(std::string_view name) const {
    const Option* o = by_long(*table_, name);
    if (!o) throw std::logic_error("option --" + std::string(name) + " is not in the table");
    return *o;
}

bool Args::has(std::string_view name) const {
    find(name);
    for (const auto& g : given_)
        if (g.first == name) return true;
    return false;
}

std::optional<std::string> Args::value(std::string_view name) const {
    find(name);
    std::optional<std::string> v;
    for (const auto& g : given_)
        if (g.first == name) v = g.second;
    return v;
}

std::string Args::value_or(std::string_view name, const std::string& fallback) const {
    auto v = value(name);
    return v ? *v : fallback;
}

Args parse_args(const OptionTable& t, int argc, char** argv) {
    Args a;
    a.table_ = &t;
    bool options_end = false;
    auto operand = [&](const std::string& w) {
        if (t.operands == Operands::words || (t.operands == Operands::command && options_end)) {
            a.operands.push_back(w);
            return;
        }
        if (t.operands == Operands::command) usage_error("unexpected argument " + quoted(w) + " (a command goes after --)");
        usage_error("unexpected argument " + quoted(w));
    };
    // The value of an option that takes one: "--name=V", "-xV" or the next word.
    auto next_value = [&](int& i, const std::string& shown) -> std::string {
        if (i + 1 >= argc) usage_error("option " + quoted(shown) + " needs a value");
        const std::string v = argv[i + 1];
        // "--host --json" is a forgotten value, not a host named "--json".
        if (v.size() >= 2 && v[0] == '-' && v[1] == '-')
            usage_error("option " + quoted(shown) + " needs a value, not " + quoted(v));
        ++i;
        return v;
    };

    for (int i = 1; i < argc; ++i) {
        const std::string w = argv[i];
        if (options_end) {
            operand(w);
            continue;
        }
        if (w == "--") {
            options_end = true;
            a.dash_dash = true;
            continue;
        }
        if (w.size() > 2 && w[0] == '-' && w[1] == '-') {
            const size_t eq = w.find('=');
            const std::string name = w.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
            const Option* o = by_long(t, name);
            if (!o) unknown_long(t, name);
            std::optional<std::string> v;
            if (eq != std::string::npos) {
                if (!o->takes_value)
                    usage_error("option " + quoted("--" + name) + " takes no value (given " + quoted(w) + ")");
                v = w.substr(eq + 1);
            } else if (o->takes_value) {
                v = next_value(i, "--" + name);
            }
            a.given_.emplace_back(o->name, std::move(v));
            continue;
        }
        if (w.size() > 1 && w[0] == '-') {
            // One or more short options: -vq, -m ID, -mID.
            for (size_t k = 1; k < w.size(); ++k) {
                const Option* o = by_short(t, w[k]);
                if (!o) {
                    std::string m = "unknown option " + quoted(std::string("-") + w[k]);
                    // "-help": a long option with one dash.
                    if (w.size() > 2 && by_long(t, w.substr(1)))
                        m += "; did you mean " + quoted("-" + w) + "?";
                    usage_error(m);
                }
                if (!o->takes_value) {
                    a.given_.emplace_back(o->name, std::nullopt);
                    continue;
                }
                std::string v = k + 1 < w.size() ? w.substr(k + 1)
                                                 : next_value(i, std::string("-") + w[k]);
                a.given_.emplace_back(o->name, std::move(v));
                break;
            }
            continue;
        }
        operand(w);  // includes "-", which means standard input where a tool takes files
    }
    if (t.operands == Operands::command && a.dash_dash == false && !a.operands.empty())
        usage_error("unexpected argument " + quoted(a.operands[0]));

    help_or_version(by_long(t, "help") && a.has("help"), by_long(t, "version") && a.has("version"),
                    t.help);
    if (by_long(t, "quiet") && by_long(t, "verbose")) {
        if (a.has("quiet") && a.has("verbose"))
            usage_error("--quiet and --verbose exclude each other");
        verbose = a.has("verbose");
    }
    return a;
}

}  // namespace tool
