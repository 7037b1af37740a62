#include "serve/request_log.h"

#include <cstdio>

namespace copilot {

std::string client_text(std::string_view s, size_t max) {
    std::string out;
    for (char c : s) {
        if (out.size() >= max) {
            out += "...";
            break;
        }
        const unsigned char u = static_cast<unsigned char>(c);
        out += (u <= 0x20 || u >= 0x7f || c == '"') ? '?' : c;
    }
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
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.1f", r.ms);
    std::string line = client_text(r.client.empty() ? "-" : r.client, 64) + " " +
                       client_text(r.method, 16) + " " + client_text(r.path, 200) +
                       " model=" + (r.model.empty() ? "-" : client_text(r.model, 80));
    const WireLog& w = r.wire;
    if (!w.asked.empty()) line += " asked=" + client_text(w.asked, 80);
    if (r.stream) line += " stream";
    if (!w.api.empty()) {
        line += " api=" + w.api;
        if (!w.upstream.empty())
            line += " upstream=" + w.upstream + (w.translated ? " translated" : " passthrough");
        if (!w.initiator.empty()) line += " initiator=" + w.initiator;
    }
    line += " status=" + std::to_string(r.status) + " bytes=" + std::to_string(r.bytes) +
            " ms=" + ms;
    if (w.usage)
        line += " input_tokens=" + std::to_string(w.usage->input) +
                " output_tokens=" + std::to_string(w.usage->output);
    if (w.multiplier) line += " multiplier=" + log_number(*w.multiplier);
    if (w.premium) line += " premium=" + log_number(*w.premium);
    if (!w.dropped.empty()) {
        std::string d;
        for (const std::string& f : w.dropped) d += (d.empty() ? "" : ",") + f;
        line += " dropped=" + client_text(d, 200);
    }
    if (!r.note.empty()) {
        std::string note;
        for (char c : r.note) note += (c == '"' || static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
        line += " note=\"" + note + "\"";
    }
    return line;
}

}  // namespace copilot
