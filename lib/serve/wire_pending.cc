// TEMPORARY (servewire): stand-ins until wireresp's streams and wiremsg's
// model_names/tokens are merged. Deleted at that merge.
#include <stdexcept>

#include "wire/model_names.h"
#include "wire/responses.h"
#include "wire/tokens.h"

namespace copilot::wire {
std::unique_ptr<StreamTranslator> chat_stream_to_responses(EventSink*, const Context&) {
    throw std::logic_error("pending");
}
std::unique_ptr<StreamTranslator> responses_stream_to_chat(EventSink*, const Context&, bool) {
    throw std::logic_error("pending");
}
std::optional<std::string> catalogue_model(std::string_view, const std::vector<std::string>&) {
    return std::nullopt;
}
std::vector<std::string> close_model_names(std::string_view, const std::vector<std::string>&) {
    return {};
}
TokenCount count_tokens(std::string_view body) { return {static_cast<int64_t>(body.size() / 3)}; }
}  // namespace copilot::wire
