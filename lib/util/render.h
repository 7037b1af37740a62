// An answer rendered for a terminal (copilot-chat on a TTY, only when colour
// is allowed: DESIGN "Command-line conventions"): prose wrapped at word
// boundaries to the width, fenced code blocks (``` lines) marked in colour
// and never wrapped, control characters other than newline and tab shown as
// '?' (an answer never moves the cursor or sets the title). Pure: text in,
// text out, fed piece by piece as the answer streams; a word is held back
// only until it ends, so the text still appears as it arrives.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace copilot {

class AnswerRenderer {
public:
    // `width`: the terminal's columns (below 20: 20).
    explicit AnswerRenderer(size_t width);
    // What can be shown of `piece` now.
    std::string feed(std::string_view piece);
    // The rest at the end of the answer (the colour reset inside a block).
    std::string finish();

    static constexpr const char* kCode = "\033[36m";   // the lines of a block
    static constexpr const char* kFence = "\033[2m";   // its ``` lines
    static constexpr const char* kReset = "\033[0m";

private:
    void put(char c);
    void flush_word();
    void end_head();

    size_t width_;
    std::string out_;
    bool line_start_ = true;  // nothing of this line decided yet
    std::string head_;        // the line's first characters, while they may open a fence
    bool fence_line_ = false; // this line is a ``` line
    bool in_code_ = false;    // between fences
    bool code_line_ = false;  // this line is in a block (its colour is on)
    std::string word_;
    size_t word_cols_ = 0;
    size_t spaces_ = 0;       // spaces before word_
    size_t col_ = 0;
    bool wrapped_ = false;    // this line began by wrapping (its leading spaces dropped)
};

}  // namespace copilot
