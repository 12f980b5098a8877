// Everything a program embedding zmqkit's patterns needs, in one include.
#pragma once

#include <zmqkit/endpoint.hpp>
#include <zmqkit/envelope.hpp>
#include <zmqkit/error.hpp>
#include <zmqkit/event_bus.hpp>
#include <zmqkit/publisher.hpp>
#include <zmqkit/puller.hpp>
#include <zmqkit/pusher.hpp>
#include <zmqkit/replier.hpp>
#include <zmqkit/requester.hpp>
#include <zmqkit/subscriber.hpp>
