use super::*;

fn tdx(td_attributes: [u8; 8]) -> TdxRaw {
    TdxRaw {
        mrtd: [1; 48],
        rtmr0: [2; 48],
        rtmr1: [3; 48],
        rtmr2: [4; 48],
        rtmr3: [5; 48],
        mrseam: [6; 48],
        td_attributes,
        xfam: [7; 8],
        mrconfigid: [0; 48],
        mrowner: [0; 48],
        mrownerconfig: [0; 48],
        tee_tcb_svn: [0; 16],
    }
}

fn sgx_raw() -> SgxRaw {
    SgxRaw {
        mrenclave: [1; 32],
        mrsigner: [2; 32],
        isv_prod_id: 3,
        isv_svn: 4,
        attributes: [0x05, 0, 0, 0, 0, 0, 0, 0, 0xe7, 0, 0, 0, 0, 0, 0, 0],
        cpu_svn: [5; 16],
        config_id: [0; 64],
        config_svn: 0,
        isv_ext_prod_id: [0; 16],
        isv_family_id: [0; 16],
    }
}

#[test]
fn sgx_measurement__should_cover_attributes_and_the_kss_fields_only_with_kss() {
    let base = sgx_raw();
    let m = base.measurement();
    // CPUSVN is not part of the identity; without KSS the KSS fields are not either.
    let mut same = base.clone();
    same.cpu_svn = [9; 16];
    same.config_id = [9; 64];
    same.config_svn = 9;
    same.isv_ext_prod_id = [9; 16];
    same.isv_family_id = [9; 16];
    assert_eq!(same.measurement(), m);
    let fields: [fn(&mut SgxRaw); 6] = [
        |r| r.mrenclave[0] ^= 1,
        |r| r.mrsigner[0] ^= 1,
        |r| r.isv_prod_id ^= 1,
        |r| r.isv_svn ^= 1,
        |r| r.attributes[0] ^= 0x04,
        |r| r.attributes[8] ^= 0x01,
    ];
    for f in fields {
        let mut r = base.clone();
        f(&mut r);
        assert_ne!(r.measurement(), m);
    }
    // With KSS, each KSS field counts.
    let mut kss = base.clone();
    kss.attributes[0] |= 0x80;
    assert!(kss.kss());
    let mk = kss.measurement();
    assert_ne!(mk, m);
    let kss_fields: [fn(&mut SgxRaw); 4] = [
        |r| r.config_id[63] ^= 1,
        |r| r.config_svn ^= 1,
        |r| r.isv_ext_prod_id[0] ^= 1,
        |r| r.isv_family_id[15] ^= 1,
    ];
    for f in kss_fields {
        let mut r = kss.clone();
        f(&mut r);
        assert_ne!(r.measurement(), mk);
    }
    // The digest is the documented v2 formula.
    let mut h = Sha256::new();
    h.update(b"keynet/measurement/sgx/v2");
    h.update([1; 32]);
    h.update([2; 32]);
    h.update([0, 3, 0, 4]);
    h.update(base.attributes);
    assert_eq!(m, Measurement(h.finalize().into()));
}

#[test]
fn tdx_debug__should_count_every_tud_bit() {
    assert!(!tdx([0, 0, 0, 0x10, 0, 0, 0, 0]).debug());
    assert!(tdx([0x01, 0, 0, 0x10, 0, 0, 0, 0]).debug());
    assert!(tdx([0x10, 0, 0, 0x10, 0, 0, 0, 0]).debug());
}

#[test]
fn tdx_measurement__should_ignore_rtmr3_mrseam_and_xfam_only() {
    let base = tdx([0; 8]);
    let m = base.measurement();
    let mut t = base.clone();
    t.rtmr3 = [9; 48];
    t.mrseam = [9; 48];
    t.xfam = [9; 8];
    t.tee_tcb_svn = [9; 16];
    assert_eq!(t.measurement(), m);
    for f in [
        |t: &mut TdxRaw| t.mrtd[0] ^= 1,
        |t: &mut TdxRaw| t.rtmr0[0] ^= 1,
        |t: &mut TdxRaw| t.rtmr1[0] ^= 1,
        |t: &mut TdxRaw| t.rtmr2[0] ^= 1,
        |t: &mut TdxRaw| t.mrconfigid[0] ^= 1,
        |t: &mut TdxRaw| t.mrowner[0] ^= 1,
        |t: &mut TdxRaw| t.mrownerconfig[0] ^= 1,
        |t: &mut TdxRaw| t.td_attributes[3] ^= 1,
    ] {
        let mut t = base.clone();
        f(&mut t);
        assert_ne!(t.measurement(), m);
    }
}

#[test]
fn debug_bits__should_follow_each_platform() {
    let sgx = |flags: u8| SgxRaw {
        attributes: [flags, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ..sgx_raw()
    };
    assert!(!sgx(0x05).debug());
    assert!(sgx(0x07).debug());
    let snp = |policy: u64| SevSnpRaw {
        measurement: [0; 48],
        host_data: [0; 32],
        chip_id: [0; 64],
        policy,
        reported_tcb: 0,
        version: 2,
        vmpl: 0,
        id_key_digest: [0; 48],
        author_key_digest: [0; 48],
        signer: SnpSigner::Vcek,
        product_line: None,
    };
    assert!(!snp(0x30000).debug());
    assert!(snp(0xb0000).debug());
}
