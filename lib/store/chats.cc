#include "store/chats.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "util/errors.h"
#include "util/files.h"
#include "util/paths.h"

namespace copilot {

namespace {

// The migrations, in order: kMigrations[k] takes user_version k to k + 1.
const char* const kMigrations[] = {
    "CREATE TABLE conversations ("
    "  id TEXT PRIMARY KEY,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  title TEXT NOT NULL);"
    "CREATE TABLE turns ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  conversation TEXT NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  model TEXT NOT NULL,"
    "  api TEXT NOT NULL,"
    "  messages TEXT NOT NULL,"
    "  answer TEXT NOT NULL,"
    "  prompt_tokens INTEGER,"
    "  completion_tokens INTEGER,"
    "  total_tokens INTEGER);"
    "CREATE INDEX turns_by_conversation ON turns (conversation, id);",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kChatsSchemaVersion,
              "one migration per schema version");

// One prepared statement, finalized on every path.
class Stmt {
public:
    Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    int prepared() const { return rc_; }
    void bind(int i, const std::string& v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
    void bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
    void bind(int i, const std::optional<int64_t>& v) {
        if (v)
            bind(i, *v);
        else
            sqlite3_bind_null(s_, i);
    }
    int step() { return sqlite3_step(s_); }
    std::string text(int i) const {
        const unsigned char* t = sqlite3_column_text(s_, i);
        return t ? std::string(reinterpret_cast<const char*>(t),
                               static_cast<size_t>(sqlite3_column_bytes(s_, i)))
                 : std::string();
    }
    int64_t integer(int i) const { return sqlite3_column_int64(s_, i); }
    std::optional<int64_t> opt_integer(int i) const {
        if (sqlite3_column_type(s_, i) == SQLITE_NULL) return std::nullopt;
        return integer(i);
    }

private:
    sqlite3_stmt* s_ = nullptr;
    int rc_ = SQLITE_OK;
};

}  // namespace

std::string chats_db_path() { return data_home() + "/copilot-utils/chats.db"; }

bool valid_conversation_id(const std::string& id) {
    if (id.empty() || id.size() > 64) return false;
    for (unsigned char c : id)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_' || c == '-'))
            return false;
    return true;
}

std::string ChatStore::new_id() {
    unsigned char bytes[6];
    int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::read(fd, bytes, sizeof bytes) != static_cast<ssize_t>(sizeof bytes)) {
        if (fd >= 0) ::close(fd);
        throw Error(Exit::io, "cannot read /dev/urandom for a conversation id");
    }
    ::close(fd);
    static const char hex[] = "0123456789abcdef";
    std::string id;
    for (unsigned char b : bytes) {
        id.push_back(hex[b >> 4]);
        id.push_back(hex[b & 15]);
    }
    return id;
}

void ChatStore::fail(int rc, const std::string& doing) {
    const int primary = rc & 0xff;
    const std::string what = "the conversation database " + path_;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        throw Error(Exit::temp, what + " is locked by another process (waited " +
                                    std::to_string(kChatsBusyTimeoutMs / 1000) +
                                    " s); try again, or --no-save");
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
        throw Error(Exit::data, what + " is damaged or not an SQLite database (" +
                                    sqlite3_errstr(rc) + "); it was left as it is");
    if (primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN || primary == SQLITE_IOERR ||
        primary == SQLITE_FULL || primary == SQLITE_PERM)
        throw Error(Exit::io, what + ": " + doing + ": " + sqlite3_errstr(rc));
    throw Error(Exit::io, what + ": " + doing + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)));
}

void ChatStore::exec(const char* sql) {
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) fail(rc, sql);
}

int ChatStore::user_version() {
    Stmt s(db_, "PRAGMA user_version");
    if (s.prepared() != SQLITE_OK) fail(s.prepared(), "reading its schema version");
    int rc = s.step();
    if (rc != SQLITE_ROW) fail(rc, "reading its schema version");
    return static_cast<int>(s.integer(0));
}

ChatStore::ChatStore(const std::string& path, bool create) : path_(path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
        if (errno != ENOENT) throw Error(Exit::io, "cannot read " + path + ": " + std::strerror(errno));
        if (!create) throw Error(Exit::usage, "no saved conversations (" + path + " does not exist)");
        make_dirs(dir_name(path), 0700, true);
        // Created here with its mode; SQLite gives the -wal and -shm files the same.
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) throw Error(Exit::io, "cannot create " + path + ": " + std::strerror(errno));
        ::close(fd);
    } else if (!S_ISREG(st.st_mode)) {
        throw Error(Exit::io, path + " is not a regular file");
    }
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    try {
        if (rc != SQLITE_OK) fail(rc, "opening it");
        setup();
    } catch (...) {
        // A constructor that throws runs no destructor.
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw;
    }
}

void ChatStore::setup() {
    int rc = SQLITE_OK;
    sqlite3_busy_timeout(db_, kChatsBusyTimeoutMs);
    sqlite3_extended_result_codes(db_, 1);
    // The version is read before anything could write: a newer database is
    // refused untouched (switching to WAL would rewrite its header).
    const int v = user_version();
    if (v > kChatsSchemaVersion)
        throw Error(Exit::data, "the conversation database " + path_ + " has schema version " +
                                    std::to_string(v) + ", newer than this copilot-chat knows (" +
                                    std::to_string(kChatsSchemaVersion) +
                                    "); it was left as it is");
    // Switching to WAL takes the exclusive lock from a shared one; when
    // several first writers do it at once SQLite answers SQLITE_BUSY without
    // waiting (its deadlock rule skips the busy handler), so wait here, up to
    // the same timeout, and look again: another may have switched it.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kChatsBusyTimeoutMs);
    for (unsigned attempt = 1;; ++attempt) {
        std::string mode;
        {
            Stmt s(db_, "PRAGMA journal_mode");
            rc = s.prepared() == SQLITE_OK ? s.step() : s.prepared();
            if (rc == SQLITE_ROW) mode = s.text(0);
        }
        if (rc == SQLITE_ROW && mode == "wal") break;
        if (rc == SQLITE_ROW) {
            Stmt w(db_, "PRAGMA journal_mode=WAL");
            rc = w.prepared() == SQLITE_OK ? w.step() : w.prepared();
            if (rc == SQLITE_ROW && w.text(0) == "wal") break;
        }
        const bool busy = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ||
                          rc == SQLITE_ROW;  // still not WAL: another holds it
        if (!busy || std::chrono::steady_clock::now() >= deadline)
            fail(rc == SQLITE_ROW ? SQLITE_BUSY : rc, "switching to WAL mode");
        std::this_thread::sleep_for(std::chrono::milliseconds(5 + 7 * (attempt % 8)));
    }
    if (v < kChatsSchemaVersion) migrate();
}

ChatStore::~ChatStore() { sqlite3_close_v2(db_); }

void ChatStore::migrate() {
    exec("BEGIN IMMEDIATE");
    try {
        // Another process may have migrated while this one waited for the lock.
        for (int v = user_version(); v < kChatsSchemaVersion; ++v) {
            exec(kMigrations[v]);
            exec(("PRAGMA user_version = " + std::to_string(v + 1)).c_str());
        }
        exec("COMMIT");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

void ChatStore::add_turn(const std::string& id, const std::string& title, const ChatTurn& t) {
    exec("BEGIN IMMEDIATE");
    try {
        {
            Stmt c(db_,
                   "INSERT INTO conversations (id, created, updated, title) VALUES (?1, ?2, ?2, ?3) "
                   "ON CONFLICT (id) DO UPDATE SET updated = excluded.updated");
            if (c.prepared() != SQLITE_OK) fail(c.prepared(), "saving the conversation");
            c.bind(1, id);
            c.bind(2, t.time);
            c.bind(3, title);
            int rc = c.step();
            if (rc != SQLITE_DONE) fail(rc, "saving the conversation");
        }
        {
            Stmt s(db_,
                   "INSERT INTO turns (conversation, time, model, api, messages, answer, "
                   "prompt_tokens, completion_tokens, total_tokens) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
            if (s.prepared() != SQLITE_OK) fail(s.prepared(), "saving the turn");
            s.bind(1, id);
            s.bind(2, t.time);
            s.bind(3, t.model);
            s.bind(4, t.api);
            s.bind(5, t.messages);
            s.bind(6, t.answer);
            s.bind(7, t.prompt_tokens);
            s.bind(8, t.completion_tokens);
            s.bind(9, t.total_tokens);
            int rc = s.step();
            if (rc != SQLITE_DONE) fail(rc, "saving the turn");
        }
        exec("COMMIT");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

std::optional<std::string> ChatStore::latest() {
    Stmt s(db_, "SELECT conversation FROM turns ORDER BY id DESC LIMIT 1");
    if (s.prepared() != SQLITE_OK) fail(s.prepared(), "finding the latest conversation");
    int rc = s.step();
    if (rc == SQLITE_DONE) return std::nullopt;
    if (rc != SQLITE_ROW) fail(rc, "finding the latest conversation");
    return s.text(0);
}

std::vector<ChatTurn> ChatStore::turns(const std::string& id) {
    Stmt s(db_,
           "SELECT time, model, api, messages, answer, prompt_tokens, completion_tokens, "
           "total_tokens FROM turns WHERE conversation = ?1 ORDER BY id");
    if (s.prepared() != SQLITE_OK) fail(s.prepared(), "reading the conversation");
    s.bind(1, id);
    std::vector<ChatTurn> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
        ChatTurn t;
        t.time = s.integer(0);
        t.model = s.text(1);
        t.api = s.text(2);
        t.messages = s.text(3);
        t.answer = s.text(4);
        t.prompt_tokens = s.opt_integer(5);
        t.completion_tokens = s.opt_integer(6);
        t.total_tokens = s.opt_integer(7);
        out.push_back(std::move(t));
    }
    if (rc != SQLITE_DONE) fail(rc, "reading the conversation");
    if (out.empty()) throw Error(Exit::usage, "no conversation " + id + " (copilot-chat --history lists them)");
    return out;
}

std::vector<ChatSummary> ChatStore::list(int64_t limit) {
    Stmt s(db_,
           "SELECT c.id, c.created, c.updated, c.title, "
           "  (SELECT model FROM turns WHERE conversation = c.id ORDER BY id DESC LIMIT 1), "
           "  (SELECT count(*) FROM turns WHERE conversation = c.id), "
           "  (SELECT max(id) FROM turns WHERE conversation = c.id) AS last "
           "FROM conversations c ORDER BY last DESC LIMIT ?1");
    if (s.prepared() != SQLITE_OK) fail(s.prepared(), "listing the conversations");
    s.bind(1, limit > 0 ? limit : int64_t(-1));
    std::vector<ChatSummary> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
        ChatSummary c;
        c.id = s.text(0);
        c.created = s.integer(1);
        c.updated = s.integer(2);
        c.title = s.text(3);
        c.model = s.text(4);
        c.turns = s.integer(5);
        out.push_back(std::move(c));
    }
    if (rc != SQLITE_DONE) fail(rc, "listing the conversations");
    return out;
}

void ChatStore::forget(const std::string& id) {
    exec("BEGIN IMMEDIATE");
    try {
        Stmt t(db_, "DELETE FROM turns WHERE conversation = ?1");
        if (t.prepared() != SQLITE_OK) fail(t.prepared(), "deleting the conversation");
        t.bind(1, id);
        int rc = t.step();
        if (rc != SQLITE_DONE) fail(rc, "deleting the conversation");
        Stmt c(db_, "DELETE FROM conversations WHERE id = ?1");
        if (c.prepared() != SQLITE_OK) fail(c.prepared(), "deleting the conversation");
        c.bind(1, id);
        rc = c.step();
        if (rc != SQLITE_DONE) fail(rc, "deleting the conversation");
        if (sqlite3_changes(db_) == 0)
            throw Error(Exit::usage, "no conversation " + id + " (copilot-chat --history lists them)");
        exec("COMMIT");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

}  // namespace copilot
