#include "util/files.h"
#include "util/text.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/errors.h"
#include "util/paths.h"

namespace copilot {

namespace {

[[noreturn]] void io_error(const std::string& action, const std::string& path, int err) {
    throw Error(Exit::io, "cannot " + action + " " + path + ": " + std::strerror(err));
}

void fsync_dir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // best effort: the rename itself already happened
    ::fsync(fd);
    ::close(fd);
}

bool write_all(int fd, const char* p, size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

// A writer killed between creating its temp file and the rename (kill -9,
// a crash) leaves ".BASE.tmp.PID.XXXXXX" behind. The next writer of BASE
// removes those whose process is gone; a live writer's file is never touched.
void remove_stale_temps(const std::string& dir, const std::string& base) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;  // best effort: mkstemp below reports real problems
    const std::string prefix = "." + base + ".tmp.";
    while (dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.compare(0, prefix.size(), prefix) != 0) continue;
        const std::string rest = name.substr(prefix.size());
        const size_t dot = rest.find('.');
        if (dot == 0 || dot == std::string::npos || dot > 9 ||
            rest.find_first_not_of("0123456789") != dot)
            continue;  // not one of ours (or from before pids were in the name)
        const pid_t pid = static_cast<pid_t>(std::stol(rest.substr(0, dot)));
        if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH)
            ::unlinkat(::dirfd(d), name.c_str(), 0);
    }
    ::closedir(d);
}

}  // namespace

std::string read_fd(int fd, size_t max_bytes, const std::string& what) {
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t r = ::read(fd, buf, sizeof buf);
        if (r < 0) {
            if (errno == EINTR) continue;
            io_error("read", what, errno);
        }
        if (r == 0) break;
        if (out.size() + static_cast<size_t>(r) > max_bytes)
            throw Error(Exit::data, what + " is larger than " + std::to_string(max_bytes) +
                                        " bytes");
        out.append(buf, static_cast<size_t>(r));
    }
    return out;
}

std::optional<std::string> read_file(const std::string& path, size_t max_bytes) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        io_error("read", path, errno);
    }
    try {
        std::string data = read_fd(fd, max_bytes, path);
        ::close(fd);
        return data;
    } catch (...) {
        ::close(fd);
        throw;
    }
}

void make_dirs(const std::string& dir, mode_t mode, bool enforce) {
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) io_error("use directory", dir, ENOTDIR);
        if (enforce && (st.st_mode & 07777) != mode && ::chmod(dir.c_str(), mode) != 0)
            io_error("set permissions of", dir, errno);
        return;
    }
    std::string parent = dir_name(dir);
    if (parent != dir && parent != "/" && parent != ".") make_dirs(parent, mode, false);
    if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) io_error("create directory", dir, errno);
    // mkdir applies the umask; the mode we promise must not depend on it.
    if (::chmod(dir.c_str(), mode) != 0) io_error("set permissions of", dir, errno);
}

void write_file_atomic(const std::string& path, const std::string& data, mode_t mode,
                       bool private_dir) {
    const std::string dir = dir_name(path);
    if (private_dir) make_dirs(dir, 0700, true);
    std::string base = path.substr(path.find_last_of('/') + 1);
    remove_stale_temps(dir, base);
    std::string tmpl = dir + "/." + base + ".tmp." + std::to_string(::getpid()) + ".XXXXXX";
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) io_error("write", path, errno);
    int err = 0;
    if (::fchmod(fd, mode) != 0 || !write_all(fd, data.data(), data.size()) || ::fsync(fd) != 0)
        err = errno;
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err == 0 && ::rename(tmpl.c_str(), path.c_str()) != 0) err = errno;
    if (err != 0) {
        ::unlink(tmpl.c_str());
        io_error("write", path, err);
    }
    fsync_dir(dir);
}

bool remove_file(const std::string& path) {
    if (::unlink(path.c_str()) == 0) return true;
    if (errno == ENOENT) return false;
    io_error("remove", path, errno);
}

std::optional<mode_t> file_mode(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return st.st_mode & 07777;
}

FileLock::FileLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) io_error("open lock file", path, errno);
    while (::flock(fd_, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd_);
        io_error("lock", path, err);
    }
}

FileLock::~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

bool stdin_is_piped() {
    struct stat st;
    if (::fstat(0, &st) != 0) return false;
    return S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode);
}

const std::optional<std::string>& PipedStdin::get(bool required) {
    if (!read_ && (required || (allowed_ && stdin_is_piped()))) {
        read_ = true;
        std::string text = read_fd(0, max_, "standard input");
        if (!trim(text).empty()) text_ = std::move(text);
    }
    return text_;
}

}  // namespace copilot
