// How copilot-chat shows an answer and what comes with it, for the one-shot
// and the interactive modes alike: the text as it streams (rendered on a
// terminal, util/render.h), reasoning summaries and tool calls on stderr.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flags.h"
#include "util/render.h"

namespace chat_cmd {

// --verbose: reasoning summaries on stderr, a line at a time ("reasoning: ..."),
// control characters shown as '?'.
struct Reasoning {
    std::string line;
    void add(std::string_view text);
    void flush();
};

// Writes the answer as it arrives (through the renderer when there is one)
// and remembers how it ended, for the final newline.
struct Answer {
    bool any = false;
    char last = 0;
    std::optional<copilot::AnswerRenderer> render;
    void write(std::string_view text);
    void end_line();
};

// The renderer for stdout when it is a terminal that may show colour
// (tool::use_color), at its width; nullopt: the raw text.
std::optional<copilot::AnswerRenderer> terminal_renderer();

// Plain mode shows text only: the tool calls an answer asks for are named
// on stderr (issue 13: never dropped silently); --json carries them whole.
void note_tool_calls(const Flags& f, const std::vector<copilot::ToolCall>& calls);

// The Copilot token and API base (auth/credentials.h), its warnings shown.
copilot::ApiCredentials get_auth(const Flags& f);

}  // namespace chat_cmd
