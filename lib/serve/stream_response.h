// A streamed answer's libmicrohttpd response (ARCHITECTURE.md, "Relay
// threading"): it reads the exchange's RelayQueue, parks the connection
// while the queue is empty, and when the server stops ends an event stream
// on an event boundary with the shutting_down error event.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

#include <microhttpd.h>

#include "serve/exchange.h"
#include "serve/parking.h"
#include "wire/wire.h"

namespace copilot {

// How long a stream may take, once the server stops, to reach the end of
// the event it is in the middle of.
constexpr auto kStopEventWait = std::chrono::seconds(1);

// What a stream's response needs of the server.
struct StreamServer {
    const std::atomic<bool>* stopping;
    Parking* parking;
    std::function<void()> closed;  // the response is gone (the stream ended)
};

// The response for `queue`'s bytes on `parked`'s connection; `sse`: an
// event stream, `api`: the client's (the shape of the stop event). nullptr
// when libmicrohttpd cannot make one (`closed` has been called).
MHD_Response* stream_response(std::shared_ptr<RelayQueue> queue, std::shared_ptr<Parked> parked,
                              bool sse, wire::Api api, StreamServer server);

}  // namespace copilot
