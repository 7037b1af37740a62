// Unit tests for lib/util/render (copilot-chat's answers on a terminal).
#include <string>
#include <vector>

#include "check.h"
#include "util/render.h"

using namespace copilot;

namespace {

std::string render(const std::vector<std::string>& pieces, size_t width) {
    AnswerRenderer r(width);
    std::string out;
    for (const auto& p : pieces) out += r.feed(p);
    return out + r.finish();
}

const std::string C = AnswerRenderer::kCode, F = AnswerRenderer::kFence, R = AnswerRenderer::kReset;

}  // namespace

TEST(prose_is_wrapped_at_word_boundaries_to_the_width) {
    CHECK_EQ(render({"one two three four five six seven"}, 20), "one two three four\nfive six seven");
}

TEST(the_same_text_in_any_pieces_renders_the_same) {
    const std::string whole = render({"alpha beta gamma delta epsilon zeta eta theta\n```\nx\n```\n"}, 20);
    CHECK_EQ(render({"al", "pha be", "ta gamma delta ep", "silon zeta eta theta\n`", "``\nx", "\n``", "`\n"}, 20),
             whole);
}

TEST(a_word_is_shown_once_it_ends) {
    AnswerRenderer r(40);
    CHECK_EQ(r.feed("hello wor"), "hello");
    CHECK_EQ(r.feed("ld\n"), " world\n");
}

TEST(code_blocks_are_coloured_and_never_wrapped) {
    const std::string long_line(30, 'x');
    CHECK_EQ(render({"see:\n```sh\n" + long_line + " y\n```\ndone\n"}, 20),
             "see:\n" + F + "```sh" + R + "\n" + C + long_line + " y" + R + "\n" + F + "```" + R +
                 "\ndone\n");
}

TEST(an_unclosed_block_is_reset_at_the_end) {
    CHECK_EQ(render({"```\ncode"}, 40), F + "```" + R + "\n" + C + "code" + R);
}

TEST(indentation_is_kept_and_wrapped_lines_lose_their_leading_space) {
    CHECK_EQ(render({"  - item one two three four\n"}, 20), "  - item one two\nthree four\n");
}

TEST(a_word_longer_than_the_width_stands_alone) {
    const std::string w(25, 'w');
    CHECK_EQ(render({"a " + w + " b"}, 20), "a\n" + w + "\nb");
}

TEST(utf8_counts_as_one_column_per_character) {
    CHECK_EQ(render({"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 "
                     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 abcd"},
                    20),
             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 "
             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\nabcd");
}

TEST(terminal_escapes_in_an_answer_are_shown_as_question_marks) {
    CHECK_EQ(render({"a\033]0;title\007b\r\n"}, 40), "a?]0;title?b?\n");
}

TEST(backticks_inside_a_line_open_no_block) {
    CHECK_EQ(render({"use ```x``` here\n"}, 40), "use ```x``` here\n");
    CHECK_EQ(render({"``a\n"}, 40), "``a\n");
}
