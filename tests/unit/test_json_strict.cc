// json_parse refuses an object with two members of the same name (issue 13):
// RapidJSON keeps both and FindMember takes the first, other parsers take
// the last, so a second "oauth_token", "model" or "stream" could pass a check
// made by one reader and be used by another.
#include <chrono>
#include <random>
#include <set>
#include <string>

#include "check.h"
#include "util/json.h"

using namespace copilot;

namespace {

const JsonSource kAuth{"auth file /x/auth.json", Exit::data};
const JsonSource kServer{"token answer", Exit::protocol};

bool parses(const std::string& text) {
    try {
        (void)json_parse(text, kAuth, false);
        return true;
    } catch (const Error&) {
        return false;
    }
}

}  // namespace

TEST(duplicate_top_level_key_is_refused_naming_document_and_key) {
    CHECK_THROWS_MSG(json_parse(R"({"oauth_token":"ghu_a","oauth_token":"ghu_b"})", kAuth),
                     Exit::data, "auth file /x/auth.json: duplicate key 'oauth_token'");
    // The exit code follows the document's source: a server answer is 76.
    CHECK_THROWS_MSG(json_parse(R"({"token":"a","expires_at":1,"token":"b"})", kServer),
                     Exit::protocol, "token answer: duplicate key 'token'");
}

TEST(duplicate_key_with_other_members_between_is_refused) {
    CHECK_THROWS(json_parse(R"({"model":"a","x":1,"y":[1,2],"z":{},"model":"b"})", kAuth),
                 Exit::data);
    // Same name, different value types: still the same key.
    CHECK_THROWS(json_parse(R"({"stream":false,"stream":null})", kAuth), Exit::data);
}

TEST(duplicate_key_is_refused_at_any_depth) {
    CHECK_THROWS_MSG(json_parse(R"({"a":{"b":{"c":{"k":1,"k":2}}}})", kAuth), Exit::data,
                     "duplicate key 'k'");
    CHECK_THROWS_MSG(json_parse(R"({"messages":[{"role":"user"},{"role":"a","role":"b"}]})",
                                kAuth),
                     Exit::data, "duplicate key 'role'");
    CHECK_THROWS(json_parse(R"([[[[{"x":1,"x":1}]]]])", kAuth, false), Exit::data);
    // Deep: the check walks with its own stack, like the parser.
    std::string deep;
    for (int i = 0; i < 100000; ++i) deep += "{\"a\":";
    deep += "{\"d\":1,\"d\":2}";
    for (int i = 0; i < 100000; ++i) deep += "}";
    CHECK_THROWS_MSG(json_parse(deep, kAuth), Exit::data, "duplicate key 'd'");
}

TEST(the_same_name_in_different_objects_is_fine) {
    auto doc = json_parse(R"({"a":{"id":1},"b":{"id":2},"l":[{"id":3},{"id":4}],"id":5})", kAuth);
    CHECK_EQ(json_int(doc, "id", kAuth), 5);
    CHECK(parses(R"([{"k":1},{"k":1}])"));
    // Parent and child may share a name.
    CHECK(parses(R"({"k":{"k":{"k":1}}})"));
}

TEST(escaped_spellings_of_one_name_are_the_same_key) {
    CHECK_THROWS_MSG(json_parse(R"({"a":1,"\u0061":2})", kAuth), Exit::data,
                     "duplicate key 'a'");
    CHECK_THROWS(json_parse(R"({"oauth_token":"x","oauth\u005ftoken":"y"})", kAuth),
                 Exit::data);
    CHECK_THROWS(json_parse(R"({"a/b":1,"a\/b":2})", kAuth), Exit::data);
    CHECK_THROWS(json_parse(R"({"\u00e9":1,"é":2})", kAuth), Exit::data);
    CHECK_THROWS(json_parse(R"({"\ud83d\ude00":1,"😀":2})", kAuth), Exit::data);
    // Case, and NUL inside a name, make different keys.
    CHECK(parses(R"({"Model":1,"model":2})"));
    CHECK(parses(R"({"a":1,"a\u0000":2,"a\u0000b":3})"));
    CHECK_THROWS(json_parse(R"({"a\u0000b":1,"a\u0000b":2})", kAuth), Exit::data);
    CHECK(parses(R"({"":1,"\u0000":2})"));
    CHECK_THROWS(json_parse(R"({"":1,"":2})", kAuth), Exit::data);
}

TEST(a_hostile_key_is_shown_on_one_short_line) {
    const std::string key = "k\\n\\u001b[31m" + std::string(5000, 'x');
    const std::string doc = "{\"" + key + "\":1,\"" + key + "\":2}";
    try {
        (void)json_parse(doc, kAuth);
        CHECK(false);
    } catch (const Error& e) {
        const std::string m = e.what();
        CHECK(m.find("duplicate key 'k") != std::string::npos);
        CHECK(m.size() < 300);
        CHECK(m.find('\n') == std::string::npos);
        CHECK(m.find('\x1b') == std::string::npos);
    }
}

TEST(a_100k_member_object_is_checked_quickly) {
    std::string doc = "{";
    for (int i = 0; i < 100000; ++i) doc += "\"key" + std::to_string(i) + "\":" + std::to_string(i) + ",";
    std::string good = doc;
    good.back() = '}';
    std::string bad = doc + "\"key99999\":0}";  // the last member repeats one near the end
    std::string bad_first = doc + "\"key0\":0}";
    const auto t0 = std::chrono::steady_clock::now();
    auto parsed = json_parse(good, kAuth);
    CHECK_EQ(static_cast<int>(parsed.MemberCount()), 100000);
    CHECK_THROWS_MSG(json_parse(bad, kAuth), Exit::data, "duplicate key 'key99999'");
    CHECK_THROWS_MSG(json_parse(bad_first, kAuth), Exit::data, "duplicate key 'key0'");
    // 100,000 members in one array of objects, too.
    std::string many = "[";
    for (int i = 0; i < 100000; ++i) many += "{\"a\":1,\"b\":2},";
    many.back() = ']';
    CHECK(parses(many));
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Pairwise comparison would take 5e9 string compares; sorting takes ms
    // (the bound leaves room for sanitizer builds on a busy machine).
    CHECK(secs < 5.0);
}

// Property check, deterministic: random objects whose names are written
// raw or \u-escaped at random; json_parse must refuse exactly those where
// two decoded names are equal, and what it accepts must dump and parse back.
TEST(random_objects_are_refused_exactly_when_decoded_names_collide) {
    std::mt19937 rng(13);
    const std::string alphabet = "ab_\x01";
    int refused = 0, accepted = 0;
    for (int round = 0; round < 3000; ++round) {
        const int n = 1 + static_cast<int>(rng() % 12);
        std::set<std::string> names;
        bool dup = false;
        std::string doc = "{";
        for (int i = 0; i < n; ++i) {
            std::string name;
            const int len = static_cast<int>(rng() % 3);
            for (int k = 0; k < len; ++k) name += alphabet[rng() % alphabet.size()];
            dup |= !names.insert(name).second;
            std::string spelled;
            for (char c : name) {
                char esc[8];
                if (c == '\x01' || rng() % 2) {
                    std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned char>(c));
                    spelled += esc;
                } else {
                    spelled += c;
                }
            }
            doc += (i ? ",\"" : "\"") + spelled + "\":" + std::to_string(i);
        }
        doc += "}";
        const bool ok = parses(doc);
        CHECK_EQ(ok, !dup);
        if (ok) {
            ++accepted;
            const auto parsed = json_parse(doc, kAuth);
            CHECK(parses(json_dump(parsed)));
        } else {
            ++refused;
        }
    }
    CHECK(refused > 100 && accepted > 100);  // both outcomes were exercised
}
