#include "util/render.h"

namespace copilot {

namespace {

bool continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

char shown(char c) {
    const unsigned char u = static_cast<unsigned char>(c);
    return ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f) ? '?' : c;
}

// "```", "  ```python": up to three spaces, then three backticks.
bool may_open_fence(const std::string& head) {
    size_t k = 0;
    while (k < head.size() && k < 3 && head[k] == ' ') ++k;
    for (size_t n = 0; k + n < head.size(); ++n)
        if (n >= 3 || head[k + n] != '`') return n >= 3;
    return true;
}

bool is_fence(const std::string& head) {
    const size_t k = head.find_first_not_of(' ');
    return k != std::string::npos && k <= 3 && head.compare(k, 3, "```") == 0;
}

}  // namespace

AnswerRenderer::AnswerRenderer(size_t width) : width_(width < 20 ? 20 : width) {}

std::string AnswerRenderer::feed(std::string_view piece) {
    for (char c : piece) put(shown(c));
    std::string done;
    done.swap(out_);
    return done;
}

std::string AnswerRenderer::finish() {
    if (line_start_ && !head_.empty()) end_head();
    flush_word();
    if (code_line_ || fence_line_) out_ += kReset;
    code_line_ = fence_line_ = false;
    std::string done;
    done.swap(out_);
    return done;
}

// The line's head is decided: a fence line (shown dim, whole), or the
// first characters of a code or prose line.
void AnswerRenderer::end_head() {
    line_start_ = false;
    std::string head;
    head.swap(head_);
    if (is_fence(head)) {
        fence_line_ = true;
        out_ += kFence;
        out_ += head;
        return;
    }
    if (in_code_) {
        code_line_ = true;
        out_ += kCode;
    }
    for (char c : head) put(c);
}

void AnswerRenderer::flush_word() {
    if (word_.empty()) {
        if (!wrapped_) out_.append(spaces_, ' '), col_ += spaces_;
        spaces_ = 0;
        return;
    }
    if (col_ > 0 && col_ + spaces_ + word_cols_ > width_) {
        out_ += '\n';
        col_ = 0;
        wrapped_ = true;
    } else if (col_ > 0 || !wrapped_) {
        out_.append(spaces_, ' ');
        col_ += spaces_;
    }
    out_ += word_;
    col_ += word_cols_;
    word_.clear();
    word_cols_ = spaces_ = 0;
}

void AnswerRenderer::put(char c) {
    if (line_start_) {
        if (c != '\n') {
            head_ += c;
            if (may_open_fence(head_) && !(head_.size() >= 3 && is_fence(head_))) return;
        }
        end_head();
        if (c != '\n') return;  // head_ held c; end_head put it
    }
    if (c == '\n') {
        if (fence_line_) {
            out_ += kReset;
            in_code_ = !in_code_;
        } else if (code_line_) {
            out_ += kReset;
        } else {
            flush_word();
            spaces_ = 0;
        }
        out_ += '\n';
        fence_line_ = code_line_ = wrapped_ = false;
        col_ = 0;
        line_start_ = true;
        return;
    }
    if (fence_line_ || code_line_) {
        out_ += c;
        return;
    }
    if (c == ' ') {
        if (!word_.empty()) flush_word();
        ++spaces_;
        return;
    }
    word_ += c;
    if (!continuation(c)) ++word_cols_;
}

}  // namespace copilot
