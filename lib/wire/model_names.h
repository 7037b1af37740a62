// Anthropic clients' model names -> the Copilot catalogue's ids. Clients
// send Anthropic's ids ("claude-sonnet-4-5-20250929", "claude-3-5-sonnet-latest")
// where the catalogue says "claude-sonnet-4.5"; copilot-serve maps them and
// answers an unknown one with a 404 naming close matches. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace copilot::wire {

// --model-map FROM=TO entries, in the order given (the first FROM wins).
using ModelMap = std::vector<std::pair<std::string, std::string>>;

// "FROM=TO" -> {FROM, TO}; throws Error(Exit::usage) when either side is
// empty or there is no '='.
std::pair<std::string, std::string> parse_model_map_entry(std::string_view entry);

// The catalogue id for `name`: the user's map first (TO as given), then an
// exact id, then a catalogue id equal after normalising both (case; a dated
// "-YYYYMMDD" or "-latest" suffix removed; "." and "-" between version
// digits alike: claude-opus-4-1 = claude-opus-4.1, claude-3-5-sonnet =
// claude-3.5-sonnet), then equal with the separators removed
// (claude-opus-41). nullopt when none matches.
std::optional<std::string> map_model_name(std::string_view name, const std::vector<std::string>& ids,
                                          const ModelMap& user_map = {});

// Up to `max` catalogue ids closest to `name` (normalised edit distance,
// an id sharing the name's family first), for a 404's message; none that
// are too far off (more than half their length).
std::vector<std::string> close_matches(std::string_view name, const std::vector<std::string>& ids,
                                       size_t max = 3);

}  // namespace copilot::wire
