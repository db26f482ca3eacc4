#pragma once
// A whole run: the request written once, the target resolved once (every connection goes to
// that one endpoint and nowhere else), one io_context per thread with its connections spread
// round-robin, a common start once every connection has made its first connect attempt, and
// the per-thread recorders merged when the threads have finished by themselves.

#include <string>
#include <vector>

#include "base/result.h"
#include "loadgen/connection.h"
#include "loadgen/options.h"
#include "loadgen/recorder.h"

namespace trellis::bench::loadgen {

struct Report {
  Options options;
  std::string endpoint;  // the resolved address:port every connection used
  Recorder totals;
  TimePoint measure_start;  // start + warmup
  // Connections that ended on an unexpected exception (a bug, not a target's fault).
  std::vector<std::string> failures;

  // From the start of the window to the end of the window or the last measured completion,
  // whichever is later.
  double elapsed_seconds() const;
  // Completed measured requests (ok or not) per elapsed second.
  double achieved_rps() const;
  // What the plan asked for: the open-loop count, or what was sent in closed loop.
  uint64_t planned() const;
};

// The immutable part every connection shares. Fails on a request that cannot be written or a
// target that does not resolve.
base::Result<RunContext, std::string> make_run_context(const Options& options);

// Runs to the end (duration + warmup, plus at most --timeout for a backlog and for the last
// responses) and returns what was measured.
base::Result<Report, std::string> run(const Options& options);

}  // namespace trellis::bench::loadgen
