//! Parsing of the text forms of SDK values: durations, hex, addresses, comma lists,
//! platforms. The CLI's value parsers call these; the bounds are the contract's.
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use alloy::primitives::Address;
use governance_contract::errors::{
    MAX_LIFETIME, MAX_TIMELOCK, MAX_TRANSITION_DEADLINE, MIN_TRANSITION_DEADLINE,
};

use governance_contract::Platform;

use super::error::{Error, Result};

/// Parses `90s`, `10m`, `1h`, `7d` or a bare number of seconds.
pub fn duration(s: &str) -> Result<u64> {
    let s = s.trim();
    let bad = || {
        Error::BadInput(format!(
            "{s:?} is not a duration; write it like 90s, 10m, 1h or 7d"
        ))
    };
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (s.get(..i).ok_or_else(bad)?, c),
        Some(_) => (s, 's'),
        None => return Err(bad()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86400,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).ok_or_else(bad)
}

/// A timelock: a duration of at most the contract's `MAX_TIMELOCK` (365 days); a
/// larger one is refused here with the contract's own kind, `invalid_timelock`.
pub fn timelock(s: &str) -> Result<u64> {
    bounded(s, 0, MAX_TIMELOCK, Error::InvalidTimelock, "timelock")
}

/// A proposal lifetime: 1 s to the contract's `MAX_LIFETIME` (365 days).
pub fn lifetime(s: &str) -> Result<u64> {
    bounded(
        s,
        1,
        MAX_LIFETIME,
        Error::InvalidLifetime,
        "proposal lifetime",
    )
}

/// A transition deadline: the contract's `MIN_TRANSITION_DEADLINE` (60 s) to
/// `MAX_TRANSITION_DEADLINE` (30 days).
pub fn transition_deadline(s: &str) -> Result<u64> {
    bounded(
        s,
        MIN_TRANSITION_DEADLINE,
        MAX_TRANSITION_DEADLINE,
        Error::InvalidDeadline,
        "transition deadline",
    )
}

fn bounded(s: &str, min: u64, max: u64, error: fn(String) -> Error, what: &str) -> Result<u64> {
    let v = duration(s)?;
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(error(format!(
            "the {what} must be between {min} s and {max} s, got {s} ({v} s)"
        )))
    }
}

/// An SEV-SNP floor: `bootloader,tee,snp,microcode` (with `turin`:
/// `fmc,bootloader,tee,snp,microcode`), each SPL 0..=255, packed as the contract stores
/// it; `none` is 0 (no floor: that product line is refused).
pub fn snp_floor(what: &str, s: &str, turin: bool) -> Result<u64> {
    if s.trim() == "none" {
        return Ok(0);
    }
    let want = if turin { 5 } else { 4 };
    let bad = || {
        Error::BadInput(format!(
            "{what} must be {} SPLs 0..255 separated by commas, or none; got {s:?}",
            if turin {
                "fmc,bootloader,tee,snp,microcode"
            } else {
                "bootloader,tee,snp,microcode"
            }
        ))
    };
    let spls = s
        .split(',')
        .map(|p| p.trim().parse::<u8>().map_err(|_| bad()))
        .collect::<Result<Vec<u8>, _>>()?;
    match (turin, spls.as_slice()) {
        (true, [fmc, b, t, n, m]) if spls.len() == want => Ok(
            governance_contract::NetworkPolicy::pack_snp(*fmc, *b, *t, *n, *m),
        ),
        (false, [b, t, n, m]) if spls.len() == want => Ok(
            governance_contract::NetworkPolicy::pack_snp(0, *b, *t, *n, *m),
        ),
        _ => Err(bad()),
    }
}

/// Parses exactly 32 bytes of hex (with or without `0x`).
pub fn bytes32(what: &str, s: &str) -> Result<[u8; 32]> {
    let v = hex_bytes(what, s)?;
    <[u8; 32]>::try_from(v.as_slice()).map_err(|_| {
        Error::BadInput(format!(
            "{what} must be 32 bytes of hex (64 digits), got {} bytes",
            v.len()
        ))
    })
}

/// Parses hex bytes (with or without `0x`).
pub fn hex_bytes(what: &str, s: &str) -> Result<Vec<u8>> {
    alloy::hex::decode(s.trim())
        .map_err(|_| Error::BadInput(format!("{what} must be hex digits, got {s:?}")))
}

/// Parses an account address (with or without `0x`, any case).
pub fn address(what: &str, s: &str) -> Result<Address> {
    let v = hex_bytes(what, s)?;
    <[u8; 20]>::try_from(v.as_slice())
        .map(Address::from)
        .map_err(|_| Error::BadInput(format!("{what} must be a 20-byte address, got {s:?}")))
}

/// Parses `ADDR,ADDR,…`.
pub fn address_list(what: &str, s: &str) -> Result<Vec<Address>> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| address(what, p))
        .collect()
}

/// Parses `tdx,sgx,…` (empty items skipped) into platforms.
pub fn platforms(list: &str) -> Result<Vec<Platform>> {
    list.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            p.trim().parse::<Platform>().map_err(|_| {
                Error::BadInput(format!(
                    "unknown platform {p:?}; use tdx, sgx, sev-snp, nitro or simulated"
                ))
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn duration__should_read_the_documented_units() {
        assert_eq!(duration("90s").unwrap(), 90);
        assert_eq!(duration("10m").unwrap(), 600);
        assert_eq!(duration("1h").unwrap(), 3600);
        assert_eq!(duration("7d").unwrap(), 604_800);
        assert_eq!(duration("0").unwrap(), 0);
        for bad in ["", "h", "1w", "-1s", "1.5h", "99999999999999999999d", "1ss"] {
            assert_eq!(duration(bad).unwrap_err().kind(), "bad_input", "{bad}");
        }
    }

    #[test]
    fn timelock_and_lifetime__should_refuse_values_the_contract_refuses_with_its_kind() {
        assert_eq!(timelock("365d").unwrap(), 365 * 86_400);
        assert_eq!(timelock("366d").unwrap_err().kind(), "invalid_timelock");
        assert_eq!(
            timelock("99999999999999d").unwrap_err().kind(),
            "invalid_timelock"
        );
        assert_eq!(lifetime("0s").unwrap_err().kind(), "invalid_lifetime");
        assert_eq!(lifetime("7d").unwrap(), 7 * 86_400);
        assert_eq!(
            transition_deadline("59s").unwrap_err().kind(),
            "invalid_deadline"
        );
        assert_eq!(transition_deadline("1d").unwrap(), 86_400);
        assert_eq!(timelock("1w").unwrap_err().kind(), "bad_input");
    }

    #[test]
    fn snp_floor__should_pack_per_line_and_refuse_wrong_counts() {
        assert_eq!(
            snp_floor("x", "3,0,8,115", false).unwrap(),
            governance_contract::NetworkPolicy::pack_snp(0, 3, 0, 8, 115)
        );
        assert_eq!(
            snp_floor("x", "1,3,0,8,115", true).unwrap(),
            governance_contract::NetworkPolicy::pack_snp(1, 3, 0, 8, 115)
        );
        assert_eq!(snp_floor("x", "none", true).unwrap(), 0);
        for bad in ["1,2,3", "1,2,3,4,5", "256,0,0,0", "a,b,c,d", ""] {
            assert_eq!(
                snp_floor("x", bad, false).unwrap_err().kind(),
                "bad_input",
                "{bad}"
            );
        }
        assert_eq!(
            snp_floor("x", "1,2,3,4", true).unwrap_err().kind(),
            "bad_input"
        );
    }

    #[test]
    fn address__should_accept_with_and_without_prefix() {
        let a = address("voter", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8").unwrap();
        assert_eq!(
            address("voter", "70997970c51812dc3a010c7d01b50e0d17dc79c8").unwrap(),
            a
        );
        assert_eq!(address("voter", "0x1234").unwrap_err().kind(), "bad_input");
        assert_eq!(
            address_list("voters", &format!("{a},{a}")).unwrap().len(),
            2
        );
    }

    #[test]
    fn platforms__should_read_the_list_and_name_an_unknown_one() {
        assert_eq!(
            platforms("tdx, sev-snp,,").unwrap(),
            [Platform::Tdx, Platform::SevSnp]
        );
        let e = platforms("tdx,sgz").unwrap_err();
        assert_eq!(e.kind(), "bad_input");
        assert!(e.to_string().contains("sgz"), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn parsers__should_never_panic(s in ".{0,80}") {
            let _ = duration(&s);
            let _ = bytes32("x", &s);
            let _ = address_list("x", &s);
        }
    }
}
