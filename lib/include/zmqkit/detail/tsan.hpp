// Internal to zmqkit (lib and patterns), for ThreadSanitizer runs
// (scripts/sanitize.sh). libzmq, not built with TSan, hands a zero-copy
// message's bytes from one thread to another with synchronisation TSan cannot
// see. A frame's bytes are published with wrote() once written and taken with
// received() before they are read, so TSan sees the hand-off; outside a TSan
// build both do nothing.
#pragma once

#include <zmq.hpp>

#if defined(__SANITIZE_THREAD__)
#define ZMQKIT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ZMQKIT_TSAN 1
#endif
#endif

#ifdef ZMQKIT_TSAN
extern "C" void __tsan_acquire(void* address);
extern "C" void __tsan_release(void* address);
#endif

namespace zmqkit::detail {

#ifdef ZMQKIT_TSAN
inline void wrote(const zmq::message_t& m) noexcept { __tsan_release(const_cast<void*>(m.data())); }
inline void received(const zmq::message_t& m) noexcept { __tsan_acquire(const_cast<void*>(m.data())); }
#else
inline void wrote(const zmq::message_t&) noexcept {}
inline void received(const zmq::message_t&) noexcept {}
#endif

}  // namespace zmqkit::detail
