// The token counts of an event stream that copilot-serve passes through
// unchanged, for its log line, /usage and --ledger (ARCHITECTURE.md, "Usage
// and quota"). The stream is not parsed: only the few events that mention
// "usage" are (a Chat stream's last chunk, a Responses stream's
// response.completed, a Messages stream's message_start and message_delta).
#pragma once

#include <optional>
#include <string_view>

#include "wire/wire.h"

namespace copilot {

class StreamUsage {
public:
    explicit StreamUsage(wire::Api api) : api_(api) {}
    // `events`: whole events, from the start of one to the end of another
    // (what the relay sends on). An event that is not JSON is skipped.
    void scan(std::string_view events);
    // What the events scanned so far reported; nullopt when none did.
    std::optional<wire::Usage> usage() const;

private:
    void take(std::string_view data);  // one event's data

    wire::Api api_;
    wire::Usage usage_;
    bool seen_ = false;
};

}  // namespace copilot
