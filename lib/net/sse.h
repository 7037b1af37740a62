// An incremental parser for text/event-stream (the WHATWG HTML "server-sent
// events" rules), fed bytes as they arrive from the network.
//
// What it handles, wherever a read happens to split the stream: LF, CR and
// CRLF line ends (also a CR ending one read and its LF starting the next), a
// leading UTF-8 BOM, comment lines (":..."), several "data:" lines joined by
// "\n", fields without a colon, one optional space after the colon, unknown
// fields ignored. Bytes are never altered: a multi-byte UTF-8 character split
// across reads comes out whole because only whole lines are interpreted.
// Memory is bounded: one line plus one event's data, capped.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace copilot {

struct SseEvent {
    std::string type = "message";  // the "event:" field, "message" when absent
    std::string data;              // "data:" lines joined by "\n"
    std::string id;                // the last event id seen so far in the stream
    std::optional<long> retry;     // reconnection time (ms) from the latest "retry:" field

    bool operator==(const SseEvent& o) const {
        return type == o.type && data == o.data && id == o.id && retry == o.retry;
    }
};

class SseParser {
public:
    using Sink = std::function<void(const SseEvent&)>;

    // max_pending: the most bytes one line plus one event's data may hold;
    // beyond it feed() throws Error(protocol), so a server cannot make the
    // client buffer without limit.
    explicit SseParser(size_t max_pending = 8u << 20) : max_pending_(max_pending) {}

    // Parses `bytes` and calls `sink` for every event completed by them.
    // If sink throws, the exception propagates and the parser should be dropped.
    void feed(std::string_view bytes, const Sink& sink);
    // The same, collecting the events.
    std::vector<SseEvent> feed(std::string_view bytes);

    // End of stream. Per WHATWG, an event not ended by a blank line is
    // discarded; this says whether such a partial event (or line) was pending.
    bool finish();

    // Events dispatched so far.
    size_t events() const { return events_; }

private:
    void line(std::string_view text, const Sink& sink);
    void add_data(std::string_view value);
    void dispatch(const Sink& sink);
    void grow(size_t more) const;

    size_t max_pending_;
    std::string partial_;       // the current line, not yet ended
    std::string data_;          // data buffer of the event being built
    std::string type_;          // event type buffer
    std::string last_id_;       // last event id buffer (persists across events)
    std::optional<long> retry_;
    SseEvent event_;            // handed to the sink; reused so an event costs no allocation
    bool has_fields_ = false;   // a line seen since the last blank line
    bool skip_lf_ = false;      // the previous byte was CR: an LF now ends nothing
    size_t bom_seen_ = 0;       // bytes of a leading BOM matched so far
    bool started_ = false;      // past the point where a BOM may appear
    size_t events_ = 0;
};

// Where the events of a stream end (an empty line; LF, CR or CRLF line
// ends), fed the stream's bytes in order, however reads split them. A relay
// uses it to pass on only whole events, so that a cut stream never leaves
// half an event before its error event.
class SseBoundary {
public:
    // Feeds `bytes` and returns how many of them run up to and including
    // the last event end among them (first_only: the first one, and the
    // bytes after it are not fed); 0 when none ends there.
    size_t feed(std::string_view bytes, bool first_only = false);
    // Nothing of an unfinished event fed since the last end (or the start).
    bool at_event_end() const { return line_start_ && !pending_; }

private:
    bool line_start_ = true;  // the last byte ended a line
    bool pending_ = false;    // bytes of an event not yet ended
    bool prev_cr_ = false;    // the last byte was CR (an LF now completes it)
    bool cr_ended_ = false;   // ...and that CR ended an event
};

}  // namespace copilot
