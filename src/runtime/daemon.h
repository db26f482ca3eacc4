#pragma once
// The runtime daemon and how the CLI talks to it.
//
// `trellis up` calls start_daemon(): fork, setsid, fork again (so the daemon is nobody's child
// and has no terminal); the grandchild sets up the cluster network and the socket, reports
// "ok" or the error through a pipe, and serves until asked to shut down (or SIGTERM).
//
// Protocol (unix socket <state>/daemon.sock): one JSON request line, one JSON answer line.
//   {"op":"ping"}                                   → {"ok":true,"cluster":"…","pid":N}
//   {"op":"apply"|"delete","documents":[{"file","text"}]} → {"ok":…,"changes":[…]|"error":"…"}
//   {"op":"get","what":"pods","namespace":"","allNamespaces":false} → {"ok":true,"items":[…]}
//   {"op":"status"}                                 → {"ok":true,"ready":bool,"notReady":[…]}
//   {"op":"pod","namespace":"…","name":"…"}          → {"ok":true,"netns","hostsFile","containers"}
//   {"op":"shutdown"}                               → {"ok":true}, then everything is removed

#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "runtime/cluster.h"

namespace trellis::runtime {

// Starts the daemon in the background; returns once it serves (or with its start-up error).
base::Result<base::Ok, std::string> start_daemon(const RuntimeOptions& options);

// One request to the daemon of `state_dir`. Errors: no daemon there / it did not answer.
base::Result<nlohmann::json, std::string> request(const std::string& state_dir,
                                                  const nlohmann::json& req);

// Stops the daemon of `state_dir` (asking it first; killing it if it does not answer) and
// removes everything its ledger lists. Returns problems found while cleaning up.
std::vector<std::string> stop_cluster(const std::string& state_dir);

}  // namespace trellis::runtime
