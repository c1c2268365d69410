//! The TDX, SGX and SEV-SNP samples of `shared/fixtures/attestation/README.md`, with the
//! outcomes and facts it lists, and helpers to load them.

#![allow(dead_code)]

use std::path::PathBuf;

use attestation_gate::{Collateral, Platform, TcbStatus, UnixTime};

pub const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/attestation"
);

pub fn path(rel: &str) -> PathBuf {
    PathBuf::from(FIXTURES).join(rel)
}

pub fn must_read(rel: &str) -> Vec<u8> {
    std::fs::read(path(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

/// Every file of a sample folder, by file name (the CLI's `--collateral DIR`).
pub fn must_collateral(dir: &str) -> Collateral {
    let mut c = Collateral::new();
    for entry in std::fs::read_dir(path(dir)).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            let name = entry.file_name().into_string().unwrap();
            c.insert(name, std::fs::read(entry.path()).unwrap());
        }
    }
    c
}

pub enum Expect {
    Accept {
        /// `raw` fields (CLI names) and their hex values.
        raw: &'static [(&'static str, &'static str)],
        report_data: &'static str,
        debug: bool,
        tcb_status: Option<TcbStatus>,
    },
    /// The error kind (`Error::kind`).
    Reject(&'static str),
}

pub struct Sample {
    pub name: &'static str,
    pub platform: Platform,
    pub dir: &'static str,
    pub evidence: &'static str,
    pub t: UnixTime,
    /// A time before the window (must give `not_yet_valid`).
    pub before: UnixTime,
    /// A time after the window (must give `expired`).
    pub after: UnixTime,
    pub expect: Expect,
}

impl Sample {
    pub fn evidence_bytes(&self) -> Vec<u8> {
        must_read(&format!("{}/{}", self.dir, self.evidence))
    }

    pub fn collateral(&self) -> Collateral {
        must_collateral(self.dir)
    }
}

const Z48: &str = "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

pub const TDX_V4_UPTODATE: Sample = Sample {
    name: "tdx/dcapqvl-v4-uptodate",
    platform: Platform::Tdx,
    dir: "tdx/dcapqvl-v4-uptodate",
    evidence: "quote.bin",
    t: UnixTime(1751328000),
    before: UnixTime(1748736000),
    after: UnixTime(1753056000),
    expect: Expect::Accept {
        raw: &[
            ("mrtd", "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7"),
            ("rtmr0", "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0"),
            ("rtmr1", "0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378"),
            ("rtmr2", "d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d7330733642e01d48c3132"),
            ("rtmr3", Z48),
            ("mrconfigid", Z48),
            ("mrowner", Z48),
            ("mrownerconfig", Z48),
            ("mrseam", "5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1"),
            ("tee_tcb_svn", "06010300000000000000000000000000"),
            ("td_attributes", "0000001000000000"),
            ("xfam", "e702060000000000"),
        ],
        report_data: "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20",
        debug: false,
        tcb_status: Some(TcbStatus::UpToDate),
    },
};

pub const TDX_V4_NEAR_GAS: Sample = Sample {
    name: "tdx/dcapqvl-v4-near-gas",
    platform: Platform::Tdx,
    dir: "tdx/dcapqvl-v4-near-gas",
    evidence: "quote.hex",
    t: UnixTime(1757894400),
    before: UnixTime(1756000000),
    after: UnixTime(1759968000),
    expect: Expect::Accept {
        raw: &[
            ("mrtd", "f06dfda6dce1cf904d4e2bab1dc370634cf95cefa2ceb2de2eee127c9382698090d7a4a13e14c536ec6c9c3c8fa87077"),
            ("mrconfigid", "0112a20aed7d6c68601e9f6e108a93b4199ae7231684307ffc4833c9cd08d45de7000000000000000000000000000000"),
            ("rtmr0", "68102e7b524af310f7b7d426ce75481e36c40f5d513a9009c046e9d37e31551f0134d954b496a3357fd61d03f07ffe96"),
            ("rtmr1", "19d16ecd33220ee15965b4fb28a0661e85ec4cad0a20d920bf4028f58ad014b262af3c9b0530f283e7d032e7bdca6308"),
            ("rtmr2", "05ac95f479e23db627217ce58b2587483c9ee4f374a7d8ebee3b812b8cfd8fd8fca04696369c33bd5279590d83e713c0"),
            ("rtmr3", "287a9242edd8c8429913ec66f44af611b820cf9b574f303a6caeddeb4c9826311aef6e518aaf4a17f55a81154592b7b3"),
            ("mrseam", "5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1"),
            ("tee_tcb_svn", "06010400000000000000000000000000"),
            ("td_attributes", "0000001000000000"),
            ("xfam", "0702000000000000"),
        ],
        report_data: "0001d579ba6e734a1046feb6112f852df5f4f1e44a4e7ce1755ce3b07bd6aaab04e89ca01fdf4956d2f609c2709731cb813a0000000000000000000000000000",
        debug: false,
        tcb_status: Some(TcbStatus::UpToDate),
    },
};

pub const TDX_V5_NO_TCB_MATCH: Sample = Sample {
    name: "tdx/dcapqvl-v5-no-tcb-match",
    platform: Platform::Tdx,
    dir: "tdx/dcapqvl-v5-no-tcb-match",
    evidence: "quote.bin",
    t: UnixTime(1772323200),
    before: UnixTime(1771000000),
    after: UnixTime(1775000000),
    expect: Expect::Reject("tcb_mismatch"),
};

pub const TDX_V4_OUTOFDATE: Sample = Sample {
    name: "tdx/zkdcap-v4-outofdate",
    platform: Platform::Tdx,
    dir: "tdx/zkdcap-v4-outofdate",
    evidence: "quote.bin",
    t: UnixTime(1738368000),
    before: UnixTime(1737000000),
    after: UnixTime(1740441600),
    expect: Expect::Accept {
        raw: &[
            ("mrtd", "935be7742dd89c6a4df6dba8353d89041ae0f052beef993b1e7f4524d3bc57650df20e5582158352e1240b3f1fed55d8"),
            ("rtmr0", Z48),
            ("rtmr1", Z48),
            ("rtmr2", Z48),
            ("rtmr3", Z48),
            ("mrconfigid", Z48),
            ("mrowner", Z48),
            ("mrownerconfig", Z48),
            ("mrseam", "ffc97a88587660fb04e1f7c851300c96ae0b5a463ac46d035d16c2d9f36d0ed1d23775bcbd27deb219e3a3cc28023895"),
            ("tee_tcb_svn", "04010700000000000000000000000000"),
            ("td_attributes", "0000001000000000"),
            ("xfam", "e700060000000000"),
        ],
        report_data: "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        debug: false,
        tcb_status: Some(TcbStatus::OutOfDate),
    },
};

pub const SGX_V3: Sample = Sample {
    name: "sgx/dcapqvl-v3",
    platform: Platform::Sgx,
    dir: "sgx/dcapqvl-v3",
    evidence: "quote.bin",
    t: UnixTime(1751328000),
    before: UnixTime(1750000000),
    after: UnixTime(1753056000),
    expect: Expect::Accept {
        raw: &[
            ("mrenclave", "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb"),
            ("mrsigner", "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6"),
            ("isv_prod_id", "0000"),
            ("isv_svn", "0000"),
            ("cpu_svn", "0b0b1a18ffff04000000000000000000"),
            ("attributes", "0500000000000000e700000000000000"),
        ],
        report_data: "48656c6c6f2c20776f726c6421000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        debug: false,
        tcb_status: Some(TcbStatus::ConfigurationAndSwHardeningNeeded),
    },
};

pub const SNP_MILAN_VCEK: Sample = Sample {
    name: "sev-snp/virtee-milan-vcek",
    platform: Platform::SevSnp,
    dir: "sev-snp/virtee-milan-vcek",
    evidence: "report.hex",
    t: UnixTime(1735689600),
    before: UnixTime(1672531200),
    after: UnixTime(1924992000),
    expect: Expect::Accept {
        raw: &[
            ("measurement", "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f"),
            ("host_data", "0000000000000000000000000000000000000000000000000000000000000000"),
            ("policy", "0000000000030000"),
            ("reported_tcb", "7308000000000003"),
            ("chip_id", "d49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc15d7af38db757039029f0efacfd08e244324884738c72b082e2f87a44d541eb6"),
            ("vmpl", "00000000"),
            ("version", "00000002"),
            ("signer", "vcek"),
        ],
        report_data: "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c645810b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd",
        debug: false,
        tcb_status: None,
    },
};

pub const SNP_MILAN_DEBUG: Sample = Sample {
    name: "sev-snp/gosev-milan-debug",
    platform: Platform::SevSnp,
    dir: "sev-snp/gosev-milan-debug",
    evidence: "report.bin",
    t: UnixTime(1735689600),
    before: UnixTime(1640995200),
    after: UnixTime(1893456000),
    expect: Expect::Accept {
        raw: &[
            ("measurement", "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01"),
            ("policy", "00000000000b0000"),
            ("reported_tcb", "4405000000000002"),
            ("chip_id", "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d"),
            ("vmpl", "00000000"),
            ("signer", "vcek"),
        ],
        report_data: "01020304050000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        debug: true,
        tcb_status: None,
    },
};

pub const SNP_MILAN_VLEK: Sample = Sample {
    name: "sev-snp/trustee-milan-vlek",
    platform: Platform::SevSnp,
    dir: "sev-snp/trustee-milan-vlek",
    evidence: "report.bin",
    t: UnixTime(1748736000),
    before: UnixTime(1733011200),
    after: UnixTime(1767225600),
    expect: Expect::Accept {
        raw: &[
            ("measurement", "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0"),
            ("policy", "0000000000030000"),
            ("reported_tcb", "d918000000000004"),
            ("chip_id", "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"),
            ("vmpl", "00000001"),
            ("version", "00000003"),
            ("signer", "vlek"),
        ],
        report_data: "819770b7e6ea6df8dd8fd4dd146b073c0bf4f3ce5b0977ecac486e3a05ed1bd54e2a7ac1f5d1ca02e7d7d5ef9f73b8574fd9359e3a480d741a4478e8a7bc27ca",
        debug: false,
        tcb_status: None,
    },
};

pub const ALL: [&Sample; 8] = [
    &TDX_V4_UPTODATE,
    &TDX_V4_NEAR_GAS,
    &TDX_V5_NO_TCB_MATCH,
    &TDX_V4_OUTOFDATE,
    &SGX_V3,
    &SNP_MILAN_VCEK,
    &SNP_MILAN_DEBUG,
    &SNP_MILAN_VLEK,
];
