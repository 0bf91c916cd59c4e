//! How a test says what went wrong: every check returns early with a
//! [`Fail`] naming the check, so one failing test never stops the suite.

use alloc::format;
use alloc::string::String;
use core::fmt::Debug;

/// Why a test failed.
#[derive(Debug)]
pub struct Fail(pub String);

impl From<sel4::Error> for Fail {
    fn from(e: sel4::Error) -> Fail {
        Fail(format!("unexpected error {e:?}"))
    }
}

impl From<&str> for Fail {
    fn from(s: &str) -> Fail {
        Fail(s.into())
    }
}

impl From<String> for Fail {
    fn from(s: String) -> Fail {
        Fail(s)
    }
}

/// A test's outcome.
pub type TestResult<T = ()> = Result<T, Fail>;

/// Names the step an invocation error came from.
pub trait Context<T> {
    fn ctx(self, what: &str) -> TestResult<T>;
}

impl<T> Context<T> for sel4::Result<T> {
    fn ctx(self, what: &str) -> TestResult<T> {
        self.map_err(|e| Fail(format!("{what}: unexpected error {e:?}")))
    }
}

impl<T> Context<T> for TestResult<T> {
    fn ctx(self, what: &str) -> TestResult<T> {
        self.map_err(|e| Fail(format!("{what}: {}", e.0)))
    }
}

/// Fails with `what` unless `ok`.
pub fn ensure(ok: bool, what: impl FnOnce() -> String) -> TestResult {
    if ok { Ok(()) } else { Err(Fail(what())) }
}

/// Fails unless `got == want`.
pub fn ensure_eq<T: PartialEq + Debug>(got: T, want: T, what: &str) -> TestResult {
    if got == want { Ok(()) } else { Err(Fail(format!("{what}: expected {want:?}, got {got:?}"))) }
}

/// Fails unless `r` is the error `want`.
pub fn expect_err<T: Debug>(r: sel4::Result<T>, want: sel4::Error, what: &str) -> TestResult {
    match r {
        Err(e) if e == want => Ok(()),
        Err(e) => Err(Fail(format!("{what}: expected {want:?}, got {e:?}"))),
        Ok(v) => Err(Fail(format!("{what}: expected {want:?}, got success ({v:?})"))),
    }
}

/// Fails unless `label` (a reply label) is `want`'s code.
pub fn expect_label(label: u64, want: sel4::Error, what: &str) -> TestResult {
    let got = sel4::sys::Error::from_word(label);
    ensure(label == want.code(), || {
        format!("{what}: expected {want:?}, got label {label} ({got:?})")
    })
}
