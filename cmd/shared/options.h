// The command-line parser every copilot-* tool uses. Its table is generated
// from cmd/options/TOOL.opts (the one source of --help, the man page's OPTIONS
// and the shell completions) into the build tree as TOOL.opts.h.
//
// cxxopts parses; options.cc adds what it does not give: a boolean given a
// value (--refresh=false) is an error, an unknown option gets a "did you
// mean", and messages name the option as typed with straight quotes and never
// repeat a huge value whole.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tool {

struct Option {
    const char* name;  // long name without "--"
    char short_name;   // 0 = none
    bool takes_value;
};

// What the words that are not options are.
enum class Operands {
    none,     // an error ("unexpected argument")
    words,    // kept in order; options may come between them; "--" ends options
    command,  // nothing before "--"; everything after it, untouched
};

struct OptionTable {
    const Option* options;
    size_t count;
    Operands operands;
    const char* help;  // the whole --help text
};

class Args {
public:
    // `name` must be in the table (a typo in the code fails loudly).
    bool has(std::string_view name) const;
    // The last value given for `name`, if any.
    std::optional<std::string> value(std::string_view name) const;
    std::string value_or(std::string_view name, const std::string& fallback) const;
    // Every value given for `name`, in order (a repeatable option).
    std::vector<std::string> values(std::string_view name) const;

    std::vector<std::string> operands;  // the words, or the command after "--"
    bool dash_dash = false;             // "--" was given

private:
    friend Args parse_args(const OptionTable&, int, char**);
    const OptionTable* table_ = nullptr;
    std::vector<std::pair<std::string, std::optional<std::string>>> given_;
    const Option& find(std::string_view name) const;
};

// Parses argv[1..] against `table`. Usage errors throw Error(usage) with a
// one-line message; --help and --version print and end the tool (Done);
// --quiet with --verbose is a usage error; --verbose sets tool::verbose.
Args parse_args(const OptionTable& table, int argc, char** argv);

// The nearest long option name to `typed` (without "--"), if one is close
// enough to be what was meant; for "did you mean".
std::optional<std::string> nearest_option(const OptionTable& table, std::string_view typed);

}  // namespace tool
