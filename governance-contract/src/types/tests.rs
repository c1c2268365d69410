use proptest::prelude::*;

use super::*;

#[test]
fn platforms_mask__should_round_trip_and_put_simulated_at_bit_5() {
    assert_eq!(platform_bit(Platform::Simulated), 1 << 5);
    assert_eq!(platform_bit(Platform::Tdx), 1 << 1);
    let all = platforms_mask(&Platform::ALL);
    assert_eq!(platforms_from_mask(all), Platform::ALL.to_vec());
    let some = platforms_mask(&[Platform::Nitro, Platform::Sgx]);
    assert_eq!(
        platforms_from_mask(some),
        vec![Platform::Sgx, Platform::Nitro]
    );
    assert!(platforms_from_mask(1).is_empty());
}

#[test]
fn vendor_name__should_keep_the_cli_names() {
    assert_eq!(vendor_name(&Vendor::Intel), "intel");
    assert_eq!(vendor_name(&Vendor::Aws), "aws");
    assert_eq!(vendor_name(&Vendor::simulated(3)), "simulated-3");
    assert_eq!(
        vendor_name(&Vendor::Simulated("sim-intel".into())),
        "simulated(sim-intel)"
    );
}

#[test]
fn node_platform__should_derive_vendor_and_family_and_round_trip() {
    for (p, v, f) in [
        (
            NodePlatform::hardware(Platform::Tdx).unwrap(),
            Vendor::Intel,
            TeeFamily::MemoryEncryption,
        ),
        (
            NodePlatform::hardware(Platform::Sgx).unwrap(),
            Vendor::Intel,
            TeeFamily::MemoryEncryption,
        ),
        (
            NodePlatform::hardware(Platform::SevSnp).unwrap(),
            Vendor::Amd,
            TeeFamily::MemoryEncryption,
        ),
        (
            NodePlatform::hardware(Platform::Nitro).unwrap(),
            Vendor::Aws,
            TeeFamily::Hypervisor,
        ),
        (
            NodePlatform::simulated(3),
            Vendor::Simulated("sim-3".into()),
            TeeFamily::Simulated(3),
        ),
    ] {
        assert_eq!((p.vendor(), p.family()), (v.clone(), f));
        assert_eq!(NodePlatform::try_from(p.code()).unwrap(), p);
        assert_eq!(NodePlatform::try_from((p.platform(), &v)).unwrap(), p);
        assert_eq!(p.to_string().parse::<NodePlatform>().unwrap(), p);
    }
    assert_eq!(NodePlatform::simulated(3).code(), 0x83);
    assert_eq!(
        "simulated".parse::<NodePlatform>().unwrap(),
        NodePlatform::simulated(0)
    );
    for bad in [0u8, 5, 127] {
        assert!(NodePlatform::try_from(bad).is_err());
    }
    assert!(NodePlatform::try_from((Platform::Tdx, &Vendor::Amd)).is_err());
    assert!(
        NodePlatform::try_from((Platform::Simulated, &Vendor::Simulated("sim-amd".into())))
            .is_err()
    );
}

#[test]
fn proposal_action__should_decode_what_solidity_abi_encode_produces() {
    let voters = vec![Address::repeat_byte(1), Address::repeat_byte(2)];
    let payload = (voters.clone(), 2u16, 1u16, 3600u64).abi_encode_params();
    assert_eq!(
        ProposalAction::decode(ProposalKind::Council, &payload).unwrap(),
        ProposalAction::Council {
            voters,
            quorum: 2,
            revoke_quorum: 1,
            timelock: 3600
        }
    );
    let m = [7u8; 32];
    let payload = FixedBytes::<32>::from(m).abi_encode();
    assert_eq!(
        ProposalAction::decode(ProposalKind::Approve, &payload).unwrap(),
        ProposalAction::Approve { measurement: m }
    );
}

#[test]
fn epoch_info__should_refuse_a_group_key_of_the_wrong_length() {
    let v = Governance::EpochView {
        epoch: 1,
        status: 2,
        threshold: 2,
        createdAt: 1,
        activatedAt: 2,
        transcriptHash: FixedBytes::repeat_byte(1),
        blsGroupPk: Bytes::from(vec![1u8; 47]),
        secpGroupPk: Bytes::from(vec![2u8; 33]),
        committee: vec![],
        confirmations: 3,
        deadline: 0,
        notConfirmed: vec![],
    };
    assert!(matches!(
        EpochInfo::try_from(v),
        Err(Error::BadLength {
            field: "bls_group_pk",
            expected: 48,
            got: 47
        })
    ));
}

#[test]
fn network_policy__should_round_trip_its_abi_encoding() {
    let p = NetworkPolicy {
        snp_min_tcb: [
            NetworkPolicy::pack_snp(0, 3, 0, 8, 209),
            0,
            NetworkPolicy::pack_snp(1, 2, 3, 4, 5),
        ],
        dcap_min_tcb_evaluation_data_number: 17,
        dcap_max_collateral_age_secs: 30 * 86_400,
        max_evidence_age_secs: 600,
    };
    let bytes = p.encode().unwrap();
    assert_eq!(bytes.len(), 6 * 32);
    assert_eq!(NetworkPolicy::decode(&bytes).unwrap(), p);
    assert_eq!(NetworkPolicy::unpack_snp(p.snp_min_tcb[2]), [1, 2, 3, 4, 5]);
    assert_eq!(
        NetworkPolicy::decode(&[]).unwrap(),
        NetworkPolicy::default()
    );
    let too_big = NetworkPolicy {
        snp_min_tcb: [1 << 40, 0, 0],
        ..p
    };
    assert!(too_big.encode().is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn proposal_action_decode__should_never_panic_on_random_bytes(
        kind in 1u8..=11,
        payload in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let kind = ProposalKind::try_from(kind).unwrap();
        let _ = ProposalAction::decode(kind, &payload);
    }

    #[test]
    fn codes__should_never_panic_on_any_byte(code in any::<u8>()) {
        let _ = Vendor::from_code(code);
        let _ = Platform::from_chain_code(code);
        let _ = Platform::from_node_code(code);
        let _ = TeeFamily::try_from(code);
        let _ = NodePlatform::try_from(code);
        let _ = ProposalKind::try_from(code);
        let _ = ProposalState::try_from(code);
        let _ = EpochStatus::try_from(code);
    }
}
