#include "util/files.h"
#include "util/text.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
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
            // An inherited descriptor (stdout, a FIFO) may be non-blocking.
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                pollfd pfd{fd, POLLOUT, 0};
                if (::poll(&pfd, 1, -1) >= 0 || errno == EINTR) continue;
            }
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

std::string octal_mode(mode_t mode) {
    char m[8];
    std::snprintf(m, sizeof m, "%04o", static_cast<unsigned>(mode & 07777));
    return m;
}

const char* kind_of(mode_t mode) {
    if (S_ISLNK(mode)) return "a symbolic link";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    return "not a regular file";
}

[[noreturn]] void not_a_secret_file(const std::string& path, mode_t mode) {
    throw Error(Exit::io, path + " is " + kind_of(mode) +
                              ", not a regular file; a secret is read only from a regular file "
                              "of yours with mode 0600");
}

// What a secret file must be, checked on the open descriptor's fstat.
void check_private(const std::string& path, const struct stat& st) {
    if (!S_ISREG(st.st_mode)) not_a_secret_file(path, st.st_mode);
    const uid_t me = ::geteuid();
    if (st.st_uid != me)
        throw Error(Exit::io, path + " is owned by uid " + std::to_string(st.st_uid) +
                                  ", not you (uid " + std::to_string(me) +
                                  "); remove it or run: chown " + std::to_string(me) + " " + path);
    if (st.st_mode & 077)
        throw Error(Exit::io, "permissions " + octal_mode(st.st_mode) + " on " + path +
                                  " are too open (a secret must be 0600); run: chmod 600 " + path);
}

// An output we write in place or refuse, never replace: only a character
// device or a FIFO is written in place (a token has no business on a disk
// device, and open(2) cannot write to a socket).
void refuse_output_kind(const std::string& path, mode_t mode) {
    if (S_ISDIR(mode) || S_ISSOCK(mode) || S_ISBLK(mode))
        throw Error(Exit::io, "cannot write " + path + ": it is " + kind_of(mode));
}

bool parse_fd_number(const std::string& s, int* fd) {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
        return false;
    *fd = std::stoi(s);
    return true;
}

}  // namespace

// Closes a descriptor that was only read, however the reading ends.
struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
};

std::optional<std::string> read_private_file(const std::string& path, size_t max_bytes) {
    struct stat st;
    // Looked at before opening: opening a FIFO or a device can block or act.
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return std::nullopt;
        io_error("read", path, errno);
    }
    if (!S_ISREG(st.st_mode)) not_a_secret_file(path, st.st_mode);
    // O_NOFOLLOW and O_NONBLOCK: if a link or FIFO replaced the file since
    // the lstat, the open fails or returns at once, and the fstat refuses it.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        if (errno == ELOOP) not_a_secret_file(path, S_IFLNK);
        io_error("read", path, errno);
    }
    const FdCloser closer{fd};
    if (::fstat(fd, &st) != 0) io_error("read", path, errno);
    check_private(path, st);
    return read_fd(fd, max_bytes, path);
}

int output_fd_alias(const std::string& path) {
    if (path == "/dev/stdin") return 0;
    if (path == "/dev/stdout") return 1;
    if (path == "/dev/stderr") return 2;
    int fd = -1;
    for (const char* prefix : {"/dev/fd/", "/proc/self/fd/"}) {
        const std::string p(prefix);
        if (path.compare(0, p.size(), p) == 0 && parse_fd_number(path.substr(p.size()), &fd))
            return fd;
    }
    // A link straight to /proc/self/fd/N (what /dev/stdout is on Linux).
    char target[64];
    const ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
    if (n > 0) {
        const std::string t(target, static_cast<size_t>(n));
        const std::string p = "/proc/self/fd/";
        if (t.compare(0, p.size(), p) == 0 && parse_fd_number(t.substr(p.size()), &fd)) return fd;
    }
    return -1;
}

bool names_regular_file(const std::string& path) {
    struct stat st;
    return output_fd_alias(path) < 0 && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

void write_output_file(const std::string& path, const std::string& data) {
    if (const int n = output_fd_alias(path); n >= 0) {
        if (!write_all(n, data.data(), data.size())) io_error("write", path, errno);
        return;
    }
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        refuse_output_kind(path, st.st_mode);
        // No O_CREAT, no O_TRUNC, no chmod: the device or FIFO stays as it is.
        const int fd = ::open(path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) io_error("write", path, errno);
        int err = 0;
        if (::fstat(fd, &st) != 0) err = errno;
        const bool now_regular = err == 0 && S_ISREG(st.st_mode);  // replaced meanwhile
        if (err == 0 && !now_regular && !write_all(fd, data.data(), data.size())) err = errno;
        if (::close(fd) != 0 && err == 0 && !now_regular) err = errno;
        if (err != 0) io_error("write", path, err);
        if (!now_regular) return;
    }
    write_file_atomic(path, data, 0600, false);
}

void check_output_writable(const std::string& path) {
    if (const int n = output_fd_alias(path); n >= 0) {
        const int flags = ::fcntl(n, F_GETFL);
        if (flags < 0) io_error("write", path, errno);
        if ((flags & O_ACCMODE) == O_RDONLY)
            throw Error(Exit::io, "cannot write " + path + ": descriptor " + std::to_string(n) +
                                      " is open for reading only");
        return;
    }
    struct stat st;
    const bool exists = ::stat(path.c_str(), &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) {
        refuse_output_kind(path, st.st_mode);
        if (::faccessat(AT_FDCWD, path.c_str(), W_OK, AT_EACCESS) != 0)
            io_error("write", path, errno);
        return;
    }
    // A regular or missing file is created in its directory and renamed.
    const std::string dir = dir_name(path);
    const std::string base = path.substr(path.find_last_of('/') + 1);
    std::string tmpl = dir + "/." + base + ".tmp." + std::to_string(::getpid()) + ".XXXXXX";
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0) io_error("write", path, errno);
    ::close(fd);
    ::unlink(tmpl.c_str());
    // In a sticky directory (/tmp) only the owner of a file may replace it.
    struct stat dst;
    const uid_t me = ::geteuid();
    if (exists && me != 0 && st.st_uid != me && ::stat(dir.c_str(), &dst) == 0 &&
        (dst.st_mode & S_ISVTX) && dst.st_uid != me)
        io_error("write", path, EPERM);
}

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
    const FdCloser closer{fd};
    return read_fd(fd, max_bytes, path);
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
