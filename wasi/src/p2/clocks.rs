//! `wasi:clocks`'s host side: the monotonic clock (its time, and
//! pollables of a deadline on it) and the wall clock.
//!
//! A deadline's pollable waits with [`nyash_engine::host::sleep`], the
//! engine's one timer thread: a sleeping async call suspends on its fiber
//! and costs a heap entry, not a thread; a synchronous one parks.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use nyash_engine::component::Resource;

use super::io::{Pollable, Subscribe, subscribe_owned, table_error};
use super::wasi::clocks::{monotonic_clock, wall_clock};
use crate::WasiCtx;
use crate::core::clock::{self, Clock};

/// A point on the monotonic clock a pollable waits for.
enum Deadline {
    /// Already passed when it was asked for.
    Past,
    /// In the future.
    At(Instant),
    /// Too far to represent (`u64` nanoseconds past what `Instant` holds):
    /// never reached.
    Never,
}

impl Deadline {
    /// The deadline `nanos` nanoseconds from now.
    fn after(nanos: u64) -> Deadline {
        if nanos == 0 {
            return Deadline::Past;
        }
        match Instant::now().checked_add(Duration::from_nanos(nanos)) {
            Some(t) => Deadline::At(t),
            None => Deadline::Never,
        }
    }
}

impl Subscribe for Deadline {
    fn ready(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        match self {
            Deadline::Past => Box::pin(std::future::ready(())),
            Deadline::At(t) => Box::pin(nyash_engine::host::sleep(*t)),
            Deadline::Never => Box::pin(std::future::pending()),
        }
    }
}

impl WasiCtx {
    fn deadline_pollable(
        &mut self,
        d: Deadline,
        what: &'static str,
    ) -> nyash_engine::Result<Resource<Pollable>> {
        subscribe_owned(&mut self.table, d).map_err(table_error(what))
    }
}

impl monotonic_clock::Host for WasiCtx {
    fn now(&mut self) -> nyash_engine::Result<u64> {
        Ok(clock::monotonic_now())
    }

    fn resolution(&mut self) -> nyash_engine::Result<u64> {
        Ok(clock::resolution(Clock::Monotonic))
    }

    fn subscribe_instant(&mut self, when: u64) -> nyash_engine::Result<Resource<Pollable>> {
        let d = Deadline::after(when.saturating_sub(clock::monotonic_now()));
        self.deadline_pollable(d, "wasi:clocks/monotonic-clock subscribe-instant")
    }

    fn subscribe_duration(&mut self, when: u64) -> nyash_engine::Result<Resource<Pollable>> {
        self.deadline_pollable(
            Deadline::after(when),
            "wasi:clocks/monotonic-clock subscribe-duration",
        )
    }
}

/// `nanos` nanoseconds as a `datetime`.
fn datetime(nanos: u64) -> wall_clock::Datetime {
    wall_clock::Datetime {
        seconds: nanos / 1_000_000_000,
        nanoseconds: (nanos % 1_000_000_000) as u32,
    }
}

impl wall_clock::Host for WasiCtx {
    fn now(&mut self) -> nyash_engine::Result<wall_clock::Datetime> {
        // Before the epoch (a badly set host clock) reads as the epoch.
        Ok(datetime(clock::now(Clock::Realtime).unwrap_or(0)))
    }

    fn resolution(&mut self) -> nyash_engine::Result<wall_clock::Datetime> {
        Ok(datetime(clock::resolution(Clock::Realtime)))
    }
}
