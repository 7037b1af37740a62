#pragma once
#include <cstdint>
#include <string_view>
namespace copilot::wire {
struct TokenCount { int64_t input_tokens = 0; };
TokenCount count_tokens(std::string_view body);
}
