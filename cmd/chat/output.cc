#include "output.h"

#include <ctime>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/text.h"
#include "tool.h"

namespace chat_cmd {

namespace {

void warn_all(const Flags& f, const std::vector<std::string>& warnings) {
    if (f.quiet) return;
    for (const auto& w : warnings) tool::warn(w);
}

}  // namespace

copilot::ApiCredentials get_auth(const Flags& f) {
    copilot::ApiCredentials auth = copilot::resolve_api_credentials(f.auth, std::time(nullptr));
    warn_all(f, auth.warnings);
    tool::debug("Copilot token from " + auth.source + " (" + copilot::mask_secret(auth.token) +
                "), API " + auth.api_url);
    return auth;
}

void Reasoning::add(std::string_view text) {
    for (char c : text) {
        if (c == '\n') {
            flush();
            continue;
        }
        const unsigned char u = static_cast<unsigned char>(c);
        line.push_back((u < 0x20 && c != '\t') || u == 0x7f ? '?' : c);
    }
}

void Reasoning::flush() {
    if (!line.empty()) tool::say("reasoning: " + line);
    line.clear();
}

void Answer::write(std::string_view text) {
    if (text.empty()) return;
    tool::out(render ? render->feed(text) : std::string(text));
    any = true;
    last = text.back();
}

void Answer::end_line() {
    if (render) tool::out(render->finish());
    if (any && last != '\n') tool::out("\n");
    any = false;
    last = 0;
}

std::optional<copilot::AnswerRenderer> terminal_renderer() {
    if (!tool::use_color(1)) return std::nullopt;
    struct winsize ws {};
    const size_t cols = ::ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
    return copilot::AnswerRenderer(cols);
}

void note_tool_calls(const Flags& f, const std::vector<copilot::ToolCall>& calls) {
    if (f.json || f.quiet || calls.empty()) return;
    std::string names;
    for (const auto& c : calls)
        names += (names.empty() ? "" : ", ") + copilot::printable(c.name.empty() ? "?" : c.name);
    tool::warn("the answer asks to call " + std::to_string(calls.size()) +
               (calls.size() == 1 ? " tool" : " tools") + " (" + names +
               "), not shown as text; --json prints the calls");
}


}  // namespace chat_cmd
