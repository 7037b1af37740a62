// copilot-serve's ledger (--ledger FILE): one JSON line per request, what it
// cost and for whom, appended so that concurrent requests never interleave.
// It holds no prompt, no answer and no token: the entry has no field for one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "wire/wire.h"

namespace copilot {

struct LedgerEntry {
    int64_t time_ms = 0;            // unix milliseconds, when the answer ended
    std::string client_api;         // wire::api_name of the client's API: "chat", "responses", "messages"
    std::string upstream_endpoint;  // the path asked upstream: "/chat/completions", ...
    std::string model;              // as the client named it (bounded, ASCII)
    bool agent = false;             // X-Initiator: agent (not the user's own turn)
    std::optional<wire::Usage> tokens;  // what the answer reported; nullopt when nothing
    std::optional<double> multiplier;   // the model's billing.multiplier; nullopt when unknown
    long status = 0;                // the status the client got
};

// A unix time in milliseconds as the ledger writes it: "2026-12-02T01:22:33.123Z".
std::string iso_time_ms(int64_t unix_ms);

// Premium requests a request spends: its model's multiplier when the answer
// succeeded (2xx) and the user started it (an agent's continuation is not
// billed, which is why X-Initiator is sent); 0 otherwise or when unknown.
double premium_spend(const LedgerEntry& e);

// {"time":"2026-12-02T01:22:33.123Z","client_api":"chat","upstream_endpoint":
// "/chat/completions","model":"gpt-4.1","initiator":"user","tokens":{"input":
// 12,"output":3,"cached":0,"reasoning":0}|null,"multiplier":1|null,
// "premium":1,"status":200} and a newline.
std::string ledger_line(const LedgerEntry& e);

// The ledger file, open for appending for as long as the object lives.
class Ledger {
public:
    // Opens (creating it 0600) with O_APPEND. Error(io) naming the path when
    // it cannot be opened or is not a regular file, a FIFO or a character
    // device.
    explicit Ledger(const std::string& path);
    ~Ledger();
    Ledger(const Ledger&) = delete;
    Ledger& operator=(const Ledger&) = delete;

    // One write(2) of the whole line: with O_APPEND each lands whole at the
    // end of the file, whatever other threads or processes append. A short
    // write (a full disk) is Error(io); the rest is not written after it,
    // where it could split another line.
    void append(const LedgerEntry& e) const;

    const std::string& path() const { return path_; }

private:
    std::string path_;
    int fd_ = -1;
};

}  // namespace copilot
