// SingleFlight<Key, Value>: however many threads ask for one key at once, one piece of work runs
// and every waiter gets its result. Each flight has a deadline; waiters stop waiting there, the
// flight is abandoned (its map entry removed) and a result that arrives later is refused, so the
// worker discards it. The work runs on a thread of the caller's choosing (started by `start`), so
// no waiter is stuck inside a slow load.
//
//   SingleFlight<std::string, Result<int>> flights([](const std::string& key, uint64_t id) {
//     Log("x")->warn("{} timed out", key);          // called once per abandoned flight
//   });
//   auto outcome = flights.Do("k", caller_deadline, std::chrono::seconds(10),
//       [&](const auto& flight) -> std::optional<Result<int>> {
//         threads.Spawn([&flights, flight] {
//           Result<int> r = Work(flight->deadline());
//           if (flights.Claim(flight)) flights.Finish(flight, std::move(r));  // else: discard
//         });
//         return std::nullopt;                         // started; wait for it
//       });
//
// Flight lifecycle (all transitions under the SingleFlight's mutex):
//
//   running ──Claim (before deadline)──► finishing ──Finish──► done
//      │                                             (entry removed, waiters woken)
//      └──deadline passes──► abandoned (entry removed; noticed by a waiter, a new Do or a
//                                       late Claim, whichever comes first)
//
// A finishing flight never times out: between Claim and Finish the worker publishes the result
// elsewhere (e.g. installs a model) so that once the entry leaves the map, a new Do sees it.
//
// Thread-safety: thread-safe. `start` runs under the internal mutex: it must not call back into
// this SingleFlight (spawning a thread that later calls Claim/Finish is fine). `on_abandon` runs
// without the mutex held.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "core/thread_annotations.h"
#include "modelrt/model.h"

namespace modelrt::internal {

template <typename Key, typename Value>
class SingleFlight {
 public:
  class Flight {
   public:
    Flight(Key key, uint64_t id, Clock::time_point deadline)
        : key_(std::move(key)), id_(id), deadline_(deadline) {}
    const Key& key() const { return key_; }
    // Unique per SingleFlight, increasing: lets owners tell one attempt from the next.
    uint64_t id() const { return id_; }
    // The work should give up here (waiters do).
    Clock::time_point deadline() const { return deadline_; }

   private:
    friend class SingleFlight;
    enum class State { kRunning, kFinishing, kDone, kAbandoned };
    const Key key_;
    const uint64_t id_;
    const Clock::time_point deadline_;
    // Guarded by the owning SingleFlight's mutex_.
    State state_ = State::kRunning;
    std::optional<Value> value_;
  };
  using FlightPtr = std::shared_ptr<Flight>;

  // Why Do returned.
  enum class Wait {
    kDone,            // value holds the flight's result (or `start`'s immediate answer)
    kFlightExpired,   // the flight passed its deadline without a result
    kCallerExpired,   // the caller's own deadline came first; the flight goes on
    kCallerCancelled  // `stop` said so; the flight goes on
  };
  struct Outcome {
    Wait wait = Wait::kDone;
    std::optional<Value> value;
    bool started = false;  // this call started the flight
    uint64_t flight_id = 0;
  };

  // Decides, under the mutex, whether a flight is needed: returns a value to answer at once
  // without a flight, or nullopt after arranging for Claim/Finish to be called for `flight`.
  using Start = std::function<std::optional<Value>(const FlightPtr& flight)>;
  using OnAbandon = std::function<void(const Key& key, uint64_t flight_id)>;

  explicit SingleFlight(OnAbandon on_abandon = {}) : on_abandon_(std::move(on_abandon)) {}
  SingleFlight(const SingleFlight&) = delete;
  SingleFlight& operator=(const SingleFlight&) = delete;

  // Joins the live flight for `key`, or starts one whose deadline is now + flight_timeout, and
  // waits for its result until its deadline or `caller_deadline`, whichever comes first.
  // `stop` (optional) is polled while waiting, for a caller's cancel flag.
  Outcome Do(const Key& key, Clock::time_point caller_deadline, Clock::duration flight_timeout,
             const Start& start, const std::function<bool()>& stop = {}) {
    std::vector<FlightPtr> abandoned;
    Outcome out;
    {
      MutexLock lock(mu_);
      FlightPtr flight;
      auto it = flights_.find(key);
      if (it != flights_.end() && it->second->state_ == Flight::State::kRunning &&
          Clock::now() >= it->second->deadline_) {
        abandoned.push_back(it->second);
        AbandonLocked(it->second);  // erases `it`
        it = flights_.end();
      }
      if (it != flights_.end()) {
        flight = it->second;
      } else {
        flight = std::make_shared<Flight>(key, ++next_id_, DeadlineAfter(flight_timeout));
        out.value = start(flight);
        if (!out.value) {
          flights_.emplace(key, flight);
          out.started = true;
        }
      }
      if (!out.value) {  // a flight to wait for (not answered at once by `start`)
        out.flight_id = flight->id_;
        out.wait = WaitLocked(lock, flight, caller_deadline, stop, &abandoned);
        if (out.wait == Wait::kDone) out.value = flight->value_;
      }
    }
    return Finally(std::move(out), abandoned);
  }

  // Called by the worker once its result is ready. True: the flight is still live and is now
  // finishing (publish the result, then call Finish). False: the deadline passed and the flight
  // was abandoned; the worker must discard its result.
  bool Claim(const FlightPtr& flight) {
    bool abandoned_now = false;
    {
      MutexLock lock(mu_);
      if (flight->state_ != Flight::State::kRunning) return false;
      if (Clock::now() < flight->deadline_) {
        flight->state_ = Flight::State::kFinishing;
        return true;
      }
      AbandonLocked(flight);
      abandoned_now = true;
    }
    if (abandoned_now && on_abandon_) on_abandon_(flight->key_, flight->id_);
    return false;
  }

  // Hands `value` to every waiter and removes the flight's entry. Only after a true Claim.
  void Finish(const FlightPtr& flight, Value value) {
    MutexLock lock(mu_);
    flight->value_ = std::move(value);
    flight->state_ = Flight::State::kDone;
    EraseLocked(flight);
    cv_.notify_all();
  }

  // Flights that are live now: running before their deadline, or finishing.
  size_t InFlight() const {
    MutexLock lock(mu_);
    const auto now = Clock::now();
    return std::count_if(flights_.begin(), flights_.end(), [&](const auto& entry) {
      const Flight& f = *entry.second;
      return f.state_ == Flight::State::kFinishing ||
             (f.state_ == Flight::State::kRunning && now < f.deadline_);
    });
  }

 private:
  // Poll interval for `stop`: a cancel flag cannot wake a condition variable.
  static constexpr std::chrono::milliseconds kStopPoll{20};

  static Clock::time_point DeadlineAfter(Clock::duration timeout) {
    const auto now = Clock::now();
    if (timeout <= Clock::duration::zero() || timeout >= Clock::time_point::max() - now) {
      return Clock::time_point::max();
    }
    return now + timeout;
  }

  Wait WaitLocked(MutexLock& lock, const FlightPtr& flight, Clock::time_point caller_deadline,
                  const std::function<bool()>& stop, std::vector<FlightPtr>* abandoned)
      REQUIRES(mu_) {
    while (true) {
      switch (flight->state_) {
        case Flight::State::kDone: return Wait::kDone;
        case Flight::State::kAbandoned: return Wait::kFlightExpired;
        case Flight::State::kRunning:
        case Flight::State::kFinishing: break;
      }
      const auto now = Clock::now();
      const bool running = flight->state_ == Flight::State::kRunning;
      if (running && now >= flight->deadline_) {
        abandoned->push_back(flight);
        AbandonLocked(flight);
        return Wait::kFlightExpired;
      }
      if (now >= caller_deadline) return Wait::kCallerExpired;
      if (stop && stop()) return Wait::kCallerCancelled;
      auto until =
          std::min(caller_deadline, running ? flight->deadline_ : Clock::time_point::max());
      if (stop) until = std::min(until, now + kStopPoll);
      if (until == Clock::time_point::max()) {
        cv_.wait(lock.native());
      } else {
        cv_.wait_until(lock.native(), until);
      }
    }
  }

  void AbandonLocked(const FlightPtr& flight) REQUIRES(mu_) {
    flight->state_ = Flight::State::kAbandoned;
    EraseLocked(flight);
    cv_.notify_all();
  }

  void EraseLocked(const FlightPtr& flight) REQUIRES(mu_) {
    auto it = flights_.find(flight->key_);
    if (it != flights_.end() && it->second == flight) flights_.erase(it);
  }

  Outcome Finally(Outcome out, const std::vector<FlightPtr>& abandoned) {
    if (on_abandon_) {
      for (const FlightPtr& f : abandoned) on_abandon_(f->key_, f->id_);
    }
    return out;
  }

  const OnAbandon on_abandon_;
  mutable Mutex mu_;
  CondVar cv_;
  std::map<Key, FlightPtr> flights_ GUARDED_BY(mu_);
  uint64_t next_id_ GUARDED_BY(mu_) = 0;
};

}  // namespace modelrt::internal
