// Where the toolkit keeps its files (XDG Base Directory rules).
#pragma once

#include <string>

namespace copilot {

// $XDG_CONFIG_HOME when set to an absolute path, else $HOME/.config ($HOME
// when absolute, else the passwd entry's home directory). Throws Error(io)
// when none of them gives an absolute path.
std::string config_home();
// $XDG_CACHE_HOME when set to an absolute path, else $HOME/.cache.
std::string cache_home();
// $XDG_DATA_HOME when set to an absolute path, else $HOME/.local/share.
std::string data_home();
// $XDG_STATE_HOME when set to an absolute path, else $HOME/.local/state.
std::string state_home();

// "<host>" or "<host>@<profile>": the file stem for a host/profile pair.
// Throws Error(usage) for names that could escape the directory.
std::string state_name(const std::string& host, const std::string& profile);

// $XDG_CONFIG_HOME/copilot-utils/auth/<host>[@<profile>].json
std::string auth_file_path(const std::string& host, const std::string& profile);
// $XDG_CACHE_HOME/copilot-utils/token/<host>[@<profile>].json
std::string token_cache_path(const std::string& host, const std::string& profile);

// Directory part of a path ("." when there is none).
std::string dir_name(const std::string& path);

}  // namespace copilot
