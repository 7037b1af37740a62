#include <string>

#include "check.h"
#include "util/json.h"

using namespace copilot;

static const JsonSource kSrc{"test doc", Exit::data};

TEST(parses_object_and_reads_fields) {
    auto doc = json_parse(R"({"s":"x","n":42,"big":1763700000,"d":1500.0,"o":{"a":1}})", kSrc);
    CHECK_EQ(json_string(doc, "s", kSrc), std::string("x"));
    CHECK_EQ(json_int(doc, "n", kSrc), 42);
    CHECK_EQ(json_int(doc, "big", kSrc), 1763700000);
    CHECK_EQ(json_int(doc, "d", kSrc), 1500);  // whole doubles are integers
    CHECK(json_object(doc, "o", kSrc).IsObject());
}

TEST(missing_field_is_named) {
    auto doc = json_parse(R"({"a":1})", kSrc);
    CHECK_THROWS_MSG(json_string(doc, "token", kSrc), Exit::data, "field 'token' is missing");
    CHECK_THROWS_MSG(json_int(doc, "expires_at", kSrc), Exit::data, "'expires_at' is missing");
}

TEST(mistyped_field_is_named) {
    auto doc = json_parse(R"({"token":5,"expires_at":"soon","f":1.5,"o":[]})", kSrc);
    CHECK_THROWS_MSG(json_string(doc, "token", kSrc), Exit::data, "'token' must be a string");
    CHECK_THROWS_MSG(json_int(doc, "expires_at", kSrc), Exit::data, "must be an integer");
    CHECK_THROWS_MSG(json_int(doc, "f", kSrc), Exit::data, "must be an integer");
    CHECK_THROWS_MSG(json_object(doc, "o", kSrc), Exit::data, "must be an object");
}

TEST(optional_fields) {
    auto doc = json_parse(R"({"a":"x","n":null,"bad":3})", kSrc);
    CHECK(json_opt_string(doc, "a", kSrc).value() == "x");
    CHECK(!json_opt_string(doc, "zz", kSrc).has_value());
    CHECK(!json_opt_int(doc, "n", kSrc).has_value());  // null counts as absent
    CHECK(json_opt_object(doc, "zz", kSrc) == nullptr);
    CHECK_THROWS(json_opt_string(doc, "bad", kSrc), Exit::data);
}

TEST(error_code_follows_the_source) {
    const JsonSource server{"token answer", Exit::protocol};
    CHECK_THROWS_MSG(json_parse("{not json", server), Exit::protocol, "token answer: not valid JSON");
    CHECK_THROWS_MSG(json_parse("", server), Exit::protocol, "empty");
    CHECK_THROWS_MSG(json_parse("[1,2]", server), Exit::protocol, "expected a JSON object");
    CHECK(json_parse("[1,2]", server, false).IsArray());
}

TEST(rejects_trailing_garbage_but_not_whitespace) {
    CHECK(json_parse("{\"a\":1}\n  \n", kSrc).IsObject());
    CHECK_THROWS(json_parse("{\"a\":1} x", kSrc), Exit::data);
    CHECK_THROWS(json_parse("{\"a\":1}{}", kSrc), Exit::data);
}

TEST(rejects_invalid_utf8) {
    CHECK_THROWS(json_parse(std::string("{\"a\":\"\xff\xfe\"}"), kSrc), Exit::data);
}

TEST(deep_nesting_does_not_overflow_the_stack) {
    std::string deep(200000, '[');
    deep += std::string(200000, ']');
    CHECK(json_parse(deep, kSrc, false).IsArray());
    std::string unclosed(1000000, '[');
    CHECK_THROWS(json_parse(unclosed, kSrc, false), Exit::data);
}

TEST(embedded_nul_does_not_truncate) {
    std::string text("{\"a\":1}\0{", 9);
    CHECK_THROWS(json_parse(text, kSrc), Exit::data);
}

TEST(writer_escapes_and_keeps_order) {
    JsonObjectWriter w;
    w.field("b", "quote\" and \\ and \n").field("a", int64_t{-5}).field("t", true).null_field("z");
    CHECK_EQ(w.str(), std::string(R"({"b":"quote\" and \\ and \n","a":-5,"t":true,"z":null})"));
    CHECK_EQ(json_quote("x\ty"), std::string("\"x\\ty\""));
}

TEST(dump_round_trips) {
    auto doc = json_parse(R"({"k":[1,"two",{"three":3}]})", kSrc);
    CHECK_EQ(json_dump(doc), std::string(R"({"k":[1,"two",{"three":3}]})"));
}
