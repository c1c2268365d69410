//! Best-effort erasure of secret field elements.
//!
//! `blstrs::Scalar` does not implement `Zeroize`, so secret scalars live in
//! [`SecretScalar`], whose `Drop` overwrites them with zero followed by a compiler fence
//! (the same technique as `zeroize`, without its volatile write, which needs `unsafe`).

use core::sync::atomic::{compiler_fence, Ordering};

use ff::Field;

/// A secret scalar, zeroed on drop. No `Debug`, `Clone` or `Serialize`.
pub(crate) struct SecretScalar<F: Field>(pub(crate) F);

impl<F: Field> SecretScalar<F> {
    pub(crate) fn new(value: F) -> Self {
        Self(value)
    }
    pub(crate) fn expose(&self) -> &F {
        &self.0
    }
}

impl<F: Field> Drop for SecretScalar<F> {
    fn drop(&mut self) {
        self.0 = F::ZERO;
        compiler_fence(Ordering::SeqCst);
    }
}

/// A secret polynomial (coefficients, constant term first), zeroed on drop.
pub(crate) struct SecretPoly<F: Field>(pub(crate) Vec<F>);

impl<F: Field> Drop for SecretPoly<F> {
    fn drop(&mut self) {
        for c in self.0.iter_mut() {
            *c = F::ZERO;
        }
        compiler_fence(Ordering::SeqCst);
    }
}
