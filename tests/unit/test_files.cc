#include <csignal>
#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <dirent.h>

#include "check.h"
#include "util/files.h"

using namespace copilot;

namespace {

std::string temp_dir() {
    char tmpl[] = "/tmp/copilot-files-test.XXXXXX";
    const char* d = mkdtemp(tmpl);
    return d ? d : "/tmp";
}

int count_entries(const std::string& dir) {
    int n = 0;
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d))
            if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
        closedir(d);
    }
    return n;
}

const std::string kRoot = temp_dir();

}  // namespace

TEST(atomic_write_creates_private_file_and_dirs) {
    umask(022);
    const std::string path = kRoot + "/a/b/state.json";
    write_file_atomic(path, "{\"x\":1}\n");
    CHECK_EQ(read_file(path, 100).value(), std::string("{\"x\":1}\n"));
    CHECK_EQ(static_cast<int>(file_mode(path).value()), 0600);
    CHECK_EQ(static_cast<int>(file_mode(kRoot + "/a/b").value()), 0700);
    CHECK_EQ(static_cast<int>(file_mode(kRoot + "/a").value()), 0700);
}

TEST(atomic_write_replaces_whole_and_leaves_no_temp) {
    const std::string dir = kRoot + "/replace";
    write_file_atomic(dir + "/f", "old");
    write_file_atomic(dir + "/f", "new contents");
    CHECK_EQ(read_file(dir + "/f", 100).value(), std::string("new contents"));
    CHECK_EQ(count_entries(dir), 1);
}

TEST(private_dir_is_tightened_on_every_write) {
    const std::string dir = kRoot + "/loose";
    mkdir(dir.c_str(), 0755);
    write_file_atomic(dir + "/f", "x");
    CHECK_EQ(static_cast<int>(file_mode(dir).value()), 0700);
    chmod(dir.c_str(), 0777);
    write_file_atomic(dir + "/f", "y");
    CHECK_EQ(static_cast<int>(file_mode(dir).value()), 0700);
}

TEST(failed_write_keeps_old_file) {
    if (geteuid() == 0) {
        // root ignores directory permissions; use a path whose parent is a file.
        const std::string file = kRoot + "/plainfile";
        write_file_atomic(file, "old");
        CHECK_THROWS_MSG(write_file_atomic(file + "/child", "x"), Exit::io, "cannot");
        CHECK_EQ(read_file(file, 100).value(), std::string("old"));
        return;
    }
    const std::string dir = kRoot + "/ro";
    write_file_atomic(dir + "/f", "old");
    chmod(dir.c_str(), 0500);
    CHECK_THROWS_MSG(write_file_atomic(dir + "/f", "new", 0600, false), Exit::io, dir + "/f");
    chmod(dir.c_str(), 0700);
    CHECK_EQ(read_file(dir + "/f", 100).value(), std::string("old"));
    CHECK_EQ(count_entries(dir), 1);
}

TEST(failed_create_is_an_io_error_and_leaves_no_temp) {
    // A name longer than NAME_MAX makes mkstemp fail after the directory exists.
    const std::string dir = kRoot + "/long";
    CHECK_THROWS(write_file_atomic(dir + "/" + std::string(300, 'x'), "data"), Exit::io);
    CHECK_EQ(count_entries(dir), 0);
}

TEST(read_missing_is_nullopt_and_oversize_is_data_error) {
    CHECK(!read_file(kRoot + "/nope", 10).has_value());
    write_file_atomic(kRoot + "/big", std::string(2000, 'x'));
    CHECK_THROWS_MSG(read_file(kRoot + "/big", 1000), Exit::data, "larger than 1000 bytes");
    CHECK_EQ(read_file(kRoot + "/big", 2000).value().size(), size_t{2000});
}

TEST(read_directory_is_io_error) {
    CHECK_THROWS(read_file(kRoot, 100), Exit::io);
}

TEST(remove_file_reports_absence) {
    write_file_atomic(kRoot + "/rm", "x");
    CHECK(remove_file(kRoot + "/rm"));
    CHECK(!remove_file(kRoot + "/rm"));
}

TEST(lock_is_exclusive_across_processes) {
    const std::string lock = kRoot + "/lockfile";
    const std::string log = kRoot + "/locklog";
    // Each child appends "<" then ">" while holding the lock; with mutual
    // exclusion the log can only be "<><><>...".
    const int kChildren = 8;
    for (int i = 0; i < kChildren; ++i) {
        pid_t pid = fork();
        if (pid == 0) {
            {
                FileLock l(lock);
                FILE* f = fopen(log.c_str(), "a");
                fputc('<', f);
                fflush(f);
                usleep(20000);
                fputc('>', f);
                fclose(f);
            }
            _exit(0);
        }
    }
    for (int i = 0; i < kChildren; ++i) wait(nullptr);
    std::string expect;
    for (int i = 0; i < kChildren; ++i) expect += "<>";
    CHECK_EQ(read_file(log, 1000).value(), expect);
    CHECK_EQ(static_cast<int>(file_mode(lock).value()), 0600);
}

TEST(read_fd_caps_size) {
    signal(SIGPIPE, SIG_IGN);  // the writer outlives the capped reader
    int p[2];
    CHECK(pipe(p) == 0);
    std::thread writer([&] {
        std::string chunk(4096, 'y');
        for (int i = 0; i < 64; ++i)
            if (write(p[1], chunk.data(), chunk.size()) < 0) break;
        close(p[1]);
    });
    CHECK_THROWS_MSG(read_fd(p[0], 10000, "standard input"), Exit::data, "standard input is larger");
    close(p[0]);
    writer.join();
}
