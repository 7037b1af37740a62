// The SSE parser: every edge case is checked on the whole buffer against the
// expected events, then fed one byte at a time and in random splits (fixed
// seeds), which must give exactly the same events.
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "net/sse.h"

using copilot::Exit;
using copilot::SseEvent;
using copilot::SseParser;

// Printing for CHECK_EQ; in the events' namespace so that lookup finds it.
namespace copilot {
std::ostream& operator<<(std::ostream& os, const std::vector<SseEvent>& evs) {
    for (const auto& e : evs) {
        os << "{" << e.type << "|" << e.data << "|" << e.id << "|"
           << (e.retry ? std::to_string(*e.retry) : "-") << "}";
    }
    return os;
}
}  // namespace copilot

namespace {

struct Result {
    std::vector<SseEvent> events;
    bool pending = false;
    bool operator==(const Result& o) const { return events == o.events && pending == o.pending; }
};

std::ostream& operator<<(std::ostream& os, const Result& r) {
    return os << r.events << (r.pending ? " +pending" : "");
}

Result parse_pieces(const std::vector<std::string>& pieces) {
    SseParser p;
    Result r;
    for (const auto& piece : pieces) {
        auto evs = p.feed(piece);
        r.events.insert(r.events.end(), evs.begin(), evs.end());
    }
    r.pending = p.finish();
    return r;
}

Result parse_whole(const std::string& s) { return parse_pieces({s}); }

Result parse_bytewise(const std::string& s) {
    std::vector<std::string> pieces;
    for (char c : s) pieces.emplace_back(1, c);
    return parse_pieces(pieces);
}

Result parse_random(const std::string& s, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<std::string> pieces;
    size_t i = 0;
    while (i < s.size()) {
        // mostly short pieces, with empty reads and the odd long one mixed in
        size_t n = std::uniform_int_distribution<size_t>(0, rng() % 4 == 0 ? 64 : 5)(rng);
        n = std::min(n, s.size() - i);
        pieces.push_back(s.substr(i, n));
        i += n;
    }
    return parse_pieces(pieces);
}

SseEvent ev(std::string data, std::string type = "message", std::string id = "") {
    SseEvent e;
    e.data = std::move(data);
    e.type = std::move(type);
    e.id = std::move(id);
    return e;
}

// The whole buffer gives `want`; every way of splitting it gives the same.
void expect_stream(const std::string& stream, const std::vector<SseEvent>& want,
                   bool pending = false) {
    Result expected{want, pending};
    Result whole = parse_whole(stream);
    CHECK_EQ(whole, expected);
    CHECK_EQ(parse_bytewise(stream), whole);
    for (unsigned seed = 1; seed <= 200; ++seed) {
        Result r = parse_random(stream, seed);
        if (!(r == whole)) {
            CHECK_EQ(r, whole);
            std::cerr << "  seed " << seed << "\n";
            break;
        }
    }
}

}  // namespace

TEST(lf_line_ends) {
    expect_stream("data: one\n\ndata: two\n\n", {ev("one"), ev("two")});
}

TEST(crlf_line_ends) {
    expect_stream("data: one\r\n\r\ndata: two\r\n\r\n", {ev("one"), ev("two")});
}

TEST(cr_line_ends) {
    expect_stream("data: one\r\rdata: two\r\r", {ev("one"), ev("two")});
}

TEST(mixed_line_ends) {
    expect_stream("data: a\r\ndata: b\rdata: c\n\r\n", {ev("a\nb\nc")});
}

TEST(cr_at_end_of_one_read_and_lf_at_start_of_next_is_one_line_end) {
    auto r = parse_pieces({"data: x\r", "\n\r", "\n"});
    CHECK_EQ(r.events, std::vector<SseEvent>{ev("x")});
    CHECK(!r.pending);
    // CR then a read that starts with something else: the CR alone ended the line
    r = parse_pieces({"data: x\r", "data: y\r", "\r"});
    CHECK_EQ(r.events, std::vector<SseEvent>{ev("x\ny")});
}

TEST(lone_cr_then_lf_is_two_line_ends_only_when_not_adjacent) {
    // "\r\n" is one line end; "\n\r" is two, so this dispatches
    expect_stream("data: x\n\r", {ev("x")});
}

TEST(leading_bom_is_stripped) {
    expect_stream("\xEF\xBB\xBF" "data: hi\n\n", {ev("hi")});
}

TEST(bom_only_at_start_second_bom_is_content) {
    // the second BOM starts the first line, so that line's field name is not "data"
    expect_stream("\xEF\xBB\xBF\xEF\xBB\xBF" "data: hi\n\ndata: ok\n\n", {ev("ok")});
}

TEST(partial_bom_is_content) {
    // EF BB followed by something else: not a BOM, the bytes stay in the line
    expect_stream("\xEF\xBB" "data: x\n\ndata: y\n\n", {ev("y")});
    expect_stream("\xEF" "\n" "data: y\n\n", {ev("y")});
}

TEST(comment_lines_are_ignored) {
    expect_stream(": keep-alive\n\n: hi\ndata: a\n: between\ndata: b\n\n", {ev("a\nb")});
}

TEST(several_data_lines_are_joined_with_lf) {
    expect_stream("data: one\ndata: two\ndata: three\n\n", {ev("one\ntwo\nthree")});
}

TEST(field_without_colon_has_empty_value) {
    // "data" alone appends an empty line; "event" alone resets the type
    expect_stream("data\ndata\n\n", {ev("\n")});
    expect_stream("event\ndata: x\n\n", {ev("x")});
    expect_stream("data: a\ndata\n\n", {ev("a\n")});
}

TEST(only_one_space_after_colon_is_removed) {
    expect_stream("data:x\n\ndata:  x\n\ndata: x \n\n", {ev("x"), ev(" x"), ev("x ")});
}

TEST(value_may_contain_colons) {
    expect_stream("data: {\"a\":\"b:c\"}\n\n", {ev("{\"a\":\"b:c\"}")});
}

TEST(empty_data_field_dispatches_empty_event) {
    expect_stream("data:\n\n", {ev("")});
}

TEST(event_without_data_is_not_dispatched) {
    expect_stream("event: ping\n\nid: 7\n\n\n\n", {});
    // and its type does not leak into the next event
    expect_stream("event: ping\n\ndata: x\n\n", {ev("x")});
}

TEST(event_type_and_id) {
    expect_stream("event: error\nid: 1\ndata: bad\n\ndata: next\n\n",
                  {ev("bad", "error", "1"), ev("next", "message", "1")});
}

TEST(id_with_nul_is_ignored) {
    expect_stream(std::string("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n", 32),
                  {ev("a", "message", "1"), ev("b", "message", "1")});
}

TEST(empty_id_resets_last_id) {
    expect_stream("id: 5\ndata: a\n\nid\ndata: b\n\n", {ev("a", "message", "5"), ev("b")});
}

TEST(retry_field_only_digits) {
    SseEvent a = ev("a"), b = ev("b"), c = ev("c");
    a.retry = 3000;
    b.retry = 3000;  // "retry: 12x" ignored
    c.retry = 10;
    expect_stream("retry: 3000\ndata: a\n\nretry: 12x\ndata: b\n\nretry:10\ndata: c\n\n",
                  {a, b, c});
}

TEST(unknown_fields_are_ignored) {
    expect_stream("foo: bar\ndata: x\nDATA: y\nData: z\n\n", {ev("x")});
}

TEST(unterminated_event_at_end_is_discarded) {
    expect_stream("data: a\n\ndata: b\n", {ev("a")}, true);
    expect_stream("data: a\n\ndata: b", {ev("a")}, true);
    expect_stream("data: a\n\n", {ev("a")}, false);
    expect_stream("", {}, false);
}

TEST(multibyte_utf8_split_across_reads_comes_out_whole) {
    const std::string text = "h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x8E\x89";
    const std::string stream = "data: {\"c\":\"" + text + "\"}\n\n";
    expect_stream(stream, {ev("{\"c\":\"" + text + "\"}")});
    // split inside the 4-byte emoji explicitly
    size_t at = stream.find("\xF0") + 2;
    auto r = parse_pieces({stream.substr(0, at), stream.substr(at)});
    CHECK_EQ(r.events, std::vector<SseEvent>{ev("{\"c\":\"" + text + "\"}")});
}

TEST(openai_style_stream) {
    const std::string s =
        "data: {\"choices\":[]}\r\n\r\n"
        ": ping\r\n\r\n"
        "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\r\n\r\n"
        "data: [DONE]\r\n\r\n";
    expect_stream(s, {ev("{\"choices\":[]}"), ev("{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}"),
                      ev("[DONE]")});
}

TEST(blank_lines_between_events_do_nothing) {
    expect_stream("\n\n\r\n\rdata: a\n\n\n\n", {ev("a")});
}

TEST(events_counter) {
    SseParser p;
    p.feed("data: a\n\ndata: b\n\n");
    CHECK_EQ(p.events(), size_t{2});
}

TEST(oversized_event_is_refused) {
    SseParser p(64);
    CHECK_THROWS(p.feed(std::string("data: ") + std::string(100, 'x')), Exit::protocol);
    SseParser q(64);
    std::string many;
    for (int i = 0; i < 20; ++i) many += "data: abcdef\n";
    CHECK_THROWS(q.feed(many), Exit::protocol);
    // many small events in sequence are fine: the cap is per event
    SseParser r(64);
    std::string stream;
    for (int i = 0; i < 1000; ++i) stream += "data: abcdef\n\n";
    CHECK_EQ(r.feed(stream).size(), size_t{1000});
}

TEST(random_generated_streams_split_anywhere) {
    // Streams built from random lines: any split gives the whole-buffer result.
    std::mt19937 rng(42);
    const std::vector<std::string> parts = {
        "data: x", "data:y", "data", ": c", "event: e", "id: 9", "retry: 5", "",
        "data: \xC3\xA9\xE2\x82\xAC", "foo", "data: [DONE]"};
    const std::vector<std::string> eols = {"\n", "\r", "\r\n"};
    for (int round = 0; round < 100; ++round) {
        std::string s = rng() % 3 == 0 ? "\xEF\xBB\xBF" : "";
        int n = static_cast<int>(rng() % 30);
        for (int k = 0; k < n; ++k) s += parts[rng() % parts.size()] + eols[rng() % eols.size()];
        Result whole = parse_whole(s);
        CHECK_EQ(parse_bytewise(s), whole);
        for (unsigned seed = 1; seed <= 20; ++seed) CHECK_EQ(parse_random(s, seed), whole);
    }
}

TEST(event_ends_are_found_wherever_reads_split) {
    using copilot::SseBoundary;
    struct Case {
        std::string bytes;
        size_t last;   // past the last event end, 0: none
        size_t first;  // past the first
    };
    const std::vector<Case> cases = {
        {"data: a\n\n", 9, 9},
        {"data: a\r\n\r\n", 11, 11},
        {"data: a\r\r", 9, 9},
        {"data: a\n\ndata: b\n\ndata: c", 18, 9},
        {"data: a\n", 0, 0},
        {"data: a", 0, 0},
        {"data: a\r\ndata: b\r\n", 0, 0},
        {"\n", 1, 1},
    };
    for (const auto& c : cases) {
        SseBoundary b;
        CHECK_EQ(b.feed(c.bytes), c.last);
        SseBoundary f;
        CHECK_EQ(f.feed(c.bytes, true), c.first);
    }
    // a CRLF split between reads: the LF goes with the event it ends
    SseBoundary b;
    CHECK_EQ(b.feed("data: a\r\n\r"), size_t{10});
    CHECK(b.at_event_end());
    CHECK_EQ(b.feed("\ndata: b"), size_t{1});
    CHECK(!b.at_event_end());
    CHECK_EQ(b.feed("\n"), size_t{0});
    CHECK(!b.at_event_end());
    CHECK_EQ(b.feed("\n"), size_t{1});
    CHECK(b.at_event_end());
    // byte by byte: the same ends as the whole buffer
    std::mt19937 rng(7);
    const std::vector<std::string> parts = {"data: x", ": c", "", "id: 1"};
    const std::vector<std::string> eols = {"\n", "\r", "\r\n"};
    for (int round = 0; round < 200; ++round) {
        std::string s;
        const int n = static_cast<int>(rng() % 20);
        for (int k = 0; k < n; ++k) s += parts[rng() % parts.size()] + eols[rng() % eols.size()];
        SseBoundary whole;
        const size_t last = whole.feed(s);
        SseBoundary bytewise;
        size_t seen = 0;
        for (size_t i = 0; i < s.size(); ++i)
            if (bytewise.feed(std::string_view(s).substr(i, 1)) == 1) seen = i + 1;
        CHECK_EQ(seen, last);
        CHECK_EQ(bytewise.at_event_end(), whole.at_event_end());
    }
}

