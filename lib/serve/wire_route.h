// copilot-serve's wire routing (ARCHITECTURE.md, "Wire APIs"): for a request
// in the client's API, the model it goes upstream as (Anthropic names and
// --model-map mapped), the upstream API its model takes (api/models'
// choose_api), and the request, the whole answer and the stream translated
// through lib/wire when the two differ, chaining Messages -> Chat ->
// Responses for a Responses-only model. Same API: passthrough.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/catalogue.h"
#include "net/http.h"
#include "net/sse.h"
#include "wire/model_names.h"  // ModelMap: --model-map
#include "wire/wire.h"

namespace copilot {

// The client's headers that may go on upstream: a Messages passthrough
// keeps anthropic-version and the anthropic-beta values Copilot takes.
inline constexpr const char* kForwardedClientHeaders[] = {"anthropic-version", "anthropic-beta"};

// The anthropic-beta values passed on (the others are dropped: Copilot
// refuses a request naming a beta it does not know).
const std::vector<std::string>& anthropic_betas_kept();
// A comma-separated anthropic-beta value with only the kept ones; "" when none.
std::string filter_anthropic_beta(std::string_view value);

// A model the catalogue does not have (an Anthropic client's name that maps
// to none): 404 in the client's shape, the message listing close matches.
class ModelNotFound : public Error {
public:
    explicit ModelNotFound(const std::string& message) : Error(Exit::data, message) {}
};

// What one request on a wire route does upstream.
struct WirePlan {
    wire::Api client = wire::Api::chat;
    wire::Api upstream = wire::Api::chat;
    std::string model;        // the id it goes upstream as
    std::string asked;        // the client's name for it, when mapped ("" otherwise)
    std::string body;         // the upstream request body
    HeaderList headers;       // besides copilot_api_headers: X-Initiator, vision, anthropic-*
    bool stream = false;
    bool include_usage = false;  // a Chat client asked for the usage chunk
    bool reasoning = false;      // the upstream model takes a reasoning effort
    int64_t input_estimate = 0;  // Messages' message_start input_tokens before the real count
    wire::Context ctx;           // what translated answers say about themselves
    std::vector<std::string> dropped;  // fields the translation left out (the log's note)
    bool translated() const { return client != upstream; }
};

// The plan for `body` (already read as `facts`) from a client speaking
// `client`. `cat` may be null (no catalogue: the client's own API, the name
// as given or mapped). Throws wire::Untranslatable (400 naming the field),
// ModelNotFound (404), Error(data) for a body the client's API refuses.
WirePlan plan_wire_request(wire::Api client, std::string_view body,
                           const wire::RequestFacts& facts, const Catalogue* cat,
                           const wire::ModelMap& map, const HeaderList& client_headers);

// A whole 2xx upstream answer in the client's API (unchanged when passed through).
std::string translate_answer(const WirePlan& plan, std::string_view upstream_answer);

// The usage a whole answer in `api` reports, if it does.
std::optional<wire::Usage> answer_usage(wire::Api api, std::string_view answer);

// An upstream event stream turned into the client's, bytes in, bytes out:
// net/sse parses the upstream's bytes, the translators (one, or two
// chained) write the client's events into a buffer the relay takes.
class TranslatedStream {
public:
    explicit TranslatedStream(const WirePlan& plan);
    ~TranslatedStream();
    TranslatedStream(const TranslatedStream&) = delete;
    TranslatedStream& operator=(const TranslatedStream&) = delete;

    // Upstream bytes. Error(protocol) when they are not an event stream we can read.
    void feed(std::string_view bytes);
    // The upstream stream ended: closed cleanly when it was complete (Chat's
    // [DONE], Responses' last event): true; else as a failure: false.
    bool end();
    // The upstream failed (cut, timed out, unreadable): the client's error event.
    void fail(std::string_view message);
    // An Anthropic client's ping while the upstream is silent; false when
    // the client's API has none (or the stream is over).
    bool ping();
    bool over() const { return over_; }
    // The client's bytes written since the last take().
    std::string take();
    wire::Usage usage() const;

private:
    struct Chain;
    std::unique_ptr<Chain> chain_;
    std::string out_;
    SseParser parser_;
    wire::Api upstream_;
    bool complete_ = false;  // the upstream's own last event was seen
    bool over_ = false;
};

}  // namespace copilot
