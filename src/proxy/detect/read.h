#pragma once
// The detect stage's I/O: read from a new connection until detect() decides, the detect window
// (kMaxDetectBytes) is full, the peer closes, or the detect timeout expires (then: opaque).
// The bytes read are returned so the next stage can replay them.

#include <chrono>
#include <string>

#include "net/asio.h"
#include "proxy/detect/detect.h"

namespace trellis::proxy::detect {

struct Detected {
  Protocol protocol = Protocol::kOpaque;  // never kNeedMore
  std::string bytes;                      // everything read so far
  bool timed_out = false;
  bool closed = false;                    // the peer closed (or the read failed)
};

net::awaitable<Detected> read_and_detect(net::tcp::socket& socket,
                                         std::chrono::milliseconds timeout);

}  // namespace trellis::proxy::detect
