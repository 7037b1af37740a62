#include "serve/ledger.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "serve/request_log.h"
#include "util/errors.h"

namespace copilot {

namespace {

void put(rapidjson::Writer<rapidjson::StringBuffer>& w, const char* key, const std::string& v) {
    w.Key(key);
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}

void put_number(rapidjson::Writer<rapidjson::StringBuffer>& w, double v) {
    if (v == std::floor(v) && std::fabs(v) < 9.0e15)
        w.Int64(static_cast<int64_t>(v));
    else
        w.Double(v);
}

}  // namespace

std::string iso_time_ms(int64_t ms) {
    if (ms < 0) ms = 0;
    const time_t secs = static_cast<time_t>(ms / 1000);
    struct tm tm {};
    gmtime_r(&secs, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms % 1000));
    return buf;
}

double premium_spend(const LedgerEntry& e) {
    if (e.agent || e.status < 200 || e.status >= 300 || !e.multiplier) return 0;
    if (!std::isfinite(*e.multiplier) || *e.multiplier < 0) return 0;
    return *e.multiplier;
}

std::string ledger_line(const LedgerEntry& e) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    put(w, "time", iso_time_ms(e.time_ms));
    // client_text: ASCII, one line, bounded, so the line stays valid JSON
    // and short whatever a client sent.
    put(w, "client_api", client_text(e.client_api, 32));
    put(w, "upstream_endpoint", client_text(e.upstream_endpoint, 64));
    put(w, "model", client_text(e.model, 200));
    put(w, "initiator", e.agent ? "agent" : "user");
    w.Key("tokens");
    if (e.tokens) {
        w.StartObject();
        w.Key("input");
        w.Int64(e.tokens->input);
        w.Key("output");
        w.Int64(e.tokens->output);
        w.Key("cached");
        w.Int64(e.tokens->cached);
        w.Key("reasoning");
        w.Int64(e.tokens->reasoning);
        w.EndObject();
    } else {
        w.Null();
    }
    w.Key("multiplier");
    if (e.multiplier && std::isfinite(*e.multiplier))
        put_number(w, *e.multiplier);
    else
        w.Null();
    w.Key("premium");
    put_number(w, premium_spend(e));
    w.Key("status");
    w.Int64(e.status);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

Ledger::Ledger(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd_ < 0)
        throw Error(Exit::io, "cannot open the ledger " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))) {
        ::close(fd_);
        fd_ = -1;
        throw Error(Exit::io, "the ledger " + path + " is not a regular file, a FIFO or a device");
    }
}

Ledger::~Ledger() {
    if (fd_ >= 0) ::close(fd_);
}

void Ledger::append(const LedgerEntry& e) const {
    const std::string line = ledger_line(e);
    ssize_t n;
    do {
        n = ::write(fd_, line.data(), line.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw Error(Exit::io, "cannot write the ledger " + path_ + ": " + std::strerror(errno));
    if (static_cast<size_t>(n) != line.size())
        throw Error(Exit::io, "the ledger " + path_ + " took only " + std::to_string(n) + " of " +
                                  std::to_string(line.size()) + " bytes (disk full?)");
}

}  // namespace copilot
