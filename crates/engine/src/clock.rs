//! Time, injected so that time-dependent behaviour is testable without sleeping.

use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now(&self) -> f64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    /// Milliseconds precision, as DynamoDB's timestamps have.
    fn now(&self) -> f64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as f64 / 1000.0)
            .unwrap_or(0.0)
    }
}

/// A clock that stands still until moved (tests).
#[derive(Default)]
pub struct ManualClock(std::sync::Mutex<f64>);

impl ManualClock {
    pub fn new(now: f64) -> Self {
        ManualClock(std::sync::Mutex::new(now))
    }

    pub fn set(&self, now: f64) {
        if let Ok(mut t) = self.0.lock() {
            *t = now;
        }
    }

    /// Move the clock forward by `secs`.
    pub fn advance(&self, secs: f64) {
        if let Ok(mut t) = self.0.lock() {
            *t += secs;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> f64 {
        self.0.lock().map(|t| *t).unwrap_or(0.0)
    }
}
