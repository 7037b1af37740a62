// File helpers with the guarantees the toolkit promises: secrets in 0600
// files inside 0700 directories, replaced atomically, and reads that cannot
// be made to eat unbounded memory.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <sys/types.h>

namespace copilot {

constexpr size_t kMaxStateFile = 1 << 20;  // auth/token/pending documents: 1 MiB

// Reads a whole file. nullopt if it does not exist; Error(io) on other
// failures; Error(data) if it is larger than max_bytes.
std::optional<std::string> read_file(const std::string& path, size_t max_bytes);

// Reads a file descriptor to EOF, at most max_bytes (Error(data) beyond,
// naming `what`); Error(io) on read errors.
std::string read_fd(int fd, size_t max_bytes, const std::string& what);

// Creates `dir` and missing parents. Directories created here get `mode`;
// with `enforce`, an existing final directory is chmod-ed to `mode` too.
void make_dirs(const std::string& dir, mode_t mode, bool enforce);

// Writes `data` to `path` atomically: a temp file in the same directory,
// fsync, rename, fsync of the directory. A crash leaves the old file or the
// new one. The file gets `mode`. With `private_dir`, the parent directory is
// created (0700) and kept 0700. Error(io) naming the path on any failure;
// the old file is then untouched and no temp file is left behind.
void write_file_atomic(const std::string& path, const std::string& data, mode_t mode = 0600,
                       bool private_dir = true);

// Removes a file; false if it did not exist, Error(io) on other failures.
bool remove_file(const std::string& path);

// Permission bits of an existing file, nullopt if it does not exist.
std::optional<mode_t> file_mode(const std::string& path);

// An exclusive advisory lock (flock) on `path`, created 0600 if missing,
// held until destruction. Blocks until the lock is free.
class FileLock {
public:
    explicit FileLock(const std::string& path);
    ~FileLock();
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

private:
    int fd_ = -1;
};

// Whether standard input is something we may read without being asked:
// a pipe, a FIFO or a regular file (not a TTY or a character device such as
// /dev/null, which would block or mean "nothing").
bool stdin_is_piped();

// Standard input read once, and only when asked for: when `required`
// (--auth -), or when it is a pipe or a file (never a terminal) and
// reading it is allowed. nullopt when nothing (or only blank space) came.
class PipedStdin {
public:
    PipedStdin(bool allowed, size_t max_bytes) : allowed_(allowed), max_(max_bytes) {}
    const std::optional<std::string>& get(bool required);

private:
    bool allowed_;
    size_t max_;
    bool read_ = false;
    std::optional<std::string> text_;
};

}  // namespace copilot
