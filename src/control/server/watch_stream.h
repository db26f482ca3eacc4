#pragma once
// WatchStream: a server-streaming gRPC call (callback API) that sends a complete state computed
// from the store, first at once, then after every relevant store change — only when it differs
// from what was sent last (MessageDifferencer, so map order does not matter). No thread is held
// per stream: changes arrive on the store's thread and writes complete on gRPC's.
//
// At most one write is in flight; a newer state replaces a queued one (the client needs the
// latest complete state, not every intermediate one).

#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>

#include "control/store/store.h"
#include "metrics/family.h"
#include "metrics/metric.h"

namespace trellis::control::server {

template <typename Msg>
class WatchStream final : public grpc::ServerWriteReactor<Msg> {
 public:
  using Compute = std::function<Msg(const store::Snapshot&)>;
  using Relevant = std::function<bool(const store::Change&)>;

  // Starts the stream; the object deletes itself when gRPC is done with it.
  static void start_on(WatchStream* s, store::Store& store) {
    // Subscribe first, then send the current state: a change in between is not lost (older
    // snapshots than the last computed one are ignored).
    s->watch_ = store.watch([s](const store::Change& change) {
      if (s->relevant_(change)) s->offer(change.snapshot);
    });
    s->offer(store.snapshot());
  }

  WatchStream(Compute compute, Relevant relevant, metrics::Handle<metrics::Gauge> open,
              metrics::Handle<metrics::Counter> sent)
      : compute_(std::move(compute)), relevant_(std::move(relevant)), open_(std::move(open)),
        sent_(std::move(sent)) {
    open_->inc();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok || cancelled_) {
      finish_locked(grpc::Status::CANCELLED);
      return;
    }
    sent_->inc();
    write_locked();
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    if (!writing_) finish_locked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    watch_.reset();  // waits for a running store callback; none runs afterwards
    open_->dec();
    delete this;
  }

 private:
  void offer(const store::SnapshotPtr& snapshot) {
    std::lock_guard lock(mu_);
    if (finished_ || cancelled_) return;
    if (snapshot->version <= version_) return;
    version_ = snapshot->version;
    Msg next = compute_(*snapshot);
    const Msg& reference = pending_ ? *pending_ : last_;
    if (have_last_ && google::protobuf::util::MessageDifferencer::Equals(next, reference)) {
      return;
    }
    pending_ = std::move(next);
    write_locked();
  }

  void write_locked() {
    if (writing_ || !pending_ || finished_) return;
    last_ = std::move(*pending_);
    have_last_ = true;
    pending_.reset();
    writing_ = true;
    this->StartWrite(&last_);
  }

  void finish_locked(grpc::Status status) {
    if (finished_) return;
    finished_ = true;
    this->Finish(std::move(status));
  }

  const Compute compute_;
  const Relevant relevant_;
  metrics::Handle<metrics::Gauge> open_;
  metrics::Handle<metrics::Counter> sent_;
  std::unique_ptr<store::Store::Watch> watch_;

  std::mutex mu_;
  uint64_t version_ = 0;
  Msg last_;  // being written, or written last
  bool have_last_ = false;
  std::optional<Msg> pending_;
  bool writing_ = false;
  bool cancelled_ = false;
  bool finished_ = false;
};

// A call refused before it started.
template <typename Msg>
class RefusedStream final : public grpc::ServerWriteReactor<Msg> {
 public:
  explicit RefusedStream(grpc::Status status) { this->Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace trellis::control::server
