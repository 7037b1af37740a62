#include "net/sse.h"

#include <algorithm>

#include "util/errors.h"

namespace copilot {

namespace {

constexpr char kBom[] = "\xEF\xBB\xBF";
constexpr size_t kBomSize = 3;

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

}  // namespace

void SseParser::grow(size_t more) const {
    if (partial_.size() + data_.size() + more > max_pending_)
        throw Error(Exit::protocol, "event stream: an event is larger than " +
                                        std::to_string(max_pending_) + " bytes");
}

std::vector<SseEvent> SseParser::feed(std::string_view bytes) {
    std::vector<SseEvent> out;
    feed(bytes, [&out](const SseEvent& e) { out.push_back(e); });
    return out;
}

void SseParser::feed(std::string_view in, const Sink& sink) {
    size_t i = 0;
    // A BOM may only stand at the very start of the stream, and a read may end
    // inside it: match it byte by byte before anything else is interpreted.
    while (!started_ && i < in.size()) {
        if (in[i] == kBom[bom_seen_]) {
            ++i;
            if (++bom_seen_ == kBomSize) started_ = true;
        } else {
            // Not a BOM after all: the bytes matched so far are line content
            // (none of them is CR or LF).
            partial_.append(kBom, bom_seen_);
            started_ = true;
        }
    }

    // The next LF and the next CR, each found with memchr and kept until the
    // scan passes it: find_first_of("\r\n") would test every byte against
    // both, which made line splitting the costliest step of a long answer.
    constexpr size_t npos = std::string_view::npos;
    size_t lf = in.find('\n', i), cr = in.find('\r', i);
    while (i < in.size()) {
        if (skip_lf_) {
            skip_lf_ = false;
            if (in[i] == '\n') {  // the LF of a CRLF whose CR ended the previous read
                ++i;
                continue;
            }
        }
        size_t end = i;  // a blank line, the usual end of an event: nothing to search
        if (in[i] != '\n' && in[i] != '\r') {
            if (lf != npos && lf < i) lf = in.find('\n', i);
            if (cr != npos && cr < i) cr = in.find('\r', i);
            end = std::min(lf, cr);
        }
        if (end == npos) {
            grow(in.size() - i);
            partial_.append(in.data() + i, in.size() - i);
            break;
        }
        if (in[end] == '\r') skip_lf_ = true;  // a following LF belongs to this line end
        std::string_view text = in.substr(i, end - i);
        i = end + 1;
        if (!partial_.empty()) {
            grow(text.size());
            partial_.append(text.data(), text.size());
            std::string whole;
            whole.swap(partial_);
            line(whole, sink);
        } else {
            line(text, sink);
        }
    }
}

void SseParser::line(std::string_view text, const Sink& sink) {
    if (text.empty()) {  // a blank line dispatches the event being built
        dispatch(sink);
        return;
    }
    has_fields_ = true;
    if (text[0] == ':') return;  // comment
    // Nearly every line of an answer is a data line: taken before the general case.
    if (text.compare(0, 5, "data:") == 0) {
        std::string_view value = text.substr(5);
        if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
        add_data(value);
        return;
    }

    std::string_view field = text, value;
    size_t colon = text.find(':');
    if (colon != std::string_view::npos) {
        field = text.substr(0, colon);
        value = text.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    }

    if (field == "data") {
        add_data(value);
    } else if (field == "event") {
        type_.assign(value.data(), value.size());
    } else if (field == "id") {
        if (value.find('\0') == std::string_view::npos) last_id_.assign(value.data(), value.size());
    } else if (field == "retry") {
        if (all_digits(value) && value.size() <= 9) retry_ = std::stol(std::string(value));
    }
    // any other field is ignored
}

void SseParser::add_data(std::string_view value) {
    grow(value.size() + 1);
    data_.append(value.data(), value.size());
    data_.push_back('\n');
}

void SseParser::dispatch(const Sink& sink) {
    has_fields_ = false;
    if (data_.empty()) {
        type_.clear();
        return;
    }
    data_.pop_back();  // the "\n" after the last data line
    // The event handed out is reused, and its fields are only written when
    // they change: a long answer is ~150-byte events, and allocating or
    // copying for each of them cost more than parsing it. Swapped, not
    // moved, so data_ keeps the previous event's buffer.
    event_.data.swap(data_);
    data_.clear();
    if (!type_.empty()) {
        event_.type.swap(type_);
        type_.clear();
    } else if (std::string_view(event_.type) != "message") {
        event_.type = "message";
    }
    if (event_.id != last_id_) event_.id = last_id_;
    event_.retry = retry_;
    ++events_;
    sink(event_);
}

bool SseParser::finish() {
    bool pending = !partial_.empty() || has_fields_ || (!started_ && bom_seen_ > 0);
    partial_.clear();
    data_.clear();
    type_.clear();
    has_fields_ = false;
    return pending;
}

size_t SseBoundary::feed(std::string_view bytes, bool first_only) {
    size_t end = 0;
    for (size_t i = 0; i < bytes.size(); ++i) {
        const char c = bytes[i];
        if (c == '\n' && prev_cr_) {  // CRLF: one line end, already counted
            prev_cr_ = false;
            if (cr_ended_) end = i + 1;  // the LF goes with the event it ends
            cr_ended_ = false;
            continue;
        }
        if (first_only && end > 0) break;
        prev_cr_ = c == '\r';
        cr_ended_ = false;
        if (c == '\n' || c == '\r') {
            if (line_start_) {  // an empty line: the event ends here
                pending_ = false;
                end = i + 1;
                cr_ended_ = prev_cr_;
            }
            line_start_ = true;
        } else {
            line_start_ = false;
            pending_ = true;
        }
    }
    return end;
}

}  // namespace copilot
