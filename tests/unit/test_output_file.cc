// write_output_file / check_output_writable (issue 13, HIGH 3): an output
// the user names is written in place when it is a device or FIFO, to the
// descriptor itself for /dev/stdout and /dev/fd/N, and atomically 0600 only
// when it is a regular file or missing. Before, every output went through
// temp file + rename, so `copilot-login --output /dev/stdout` as root
// replaced the device node (or /dev/stdout itself) with a 0600 token file.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

#include "check.h"
#include "util/files.h"

using namespace copilot;

namespace {

std::string temp_dir() {
    char tmpl[] = "/tmp/copilot-output-test.XXXXXX";
    const char* d = mkdtemp(tmpl);
    return d ? d : "/tmp";
}

const std::string kRoot = temp_dir();
const std::string kDoc = "{\"host\":\"github.com\",\"oauth_token\":\"ghu_x\"}\n";

int count_entries(const std::string& dir) {
    int n = 0;
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d))
            if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
        closedir(d);
    }
    return n;
}

std::string slurp(const std::string& path) {
    auto t = read_file(path, 1 << 24);
    return t ? *t : "<missing>";
}

int mode_of(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode) : -1;
}

// Reads everything a writer puts into the FIFO until `want` bytes came or
// 10 s passed. The read end is opened non-blocking first, so a writer never
// waits and a test that replaced the FIFO fails instead of hanging.
struct FifoReader {
    int fd;
    size_t want;
    std::string got;
    std::thread t;
    FifoReader(const std::string& path, size_t n)
        : fd(open(path.c_str(), O_RDONLY | O_NONBLOCK)), want(n) {
        t = std::thread([this] {
            const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            char buf[65536];
            while (got.size() < want && std::chrono::steady_clock::now() < end) {
                ssize_t r = read(fd, buf, sizeof buf);
                if (r > 0) got.append(buf, static_cast<size_t>(r));
                else std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        });
    }
    std::string finish() {
        t.join();
        close(fd);
        return got;
    }
};

}  // namespace

TEST(a_fifo_is_written_in_place_and_stays_a_fifo) {
    const std::string dir = kRoot + "/fifo";
    mkdir(dir.c_str(), 0700);
    const std::string p = dir + "/out";
    CHECK(mkfifo(p.c_str(), 0644) == 0);
    chmod(p.c_str(), 0644);
    // Larger than a pipe's buffer: the writer must wait for the reader.
    const std::string big = kDoc + std::string(1 << 20, 'x') + "\n";
    FifoReader r(p, big.size());
    write_output_file(p, big);
    CHECK(r.finish() == big);
    CHECK(S_ISFIFO(mode_of(p)));
    CHECK_EQ(mode_of(p) & 07777, 0644);  // no chmod
    CHECK_EQ(count_entries(dir), 1);     // no temp file left, nothing renamed
}

TEST(dev_null_stays_a_character_device_with_its_mode) {
    struct stat before, after;
    CHECK(stat("/dev/null", &before) == 0);
    write_output_file("/dev/null", kDoc);
    check_output_writable("/dev/null");
    CHECK(stat("/dev/null", &after) == 0);
    CHECK(S_ISCHR(after.st_mode));
    CHECK_EQ(after.st_mode, before.st_mode);
    CHECK_EQ(after.st_rdev, before.st_rdev);
    CHECK_EQ(after.st_ino, before.st_ino);
    CHECK_EQ(after.st_uid, before.st_uid);
}

TEST(a_full_device_is_an_io_error) {
    CHECK_THROWS_MSG(write_output_file("/dev/full", kDoc), Exit::io, "cannot write /dev/full");
    CHECK(S_ISCHR(mode_of("/dev/full")));
}

TEST(dev_stdout_and_dev_fd_write_to_the_open_descriptor) {
    // Standard output redirected to a 0644 file, as `--output /dev/stdout
    // > out.json` does: the data goes there, the file keeps its mode, and
    // /dev/stdout stays the link it is.
    const std::string file = kRoot + "/redirected.json";
    const int f = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(f >= 0);
    fchmod(f, 0644);
    std::cout.flush();
    const int saved = dup(1);
    dup2(f, 1);
    const int dev_stdout_mode = mode_of("/dev/stdout");
    bool threw = false;
    try {
        write_output_file("/dev/stdout", "one\n");
        write_output_file("/dev/fd/1", "two\n");
        write_output_file("/proc/self/fd/1", "three\n");
        check_output_writable("/dev/stdout");
    } catch (const Error&) {
        threw = true;
    }
    dup2(saved, 1);
    close(saved);
    CHECK(!threw);
    CHECK_EQ(slurp(file), std::string("one\ntwo\nthree\n"));
    CHECK_EQ(mode_of(file) & 07777, 0644);
    CHECK_EQ(mode_of("/dev/stdout"), dev_stdout_mode);
    CHECK(S_ISLNK(mode_of("/dev/stdout")));

    // /dev/fd/N for another descriptor: a pipe.
    int fds[2];
    CHECK(pipe(fds) == 0);
    const std::string name = "/dev/fd/" + std::to_string(fds[1]);
    CHECK_EQ(output_fd_alias(name), fds[1]);
    write_output_file(name, kDoc);
    close(fds[1]);
    char buf[256];
    const ssize_t n = read(fds[0], buf, sizeof buf);
    close(fds[0]);
    CHECK(n > 0 && std::string(buf, static_cast<size_t>(n)) == kDoc);
    close(f);
}

TEST(descriptor_aliases) {
    CHECK_EQ(output_fd_alias("/dev/stdin"), 0);
    CHECK_EQ(output_fd_alias("/dev/stdout"), 1);
    CHECK_EQ(output_fd_alias("/dev/stderr"), 2);
    CHECK_EQ(output_fd_alias("/dev/fd/7"), 7);
    CHECK_EQ(output_fd_alias("/proc/self/fd/12"), 12);
    CHECK_EQ(output_fd_alias("/dev/fd/"), -1);
    CHECK_EQ(output_fd_alias("/dev/fd/1x"), -1);
    CHECK_EQ(output_fd_alias(kRoot + "/auth.json"), -1);
    CHECK_EQ(output_fd_alias("-"), -1);
    // A link of the user's to /proc/self/fd/1 means standard output too.
    const std::string link = kRoot + "/to-stdout";
    CHECK(symlink("/proc/self/fd/1", link.c_str()) == 0);
    CHECK_EQ(output_fd_alias(link), 1);
}

TEST(a_regular_or_missing_file_is_written_atomically_0600) {
    umask(022);
    const std::string dir = kRoot + "/regular";
    mkdir(dir.c_str(), 0755);
    const std::string p = dir + "/auth.json";
    write_output_file(p, "first\n");
    CHECK_EQ(slurp(p), std::string("first\n"));
    CHECK_EQ(mode_of(p) & 07777, 0600);
    chmod(p.c_str(), 0644);
    write_output_file(p, kDoc);
    CHECK_EQ(slurp(p), kDoc);
    CHECK_EQ(mode_of(p) & 07777, 0600);
    CHECK(S_ISREG(mode_of(p)));
    CHECK_EQ(count_entries(dir), 1);
    CHECK_EQ(mode_of(dir) & 07777, 0755);  // not our directory: left as it is
    CHECK(names_regular_file(p));
    CHECK(!names_regular_file(dir + "/missing"));
    CHECK(!names_regular_file("/dev/null"));
    CHECK(!names_regular_file("/dev/stdin"));
}

TEST(an_unwritable_place_fails_with_io_and_leaves_nothing) {
    // /proc takes no new files, even from root.
    CHECK_THROWS_MSG(write_output_file("/proc/copilot-out.json", kDoc), Exit::io,
                     "cannot write /proc/copilot-out.json");
    CHECK_THROWS_MSG(check_output_writable("/proc/copilot-out.json"), Exit::io,
                     "/proc/copilot-out.json");
    CHECK_THROWS_MSG(write_output_file(kRoot + "/no/such/dir/out", kDoc), Exit::io,
                     "No such file or directory");
    CHECK_THROWS(check_output_writable(kRoot + "/no/such/dir/out"), Exit::io);
    const std::string d = kRoot + "/a-dir";
    mkdir(d.c_str(), 0700);
    CHECK_THROWS_MSG(write_output_file(d, kDoc), Exit::io, "it is a directory");
    CHECK_THROWS_MSG(check_output_writable(d), Exit::io, "it is a directory");
    CHECK(S_ISDIR(mode_of(d)));
    if (geteuid() != 0) {  // root ignores a directory's mode
        const std::string ro = kRoot + "/read-only";
        mkdir(ro.c_str(), 0500);
        CHECK_THROWS(write_output_file(ro + "/out", kDoc), Exit::io);
        CHECK_THROWS(check_output_writable(ro + "/out"), Exit::io);
    }
}

TEST(a_socket_is_refused_and_kept) {
    const std::string p = kRoot + "/sock";
    const int s = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", p.c_str());
    CHECK(bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    CHECK_THROWS_MSG(write_output_file(p, kDoc), Exit::io, "it is a socket");
    CHECK_THROWS_MSG(check_output_writable(p), Exit::io, "it is a socket");
    CHECK(S_ISSOCK(mode_of(p)));
    close(s);
}

TEST(check_says_yes_without_writing_or_blocking) {
    const std::string dir = kRoot + "/check";
    mkdir(dir.c_str(), 0700);
    check_output_writable(dir + "/new.json");  // missing: creatable
    CHECK_EQ(count_entries(dir), 0);           // the probe left nothing
    const std::string existing = dir + "/old.json";
    write_output_file(existing, "keep\n");
    check_output_writable(existing);
    CHECK_EQ(slurp(existing), std::string("keep\n"));
    CHECK_EQ(count_entries(dir), 1);
    // A FIFO with no reader: checked, not opened (an open would block here,
    // or hand a reader an EOF).
    const std::string fifo = dir + "/fifo";
    CHECK(mkfifo(fifo.c_str(), 0600) == 0);
    alarm(20);
    check_output_writable(fifo);
    alarm(0);
}

TEST(check_refuses_closed_and_read_only_descriptors) {
    CHECK_THROWS_MSG(check_output_writable("/dev/fd/999"), Exit::io, "Bad file descriptor");
    CHECK_THROWS_MSG(write_output_file("/dev/fd/999", kDoc), Exit::io, "cannot write /dev/fd/999");
    const int r = open("/dev/null", O_RDONLY);
    CHECK(r >= 0);
    const std::string name = "/dev/fd/" + std::to_string(r);
    CHECK_THROWS_MSG(check_output_writable(name), Exit::io, "open for reading only");
    close(r);
}
