//! clap value parsers: each turns an argument's text into the SDK's typed value with
//! the SDK's parser, so a refused value has the SDK's error kind (`bad_input`,
//! `invalid_timelock`, …) and names the flag. `kms` reports it like a failed command
//! (exit 1, CLI.md error object), not as a usage error.

use alloy::primitives::Address;
use attestation_gate::UnixTime;
use clients::sdk::parse;
use clients::Error;
use governance_contract::Platform;

/// The result of a value parser.
type Parsed<T> = Result<T, Error>;

/// A comma-separated list of account addresses (`ADDR,ADDR,…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addresses(pub Vec<Address>);

/// A comma-separated list of platforms (`tdx,sgx,…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platforms(pub Vec<Platform>);

/// `on` or `off`. (The variants have no doc comments so that help lists them as
/// `[possible values: on, off]`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    On,
    Off,
}

impl Switch {
    /// `true` for `on`.
    pub fn is_on(self) -> bool {
        self == Switch::On
    }
}

/// 32 bytes of hex (ids, measurements, salts, keys); `what` names the argument.
pub fn hex32(what: &'static str) -> impl Fn(&str) -> Parsed<[u8; 32]> + Clone + Send + Sync {
    move |s| parse::bytes32(what, s)
}

/// `ADDR,ADDR,…`; `what` names the argument.
pub fn addresses(what: &'static str) -> impl Fn(&str) -> Parsed<Addresses> + Clone + Send + Sync {
    move |s| parse::address_list(what, s).map(Addresses)
}

/// `tdx,sgx,sev-snp,nitro,simulated`.
pub fn platforms(s: &str) -> Parsed<Platforms> {
    parse::platforms(s).map(Platforms)
}

/// A duration (`90s`, `10m`, `1h`, `7d`, bare seconds) in seconds.
pub fn duration(s: &str) -> Parsed<u64> {
    parse::duration(s)
}

/// A timelock within the contract's bounds.
pub fn timelock(s: &str) -> Parsed<u64> {
    parse::timelock(s)
}

/// A proposal lifetime within the contract's bounds.
pub fn lifetime(s: &str) -> Parsed<u64> {
    parse::lifetime(s)
}

/// A transition deadline within the contract's bounds.
pub fn transition_deadline(s: &str) -> Parsed<u64> {
    parse::transition_deadline(s)
}

/// A `kms gov proposals --limit` within `1..=MAX_PAGE`. Not a number: a usage error,
/// as clap's own integer parser gives.
pub fn page_limit(s: &str) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    let n = s.parse::<u64>()?;
    Ok(clients::sdk::gov::check_page_limit(n)?)
}

/// An SEV-SNP floor of the Milan or Genoa line (4 SPLs) or `none`.
pub fn snp_floor(what: &'static str) -> impl Fn(&str) -> Parsed<u64> + Clone + Send + Sync {
    move |s| parse::snp_floor(what, s, false)
}

/// An SEV-SNP floor of the Turin line (5 SPLs, fmc first) or `none`.
pub fn snp_turin_floor(s: &str) -> Parsed<u64> {
    parse::snp_floor("--snp-turin", s, true)
}

/// `--at`: RFC 3339 (`2025-07-01T00:00:00Z`, offsets allowed), or `@<unix seconds>`.
pub fn time(s: &str) -> Parsed<UnixTime> {
    let bad = || {
        Error::BadInput(format!(
            "--at {s:?} is not an RFC 3339 time such as 2025-07-01T00:00:00Z"
        ))
    };
    if let Some(secs) = s.strip_prefix('@') {
        return secs.parse().map(UnixTime).map_err(|_| bad());
    }
    let t = ::time::OffsetDateTime::parse(s, &::time::format_description::well_known::Rfc3339)
        .map_err(|_| bad())?;
    u64::try_from(t.unix_timestamp())
        .map(UnixTime)
        .map_err(|_| bad())
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn time__should_read_rfc3339_and_unix_seconds() {
        assert_eq!(time("2025-07-01T00:00:00Z").unwrap(), UnixTime(1751328000));
        assert_eq!(
            time("2025-07-01T02:00:00+02:00").unwrap(),
            UnixTime(1751328000)
        );
        assert_eq!(time("@1751328000").unwrap(), UnixTime(1751328000));
        assert_eq!(time("yesterday").unwrap_err().kind(), "bad_input");
        assert_eq!(
            time("1960-01-01T00:00:00Z").unwrap_err().kind(),
            "bad_input"
        );
    }

    #[test]
    fn hex32__should_name_the_argument_in_its_refusal() {
        let app = hex32("--app");
        assert_eq!(app(&"ab".repeat(32)).unwrap(), [0xab; 32]);
        assert_eq!(app(&format!("0x{}", "01".repeat(32))).unwrap(), [1; 32]);
        let e = app("abcd").unwrap_err();
        assert_eq!(e.kind(), "bad_input");
        assert!(e.to_string().contains("--app"), "{e}");
        assert_eq!(app("zz").unwrap_err().kind(), "bad_input");
    }

    #[test]
    fn addresses_and_platforms__should_read_comma_lists() {
        let a = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
        let voters = addresses("--voters");
        assert_eq!(voters(&format!("{a},{a},")).unwrap().0.len(), 2);
        let e = voters("0x1234").unwrap_err();
        assert!(e.to_string().contains("--voters"), "{e}");
        assert_eq!(
            platforms("tdx,nitro").unwrap(),
            Platforms(vec![Platform::Tdx, Platform::Nitro])
        );
        assert_eq!(platforms("tdx,arm").unwrap_err().kind(), "bad_input");
    }

    #[test]
    fn durations__should_keep_the_contract_kinds_for_out_of_range_values() {
        assert_eq!(duration("10m").unwrap(), 600);
        assert_eq!(duration("10w").unwrap_err().kind(), "bad_input");
        assert_eq!(timelock("366d").unwrap_err().kind(), "invalid_timelock");
        assert_eq!(lifetime("0s").unwrap_err().kind(), "invalid_lifetime");
        assert_eq!(
            transition_deadline("31d").unwrap_err().kind(),
            "invalid_deadline"
        );
        assert_eq!(transition_deadline("1d").unwrap(), 86_400);
    }

    #[test]
    fn page_limit_and_snp_floors__should_refuse_out_of_range_values() {
        assert_eq!(page_limit("100").unwrap(), 100);
        for bad in ["0", "101"] {
            let e = page_limit(bad).unwrap_err();
            assert_eq!(e.downcast_ref::<Error>().unwrap().kind(), "bad_input");
        }
        // Not a number: no SDK error, so `kms` reports a usage error.
        assert!(page_limit("x")
            .unwrap_err()
            .downcast_ref::<Error>()
            .is_none());
        assert_eq!(snp_floor("--snp-milan")("none").unwrap(), 0);
        assert!(snp_floor("--snp-milan")("1,2,3,4").is_ok());
        assert!(snp_floor("--snp-milan")("1,2,3,4,5").is_err());
        assert!(snp_turin_floor("1,2,3,4,5").is_ok());
        assert!(snp_turin_floor("1,2,3,4").is_err());
    }

    #[test]
    fn value_parser_refusal__should_reach_main_as_the_sdk_error() {
        use clap::Parser;
        #[derive(clap::Parser, Debug)]
        struct T {
            #[arg(long, value_parser = hex32("--app"))]
            app: [u8; 32],
        }
        let e = T::try_parse_from(["t", "--app", "12"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation);
        let sdk = std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<Error>())
            .unwrap();
        assert_eq!(sdk.kind(), "bad_input");
    }
}
