#include "serve/request_log.h"

#include <cstdio>

namespace copilot {

namespace {

// client_text's bytes, appended to `out`.
void append_client_text(std::string& out, std::string_view s, size_t max) {
    const size_t start = out.size();
    for (char c : s) {
        if (out.size() - start >= max) {
            out += "...";
            break;
        }
        const unsigned char u = static_cast<unsigned char>(c);
        out += (u <= 0x20 || u >= 0x7f || c == '"') ? '?' : c;
    }
}

}  // namespace

std::string client_text(std::string_view s, size_t max) {
    std::string out;
    append_client_text(out, s, max);
    return out;
}

namespace {

// 1, 0.33: at most two decimals, no trailing zeros.
std::string log_number(double v) {
    if (!(v >= 0 && v < 1e12)) return "?";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    std::string s = buf;
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s;
}

}  // namespace

std::string format_request_log(const RequestLog& r) {
    // Appended in place: a line a request, built without temporaries.
    std::string line;
    line.reserve(256);
    auto text = [&line](std::string_view s, size_t max) { append_client_text(line, s, max); };
    text(r.client.empty() ? "-" : r.client, 64);
    line += ' ';
    text(r.method, 16);
    line += ' ';
    text(r.path, 200);
    line += " model=";
    if (r.model.empty()) line += '-';
    else text(r.model, 80);
    const WireLog& w = r.wire;
    if (!w.asked.empty()) {
        line += " asked=";
        text(w.asked, 80);
    }
    if (r.stream) line += " stream";
    if (!w.api.empty()) {
        line.append(" api=").append(w.api);
        if (!w.upstream.empty())
            line.append(" upstream=").append(w.upstream).append(w.translated ? " translated"
                                                                             : " passthrough");
        if (!w.initiator.empty()) line.append(" initiator=").append(w.initiator);
    }
    char num[96];
    std::snprintf(num, sizeof num, " status=%ld bytes=%llu ms=%.1f", static_cast<long>(r.status),
                  static_cast<unsigned long long>(r.bytes), r.ms);
    line += num;
    if (w.usage) {
        std::snprintf(num, sizeof num, " input_tokens=%lld output_tokens=%lld",
                      static_cast<long long>(w.usage->input), static_cast<long long>(w.usage->output));
        line += num;
    }
    if (w.multiplier) line.append(" multiplier=").append(log_number(*w.multiplier));
    if (w.premium) line.append(" premium=").append(log_number(*w.premium));
    if (!w.dropped.empty()) {
        std::string d;
        for (const std::string& f : w.dropped) d.append(d.empty() ? "" : ",").append(f);
        line += " dropped=";
        text(d, 200);
    }
    if (!r.note.empty()) {
        line += " note=\"";
        for (char c : r.note) line += (c == '"' || static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
        line += '"';
    }
    return line;
}

}  // namespace copilot
