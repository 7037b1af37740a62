// OpenAI Chat Completions <-> OpenAI Responses: request facts, requests,
// whole answers and streams, both ways (ARCHITECTURE.md, "Wire APIs").
//
// Requests are the client's: a body that is not a JSON object, or a field of
// the wrong type, is Error(Exit::data); a field that cannot be carried is
// wire::Untranslatable naming it. Answers and streams are the upstream's: a
// document we cannot read is Error(Exit::protocol).
//
// Dropped on purpose (they do not change the answer, or Copilot refuses
// them): Responses store, service_tier, truncation, include, metadata,
// prompt_cache_key, safety_identifier, stream_options, background false,
// reasoning.summary, and reasoning items of earlier turns (the model reasons
// afresh); Chat store, service_tier, metadata, seed, stream_options (its
// include_usage is read by chat_include_usage), prompt_cache_key,
// safety_identifier, and n 1, logprobs false, zero penalties. Any other field
// either translates or is Untranslatable: previous_response_id, conversation,
// prompt, hosted tools, input_file and file_id images, item_reference; n > 1,
// logprobs, stop, audio, legacy functions, nonzero penalties or logit_bias.
// A "developer" message goes to Chat as "system".
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "util/json.h"
#include "wire/wire.h"

namespace copilot::wire {

// What a Chat request (`messages`) or a Responses request (`input`) says
// about itself.
RequestFacts chat_facts(std::string_view body);
RequestFacts responses_facts(std::string_view body);
// The same of a body parsed already, a JSON object (copilot-serve parses each
// request once).
RequestFacts chat_facts(const JsonValue& request);
RequestFacts responses_facts(const JsonValue& request);
// A Chat request's stream_options.include_usage: whether the translated
// stream ends with a usage chunk.
bool chat_include_usage(std::string_view body);

struct RequestOptions {
    // The upstream model takes a reasoning effort: carry it, else drop it.
    bool keep_reasoning = false;
};

// Responses request -> Chat request (a chat-only model).
std::string responses_request_to_chat(std::string_view body, const RequestOptions& opt = {});
// Chat request -> Responses request (a Responses-only model); store is false.
std::string chat_request_to_responses(std::string_view body, const RequestOptions& opt = {});

// Whole answers: Chat `chat.completion` -> Responses `response` object, and back.
std::string chat_answer_to_responses(std::string_view answer, const Context& ctx);
std::string responses_answer_to_chat(std::string_view answer, const Context& ctx);

// Streams. Chat's upstream events have no name and data a chunk or "[DONE]";
// Responses' events are named by their `type`. `out` must outlive the
// translator. The translators never throw: an upstream event they cannot
// read ends the stream through fail(), and so does end() on a Responses
// stream that never sent response.completed / response.incomplete.
//
// Chat chunks -> Responses events, each with `sequence_number` from 0;
// fail() closes what is open and ends with `response.failed`.
std::unique_ptr<StreamTranslator> chat_stream_to_responses(EventSink* out, const Context& ctx);
// Responses events -> Chat chunks then "[DONE]"; a usage chunk before it when
// `include_usage`. fail() (or a `response.failed` / `error` event) sends a
// chunk {"error":{message,type,code}}, which the OpenAI SDKs throw on, and no
// "[DONE]".
std::unique_ptr<StreamTranslator> responses_stream_to_chat(EventSink* out, const Context& ctx,
                                                           bool include_usage);

}  // namespace copilot::wire
