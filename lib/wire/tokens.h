// The count_tokens estimate for an Anthropic Messages request. No maintained
// tokenizer library for Claude's current models exists (Anthropic's own
// @anthropic-ai/tokenizer is for the models before Claude 3 and says it is
// "no longer accurate" for them), so this is an approximation built to err
// high: Claude Code compacts its context on this number, and a low one
// overflows the context instead. Pure.
//
// A text's estimate, by runs: each run of ASCII letters ceil(len/4) tokens;
// every digit, punctuation mark, newline and tab 1; a run of N > 1 spaces
// ceil((N-1)/4) (one space joins the next word); a non-ASCII character 1
// below U+0800, 1.25 up to U+FFFF (CJK), 3 above (emoji); rounded up.
// Measured against the Claude 2 tokenizer on fixed texts (the unit test):
// 8% to 63% high, never low (tests/unit/test_wire_messages.cc, "count_tokens_errs_high").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace copilot::wire {

// Anthropic's published figures, used as they are.
constexpr int64_t kImageTokens = 1600;            // an image above ~1,600 tokens is scaled down: the most one costs
constexpr int64_t kToolSystemPromptTokens = 346;  // tool use's own system prompt (tool_choice auto/none; 313 for any/tool)
// Ours: the role markers and block framing of one message or content block.
constexpr int64_t kMessageOverheadTokens = 4;
constexpr int64_t kBlockOverheadTokens = 8;       // a tool_use, tool_result or tool definition

int64_t estimate_text_tokens(std::string_view text);

// The input_tokens of a Messages request (system, messages with tool_use
// inputs and tool_result contents, thinking text, tools' names, descriptions
// and schemas, kImageTokens per image). Throws Error(Exit::data) when the
// body is not a JSON object with a `messages` array.
int64_t count_tokens(std::string_view messages_body);

// {"input_tokens":N}: the count_tokens answer.
std::string count_tokens_answer(int64_t tokens);

}  // namespace copilot::wire
