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

// Reads a secret (auth state, token cache, pending login, key file) as
// OpenSSH reads a private key: the file is opened with O_NOFOLLOW and the
// open descriptor is fstat-ed, so what is checked is what is read. Refused:
// anything but a regular file (a symbolic link included: the tools write
// these files by rename, so a link there was put by someone else, and
// following it would let whoever made it choose what root reads; a FIFO or
// device is refused before it is opened, as opening one can block or act),
// a file owned by another uid than the effective one, and any group or
// other permission bit. nullopt if it does not exist; Error(data) if it is
// larger than max_bytes. Every refusal is Error(io), 74, like the other
// local file failures (not 77, which means the server refused a credential,
// so a script would log in again instead of fixing a file), and its message
// names the path and the fix:
//   "permissions 0644 on X are too open; run: chmod 600 X"
//   "X is owned by uid 65534, not you (uid 0); remove it or run: chown 0 X"
//   "X is a symbolic link, not a regular file; ..."
// The parent directory is not checked: whatever another user can put there
// is their file (refused above); what a writable directory still allows is
// deleting the file, which no check at read time can prevent.
std::optional<std::string> read_private_file(const std::string& path, size_t max_bytes);

// Writes a document to an output the user named (--output FILE):
//  - a descriptor alias (output_fd_alias below: "/dev/stdout", "/dev/fd/N"):
//    written to the open descriptor N itself (as a shell redirection does),
//    so the device or the redirected file behind it is never replaced;
//  - an existing character device or FIFO (followed through symbolic
//    links): opened without O_CREAT/O_TRUNC and written in place, its mode
//    and owner untouched;
//  - a directory, socket or block device: Error(io), nothing written;
//  - a regular file or a missing name: write_file_atomic(path, data, 0600,
//    false) as before (a symbolic link there is replaced, not followed).
// Error(io) naming the path on any failure. The caller flushes its own
// buffered standard output first if it wrote any.
void write_output_file(const std::string& path, const std::string& data);

// Whether write_output_file(path, ...) can succeed, checked without writing
// to the target (a FIFO is not opened: that would hand its reader an EOF),
// so a tool can fail with 74 before it starts a login. Error(io) naming the
// path if not: a closed or read-only descriptor, a directory, a socket or
// block device, a device or FIFO we may not write, or a directory in which
// no file can be created (probed by creating and removing a temp file).
void check_output_writable(const std::string& path);

// N for a name that means an open descriptor ("/dev/stdin" 0, "/dev/stdout"
// 1, "/dev/stderr" 2, "/dev/fd/N", "/proc/self/fd/N"), else -1. ("-" is the
// tools' own convention and is not handled here.)
int output_fd_alias(const std::string& path);

// True if `path` names a regular file that write_output_file would replace
// atomically: it exists, is a regular file (links followed) and is not a
// descriptor alias. For rewriting an input in place only when it is a file
// (copilot-login --poll FILE after slow_down; not for --poll /dev/stdin).
bool names_regular_file(const std::string& path);

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
