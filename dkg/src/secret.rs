//! Erasure of secret field elements with the `zeroize` crate.
//!
//! `blstrs::Scalar` does not implement `Zeroize`. Every `ff::Field` is `Copy + Default`
//! with `Default` the zero element, so the local wrapper [`Zeroable`] gets `Zeroize` from
//! [`zeroize::DefaultIsZeroes`] (a volatile write of zero followed by a fence), and the
//! secret types below derive `ZeroizeOnDrop` from it.

use ff::Field;
use rand_core::CryptoRngCore;
use zeroize::{DefaultIsZeroes, Zeroize, ZeroizeOnDrop};

use crate::party::PartyIndex;
use crate::suite::{self, Suite};

/// A field element that the `zeroize` crate can erase.
#[derive(Clone, Copy, Default)]
pub(crate) struct Zeroable<F>(F);

impl<F: Field> DefaultIsZeroes for Zeroable<F> {}

/// A secret scalar, zeroed on drop. No `Debug`, `Clone` or `Serialize`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct SecretScalar<F: Field>(Zeroable<F>);

impl<F: Field> SecretScalar<F> {
    pub(crate) fn new(value: F) -> Self {
        Self(Zeroable(value))
    }
    pub(crate) fn expose(&self) -> &F {
        &self.0 .0
    }
    pub(crate) fn expose_mut(&mut self) -> &mut F {
        &mut self.0 .0
    }
}

/// A secret polynomial (coefficients, constant term first), zeroed on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct SecretPoly<F: Field>(Vec<Zeroable<F>>);

impl<F: Field> SecretPoly<F> {
    /// Constant term `a0`, then `degree` random coefficients.
    pub(crate) fn random(a0: F, degree: usize, rng: &mut impl CryptoRngCore) -> Self {
        let mut coeffs = Vec::with_capacity(degree + 1);
        coeffs.push(Zeroable(a0));
        for _ in 0..degree {
            coeffs.push(Zeroable(F::random(&mut *rng)));
        }
        Self(coeffs)
    }

    /// The coefficients, constant term first.
    pub(crate) fn coeffs(&self) -> impl DoubleEndedIterator<Item = &F> {
        self.0.iter().map(|c| &c.0)
    }

    /// The constant term (zero for an empty polynomial).
    #[cfg(feature = "insecure-dealer")]
    pub(crate) fn constant(&self) -> F {
        self.0.first().map(|c| c.0).unwrap_or(F::ZERO)
    }
}

impl<F: Field> SecretPoly<F> {
    /// `f(x)` at a party index (Horner).
    pub(crate) fn eval<S: Suite<Scalar = F>>(&self, x: PartyIndex) -> F {
        suite::eval_poly::<S>(self.coeffs(), x)
    }
}

#[cfg(test)]
#[allow(non_snake_case, clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    #[test]
    fn zeroize__should_clear_scalars_and_polynomials() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let mut s = SecretScalar::new(blstrs::Scalar::ONE);
        s.zeroize();
        assert_eq!(*s.expose(), blstrs::Scalar::ZERO);
        let mut p = SecretPoly::random(k256::Scalar::ONE, 3, &mut rng);
        assert_eq!(p.coeffs().count(), 4);
        p.zeroize();
        assert_eq!(p.coeffs().count(), 0);
    }
}
