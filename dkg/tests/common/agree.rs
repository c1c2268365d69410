//! Shared by the integration tests (included with `#[path]`): what "honest parties
//! agree" means.

use dkg::keys::PublicKeys;
use dkg::suite::Suite;
use dkg::vss::Output;
use group::Group;

/// All outputs agree (public keys, transcript hash, QUAL), every share present matches
/// its public share, and the public shares are consistent with the group key. Returns
/// the common public keys.
pub fn must_agree<'a, S: Suite>(outputs: impl IntoIterator<Item = &'a Output<S>>) -> PublicKeys<S> {
    let mut outputs = outputs.into_iter();
    let first = outputs.next().expect("no outputs");
    for o in std::iter::once(first).chain(outputs) {
        assert_eq!(o.public(), first.public());
        assert_eq!(o.transcript_hash(), first.transcript_hash());
        assert_eq!(o.qualified(), first.qualified());
        if let Some(s) = o.key_share() {
            assert_eq!(
                Some(&s.mul(&S::Point::generator())),
                first.public().share(s.index())
            );
        }
    }
    // Any t public shares interpolate to the group key (Lagrange in the exponent).
    first
        .public()
        .check_consistent()
        .expect("inconsistent public keys");
    first.public().clone()
}
