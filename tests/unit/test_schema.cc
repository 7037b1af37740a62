// api/schema: --schema read, answers checked against it.
#include <string>

#include "api/schema.h"
#include "check.h"

using namespace copilot;

namespace {
const std::string kSchema =
    "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},\"required\":[\"n\"]}";
}

TEST(schema_text_must_be_an_object) {
    CHECK_EQ(read_schema("{ \"type\" : \"object\" }"), std::string("{\"type\":\"object\"}"));
    CHECK_THROWS_MSG(read_schema("[]"), Exit::data, "must be a JSON object");
    CHECK_THROWS(read_schema("{"), Exit::data);
    CHECK_THROWS_MSG(read_schema("@/nonexistent/x"), Exit::usage, "no such file");
    std::string deep;
    for (int i = 0; i < 65; ++i) deep += "{\"a\":";
    deep += "1";
    for (int i = 0; i < 65; ++i) deep += "}";
    CHECK_THROWS_MSG(read_schema(deep), Exit::data, "deeper than 64");
    // brackets inside strings do not count
    const std::string quoted = "{\"d\":\"" + std::string(100, '[') + "\"}";
    CHECK_EQ(read_schema(quoted), quoted);
}

TEST(answer_fences_and_white_space_come_off) {
    CHECK_EQ(std::string(answer_json_text("  {\"n\":1}\n")), std::string("{\"n\":1}"));
    CHECK_EQ(std::string(answer_json_text("```json\n{\"n\":1}\n```")), std::string("{\"n\":1}"));
    CHECK_EQ(std::string(answer_json_text("```\n[]\n```\n")), std::string("[]"));
}

TEST(answers_checked) {
    CHECK_EQ(validate_answer(kSchema, "{ \"n\": 3 }"), std::string("{\"n\":3}"));
    CHECK_THROWS_MSG(validate_answer(kSchema, "{\"n\":\"x\"}"), Exit::protocol, "at /n: keyword 'type'");
    CHECK_THROWS_MSG(validate_answer(kSchema, "{}"), Exit::protocol, "at the top: keyword 'required'");
    CHECK_THROWS_MSG(validate_answer(kSchema, "nope"), Exit::protocol, "not JSON");
    CHECK_THROWS_MSG(validate_answer(kSchema, "{\"n\":1} trailing"), Exit::protocol, "not JSON");
    CHECK_THROWS(validate_answer(kSchema, "{\"n\":1,\"n\":2}"), Exit::protocol);
    // a deeply nested answer is refused without exhausting the stack
    const std::string deep = std::string(200000, '[') + std::string(200000, ']');
    CHECK_THROWS(validate_answer(kSchema, deep), Exit::protocol);
    CHECK_EQ(validate_answer("{}", deep.substr(0, 10) + deep.substr(deep.size() - 10)).size(), size_t{20});
}
