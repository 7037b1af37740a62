// Parses with cxxopts; this wrapper adds what cxxopts lacks: a flag given a
// value is an error, "did you mean", and one-line messages with straight quotes.
#include "options.h"

#include <cxxopts.hpp>

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

// The name or word a cxxopts exception quotes (its curly quotes are not ours).
std::string named(const cxxopts::exceptions::exception& e) {
    const std::string m = e.what();
    const size_t b = m.find(cxxopts::LQUOTE), q = m.rfind(cxxopts::RQUOTE);
    if (b == std::string::npos || q == std::string::npos || q < b) return m;
    return m.substr(b + cxxopts::LQUOTE.size(), q - b - cxxopts::LQUOTE.size());
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

std::vector<std::string> Args::values(std::string_view name) const {
    find(name);
    std::vector<std::string> out;
    for (const auto& g : given_)
        if (g.first == name && g.second) out.push_back(*g.second);
    return out;
}

std::string Args::value_or(std::string_view name, const std::string& fallback) const {
    auto v = value(name);
    return v ? *v : fallback;
}

Args parse_args(const OptionTable& t, int argc, char** argv) {
    Args a;
    a.table_ = &t;
    // Before cxxopts, what it lacks: a flag given a value and a forgotten
    // value ("--host --json") are errors, and "-mV" is split into "-m" "V"
    // (without std::regex cxxopts takes only an alphanumeric V).
    std::vector<std::string> words(argv, argv + argc);
    size_t end = 1;  // "--", or the end
    for (; end < words.size() && words[end] != "--"; ++end) {
        const std::string w = words[end];
        std::string needs;  // the option, as typed, that takes the next word
        if (w.rfind("--", 0) == 0) {
            const size_t eq = w.find('=');
            const std::string name = w.substr(2, eq == std::string::npos ? eq : eq - 2);
            const Option* o = by_long(t, name);
            if (o && !o->takes_value && eq != std::string::npos)
                usage_error("option " + quoted("--" + name) + " takes no value (given " + quoted(w) + ")");
            if (o && o->takes_value && eq == std::string::npos) needs = w;
        } else if (w.size() > 1 && w[0] == '-') {
            for (size_t k = 1; k < w.size(); ++k) {
                const Option* o = by_short(t, w[k]);
                if (!o) break;  // cxxopts reports it
                if (!o->takes_value) continue;
                if (k + 1 == w.size()) {
                    needs = std::string("-") + w[k];
                } else {
                    words[end].resize(k + 1);
                    words.insert(words.begin() + static_cast<std::ptrdiff_t>(++end), w.substr(k + 1));
                }
                break;
            }
        }
        if (needs.empty() || end + 1 == words.size()) continue;  // cxxopts: "needs a value"
        if (words[end + 1].rfind("--", 0) == 0)
            usage_error("option " + quoted(needs) + " needs a value, not " + quoted(words[end + 1]));
        ++end;
    }
    // The words after "--" stay apart from the others (copilot-token --exec).
    a.dash_dash = end < words.size();
    std::vector<std::string> after(words.begin() + static_cast<std::ptrdiff_t>(std::min(end + 1, words.size())), words.end());

    cxxopts::Options opts(words[0]);
    for (size_t i = 0; i < t.count; ++i) {
        const Option& o = t.options[i];
        const std::string spec = o.short_name ? std::string(1, o.short_name) + "," + o.name : o.name;
        if (o.takes_value)
            opts.add_options()(spec, "", cxxopts::value<std::string>());
        else
            opts.add_options()(spec, "", cxxopts::value<bool>());
    }
    std::vector<const char*> cargv;
    for (size_t i = 0; i < end; ++i) cargv.push_back(words[i].c_str());
    try {
        const cxxopts::ParseResult r = opts.parse(static_cast<int>(cargv.size()), cargv.data());
        for (const auto& kv : r.arguments()) {
            const Option* o = by_long(t, kv.key());
            a.given_.emplace_back(o->name, o->takes_value ? std::optional<std::string>(kv.value()) : std::nullopt);
        }
        a.operands = r.unmatched();
    } catch (const cxxopts::exceptions::no_such_option& e) {
        const std::string name = named(e);
        if (name.size() > 1) unknown_long(t, name);
        std::string m = "unknown option " + quoted("-" + name);
        // "-help": a long option with one dash.
        for (size_t i = 1; i < end; ++i)
            if (words[i].size() > 2 && words[i][1] != '-' && words[i].find(name) != std::string::npos &&
                by_long(t, words[i].substr(1))) {
                m += "; did you mean " + quoted("-" + words[i]) + "?";
                break;
            }
        usage_error(m);
    } catch (const cxxopts::exceptions::missing_argument& e) {
        const std::string name = named(e);
        usage_error("option " + quoted((name.size() > 1 ? "--" : "-") + name) + " needs a value");
    } catch (const cxxopts::exceptions::invalid_option_syntax& e) {
        // "--x", "--a.b", "-é": no option's name has that form.
        const std::string w = named(e);
        if (w.rfind("--", 0) == 0) unknown_long(t, w.substr(2, w.find('=') - 2));
        usage_error("unknown option " + quoted(w));
    } catch (const cxxopts::exceptions::parsing& e) {
        usage_error("bad option: " + named(e));
    }
    if (t.operands == Operands::none && !a.operands.empty())
        usage_error("unexpected argument " + quoted(a.operands[0]));
    if (t.operands == Operands::command && !a.operands.empty())
        usage_error("unexpected argument " + quoted(a.operands[0]) + " (a command goes after --)");
    if (t.operands == Operands::none && !after.empty())
        usage_error("unexpected argument " + quoted(after[0]));
    a.operands.insert(a.operands.end(), after.begin(), after.end());

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
