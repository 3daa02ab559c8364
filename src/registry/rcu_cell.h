// RcuCell<T>: one shared_ptr<const T> that many threads read without locks or waiting while one
// writer at a time replaces it (read-copy-update with two reader counters).
//
//   RcuCell<Snapshot> cell(std::make_shared<const Snapshot>());
//   std::shared_ptr<const Snapshot> now = cell.Load();   // lock-free
//   cell.Store(std::make_shared<const Snapshot>(next));  // callers serialize Store
//
// Why not std::atomic<std::shared_ptr<T>>: libstdc++ 12 implements it with a spin lock whose
// unlock after a load is relaxed, so ThreadSanitizer reports a race on every concurrent
// load/store (google/sanitizers#1558), and readers spin while another thread holds the lock bit
// anyway. Here a reader takes a shared_ptr copy inside a short critical section counted on one
// of two counters, picked by the epoch's parity. Store swaps the pointer, flips the epoch (new
// readers count on the other side) and waits for the old side to drain before deleting the old
// holder. The reader re-checks the epoch after counting itself: a reader that counted on a side
// which a writer has already drained retries instead of reading a holder no one waits for.
// Readers never wait (they retry only when a Store lands mid-read); a writer waits at most for
// the readers that were copying the old pointer, a few nanoseconds each.
//
// Thread-safety: Load from any thread; Store must be serialized by the caller.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

namespace modelrt::registry {

template <typename T>
class RcuCell {
 public:
  explicit RcuCell(std::shared_ptr<const T> initial)
      : current_(new std::shared_ptr<const T>(std::move(initial))) {}
  ~RcuCell() { delete current_.load(); }
  RcuCell(const RcuCell&) = delete;
  RcuCell& operator=(const RcuCell&) = delete;

  std::shared_ptr<const T> Load() const {
    // Every atomic here is seq_cst: the argument above needs one total order of the epoch,
    // counter and pointer operations.
    while (true) {
      const uint64_t epoch = epoch_.load();
      std::atomic<int64_t>& readers = readers_[epoch & 1];
      readers.fetch_add(1);
      if (epoch_.load() == epoch) {
        std::shared_ptr<const T> copy = *current_.load();
        readers.fetch_sub(1);
        return copy;
      }
      readers.fetch_sub(1);  // a writer flipped meanwhile: count on the new side
    }
  }

  void Store(std::shared_ptr<const T> value) {
    auto* next = new std::shared_ptr<const T>(std::move(value));
    const std::shared_ptr<const T>* old = current_.exchange(next);
    const uint64_t epoch = epoch_.fetch_add(1);
    // Readers counted on the old side may still be copying `old`; later ones see `next`.
    while (readers_[epoch & 1].load() != 0) std::this_thread::yield();
    delete old;
  }

 private:
  std::atomic<const std::shared_ptr<const T>*> current_;
  std::atomic<uint64_t> epoch_{0};
  mutable std::array<std::atomic<int64_t>, 2> readers_{};
};

}  // namespace modelrt::registry
