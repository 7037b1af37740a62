#include "api/quota.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "net/ascii.h"
#include "util/errors.h"
#include "util/json.h"
#include "util/text.h"

namespace copilot {

namespace {

const JsonSource kSource{"usage answer", Exit::protocol};

// The three the service has always sent, in the order people read them.
const char* const kKnownQuotas[] = {kPremiumQuota, "chat", "completions"};

[[noreturn]] void bad(const std::string& what) {
    throw Error(Exit::protocol, kSource.what + ": " + what);
}

const JsonValue* present(const JsonValue& obj, const char* key) {
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd() || it->value.IsNull()) return nullptr;
    return &it->value;
}

std::optional<double> opt_number(const JsonValue& obj, const char* key, const std::string& where) {
    const JsonValue* v = present(obj, key);
    if (!v) return std::nullopt;
    if (!v->IsNumber()) bad(where + "field '" + key + "' must be a number");
    return v->GetDouble();
}

std::optional<bool> opt_bool(const JsonValue& obj, const char* key, const std::string& where) {
    const JsonValue* v = present(obj, key);
    if (!v) return std::nullopt;
    if (!v->IsBool()) bad(where + "field '" + key + "' must be true or false");
    return v->GetBool();
}

std::string opt_string(const JsonValue& obj, const char* key) {
    const JsonValue* v = present(obj, key);
    if (!v) return "";
    if (!v->IsString()) bad("field '" + std::string(key) + "' must be a string");
    return one_line(std::string_view(v->GetString(), v->GetStringLength()));
}

std::optional<double> percent_of(const QuotaSnapshot& q) {
    if (q.entitlement && q.remaining && *q.entitlement > 0)
        return *q.remaining / *q.entitlement * 100.0;
    return std::nullopt;
}

QuotaSnapshot read_snapshot(const std::string& name, const JsonValue& v,
                            const std::string& reset_date) {
    const std::string where = "quota_snapshots." + name + ": ";
    if (!v.IsObject()) bad("quota_snapshots." + name + " must be an object");
    QuotaSnapshot q;
    q.name = name;
    q.unlimited = opt_bool(v, "unlimited", where).value_or(false);
    q.entitlement = opt_number(v, "entitlement", where);
    q.remaining = opt_number(v, "remaining", where);
    // Older answers call it quota_remaining.
    if (!q.remaining) q.remaining = opt_number(v, "quota_remaining", where);
    q.percent_remaining = opt_number(v, "percent_remaining", where);
    q.overage_count = opt_number(v, "overage_count", where);
    q.overage_permitted = opt_bool(v, "overage_permitted", where);
    q.reset_date = reset_date;
    if (!q.unlimited) {
        if (!q.entitlement) bad(where + "field 'entitlement' is missing");
        if (!q.remaining) bad(where + "field 'remaining' is missing");
    }
    if (!q.percent_remaining && !q.unlimited) q.percent_remaining = percent_of(q);
    return q;
}

// A number for people and scripts: integers without a point, others with at
// most `decimals` places and no trailing zeros. (No locale is ever set, so
// printf's decimal point is '.'.)
std::string num(double v, int decimals = 6) {
    if (!std::isfinite(v)) return "0";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    std::string s = buf;
    if (s.find('.') != std::string::npos) {
        while (s.back() == '0') s.pop_back();
        if (s.back() == '.') s.pop_back();
    }
    if (s == "-0") s = "0";
    return s;
}

void write_number(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::optional<double>& v) {
    if (!v || !std::isfinite(*v)) {
        w.Null();
        return;
    }
    if (*v == std::floor(*v) && std::fabs(*v) < 9.0e15)
        w.Int64(static_cast<int64_t>(*v));
    else
        w.Double(*v);
}

void write_string_or_null(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::string& s) {
    if (s.empty())
        w.Null();
    else
        w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void write_snapshot(rapidjson::Writer<rapidjson::StringBuffer>& w, const QuotaSnapshot& q) {
    w.StartObject();
    w.Key("unlimited");
    w.Bool(q.unlimited);
    w.Key("entitlement");
    write_number(w, q.entitlement);
    w.Key("remaining");
    write_number(w, q.remaining);
    w.Key("percent_remaining");
    write_number(w, q.percent_remaining);
    w.Key("overage_count");
    write_number(w, q.overage_count);
    w.Key("overage_permitted");
    if (q.overage_permitted)
        w.Bool(*q.overage_permitted);
    else
        w.Null();
    w.Key("reset_date");
    write_string_or_null(w, q.reset_date);
    w.EndObject();
}

void key(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::string& k) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}

std::string pad(const std::string& s, size_t width, bool right) {
    if (s.size() >= width) return s;
    return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

// --- header values -------------------------------------------------------------------

int hex_digit(char c) {  // -1 for a non-hex character
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// application/x-www-form-urlencoded decoding of one component; nullopt for
// a broken %-escape.
std::optional<std::string> form_decode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// A decimal number as the headers write it ("-1", "0.0", "99.6"), read
// without the locale; nullopt for anything else.
std::optional<double> header_number(std::string_view s) {
    size_t i = 0;
    bool neg = false;
    if (i < s.size() && s[i] == '-') {
        neg = true;
        ++i;
    }
    const size_t int_start = i;
    double v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0');
    const size_t int_digits = i - int_start;
    size_t frac_digits = 0;
    if (i < s.size() && s[i] == '.') {
        ++i;
        double scale = 0.1;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            v += (s[i++] - '0') * scale;
            scale /= 10;
            ++frac_digits;
        }
        if (frac_digits == 0) return std::nullopt;
    }
    if (i != s.size() || int_digits == 0 || int_digits > 15 || frac_digits > 15)
        return std::nullopt;
    return neg ? -v : v;
}

}  // namespace

const QuotaSnapshot* UsageSummary::find(std::string_view name) const {
    for (const auto& q : quotas)
        if (q.name == name) return &q;
    return nullptr;
}

// --- copilot-usage -------------------------------------------------------------------

std::string fetch_usage_document(const std::string& github_token, const std::string& host,
                                 const RetryHook& on_retry) {
    const HttpResponse r = copilot_internal_get("/copilot_internal/user", github_token, host,
                                                "the Copilot usage service", on_retry);
    try {
        parse_usage_document(r.body);
    } catch (const Error& e) {
        throw Error(e.code(), redact(e.what(), github_token));
    }
    return r.body;
}

UsageSummary parse_usage_document(std::string_view body) {
    rapidjson::Document doc = json_parse(body, kSource);
    UsageSummary s;
    s.plan = opt_string(doc, "copilot_plan");
    s.sku = opt_string(doc, "access_type_sku");
    s.reset_date = opt_string(doc, "quota_reset_date_utc");
    if (s.reset_date.empty()) s.reset_date = opt_string(doc, "quota_reset_date");
    const JsonValue* snaps = present(doc, "quota_snapshots");
    if (!snaps) return s;
    if (!snaps->IsObject()) bad("field 'quota_snapshots' must be an object");
    for (const char* known : kKnownQuotas) {
        auto it = snaps->FindMember(known);
        if (it != snaps->MemberEnd()) s.quotas.push_back(read_snapshot(known, it->value, s.reset_date));
    }
    for (auto it = snaps->MemberBegin(); it != snaps->MemberEnd(); ++it) {
        const std::string name(it->name.GetString(), it->name.GetStringLength());
        if (std::find(std::begin(kKnownQuotas), std::end(kKnownQuotas), name) !=
            std::end(kKnownQuotas))
            continue;
        s.quotas.push_back(read_snapshot(one_line(name, "", 64), it->value, s.reset_date));
    }
    return s;
}

std::string usage_summary_json(const UsageSummary& s) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("plan");
    write_string_or_null(w, s.plan);
    w.Key("sku");
    write_string_or_null(w, s.sku);
    w.Key("reset_date");
    write_string_or_null(w, s.reset_date);
    w.Key("quotas");
    w.StartObject();
    for (const auto& q : s.quotas) {
        key(w, q.name);
        write_snapshot(w, q);
    }
    w.EndObject();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

std::string usage_json(std::string_view body, const UsageSummary& s) {
    const rapidjson::Document doc = json_parse(body, kSource);
    JsonObjectWriter w;
    w.raw_field("user", json_dump(doc));
    w.raw_field("summary", usage_summary_json(s));
    return w.str() + "\n";
}

std::string usage_table(const UsageSummary& s, bool bold) {
    std::string out;
    out += "plan    " + (s.plan.empty() ? std::string("-") : s.plan) + "\n";
    out += "sku     " + (s.sku.empty() ? std::string("-") : s.sku) + "\n";
    out += "resets  " + (s.reset_date.empty() ? std::string("-") : s.reset_date) + "\n";
    if (s.quotas.empty()) return out + "no quotas\n";
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"QUOTA", "ENTITLEMENT", "REMAINING", "PERCENT", "OVERAGE", "PERMITTED"});
    for (const auto& q : s.quotas) {
        std::vector<std::string> row = {q.name};
        if (q.unlimited) {
            row.push_back("-");
            row.push_back("unlimited");
            row.push_back("-");
        } else {
            row.push_back(q.entitlement ? num(*q.entitlement, 1) : "-");
            row.push_back(q.remaining ? num(*q.remaining, 1) : "-");
            row.push_back(q.percent_remaining ? num(*q.percent_remaining, 1) + "%" : "-");
        }
        row.push_back(q.overage_count ? num(*q.overage_count, 1) : "-");
        row.push_back(q.overage_permitted ? (*q.overage_permitted ? "yes" : "no") : "-");
        rows.push_back(row);
    }
    std::vector<size_t> width(rows[0].size(), 0);
    for (const auto& row : rows)
        for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    out += "\n";
    for (size_t k = 0; k < rows.size(); ++k) {
        std::string line;
        for (size_t i = 0; i < rows[k].size(); ++i) {
            const bool last = i + 1 == rows[k].size();
            const bool numeric = i >= 1 && i <= 4;
            line += last ? rows[k][i] : pad(rows[k][i], width[i], numeric) + "  ";
        }
        if (k == 0 && bold) line = "\033[1m" + line + "\033[0m";
        out += line + "\n";
    }
    return out;
}

std::string quota_env_name(const std::string& quota) {
    if (quota == kPremiumQuota) return "PREMIUM";
    std::string out;
    for (char c : quota) {
        if (c >= 'a' && c <= 'z')
            out += static_cast<char>(c - 'a' + 'A');
        else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            out += c;
        else
            out += '_';
    }
    return out;
}

std::string usage_env(const UsageSummary& s) {
    std::string out;
    auto line = [&out](const std::string& name, const std::string& value) {
        out += "export " + name + "=" + shell_quote(value) + "\n";
    };
    auto number = [](const std::optional<double>& v) { return v ? num(*v) : std::string(); };
    line("COPILOT_PLAN", s.plan);
    line("COPILOT_SKU", s.sku);
    line("COPILOT_QUOTA_RESET_DATE", s.reset_date);
    for (const auto& q : s.quotas) {
        const std::string p = "COPILOT_" + quota_env_name(q.name) + "_";
        line(p + "UNLIMITED", q.unlimited ? "1" : "0");
        line(p + "ENTITLEMENT", number(q.entitlement));
        line(p + "REMAINING", number(q.remaining));
        line(p + "PERCENT_REMAINING", number(q.percent_remaining));
        line(p + "OVERAGE_COUNT", number(q.overage_count));
        line(p + "OVERAGE_PERMITTED",
             q.overage_permitted ? (*q.overage_permitted ? "1" : "0") : "");
    }
    return out;
}

std::optional<MinRemaining> parse_min_remaining(std::string_view text) {
    MinRemaining m;
    if (!text.empty() && text.back() == '%') {
        m.percent = true;
        text.remove_suffix(1);
    }
    const size_t dot = text.find('.');
    const std::string_view whole = text.substr(0, dot);
    const std::string_view frac =
        dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
    auto digits = [](std::string_view d) {
        return d.find_first_not_of("0123456789") == std::string_view::npos;
    };
    if (whole.empty() || whole.size() > 9 || !digits(whole)) return std::nullopt;
    if (dot != std::string_view::npos && (frac.empty() || frac.size() > 6 || !digits(frac)))
        return std::nullopt;
    auto v = header_number(text);
    if (!v || (m.percent && *v > 100)) return std::nullopt;
    m.value = *v;
    return m;
}

UsageCheck check_premium(const UsageSummary& s, const MinRemaining& min) {
    const QuotaSnapshot* q = s.find(kPremiumQuota);
    if (!q) throw Error(Exit::protocol, kSource.what + ": no premium_interactions quota");
    UsageCheck c;
    const std::string want = num(min.value) + (min.percent ? "%" : "");
    if (q->unlimited) {
        c.passes = true;
        c.text = "premium requests: unlimited";
        return c;
    }
    const double have = min.percent ? q->percent_remaining.value_or(0) : q->remaining.value_or(0);
    c.passes = have >= min.value;
    c.text = "premium requests: " + num(q->remaining.value_or(0), 1) + " of " +
             num(q->entitlement.value_or(0), 1) + " left (" +
             num(q->percent_remaining.value_or(0), 1) + "%)";
    c.text += c.passes ? ", at least the " + want + " required"
                       : ", fewer than the " + want + " required";
    if (!q->reset_date.empty()) c.text += "; resets " + q->reset_date;
    return c;
}

// --- the quota headers of an answer ----------------------------------------------------

std::optional<QuotaSnapshot> parse_quota_header(std::string_view name, std::string_view value,
                                                std::string* why) {
    auto fail = [why](const std::string& reason) -> std::optional<QuotaSnapshot> {
        if (why) *why = reason;
        return std::nullopt;
    };
    QuotaSnapshot q;
    q.name = std::string(name);
    bool seen_ent = false, seen_rem = false;
    std::vector<std::string> keys;
    std::string_view rest = value;
    while (!rest.empty()) {
        const size_t amp = rest.find('&');
        const std::string_view part = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        if (part.empty()) continue;
        const size_t eq = part.find('=');
        auto k = form_decode(part.substr(0, eq));
        auto v = form_decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
        if (!k || !v) return fail("a broken %-escape");
        if (std::find(keys.begin(), keys.end(), *k) != keys.end())
            return fail("'" + one_line(*k, "", 32) + "' twice");
        keys.push_back(*k);
        auto number = [&](std::optional<double>& into) -> bool {
            into = header_number(*v);
            return into.has_value();
        };
        if (*k == "ent") {
            if (!number(q.entitlement)) return fail("ent is not a number");
            seen_ent = true;
        } else if (*k == "rem") {
            if (!number(q.percent_remaining)) return fail("rem is not a number");
            seen_rem = true;
        } else if (*k == "ov") {
            if (!number(q.overage_count)) return fail("ov is not a number");
        } else if (*k == "ovPerm") {
            if (*v == "true") q.overage_permitted = true;
            else if (*v == "false") q.overage_permitted = false;
            else return fail("ovPerm is not true or false");
        } else if (*k == "rst") {
            q.reset_date = one_line(*v, "", 64);
        }
    }
    if (!seen_ent && !seen_rem) return fail("neither ent nor rem");
    if (q.entitlement && *q.entitlement == -1) {
        q.unlimited = true;
        q.entitlement.reset();
        q.percent_remaining.reset();
    } else if (q.entitlement && *q.entitlement < 0) {
        return fail("ent is negative");
    } else if (q.entitlement && q.percent_remaining && *q.entitlement > 0) {
        q.remaining = *q.entitlement * *q.percent_remaining / 100.0;
    }
    return q;
}

AnswerQuota quota_from_headers(const HeaderList& headers,
                               const std::function<void(const std::string&)>& note) {
    static const std::string kSnapshot = "x-quota-snapshot-";
    AnswerQuota out;
    for (const auto& [raw_name, value] : headers) {
        const std::string name = ascii_lowered(raw_name);
        std::string quota;
        if (starts_with(name, kSnapshot) && name.size() > kSnapshot.size())
            quota = name.substr(kSnapshot.size());
        else if (name == "x-usage-ratelimit-session")
            quota = "session";
        else if (name == "x-usage-ratelimit-weekly")
            quota = "weekly";
        else
            continue;
        std::string why;
        auto q = parse_quota_header(quota, value, &why);
        if (!q) {
            if (note) note("ignored header " + one_line(name, "", 80) + ": " + why);
            continue;
        }
        if (name == "x-usage-ratelimit-session")
            out.session = *q;
        else if (name == "x-usage-ratelimit-weekly")
            out.weekly = *q;
        else
            out.quotas.push_back(*q);
    }
    return out;
}

std::string answer_quota_json(const AnswerQuota& q) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("quotas");
    w.StartObject();
    for (const auto& s : q.quotas) {
        key(w, s.name);
        write_snapshot(w, s);
    }
    w.EndObject();
    w.Key("session");
    if (q.session)
        write_snapshot(w, *q.session);
    else
        w.Null();
    w.Key("weekly");
    if (q.weekly)
        write_snapshot(w, *q.weekly);
    else
        w.Null();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace copilot
