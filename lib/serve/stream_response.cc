#include "serve/stream_response.h"

#include <cstring>
#include <string>
#include <string_view>

#include "net/sse.h"  // SseBoundary
#include "serve/admission.h"  // refuse_shutting_down

namespace copilot {

namespace {

// Bytes per read of a stream. libmicrohttpd allocates (and zeroes) a block
// this size with each streamed response, so it is resident for as long as
// the stream lasts: 1,000 slow streams took 65.8 MiB with 16 KiB, 62.1 with
// 4 KiB (bench/serve/README.md). A stream's bytes still go out as fast.
constexpr size_t kStreamBlock = 4 * 1024;

struct StreamCtx {
    std::shared_ptr<RelayQueue> queue;
    StreamServer server;
    std::shared_ptr<Parked> parked;
    bool sse = false;          // an event stream: a stop ends it with an error event
    wire::Api api = wire::Api::chat;  // the client's: the shape of that event
    SseBoundary boundary;      // where the bytes sent so far stand
    bool last_sent = false;    // the error event went out
    std::chrono::steady_clock::time_point stop_seen{};
};

// The server stops while a stream is open: the event it is in the middle
// of is finished, then the shutting_down error event ends the stream.
ssize_t send_stop_event(StreamCtx* sc, char* buf, size_t max) {
    sc->queue->cancel();
    sc->last_sent = true;
    const std::string event = std::string(sc->api == wire::Api::messages ? "event: error\n" : "") +
                              "data: " + refuse_shutting_down().body(sc->api) + "\n\n";
    if (event.size() > max) return MHD_CONTENT_READER_END_WITH_ERROR;
    std::memcpy(buf, event.data(), event.size());
    return static_cast<ssize_t>(event.size());
}

ssize_t read_stream(void* cls, uint64_t, char* buf, size_t max) {
    auto* sc = static_cast<StreamCtx*>(cls);
    if (sc->last_sent) return MHD_CONTENT_READER_END_OF_STREAM;
    for (;;) {
        const bool stopping = sc->server.stopping->load();
        if (stopping && sc->sse) {
            const auto now = std::chrono::steady_clock::now();
            if (sc->stop_seen == std::chrono::steady_clock::time_point{}) sc->stop_seen = now;
            if (sc->boundary.at_event_end()) return send_stop_event(sc, buf, max);
            if (now - sc->stop_seen > kStopEventWait) {
                sc->queue->cancel();
                return MHD_CONTENT_READER_END_WITH_ERROR;
            }
        }
        size_t n = 0;
        switch (sc->queue->pull(buf, max, &n, std::chrono::milliseconds(0))) {
        case RelayQueue::Pull::data: {
            // Stopping: up to the end of the event in flight; the rest is dropped.
            const size_t whole = sc->boundary.feed(std::string_view(buf, n), stopping && sc->sse);
            if (stopping && sc->sse && whole > 0) n = whole;
            return static_cast<ssize_t>(n);
        }
        case RelayQueue::Pull::end: return MHD_CONTENT_READER_END_OF_STREAM;
        case RelayQueue::Pull::cancelled:
            if (stopping && sc->sse && sc->boundary.at_event_end()) return send_stop_event(sc, buf, max);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        case RelayQueue::Pull::timeout: break;
        }
        // Nothing from the upstream yet: parked until there is (a silent
        // upstream, a model thinking, is no idle client: a parked
        // connection does not time out), unless the client left.
        if ((stopping && !sc->sse) || sc->parked->peer_left) {
            sc->queue->cancel();
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (sc->server.parking->park(*sc->parked, [sc] { return sc->queue->ready(); }, true))
            return 0;  // called again once woken
    }
}

void free_stream(void* cls) {
    auto* sc = static_cast<StreamCtx*>(cls);
    sc->queue->cancel();  // a no-op after a complete stream; stops the upstream otherwise
    if (sc->server.closed) sc->server.closed();
    delete sc;
}

}  // namespace

MHD_Response* stream_response(std::shared_ptr<RelayQueue> queue, std::shared_ptr<Parked> parked,
                              bool sse, wire::Api api, StreamServer server) {
    auto* sc = new StreamCtx;
    sc->queue = std::move(queue);
    sc->parked = std::move(parked);
    sc->sse = sse;
    sc->api = api;
    sc->server = std::move(server);
    MHD_Response* r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, kStreamBlock,
                                                        &read_stream, sc, &free_stream);
    if (!r) free_stream(sc);
    return r;
}

}  // namespace copilot
