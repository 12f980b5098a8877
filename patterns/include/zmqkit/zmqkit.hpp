// Everything a program embedding zmqkit needs, in one include: every public
// header of the library (lib/include) and of the patterns (patterns/include).
#pragma once

#include <zmqkit/authenticator.hpp>
#include <zmqkit/counters.hpp>
#include <zmqkit/cursor_store.hpp>
#include <zmqkit/curve.hpp>
#include <zmqkit/dedup_window.hpp>
#include <zmqkit/durable_subscriber.hpp>
#include <zmqkit/endpoint.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/error.hpp>
#include <zmqkit/event_bus.hpp>
#include <zmqkit/forwarder.hpp>
#include <zmqkit/inbox.hpp>
#include <zmqkit/journal.hpp>
#include <zmqkit/json_text.hpp>
#include <zmqkit/metrics.hpp>
#include <zmqkit/monitor.hpp>
#include <zmqkit/msgpack_reader.hpp>
#include <zmqkit/producer_table.hpp>
#include <zmqkit/publisher.hpp>
#include <zmqkit/puller.hpp>
#include <zmqkit/pusher.hpp>
#include <zmqkit/reliable_publisher.hpp>
#include <zmqkit/replier.hpp>
#include <zmqkit/requester.hpp>
#include <zmqkit/sequence_tracker.hpp>
#include <zmqkit/socket_options.hpp>
#include <zmqkit/subscriber.hpp>
