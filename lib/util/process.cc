#include "util/process.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/errors.h"

namespace copilot {

namespace {

volatile pid_t g_child = 0;

extern "C" void forward_signal(int sig) {
    if (g_child > 0) ::kill(g_child, sig);
}

extern "C" void forward_sent_signal(int sig, siginfo_t* info, void*) {
    if (info && (info->si_code == SI_USER || info->si_code == SI_QUEUE)) forward_signal(sig);
}

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    return args;
}

// In the child, after a failed exec: the errno goes to the parent, then exit.
[[noreturn]] void report_exec_failure(int fd) {
    const int e = errno;
    ssize_t ignored = ::write(fd, &e, sizeof e);
    (void)ignored;
    ::_exit(e == ENOENT ? 127 : 126);
}

// The errno the child wrote, 0 when the pipe closed on a successful exec.
int read_exec_errno(int fd) {
    int e = 0;
    ssize_t n;
    do n = ::read(fd, &e, sizeof e);
    while (n < 0 && errno == EINTR);
    ::close(fd);
    return n == static_cast<ssize_t>(sizeof e) ? e : 0;
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv,
                          const std::vector<std::pair<std::string, std::string>>& env) {
    std::vector<char*> args = c_argv(argv);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw Error(Exit::io, std::string("cannot run a command: ") + std::strerror(errno));

    // Blocked around fork() so that no signal is lost before g_child is set.
    const int kSignals[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP};
    struct sigaction saved[4];
    sigset_t block, old_mask;
    sigemptyset(&block);
    for (int sig : kSignals) sigaddset(&block, sig);
    ::sigprocmask(SIG_BLOCK, &block, &old_mask);
    for (int i = 0; i < 4; ++i) ::sigaction(kSignals[i], nullptr, &saved[i]);
    struct sigaction fwd {};
    fwd.sa_handler = forward_signal;
    sigemptyset(&fwd.sa_mask);
    ::sigaction(SIGTERM, &fwd, nullptr);
    ::sigaction(SIGHUP, &fwd, nullptr);
    // The terminal sends SIGINT/SIGQUIT to the child as well, so only those
    // sent to us alone (kill(2): SI_USER) are passed on; ignoring them all
    // would make `kill -INT` on us do nothing.
    struct sigaction sent {};
    sent.sa_sigaction = forward_sent_signal;
    sent.sa_flags = SA_SIGINFO;
    sigemptyset(&sent.sa_mask);
    ::sigaction(SIGINT, &sent, nullptr);
    ::sigaction(SIGQUIT, &sent, nullptr);

    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        for (int i = 0; i < 4; ++i) ::sigaction(kSignals[i], &saved[i], nullptr);
        std::signal(SIGPIPE, SIG_DFL);  // the tools ignore it for their own writes
        ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
        for (const auto& kv : env) ::setenv(kv.first.c_str(), kv.second.c_str(), 1);
        ::execvp(args[0], args.data());
        report_exec_failure(fds[1]);
    }
    const int fork_errno = errno;
    if (pid > 0) g_child = pid;
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    ::close(fds[1]);
    if (pid < 0) {
        ::close(fds[0]);
        throw Error(Exit::io, std::string("cannot fork: ") + std::strerror(fork_errno));
    }
    CommandResult r;
    r.exec_errno = read_exec_errno(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) throw Error(Exit::io, std::string("waitpid: ") + std::strerror(errno));
    }
    if (WIFEXITED(status))
        r.status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        r.status = 128 + WTERMSIG(status);
    else
        r.status = 1;
    return r;
}

std::optional<int> start_detached(const std::vector<std::string>& argv) {
    std::vector<char*> args = c_argv(argv);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return errno;
    pid_t pid = ::fork();
    if (pid < 0) {
        const int e = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        return e;
    }
    if (pid == 0) {
        ::close(fds[0]);
        ::setsid();  // Ctrl-C in our terminal must not reach it
        int null = ::open("/dev/null", O_RDWR);
        if (null >= 0) {
            ::dup2(null, 0);
            ::dup2(null, 1);  // our stdout stays clean data only
            ::dup2(null, 2);
        }
        ::execvp(args[0], args.data());
        report_exec_failure(fds[1]);
    }
    ::close(fds[1]);
    const int e = read_exec_errno(fds[0]);
    if (e != 0) return e;
    return std::nullopt;
}

}  // namespace copilot
