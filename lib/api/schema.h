// copilot-chat --schema: the JSON Schema an answer must follow (sent as
// Chat's response_format / Responses' text.format, api/chat.h) and the
// local check of the answer against it with RapidJSON's SchemaValidator
// (draft-04), so that a script gets only JSON that matches.
#pragma once

#include <string>
#include <string_view>

namespace copilot {

// The schema from --schema's value: JSON text, or @FILE to read it from a
// file. Returned compact. Error(usage) for a missing file, Error(data) when
// it is not a JSON object or nests deeper than 64 levels.
std::string read_schema(const std::string& arg);

// The JSON of an answer: the text without surrounding white space and,
// when the model wrapped it so, without a ``` or ```json fence.
std::string_view answer_json_text(std::string_view text);

// Checks `answer` against `schema` and returns it compact. Error(protocol)
// "the answer is not JSON" or "the answer does not match --schema: at
// /path: keyword 'type'" otherwise.
std::string validate_answer(const std::string& schema, std::string_view answer);

}  // namespace copilot
