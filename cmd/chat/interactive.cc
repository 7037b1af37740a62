#include "interactive.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <functional>
#include <climits>
#include <cwchar>
#include <histedit.h>
#include <poll.h>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <vector>
#include <unistd.h>

#include "api/catalogue.h"
#include "api/models.h"  // select_models
#include "api/routed_chat.h"
#include "output.h"
#include "store/chat_session.h"
#include "store/conversation.h"
#include "util/files.h"
#include "util/paths.h"
#include "util/utf8.h"
#include "tool.h"

namespace chat_cmd {

namespace {

volatile sig_atomic_t g_interrupted = 0;

void on_sigint(int) { g_interrupted = 1; }

const char* prompt_text(EditLine*) { return "> "; }

// libedit's reader, with one change: it ends the line (-1, as an
// interrupted read) when Ctrl-C has come, also when the signal came while
// libedit was echoing rather than blocked in read(2) (its own reader would
// go on waiting for the next key). Polled in 100 ms steps for that reason.
int read_key(EditLine*, wchar_t* out) {
    char buf[MB_LEN_MAX];
    size_t n = 0;
    for (;;) {
        if (g_interrupted) {
            errno = EINTR;
            return -1;
        }
        pollfd p{STDIN_FILENO, POLLIN, 0};
        const int r = ::poll(&p, 1, 100);
        if (r <= 0) {
            if (r < 0 && errno != EINTR) return -1;
            continue;
        }
        char c;
        const ssize_t k = ::read(STDIN_FILENO, &c, 1);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (k == 0) return 0;  // end of input
        buf[n++] = c;
        std::mbstate_t st{};
        wchar_t wc = 0;
        const size_t m = std::mbrtowc(&wc, buf, n, &st);
        if (m == static_cast<size_t>(-2) && n < sizeof buf) continue;  // more bytes to come
        *out = m > n ? static_cast<wchar_t>(static_cast<unsigned char>(buf[0])) : wc;
        return 1;
    }
}

const char* const kCommands[] = {"/model", "/system", "/clear", "/save", "/help"};

const char* const kHelp =
    "/model ID     the model of the next answers\n"
    "/system TEXT  a system message, sent with the next question\n"
    "/clear        a new conversation (the old one stays saved)\n"
    "/save         save this conversation, and every turn from now on\n"
    "/help         this list\n"
    "Tab completes a command and the model of /model.\n"
    "Ctrl-C ends an answer, Ctrl-D the session.\n";

// Tab: the word before the cursor completed among `choices` (as far as they
// agree, with a space after the only one); several left are listed.
using Choices = std::function<std::vector<std::string>()>;

unsigned char complete_word(EditLine* el, const std::string& word, const std::vector<std::string>& choices) {
    std::vector<std::string> hits;
    for (const std::string& c : choices)
        if (c.compare(0, word.size(), word) == 0) hits.push_back(c);
    if (hits.empty()) return CC_ERROR;
    std::string common = hits[0];
    for (const std::string& h : hits) {
        size_t n = 0;
        while (n < common.size() && n < h.size() && common[n] == h[n]) ++n;
        common.resize(n);
    }
    std::string add = common.substr(word.size());
    if (hits.size() == 1) add += ' ';
    if (!add.empty()) {
        el_insertstr(el, add.c_str());
        return CC_REFRESH;
    }
    std::string list;
    for (const std::string& h : hits) list += (list.empty() ? "\n" : "  ") + h;
    list += '\n';
    std::fputs(list.c_str(), stderr);
    return CC_REDISPLAY;
}

struct Completion {
    Choices models;  // the catalogue's chat models, fetched on the first Tab after /model
};

unsigned char on_tab(EditLine* el, int) {
    void* data = nullptr;
    el_get(el, EL_CLIENTDATA, &data);
    const LineInfo* li = el_line(el);
    const std::string before(li->buffer, static_cast<size_t>(li->cursor - li->buffer));
    if (before.empty() || before[0] != '/') return CC_ERROR;  // a question: nothing to complete
    const size_t sp = before.find(' ');
    if (sp == std::string::npos)
        return complete_word(el, before, std::vector<std::string>(std::begin(kCommands), std::end(kCommands)));
    if (before.compare(0, sp, "/model") != 0 || !data) return CC_ERROR;
    const size_t at = before.find_first_not_of(' ', sp);
    const std::string word = at == std::string::npos ? "" : before.substr(at);
    if (word.find(' ') != std::string::npos) return CC_ERROR;
    return complete_word(el, word, static_cast<Completion*>(data)->models());
}

// The prompt: libedit on the terminal (its echo and prompt on stderr, so
// stdout carries only answers), the line history kept in the history file
// unless nothing may be written.
class LineEditor {
public:
    LineEditor(bool keep_history, Completion* completion) {
        el_ = el_init(tool::prog, stdin, stderr, stderr);
        if (!el_) throw copilot::Error(copilot::Exit::io, "cannot start the line editor");
        hist_ = history_init();
        HistEvent ev;
        history(hist_, &ev, H_SETSIZE, 1000);
        history(hist_, &ev, H_SETUNIQUE, 1);
        el_set(el_, EL_PROMPT, prompt_text);
        el_set(el_, EL_EDITOR, "emacs");
        el_set(el_, EL_GETCFN, read_key);
        el_set(el_, EL_HIST, history, hist_);
        el_set(el_, EL_CLIENTDATA, static_cast<void*>(completion));
        // The wide form: the narrow one copies the two strings and never frees them.
        el_wset(el_, EL_ADDFN, L"copilot-complete", L"complete a command or a model id", on_tab);
        el_set(el_, EL_BIND, "^I", "copilot-complete", nullptr);
        if (keep_history) {
            path_ = copilot::state_home() + "/copilot-utils/chat_history";
            if (::access(path_.c_str(), F_OK) == 0) history(hist_, &ev, H_LOAD, path_.c_str());
        }
    }
    ~LineEditor() {
        history_end(hist_);
        el_end(el_);
    }
    LineEditor(const LineEditor&) = delete;
    LineEditor& operator=(const LineEditor&) = delete;

    // The next line without its newline; nullopt at the end (Ctrl-D, or
    // interrupted: g_interrupted says which).
    std::optional<std::string> read() {
        int n = 0;
        // The terminal is the editor's before the prompt shows (el_gets
        // prints it first, then takes the terminal): a Ctrl-D typed on
        // seeing it met the cooked terminal and was lost, the session
        // waiting on (1 in 30 under load, tests/chat_interactive.bats).
        el_set(el_, EL_PREP_TERM, 1);
        const char* line = el_gets(el_, &n);
        if (!line || n <= 0) return std::nullopt;
        std::string s(line, static_cast<size_t>(n));
        while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
        return s;
    }

    void remember(const std::string& line) {
        HistEvent ev;
        history(hist_, &ev, H_ENTER, line.c_str());
        if (path_.empty()) return;
        // 0600 in 0700 before a byte is written: the lines are the user's questions.
        copilot::make_dirs(copilot::dir_name(path_), 0700, true);
        const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 || ::fchmod(fd, 0600) != 0) {
            if (fd >= 0) ::close(fd);
            tool::warn("cannot write the history file " + path_ + ": " + std::strerror(errno));
            path_.clear();
            return;
        }
        FILE* fp = ::fdopen(fd, "w");
        if (!fp) {
            ::close(fd);
            return;
        }
        history(hist_, &ev, H_SAVE_FP, fp);
        std::fclose(fp);
    }

private:
    EditLine* el_ = nullptr;
    History* hist_ = nullptr;
    std::string path_;
};

std::string trimmed(const std::string& s) {
    const size_t a = s.find_first_not_of(" \t");
    if (a == std::string::npos) return "";
    return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

struct Session {
    Flags& f;
    copilot::ChatSession chats;
    copilot::ApiCredentials auth;
    copilot::CatalogueSource catalogue;
    copilot::RouteOptions route;
    std::optional<std::string> system;  // the current system message
    bool send_system = true;            // not yet sent in this conversation

    explicit Session(Flags& fl)
        : f(fl),
          chats(fl.save, fl.resume_latest, fl.conversation),
          auth(get_auth(fl)),
          catalogue(auth, fl.auth.host, fl.auth.profile, fl.auth.log),
          system(fl.chat.system) {
        auth.cancelled = [] { return g_interrupted != 0; };
        route.forced = f.api;
        route.catalogue = &catalogue;
        route.warn = [this](const std::string& w) {
            if (!f.quiet) tool::warn(w);
        };
        if (chats.turns()) send_system = false;  // a continued conversation has its own
    }

    // The ids /model completes: the catalogue's chat models (fetched once
    // when not cached); none when it cannot be had.
    std::vector<std::string> model_ids() {
        std::vector<std::string> ids;
        try {
            for (const auto& m : copilot::select_models(catalogue.get(std::time(nullptr)).models, false))
                ids.push_back(m.id);
        } catch (const copilot::Error& e) {
            tool::debug(std::string("no model ids to complete: ") + e.what());
        }
        return ids;
    }

    void command(const std::string& line) {
        const size_t sp = line.find(' ');
        const std::string name = line.substr(0, sp);
        const std::string arg = sp == std::string::npos ? "" : trimmed(line.substr(sp + 1));
        if (name == "/help") {
            tool::show(std::string(kHelp).substr(0, std::string(kHelp).size() - 1));
        } else if (name == "/model") {
            if (arg.empty() || !copilot::valid_model_id(arg)) {
                tool::say("/model needs a model id such as " + std::string(copilot::kDefaultChatModel));
                return;
            }
            f.chat.model = arg;
            tool::say("model: " + arg);
        } else if (name == "/system") {
            if (arg.empty()) {
                tool::say("/system needs the text of the system message");
                return;
            }
            system = arg;
            send_system = true;
            tool::say("system message set: sent with the next question");
        } else if (name == "/clear") {
            chats.clear();
            send_system = true;
            tool::say("a new conversation");
        } else if (name == "/save") {
            const std::string id = chats.save_now();
            tool::say(id.empty() ? "nothing to save yet; this conversation will be saved"
                                 : "saved as conversation " + id);
        } else {
            tool::say("unknown command " + tool::quoted(name) + " (/help lists them)");
        }
    }

    void ask(const std::string& question) {
        copilot::ChatRequest req = f.chat;
        req.prompt = question;
        req.system = send_system ? system : std::nullopt;
        const copilot::Catalogue* cat = catalogue.cached(std::time(nullptr));
        copilot::PendingTurn turn = chats.begin(req, cat ? cat->find(req.model) : nullptr);
        if (turn.trimmed && !f.quiet) tool::warn(*turn.trimmed);

        Answer answer;
        answer.render = terminal_renderer();
        Reasoning reasoning;
        copilot::ChatIo io;
        io.log = f.auth.log;
        io.on_text = [&](std::string_view t) {
            answer.write(t);
            turn.keep(t);
        };
        if (tool::verbose) io.on_reasoning = [&reasoning](std::string_view t) { reasoning.add(t); };
        copilot::RoutedResult routed;
        try {
            routed = copilot::run_routed_chat(auth, req, io, route, std::time(nullptr));
        } catch (const copilot::Error& e) {
            reasoning.flush();
            answer.end_line();
            tool::say(g_interrupted ? std::string("answer cancelled") : std::string(e.what()));
            return;  // the turn is not kept: the next question goes on from the last whole one
        }
        reasoning.flush();
        answer.end_line();
        if (!f.quiet && routed.result.finish_reason == std::optional<std::string>("length"))
            tool::warn("the answer was cut off at the token limit (finish_reason: length)");
        note_tool_calls(f, routed.result.tool_calls);
        chats.record(turn, req.model, routed.api, routed.result, turn.text, std::time(nullptr));
        send_system = false;
        tool::debug(chats.saving() ? "saved in conversation " + chats.id() : "not saved (--no-save)");
    }
};

}  // namespace

int interactive(Flags& f) {
    Session s(f);
    Completion completion;
    completion.models = [&s] { return s.model_ids(); };
    LineEditor editor(f.save, &completion);
    // Ctrl-C sets the flag the request polls, and interrupts the prompt's read.
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART
    ::sigaction(SIGINT, &sa, nullptr);
    if (!f.quiet) tool::say("interactive: /help lists the commands, Ctrl-D ends");
    for (;;) {
        g_interrupted = 0;
        auto line = editor.read();
        if (!line) {
            if (g_interrupted) {  // Ctrl-C at the prompt: a new prompt
                tool::show("");
                continue;
            }
            break;
        }
        const std::string text = trimmed(*line);
        if (text.empty()) continue;
        editor.remember(text);
        try {
            copilot::check_utf8(text, "the line");
        } catch (const copilot::Error& e) {
            tool::say(std::string(e.what()) + "; not sent");
            continue;
        }
        if (text[0] == '/')
            s.command(text);
        else
            s.ask(text);
    }
    tool::show("");
    return 0;
}

}  // namespace chat_cmd
