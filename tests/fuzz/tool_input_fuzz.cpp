// Fuzz target: what zmq-pub, zmq-push and zmq-req read from their users
// (tools/common/input.cpp, json.cpp; docs/cli.md), and what zmq-sub prints
// from it (output.cpp). Input: a format byte (raw, json, msgpack or
// jsonl-envelope, by its value mod 4), then one unit of input as a line or
// -m would give it.
//
// parse_input throws only std::invalid_argument or decode_error. What it
// accepts is a message a receiver can decode: exactly one msgpack value as
// the payload, inside an envelope that message::decode takes back with the
// same topic, headers and payload. Every output format prints it; jsonl is
// one line of valid JSON. And the JSON zmq-sub prints, read again by
// zmq-pub --in-format json, packs to the same msgpack (the $base64 / $ext
// convention makes bin and ext survive; a value already printed once
// always round-trips, so `zmq-sub | zmq-pub --in-format json` relays it
// unchanged).
#include <zmqkit/envelope.hpp>
#include <zmqkit/msgpack_reader.hpp>

#include <string>
#include <vector>

#include "common/input.hpp"
#include "common/json.hpp"
#include "common/output.hpp"
#include "fuzz_support.hpp"

#include <nlohmann/json.hpp>

namespace {

using namespace zmqkit;
using fuzz::check;

const char* const formats[] = {"raw", "json", "msgpack", "jsonl-envelope"};

std::optional<tools::outgoing> parse(std::string_view unit, const std::string& format) {
  try {
    return tools::parse_input(unit, format, "fuzz", {});
  } catch (const std::invalid_argument&) {
  } catch (const decode_error&) {
  }
  return std::nullopt;
}

std::string print(const message& m, const std::string& format, const std::string& templ = {}) {
  tools::output_options o;
  o.format = format;
  o.template_text = templ;
  std::string out;
  tools::formatter(o).append(m, out);
  return out;
}

// The payload as zmq-sub prints it, read back as zmq-pub --in-format json.
std::string relayed(const message& m) {
  std::string json;
  tools::append_payload_json(m, json);
  const auto again = parse(json, "json");
  check(again.has_value(), "payload JSON that zmq-sub prints is read back by --in-format json");
  return again->payload;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string format = formats[data[0] % 4];
  const auto unit = fuzz::as_view(data + 1, size - 1);
  const auto out = parse(unit, format);
  if (!out) return 0;

  try {
    check_msgpack(out->payload);
  } catch (const decode_error&) {
    check(false, "parse_input gives exactly one valid msgpack value");
  }
  envelope_writer w(make_producer_id());
  auto frame = w.encode(packed(out->payload), out->headers);
  std::optional<message> m;
  try {
    m = message::decode(zmq::message_t(out->topic.data(), out->topic.size()), std::move(frame));
  } catch (const decode_error& e) {
    // A topic or headers past the envelope's limits are refused on
    // decode; the tools' senders check the same limits first.
    return 0;
  }
  check(m->topic() == out->topic && m->payload_msgpack() == out->payload &&
            m->header_count() == out->headers.size(),
        "the envelope carries topic, headers and payload unchanged");

  const auto line = print(*m, "jsonl");
  check(!line.empty() && line.back() == '\n' && line.find('\n') == line.size() - 1,
        "jsonl is one line");
  // accept(), not parse_json(): the line nests one deeper than the payload,
  // which may itself be at parse_json's depth limit.
  check(nlohmann::json::accept(line), "jsonl output is valid JSON");
  (void)print(*m, "pretty");
  (void)print(*m, "raw");
  (void)print(*m, "msgpack");
  (void)print(*m, "", "{{topic}} {{payload}} {{raw}} {{hex}} {{seq}} {{producer}} {{time}} "
                      "{{time_ns}} {{headers}} {{header:k}} {{fseq}}");

  // Printed once, a payload relays unchanged from then on.
  const auto once = relayed(*m);
  auto frame2 = w.encode(packed(once));
  const auto m2 = message::decode(zmq::message_t("t", 1), std::move(frame2));
  check(relayed(m2) == once, "payload JSON relays unchanged after the first print");
  return 0;
}
