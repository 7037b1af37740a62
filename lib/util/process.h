// Running other programs: copilot-token --exec's command, copilot-login
// --open's browser. Without a shell; an exec failure is reported back to
// the caller (through a close-on-exec pipe), never printed by the child.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace copilot {

struct CommandResult {
    int status = 0;       // the exit status, 128+N for signal N
    int exec_errno = 0;   // set when the command could not be started (status 127/126)
};

// Runs argv (PATH searched) with `env` added to our environment and waits.
// The terminal's SIGINT/SIGQUIT reach the child too, so we ignore them while
// it runs; SIGTERM/SIGHUP, which a supervisor sends to us alone, are passed
// on. The child gets the signal dispositions we were started with and
// SIGPIPE at its default. Error(io) if fork or waitpid fails.
CommandResult run_command(const std::vector<std::string>& argv,
                          const std::vector<std::pair<std::string, std::string>>& env);

// Starts argv in a new session with stdin/stdout/stderr on /dev/null and
// does not wait. The errno of a failed exec (or fork), or nullopt when it started.
std::optional<int> start_detached(const std::vector<std::string>& argv);

}  // namespace copilot
