#include "serve/stream_usage.h"

#include "net/sse.h"
#include "util/json.h"
#include "wire/usage.h"

namespace copilot {

namespace {
constexpr std::string_view kUsageKey = "\"usage\"";
}  // namespace

void StreamUsage::scan(std::string_view events) {
    if (events.find(kUsageKey) == std::string_view::npos) return;  // most of a stream
    SseParser parser;  // whole events: a parser of their own reads them
    try {
        parser.feed_views(events, [this](const SseEventView& ev) { take(ev.data); });
    } catch (const Error&) {
        // An event past the parser's cap: it reports nothing.
    }
}

void StreamUsage::take(std::string_view data) {
    if (data.find(kUsageKey) == std::string_view::npos) return;
    // Not JSON: passed on as it is, and it reports nothing.
    if (wire::read_usage(api_, data, &usage_)) seen_ = true;
}

std::optional<wire::Usage> StreamUsage::usage() const {
    if (!seen_) return std::nullopt;
    return usage_;
}

}  // namespace copilot
