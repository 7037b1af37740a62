#include "wire/wire.h"

namespace copilot::wire {

namespace {
struct ApiName {
    Api api;
    const char* name;
    const char* path;
};
// The one table of the wire APIs: names and upstream paths.
constexpr ApiName kApis[] = {
    {Api::chat, "chat", "/chat/completions"},
    {Api::responses, "responses", "/responses"},
    {Api::messages, "messages", "/v1/messages"},
};
}  // namespace

const char* api_path(Api api) {
    for (const auto& a : kApis)
        if (a.api == api) return a.path;
    return "";
}

const char* api_name(Api api) {
    for (const auto& a : kApis)
        if (a.api == api) return a.name;
    return "";
}

std::optional<Api> api_from_name(std::string_view name) {
    for (const auto& a : kApis)
        if (name == a.name) return a.api;
    return std::nullopt;
}

std::optional<Api> api_from_endpoint(std::string_view endpoint) {
    for (const auto& a : kApis)
        if (endpoint == a.path) return a.api;
    return std::nullopt;
}

void SseWriter::event(std::string_view name, std::string_view data) {
    if (!name.empty()) {
        out_->append("event: ");
        out_->append(name.data(), name.size());
        out_->push_back('\n');
    }
    // A data line per line: a newline inside DATA would otherwise end the field.
    size_t start = 0;
    for (;;) {
        const size_t nl = data.find('\n', start);
        out_->append("data: ");
        out_->append(data.substr(start, nl == std::string_view::npos ? std::string_view::npos
                                                                     : nl - start));
        out_->push_back('\n');
        if (nl == std::string_view::npos) break;
        start = nl + 1;
    }
    out_->push_back('\n');
}

}  // namespace copilot::wire
