#include "api/api_error.h"

#include <set>

#include "api/lenient_json.h"

namespace copilot {

using lenient::member;
using lenient::str_member;

ApiError api_error_from(const JsonValue& err, const std::string& secret) {
    ApiError e;
    if (err.IsString()) {
        e.message = one_line(std::string_view(err.GetString(), err.GetStringLength()), secret);
        return e;
    }
    if (!err.IsObject()) return e;
    e.message = one_line(str_member(err, "message").value_or(""), secret);
    if (const JsonValue* c = member(err, "code")) {
        if (c->IsString())
            e.code = std::string(c->GetString(), c->GetStringLength());
        else if (c->IsInt64())
            e.code = std::to_string(c->GetInt64());
    }
    if (e.code.empty()) e.code = str_member(err, "type").value_or("");
    e.code = one_line(e.code, secret);
    return e;
}

std::string with_detail(const std::string& head, const ApiError& e) {
    if (e.message.empty()) return head;
    return head + ": " + e.message;
}

Exit api_error_exit(const std::string& code, long status) {
    static const std::set<std::string> permission = {
        "quota_exceeded", "unauthorized",   "forbidden",        "token_expired",
        "invalid_token",  "access_denied",  "no_copilot_access", "insufficient_quota"};
    static const std::set<std::string> temporary = {
        "rate_limited", "rate_limit_exceeded", "too_many_requests", "timeout", "overloaded"};
    if (code == "model_not_supported") return Exit::usage;
    if (permission.count(code)) return Exit::permission;
    if (temporary.count(code)) return Exit::temp;
    if (status == 401 || status == 402 || status == 403) return Exit::permission;
    if (status == 413) return Exit::data;
    if (status == 429) return Exit::temp;
    if (status >= 500) return Exit::unavailable;
    return Exit::protocol;
}

ApiError parse_api_error(std::string_view body, const std::string& secret) {
    // json_parse, with the lenient fallback below (the body as one line) for
    // anything it refuses: a duplicate "message" or "code" is not guessed at.
    rapidjson::Document doc;
    bool parsed = false;
    try {
        doc = json_parse(body, JsonSource{"error answer", Exit::protocol});
        parsed = true;
    } catch (const Error&) {
    }
    if (parsed) {
        if (const JsonValue* err = member(doc, "error")) {
            ApiError e = api_error_from(*err, secret);
            if (e.message.empty() && err->IsString() == false)
                e.message = one_line(str_member(doc, "message").value_or(""), secret);
            return e;
        }
        ApiError e;
        e.message = one_line(str_member(doc, "message").value_or(""), secret);
        e.code = one_line(str_member(doc, "code").value_or(""), secret);
        return e;
    }
    ApiError e;
    e.message = one_line(body, secret);
    return e;
}

// An {"error": ...} inside a 2xx answer, as an Error with the exit code its code maps to.
Error answer_error(const JsonValue& err, const std::string& where) {
    ApiError e = api_error_from(err, "");
    std::string msg = "the server reported an error " + where;
    if (!e.message.empty()) msg += ": " + e.message;
    if (!e.code.empty()) msg += " (" + e.code + ")";
    return Error(api_error_exit(e.code, 0), msg);
}

}  // namespace copilot
