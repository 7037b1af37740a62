// The token counts an answer, or one event of a stream, reports about itself,
// in each wire API's shape: what the translators carry over, and what
// copilot-serve logs, tallies in /usage and writes to --ledger, whether the
// answer was translated or passed through (ARCHITECTURE.md, "Usage and quota").
#pragma once

#include <string_view>

#include "util/json.h"
#include "wire/wire.h"

namespace copilot::wire {

// Reads the `usage` of `doc` in `api`'s shape into `into`: an answer's own,
// a Chat chunk's, a Responses event's `response.usage`, a Messages
// `message_start`'s `message.usage` or a `message_delta`'s `usage`. Counts it
// reports replace those in `into`, the others stay (a Messages stream tells
// the input at its start, the output at its end). Counts that are missing or
// not numbers read as absent. False when `doc` has no usage object.
//
// Usage::input is every input token, cached or not: a Messages usage's
// input_tokens (which leave the cache out) plus its cache_read and
// cache_creation input tokens.
bool read_usage(Api api, const JsonValue& doc, Usage* into);

// The same from JSON text, read without building a document (an answer
// passed through is never parsed otherwise): false also when `json` is not
// JSON, or when a name repeats where the counts are (which would they be?).
bool read_usage(Api api, std::string_view json, Usage* into);

// The same, for a caller that wants the counts alone (zeros when none).
inline Usage usage_of(Api api, const JsonValue& doc) {
    Usage u;
    read_usage(api, doc, &u);
    return u;
}

}  // namespace copilot::wire
