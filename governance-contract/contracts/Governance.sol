// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title keynet governance (DESIGN.md §6, docs/GOVERNANCE.md)
/// @notice Voters (m of k, timelock, fast revocation), applications and their approved
/// measurement digests, the node registry and the committee epochs of a keynet network.
/// @dev Every application, including the network itself (`nodeAppId`, whose approved
/// measurements are the kms-node builds), is governed by its own council. Proposals of
/// one council are voted only by that council's voters. Committee changes, cancelling a
/// stuck transition and the TEE-family rule belong to the network council.
contract Governance {
    // ------------------------------------------------------------------ constants

    /// Proposal kinds (ABI: uint8).
    uint8 internal constant KIND_APPROVE = 1;
    uint8 internal constant KIND_REVOKE = 2;
    uint8 internal constant KIND_COUNCIL = 3;
    uint8 internal constant KIND_COMMITTEE = 4;
    uint8 internal constant KIND_CANCEL_TRANSITION = 5;
    uint8 internal constant KIND_FAMILY_CAP = 6;
    uint8 internal constant KIND_PLATFORMS = 7;
    uint8 internal constant KIND_LIVENESS_RULE = 8;
    uint8 internal constant KIND_VETO = 9;
    uint8 internal constant KIND_TRANSITION_DEADLINE = 10;
    uint8 internal constant KIND_NETWORK_POLICY = 11;

    /// Proposal states returned by `proposalState` (ABI: uint8).
    uint8 internal constant STATE_UNKNOWN = 0;
    uint8 internal constant STATE_PENDING = 1; // fewer votes than its quorum
    uint8 internal constant STATE_QUEUED = 2; // quorum reached, timelock running
    uint8 internal constant STATE_READY = 3; // executable now
    uint8 internal constant STATE_EXECUTED = 4;
    uint8 internal constant STATE_CANCELLED = 5;
    uint8 internal constant STATE_EXPIRED = 6;
    uint8 internal constant STATE_VOIDED = 7; // an approval whose digest was revoked since
    uint8 internal constant STATE_VETOED = 8;

    /// Epoch states (ABI: uint8).
    uint8 internal constant EPOCH_NONE = 0;
    uint8 internal constant EPOCH_PENDING = 1;
    uint8 internal constant EPOCH_ACTIVE = 2;
    uint8 internal constant EPOCH_SUPERSEDED = 3;
    uint8 internal constant EPOCH_CANCELLED = 4;

    /// Diversity rules named by `DiversityViolation`.
    uint8 internal constant RULE_VENDOR = 1;
    uint8 internal constant RULE_OPERATOR = 2;
    uint8 internal constant RULE_FAMILY = 3;

    /// Bounds of durations (seconds), so `now + timelock + lifetime` never overflows
    /// and a council cannot lock itself out for ages.
    uint64 internal constant MAX_TIMELOCK = 365 days;
    uint64 internal constant MAX_LIFETIME = 365 days;
    uint64 internal constant MIN_TRANSITION_DEADLINE = 60;
    uint64 internal constant MAX_TRANSITION_DEADLINE = 30 days;
    /// Largest page `proposalIds` returns.
    uint256 internal constant MAX_PAGE = 100;

    /// Bounds that keep every loop of this contract cheap.
    uint256 internal constant MAX_VOTERS = 64;
    uint256 internal constant MAX_COMMITTEE = 64;
    uint256 internal constant MAX_P2P_KEY = 256;
    uint256 internal constant MAX_ENDPOINT = 512;

    /// Node platform codes: 1 tdx, 2 sgx, 3 sev-snp, 4 nitro, 128 + N simulated-N.
    /// Bit 5 of `allowedPlatforms` admits every simulated label.
    uint8 private constant PLATFORM_SIMULATED_BIT = 5;
    uint8 private constant SIMULATED_BASE = 128;

    /// EIP-712 (docs/GOVERNANCE.md, "Node registration").
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant REGISTRATION_TYPEHASH =
        keccak256("NodeRegistration(address operator,bytes p2pKey,bytes32 noiseKey,uint8 platform)");
    /// secp256k1 group order / 2: signatures with a larger `s` are malleable copies.
    uint256 private constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    // Internal proposal status (the stored part of the state).
    uint8 private constant STATUS_OPEN = 1;
    uint8 private constant STATUS_EXECUTED = 2;
    uint8 private constant STATUS_CANCELLED = 3;
    uint8 private constant STATUS_VETOED = 4;

    // ------------------------------------------------------------------ types

    struct Council {
        address[] voters;
        uint16 quorum;
        uint16 revokeQuorum;
        uint64 timelock;
    }

    struct App {
        address owner;
        bool exists;
        Council council;
        bytes32[] measurements;
    }

    struct Proposal {
        bytes32 appId;
        address proposer;
        uint8 kind;
        uint8 status;
        uint16 votes;
        uint64 delay;
        uint64 createdAt;
        uint64 eta;
        uint64 expiresAt;
        uint32 revocations; // approvals: revocations of the digest when proposed
        bytes payload;
    }

    struct Node {
        address operator;
        address signer;
        uint8 vendor;
        uint8 platform;
        uint8 teeFamily;
        uint64 registeredAt;
        bytes32 noiseKey;
        bytes p2pKey;
        string endpoint;
    }

    struct Epoch {
        uint8 status;
        uint16 threshold;
        uint64 createdAt;
        uint64 activatedAt;
        uint64 deadline;
        bytes32 transcriptHash;
        bytes32 firstConfirmation;
        uint16 confirmations;
        bytes blsGroupPk;
        bytes secpGroupPk;
        bytes32[] committee;
        bytes32[] notConfirmed;
    }

    /// The network-wide attestation values nodes appraise evidence with (DESIGN.md §5),
    /// besides `allowedPlatforms` and the approvals; 0 means "not set" (see
    /// docs/GOVERNANCE.md for what each unset value does).
    struct NetworkPolicy {
        /// SEV-SNP minimum REPORTED_TCB per product line (Milan, Genoa, Turin), packed
        /// big-endian as fmc, bootloader, tee, snp, microcode SPLs (fmc: Turin only).
        /// 0: no floor, that line is refused.
        uint40[3] snpMinTcb;
        /// TDX/SGX minimum tcbEvaluationDataNumber of the TCB info. 0: not checked.
        uint32 dcapMinTcbEvaluationDataNumber;
        /// TDX/SGX maximum age of the TCB info (seconds from its issueDate). 0: not checked.
        uint64 dcapMaxCollateralAge;
        /// Maximum evidence age (seconds). 0: the node's default (600 s).
        uint64 maxEvidenceAge;
    }

    /// What `app` returns.
    struct AppView {
        bytes32 appId;
        address owner;
        address[] voters;
        uint16 quorum;
        uint16 revokeQuorum;
        uint64 timelock;
        bytes32[] measurements;
    }

    /// What `proposal` returns.
    struct ProposalView {
        uint256 id;
        bytes32 appId;
        address proposer;
        uint8 kind;
        uint8 state;
        uint16 votes;
        uint16 required;
        uint64 createdAt;
        uint64 eta;
        uint64 expiresAt;
        bytes payload;
    }

    /// What `node` returns.
    struct NodeView {
        bytes32 nodeId;
        address operator;
        address signer;
        uint8 vendor;
        uint8 platform;
        uint8 teeFamily;
        uint64 registeredAt;
        bytes32 noiseKey;
        bytes p2pKey;
        string endpoint;
    }

    /// What `epoch` and `activeCommittee` return.
    struct EpochView {
        uint64 epoch;
        uint8 status;
        uint16 threshold;
        uint64 createdAt;
        uint64 activatedAt;
        bytes32 transcriptHash;
        bytes blsGroupPk;
        bytes secpGroupPk;
        bytes32[] committee;
        uint16 confirmations;
        uint64 deadline;
        bytes32[] notConfirmed;
    }

    // ------------------------------------------------------------------ errors

    error NotVoter(bytes32 appId, address account);
    error AlreadyVoted(uint256 id, address voter);
    error UnknownProposal(uint256 id);
    error ProposalClosed(uint256 id, uint8 state);
    error ProposalExpired(uint256 id, uint64 expiresAt);
    error QuorumNotReached(uint256 id, uint256 votes, uint256 required);
    error TimelockPending(uint256 id, uint64 eta);
    error NotProposer(uint256 id, address account);
    error UnknownApp(bytes32 appId);
    error AppExists(bytes32 appId);
    error InvalidVoters(uint256 count);
    error DuplicateVoter(address voter);
    error InvalidQuorum(uint256 quorum, uint256 voters);
    error InvalidLifetime(uint64 lifetime);
    error InvalidTimelock(uint64 timelock);
    error InvalidDeadline(uint64 deadline);
    error InvalidNetworkPolicy();
    error ApprovalVoided(uint256 id);
    error LivenessViolation(uint8 rule, bytes32 key, uint256 remaining, uint256 threshold);
    error DeadlineNotReached(uint64 epoch, uint64 deadline);
    error NotEnoughConfirmations(uint64 epoch, uint256 matching, uint256 required);
    error AlreadyApproved(bytes32 appId, bytes32 measurement);
    error NotApproved(bytes32 appId, bytes32 measurement);
    error InvalidMeasurement();
    error UnknownNode(bytes32 nodeId);
    error NodeExists(bytes32 nodeId);
    error NotOperator(bytes32 nodeId, address account);
    error UnknownPlatform(uint8 platform);
    error PlatformNotAllowed(uint8 platform);
    error BadNodeSignature(address signer);
    error NodeInCommittee(bytes32 nodeId, uint64 epoch);
    error InvalidNodeRecord(uint8 field);
    error InvalidCommittee(uint256 size);
    error DuplicateNode(bytes32 nodeId);
    error ThresholdTooLow(uint256 threshold, uint256 size);
    error ThresholdTooHigh(uint256 threshold, uint256 size);
    error DiversityViolation(uint8 rule, bytes32 key, uint256 seats, uint256 threshold);
    error TransitionPending(uint64 epoch);
    error NoPendingTransition();
    error WrongEpoch(uint64 epoch, uint64 pending);
    error NotCommitteeMember(uint64 epoch, bytes32 nodeId);
    error AlreadyConfirmed(uint64 epoch, bytes32 nodeId);
    error InvalidGroupKey();
    error InvalidTranscript();
    error GroupKeyMismatch(uint64 epoch);

    // ------------------------------------------------------------------ events

    event AppRegistered(bytes32 indexed appId, address indexed owner, bytes32 salt);
    event CouncilChanged(
        bytes32 indexed appId, address[] voters, uint16 quorum, uint16 revokeQuorum, uint64 timelock
    );
    event ProposalCreated(
        uint256 indexed id, bytes32 indexed appId, uint8 kind, address proposer, bytes payload, uint64 expiresAt
    );
    event Voted(uint256 indexed id, address indexed voter, uint16 votes);
    event ProposalQueued(uint256 indexed id, uint64 eta);
    event ProposalExecuted(uint256 indexed id, address executor);
    event ProposalCancelled(uint256 indexed id);
    event ProposalVetoed(uint256 indexed id, uint256 vetoId);
    event MeasurementApproved(bytes32 indexed appId, bytes32 indexed measurement, uint256 proposalId);
    event MeasurementRevoked(bytes32 indexed appId, bytes32 indexed measurement, uint256 proposalId);
    event NodeRegistered(
        bytes32 indexed nodeId,
        address indexed operator,
        address signer,
        uint8 vendor,
        uint8 platform,
        uint8 teeFamily
    );
    event NodeDeregistered(bytes32 indexed nodeId);
    event NodeEndpointChanged(bytes32 indexed nodeId, string endpoint);
    event EpochProposed(uint64 indexed epoch, uint16 threshold, bytes32[] committee);
    event EpochConfirmed(uint64 indexed epoch, bytes32 indexed nodeId, bytes32 valuesHash);
    event EpochConfirmationMismatch(uint64 indexed epoch, bytes32 indexed nodeId, bytes32 expected, bytes32 got);
    event EpochActivated(uint64 indexed epoch, bytes32 transcriptHash, bytes blsGroupPk, bytes secpGroupPk);
    event EpochCancelled(uint64 indexed epoch);
    event FamilyCapChanged(bool enabled);
    event LivenessRuleChanged(bool enabled);
    event TransitionDeadlineChanged(uint64 deadline);
    event PlatformsChanged(uint32 allowedPlatforms);
    event NetworkPolicyChanged(uint256 proposalId);

    // ------------------------------------------------------------------ storage

    /// The network's own application: the kms-node builds, governed by the network
    /// voters, who also vote committee changes. keccak256(abi.encode(this, bytes32(0))).
    bytes32 public immutable nodeAppId;
    /// Seconds a proposal stays open after its timelock would end if voted at once.
    uint64 public immutable proposalLifetime;
    /// Whether no TEE family may hold `t` seats either.
    bool public familyCap;
    /// Whether the committee must keep `t` members after losing any one vendor (and,
    /// with `familyCap`, any one family) wherever its mix allows that (docs/GOVERNANCE.md).
    bool public livenessRule;
    /// Seconds after a transition starts from which it may activate without every
    /// member's confirmation.
    uint64 public transitionDeadline;
    /// Platforms whose evidence nodes accept (bit `code` set for each allowed platform
    /// code; bit 5 = simulated, which only development networks allow). DESIGN.md §5.
    uint32 public allowedPlatforms;
    bytes private policy_; // abi.encode(NetworkPolicy); empty: nothing set yet

    mapping(bytes32 => App) private apps;
    mapping(bytes32 => mapping(address => bool)) private voterOf;
    mapping(bytes32 => mapping(bytes32 => uint256)) private measurementSlot; // 1-based

    uint256 public proposalCount;
    mapping(uint256 => Proposal) private proposals;
    mapping(uint256 => mapping(address => bool)) public hasVoted;
    mapping(bytes32 => uint256[]) private appProposals;
    mapping(bytes32 => mapping(bytes32 => uint32)) private revocationCount;

    mapping(bytes32 => Node) private nodes;

    uint64 public activeEpoch;
    uint64 public pendingEpoch;
    uint64 public lastEpoch;
    mapping(uint64 => Epoch) private epochs;
    mapping(uint64 => mapping(bytes32 => bytes32)) public confirmationOf;
    mapping(uint64 => mapping(bytes32 => uint16)) private matching;

    // ------------------------------------------------------------------ construction

    constructor(
        address[] memory voters,
        uint16 quorum,
        uint16 revokeQuorum,
        uint64 timelock,
        uint64 lifetime,
        bool familyCapEnabled,
        uint32 platforms,
        uint64 deadline
    ) {
        if (lifetime == 0 || lifetime > MAX_LIFETIME) revert InvalidLifetime(lifetime);
        proposalLifetime = lifetime;
        familyCap = familyCapEnabled;
        livenessRule = true;
        _setDeadline(deadline);
        allowedPlatforms = platforms;
        emit PlatformsChanged(platforms);
        bytes32 id = keccak256(abi.encode(address(this), bytes32(0)));
        nodeAppId = id;
        _createApp(id, msg.sender, bytes32(0), voters, quorum, revokeQuorum, timelock);
    }

    // ------------------------------------------------------------------ applications

    /// Registers an application. `app_id = keccak256(abi.encode(msg.sender, salt))`.
    /// An empty `voters` list means the caller alone.
    function registerApp(
        bytes32 salt,
        address[] calldata voters,
        uint16 quorum,
        uint16 revokeQuorum,
        uint64 timelock
    ) external returns (bytes32 appId) {
        appId = keccak256(abi.encode(msg.sender, salt));
        address[] memory vs = voters;
        if (vs.length == 0) {
            vs = new address[](1);
            vs[0] = msg.sender;
        }
        _createApp(appId, msg.sender, salt, vs, quorum, revokeQuorum, timelock);
    }

    function _createApp(
        bytes32 appId,
        address owner,
        bytes32 salt,
        address[] memory voters,
        uint16 quorum,
        uint16 revokeQuorum,
        uint64 timelock
    ) private {
        App storage a = apps[appId];
        if (a.exists) revert AppExists(appId);
        a.exists = true;
        a.owner = owner;
        emit AppRegistered(appId, owner, salt);
        _setCouncil(appId, voters, quorum, revokeQuorum, timelock);
    }

    function _checkCouncil(address[] memory voters, uint16 quorum, uint16 revokeQuorum, uint64 timelock)
        private
        pure
    {
        if (timelock > MAX_TIMELOCK) revert InvalidTimelock(timelock);
        uint256 k = voters.length;
        if (k == 0 || k > MAX_VOTERS) revert InvalidVoters(k);
        for (uint256 i = 0; i < k; i++) {
            if (voters[i] == address(0)) revert InvalidVoters(k);
            for (uint256 j = i + 1; j < k; j++) {
                if (voters[i] == voters[j]) revert DuplicateVoter(voters[i]);
            }
        }
        if (quorum == 0 || quorum > k) revert InvalidQuorum(quorum, k);
        if (revokeQuorum == 0 || revokeQuorum > k) revert InvalidQuorum(revokeQuorum, k);
    }

    function _setCouncil(
        bytes32 appId,
        address[] memory voters,
        uint16 quorum,
        uint16 revokeQuorum,
        uint64 timelock
    ) private {
        _checkCouncil(voters, quorum, revokeQuorum, timelock);
        Council storage c = apps[appId].council;
        for (uint256 i = 0; i < c.voters.length; i++) {
            voterOf[appId][c.voters[i]] = false;
        }
        delete c.voters;
        for (uint256 i = 0; i < voters.length; i++) {
            c.voters.push(voters[i]);
            voterOf[appId][voters[i]] = true;
        }
        c.quorum = quorum;
        c.revokeQuorum = revokeQuorum;
        c.timelock = timelock;
        emit CouncilChanged(appId, voters, quorum, revokeQuorum, timelock);
    }

    // ------------------------------------------------------------------ proposals

    /// Proposes approving `measurement` for `appId`. The proposer's vote is counted.
    function proposeApprove(bytes32 appId, bytes32 measurement) external returns (uint256) {
        _requireApp(appId);
        if (measurement == bytes32(0)) revert InvalidMeasurement();
        if (measurementSlot[appId][measurement] != 0) revert AlreadyApproved(appId, measurement);
        return _propose(appId, KIND_APPROVE, abi.encode(measurement));
    }

    /// Proposes revoking `measurement` (fast path: revocation quorum, no timelock).
    function proposeRevoke(bytes32 appId, bytes32 measurement) external returns (uint256) {
        _requireApp(appId);
        if (measurementSlot[appId][measurement] == 0) revert NotApproved(appId, measurement);
        return _propose(appId, KIND_REVOKE, abi.encode(measurement));
    }

    /// Proposes replacing the council of `appId` (voters, quorum, revocation quorum,
    /// timelock). Adding or removing a voter is this with the changed list.
    function proposeCouncil(
        bytes32 appId,
        address[] calldata voters,
        uint16 quorum,
        uint16 revokeQuorum,
        uint64 timelock
    ) external returns (uint256) {
        _requireApp(appId);
        _checkCouncil(voters, quorum, revokeQuorum, timelock);
        return _propose(appId, KIND_COUNCIL, abi.encode(voters, quorum, revokeQuorum, timelock));
    }

    /// Proposes the next committee: ordered node ids (party index = position + 1) and
    /// threshold. Refused at once if it breaks the diversity or liveness rule or has t < 2.
    function proposeCommittee(bytes32[] calldata committee, uint16 threshold) external returns (uint256) {
        if (pendingEpoch != 0) revert TransitionPending(pendingEpoch);
        _checkCommittee(committee, threshold);
        return _propose(nodeAppId, KIND_COMMITTEE, abi.encode(committee, threshold));
    }

    /// Proposes cancelling the pending (stuck) transition to `epochNumber` (fast path:
    /// revocation quorum, no timelock; the previous epoch keeps serving meanwhile).
    function proposeCancelTransition(uint64 epochNumber) external returns (uint256) {
        if (pendingEpoch == 0) revert NoPendingTransition();
        if (epochNumber != pendingEpoch) revert WrongEpoch(epochNumber, pendingEpoch);
        return _propose(nodeAppId, KIND_CANCEL_TRANSITION, abi.encode(epochNumber));
    }

    /// Proposes switching the TEE-family diversity rule on or off.
    function proposeFamilyCap(bool enabled) external returns (uint256) {
        return _propose(nodeAppId, KIND_FAMILY_CAP, abi.encode(enabled));
    }

    /// Proposes the set of platforms whose evidence nodes accept (a bit per platform code).
    function proposePlatforms(uint32 platforms) external returns (uint256) {
        return _propose(nodeAppId, KIND_PLATFORMS, abi.encode(platforms));
    }

    /// Proposes the network's attestation values (SEV-SNP floors, DCAP minimum TCB
    /// evaluation number and collateral age, evidence age).
    /// `policy` is `abi.encode(NetworkPolicy)`: six words.
    function proposeNetworkPolicy(bytes calldata policy) external returns (uint256) {
        if (policy.length != 6 * 32) revert InvalidNetworkPolicy();
        return _propose(nodeAppId, KIND_NETWORK_POLICY, policy);
    }

    /// Proposes switching the committee liveness rule on or off.
    function proposeLivenessRule(bool enabled) external returns (uint256) {
        return _propose(nodeAppId, KIND_LIVENESS_RULE, abi.encode(enabled));
    }

    /// Proposes the transition deadline (seconds, within the MIN/MAX bounds).
    function proposeTransitionDeadline(uint64 deadline) external returns (uint256) {
        if (deadline < MIN_TRANSITION_DEADLINE || deadline > MAX_TRANSITION_DEADLINE) revert InvalidDeadline(deadline);
        return _propose(nodeAppId, KIND_TRANSITION_DEADLINE, abi.encode(deadline));
    }

    /// Proposes vetoing open proposal `id` of the same council (its ordinary quorum, no
    /// timelock): a queued proposal, e.g. a stale approval, never executes.
    function proposeVeto(uint256 id) external returns (uint256) {
        Proposal storage t = _openProposal(id);
        return _propose(t.appId, KIND_VETO, abi.encode(id));
    }

    function _propose(bytes32 appId, uint8 kind, bytes memory payload) private returns (uint256 id) {
        Council storage c = apps[appId].council;
        if (!voterOf[appId][msg.sender]) revert NotVoter(appId, msg.sender);
        id = ++proposalCount;
        Proposal storage p = proposals[id];
        p.appId = appId;
        p.proposer = msg.sender;
        p.kind = kind;
        p.status = STATUS_OPEN;
        p.delay = _fast(kind) ? 0 : c.timelock;
        p.createdAt = uint64(block.timestamp);
        p.expiresAt = uint64(block.timestamp) + p.delay + proposalLifetime;
        p.payload = payload;
        if (kind == KIND_APPROVE) p.revocations = revocationCount[appId][abi.decode(payload, (bytes32))];
        appProposals[appId].push(id);
        emit ProposalCreated(id, appId, kind, msg.sender, payload, p.expiresAt);
        _recordVote(id, p, msg.sender);
    }

    /// Votes for proposal `id`. Only voters of the proposal's council; once each.
    function vote(uint256 id) external {
        Proposal storage p = _openProposal(id);
        if (!voterOf[p.appId][msg.sender]) revert NotVoter(p.appId, msg.sender);
        if (hasVoted[id][msg.sender]) revert AlreadyVoted(id, msg.sender);
        _recordVote(id, p, msg.sender);
    }

    function _recordVote(uint256 id, Proposal storage p, address voter) private {
        hasVoted[id][voter] = true;
        p.votes += 1;
        // Counted over the current voters, so a removed voter's vote cannot start the
        // timelock.
        uint256 live = _liveVotes(id, p.appId);
        emit Voted(id, voter, uint16(live));
        if (p.eta == 0 && live >= _required(p)) {
            p.eta = uint64(block.timestamp) + p.delay;
            emit ProposalQueued(id, p.eta);
        }
    }

    /// Cancels an open proposal. Only its proposer.
    function cancel(uint256 id) external {
        Proposal storage p = _openProposal(id);
        if (p.proposer != msg.sender) revert NotProposer(id, msg.sender);
        p.status = STATUS_CANCELLED;
        emit ProposalCancelled(id);
    }

    /// Executes proposal `id` once its quorum (counted over the current voters) is
    /// reached and its timelock has passed. Anyone may call it. If the quorum was
    /// reached only through a council change, this call starts the timelock instead
    /// (and executes at once when the proposal has none).
    function execute(uint256 id) external {
        Proposal storage p = _openProposal(id);
        uint256 live = _liveVotes(id, p.appId);
        uint256 required = _required(p);
        if (live < required) revert QuorumNotReached(id, live, required);
        if (p.eta == 0) {
            // The quorum was reached by a council change (a lower quorum), not by a vote:
            // the timelock starts now. Without a timelock the proposal executes at once.
            p.eta = uint64(block.timestamp) + p.delay;
            emit ProposalQueued(id, p.eta);
            if (p.delay != 0) return;
        }
        if (block.timestamp < p.eta) revert TimelockPending(id, p.eta);
        p.status = STATUS_EXECUTED;
        _apply(id, p);
        emit ProposalExecuted(id, msg.sender);
    }

    /// Kinds without timelock: revocation, cancelling a transition, veto.
    function _fast(uint8 kind) private pure returns (bool) {
        return kind == KIND_REVOKE || kind == KIND_CANCEL_TRANSITION || kind == KIND_VETO;
    }

    /// Whether an approval's digest was revoked after it was proposed.
    function _voided(Proposal storage p) private view returns (bool) {
        return p.kind == KIND_APPROVE
            && revocationCount[p.appId][abi.decode(p.payload, (bytes32))] != p.revocations;
    }

    function _setDeadline(uint64 deadline) private {
        if (deadline < MIN_TRANSITION_DEADLINE || deadline > MAX_TRANSITION_DEADLINE) revert InvalidDeadline(deadline);
        transitionDeadline = deadline;
        emit TransitionDeadlineChanged(deadline);
    }

    function _apply(uint256 id, Proposal storage p) private {
        bytes32 appId = p.appId;
        uint8 kind = p.kind;
        if (kind == KIND_APPROVE) {
            bytes32 m = abi.decode(p.payload, (bytes32));
            if (measurementSlot[appId][m] != 0) revert AlreadyApproved(appId, m);
            bytes32[] storage ms = apps[appId].measurements;
            ms.push(m);
            measurementSlot[appId][m] = ms.length;
            emit MeasurementApproved(appId, m, id);
        } else if (kind == KIND_REVOKE) {
            bytes32 m = abi.decode(p.payload, (bytes32));
            uint256 slot = measurementSlot[appId][m];
            if (slot == 0) revert NotApproved(appId, m);
            bytes32[] storage ms = apps[appId].measurements;
            bytes32 last = ms[ms.length - 1];
            ms[slot - 1] = last;
            measurementSlot[appId][last] = slot;
            ms.pop();
            delete measurementSlot[appId][m];
            // Every open approval of `m` is void from now on.
            revocationCount[appId][m] += 1;
            emit MeasurementRevoked(appId, m, id);
        } else if (kind == KIND_COUNCIL) {
            (address[] memory voters, uint16 quorum, uint16 revokeQuorum, uint64 timelock) =
                abi.decode(p.payload, (address[], uint16, uint16, uint64));
            _setCouncil(appId, voters, quorum, revokeQuorum, timelock);
        } else if (kind == KIND_COMMITTEE) {
            (bytes32[] memory committee, uint16 threshold) = abi.decode(p.payload, (bytes32[], uint16));
            if (pendingEpoch != 0) revert TransitionPending(pendingEpoch);
            _checkCommittee(committee, threshold);
            uint64 e = ++lastEpoch;
            Epoch storage ep = epochs[e];
            ep.status = EPOCH_PENDING;
            ep.threshold = threshold;
            ep.createdAt = uint64(block.timestamp);
            ep.deadline = uint64(block.timestamp) + transitionDeadline;
            ep.committee = committee;
            pendingEpoch = e;
            emit EpochProposed(e, threshold, committee);
        } else if (kind == KIND_CANCEL_TRANSITION) {
            uint64 e = abi.decode(p.payload, (uint64));
            if (pendingEpoch == 0) revert NoPendingTransition();
            if (e != pendingEpoch) revert WrongEpoch(e, pendingEpoch);
            epochs[e].status = EPOCH_CANCELLED;
            pendingEpoch = 0;
            emit EpochCancelled(e);
        } else if (kind == KIND_FAMILY_CAP) {
            bool enabled = abi.decode(p.payload, (bool));
            familyCap = enabled;
            emit FamilyCapChanged(enabled);
        } else if (kind == KIND_LIVENESS_RULE) {
            bool enabled = abi.decode(p.payload, (bool));
            livenessRule = enabled;
            emit LivenessRuleChanged(enabled);
        } else if (kind == KIND_VETO) {
            uint256 target = abi.decode(p.payload, (uint256));
            Proposal storage t = _openProposal(target);
            t.status = STATUS_VETOED;
            emit ProposalVetoed(target, id);
        } else if (kind == KIND_TRANSITION_DEADLINE) {
            _setDeadline(abi.decode(p.payload, (uint64)));
        } else if (kind == KIND_NETWORK_POLICY) {
            policy_ = p.payload;
            emit NetworkPolicyChanged(id);
        } else {
            uint32 platforms = abi.decode(p.payload, (uint32));
            allowedPlatforms = platforms;
            emit PlatformsChanged(platforms);
        }
    }

    function _openProposal(uint256 id) private view returns (Proposal storage p) {
        p = proposals[id];
        if (p.status == 0) revert UnknownProposal(id);
        if (p.status != STATUS_OPEN) revert ProposalClosed(id, _state(p));
        if (block.timestamp > p.expiresAt) revert ProposalExpired(id, p.expiresAt);
        if (_voided(p)) revert ApprovalVoided(id);
    }

    function _required(Proposal storage p) private view returns (uint16) {
        Council storage c = apps[p.appId].council;
        return p.kind == KIND_REVOKE || p.kind == KIND_CANCEL_TRANSITION ? c.revokeQuorum : c.quorum;
    }

    /// Votes of the proposal's council's current voters: a removed voter's vote no
    /// longer counts.
    function _liveVotes(uint256 id, bytes32 appId) private view returns (uint256 n) {
        address[] storage vs = apps[appId].council.voters;
        for (uint256 i = 0; i < vs.length; i++) {
            if (hasVoted[id][vs[i]]) n++;
        }
    }

    function _state(Proposal storage p) private view returns (uint8) {
        if (p.status == 0) return STATE_UNKNOWN;
        if (p.status == STATUS_EXECUTED) return STATE_EXECUTED;
        if (p.status == STATUS_CANCELLED) return STATE_CANCELLED;
        if (p.status == STATUS_VETOED) return STATE_VETOED;
        if (_voided(p)) return STATE_VOIDED;
        if (block.timestamp > p.expiresAt) return STATE_EXPIRED;
        if (p.eta == 0) return STATE_PENDING;
        if (block.timestamp < p.eta) return STATE_QUEUED;
        return STATE_READY;
    }

    function _requireApp(bytes32 appId) private view {
        if (!apps[appId].exists) revert UnknownApp(appId);
    }

    // ------------------------------------------------------------------ nodes

    /// Registers a node operated (and paid for) by the caller. The record is created only
    /// with the signature of the node's `signer` (a key generated inside its enclave)
    /// over the EIP-712 `NodeRegistration(operator, p2pKey, noiseKey, platform)` of this
    /// contract and chain, so nobody can register another node's keys or operator.
    /// `nodeId = keccak256(abi.encode(signer))`. Vendor and TEE family follow from the
    /// platform (DESIGN.md §2): 1 tdx, 2 sgx -> intel; 3 sev-snp -> amd (all three
    /// memory-encryption); 4 nitro -> aws (hypervisor-isolated); 128 + N simulated-N ->
    /// simulated vendor and family N, only while `allowedPlatforms` admits simulated.
    function registerNode(
        bytes calldata p2pKey,
        bytes32 noiseKey,
        uint8 platform,
        address signer,
        string calldata endpoint,
        bytes calldata signature
    ) external returns (bytes32 nodeId) {
        if (p2pKey.length == 0 || p2pKey.length > MAX_P2P_KEY) revert InvalidNodeRecord(1);
        if (noiseKey == bytes32(0)) revert InvalidNodeRecord(2);
        if (bytes(endpoint).length == 0 || bytes(endpoint).length > MAX_ENDPOINT) revert InvalidNodeRecord(6);
        (uint8 vendor, uint8 family) = _derive(platform);
        bytes32 digest = keccak256(
            abi.encodePacked(
                "\x19\x01",
                keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("keynet"), keccak256("1"), block.chainid, address(this))),
                keccak256(abi.encode(REGISTRATION_TYPEHASH, msg.sender, keccak256(p2pKey), noiseKey, platform))
            )
        );
        if (signer == address(0) || _recover(digest, signature) != signer) revert BadNodeSignature(signer);
        nodeId = keccak256(abi.encode(signer));
        Node storage n = nodes[nodeId];
        if (n.operator != address(0)) revert NodeExists(nodeId);
        n.operator = msg.sender;
        n.signer = signer;
        n.vendor = vendor;
        n.platform = platform;
        n.teeFamily = family;
        n.registeredAt = uint64(block.timestamp);
        n.noiseKey = noiseKey;
        n.p2pKey = p2pKey;
        n.endpoint = endpoint;
        emit NodeRegistered(nodeId, msg.sender, signer, vendor, platform, family);
        emit NodeEndpointChanged(nodeId, endpoint);
    }

    /// Vendor and TEE family of a platform code; refuses unknown codes and platforms
    /// governance does not allow.
    function _derive(uint8 platform) private view returns (uint8 vendor, uint8 family) {
        if (platform == 1 || platform == 2) (vendor, family) = (1, 1);
        else if (platform == 3) (vendor, family) = (2, 1);
        else if (platform == 4) (vendor, family) = (3, 2);
        else if (platform >= SIMULATED_BASE) (vendor, family) = (platform, platform);
        else revert UnknownPlatform(platform);
        if (!_platformAllowed(platform)) revert PlatformNotAllowed(platform);
    }

    function _platformAllowed(uint8 platform) private view returns (bool) {
        uint8 bit = platform >= SIMULATED_BASE ? PLATFORM_SIMULATED_BIT : platform;
        return (allowedPlatforms >> bit) & 1 == 1;
    }

    /// ecrecover of a 65-byte `r || s || v` signature; address(0) if malformed or
    /// malleable (high `s`).
    function _recover(bytes32 digest, bytes calldata sig) private pure returns (address) {
        if (sig.length != 65) return address(0);
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (v < 27) v += 27;
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) return address(0);
        return ecrecover(digest, v, r, s);
    }

    /// Removes a node's record. Only its operator, and only while the node is in neither
    /// the active nor the pending committee.
    function deregister(bytes32 nodeId) external {
        Node storage n = nodes[nodeId];
        if (n.operator == address(0)) revert UnknownNode(nodeId);
        if (n.operator != msg.sender) revert NotOperator(nodeId, msg.sender);
        if (activeEpoch != 0 && _isMember(epochs[activeEpoch].committee, nodeId)) {
            revert NodeInCommittee(nodeId, activeEpoch);
        }
        if (pendingEpoch != 0 && _isMember(epochs[pendingEpoch].committee, nodeId)) {
            revert NodeInCommittee(nodeId, pendingEpoch);
        }
        delete nodes[nodeId];
        emit NodeDeregistered(nodeId);
    }

    /// Changes a node's endpoint. Only its operator.
    function setEndpoint(bytes32 nodeId, string calldata endpoint) external {
        Node storage n = nodes[nodeId];
        if (n.operator == address(0)) revert UnknownNode(nodeId);
        if (n.operator != msg.sender) revert NotOperator(nodeId, msg.sender);
        if (bytes(endpoint).length == 0 || bytes(endpoint).length > MAX_ENDPOINT) revert InvalidNodeRecord(6);
        n.endpoint = endpoint;
        emit NodeEndpointChanged(nodeId, endpoint);
    }

    // ------------------------------------------------------------------ epochs

    /// Checks a committee: known distinct nodes on allowed platforms, 2 <= t <= n, no
    /// vendor, operator or (with `familyCap`) TEE family holding `t` or more seats, and
    /// the liveness rule (DESIGN.md §2).
    function _checkCommittee(bytes32[] memory committee, uint16 threshold) private view {
        uint256 n = committee.length;
        if (n == 0 || n > MAX_COMMITTEE) revert InvalidCommittee(n);
        if (threshold > n) revert ThresholdTooHigh(threshold, n);
        // t = 1 hands the key to any single member. A low t is otherwise the voters'
        // choice: the caps below bound it, and activation after the deadline needs
        // min(n, 2t - 1) matching confirmations (DESIGN.md §6).
        if (threshold < 2) revert ThresholdTooLow(threshold, n);
        uint8[] memory vendors = new uint8[](n);
        uint8[] memory families = new uint8[](n);
        address[] memory operators = new address[](n);
        for (uint256 i = 0; i < n; i++) {
            Node storage nd = nodes[committee[i]];
            if (nd.operator == address(0)) revert UnknownNode(committee[i]);
            if (!_platformAllowed(nd.platform)) revert PlatformNotAllowed(nd.platform);
            for (uint256 j = 0; j < i; j++) {
                if (committee[j] == committee[i]) revert DuplicateNode(committee[i]);
            }
            vendors[i] = nd.vendor;
            families[i] = nd.teeFamily;
            operators[i] = nd.operator;
        }
        for (uint256 i = 0; i < n; i++) {
            uint256 sameOperator = 0;
            for (uint256 j = 0; j < n; j++) {
                if (operators[j] == operators[i]) sameOperator++;
            }
            if (sameOperator >= threshold) {
                revert DiversityViolation(
                    RULE_OPERATOR, bytes32(uint256(uint160(operators[i]))), sameOperator, threshold
                );
            }
        }
        _checkGroups(vendors, threshold, RULE_VENDOR);
        if (familyCap) _checkGroups(families, threshold, RULE_FAMILY);
    }

    /// No group (vendor or family) holds `t` seats; and, with the liveness rule, losing
    /// any one group leaves at least `t` members (DESIGN.md §2), enforced where the mix
    /// allows it: k groups can each hold at most n - t seats only if k * (n - t) >= n.
    function _checkGroups(uint8[] memory groups, uint16 threshold, uint8 rule) private view {
        uint256 n = groups.length;
        uint256[] memory seats = new uint256[](n);
        uint256 distinct = 0;
        for (uint256 i = 0; i < n; i++) {
            bool first = true;
            for (uint256 j = 0; j < n; j++) {
                if (groups[j] == groups[i]) {
                    seats[i]++;
                    if (j < i) first = false;
                }
            }
            if (first) distinct++;
            if (seats[i] >= threshold) {
                revert DiversityViolation(rule, bytes32(uint256(groups[i])), seats[i], threshold);
            }
        }
        if (!livenessRule || distinct * (n - threshold) < n) return;
        for (uint256 i = 0; i < n; i++) {
            if (n - seats[i] < threshold) {
                revert LivenessViolation(rule, bytes32(uint256(groups[i])), n - seats[i], threshold);
            }
        }
    }

    /// A member of the pending committee confirms the outcome of the DKG (or reshare).
    /// The caller is the member's signer (the enclave's key): the node is
    /// `keccak256(abi.encode(msg.sender))`. The epoch activates when every member has
    /// confirmed the same values; after genesis the group keys must be unchanged.
    function confirm(
        uint64 epochNumber,
        bytes32 transcriptHash,
        bytes calldata blsGroupPk,
        bytes calldata secpGroupPk
    ) external {
        if (pendingEpoch == 0 || epochNumber != pendingEpoch) revert WrongEpoch(epochNumber, pendingEpoch);
        bytes32 nodeId = keccak256(abi.encode(msg.sender));
        if (nodes[nodeId].operator == address(0)) revert UnknownNode(nodeId);
        Epoch storage ep = epochs[epochNumber];
        if (!_isMember(ep.committee, nodeId)) revert NotCommitteeMember(epochNumber, nodeId);
        if (confirmationOf[epochNumber][nodeId] != bytes32(0)) revert AlreadyConfirmed(epochNumber, nodeId);
        if (transcriptHash == bytes32(0)) revert InvalidTranscript();
        if (blsGroupPk.length != 48 || secpGroupPk.length != 33) revert InvalidGroupKey();
        if (secpGroupPk[0] != 0x02 && secpGroupPk[0] != 0x03) revert InvalidGroupKey();
        if (activeEpoch != 0) {
            Epoch storage prev = epochs[activeEpoch];
            if (keccak256(blsGroupPk) != keccak256(prev.blsGroupPk) || keccak256(secpGroupPk) != keccak256(prev.secpGroupPk)) {
                revert GroupKeyMismatch(epochNumber);
            }
        }
        bytes32 h = keccak256(abi.encode(transcriptHash, blsGroupPk, secpGroupPk));
        confirmationOf[epochNumber][nodeId] = h;
        ep.confirmations += 1;
        uint16 same = ++matching[epochNumber][h];
        emit EpochConfirmed(epochNumber, nodeId, h);
        if (ep.firstConfirmation == bytes32(0)) {
            ep.firstConfirmation = h;
        } else if (ep.firstConfirmation != h) {
            emit EpochConfirmationMismatch(epochNumber, nodeId, ep.firstConfirmation, h);
        }
        if (same == ep.committee.length || (block.timestamp > ep.deadline && same >= _needed(ep))) {
            _activate(epochNumber, ep, h, transcriptHash, blsGroupPk, secpGroupPk);
        }
    }

    /// Activates the pending epoch after its deadline with values that at least
    /// `min(n, 2t - 1)` members confirmed (DESIGN.md §6). Anyone may call it.
    function activate(uint64 epochNumber, bytes32 transcriptHash, bytes calldata blsGroupPk, bytes calldata secpGroupPk)
        external
    {
        if (pendingEpoch == 0 || epochNumber != pendingEpoch) revert WrongEpoch(epochNumber, pendingEpoch);
        Epoch storage ep = epochs[epochNumber];
        if (block.timestamp <= ep.deadline) revert DeadlineNotReached(epochNumber, ep.deadline);
        bytes32 h = keccak256(abi.encode(transcriptHash, blsGroupPk, secpGroupPk));
        uint256 same = matching[epochNumber][h];
        uint256 needed = _needed(ep);
        if (same < needed) revert NotEnoughConfirmations(epochNumber, same, needed);
        _activate(epochNumber, ep, h, transcriptHash, blsGroupPk, secpGroupPk);
    }

    /// min(n, 2t - 1): then t honest members hold shares even if t - 1 confirmed a lie.
    function _needed(Epoch storage ep) private view returns (uint256) {
        uint256 twice = 2 * uint256(ep.threshold) - 1;
        return twice < ep.committee.length ? twice : ep.committee.length;
    }

    function _activate(
        uint64 epochNumber,
        Epoch storage ep,
        bytes32 h,
        bytes32 transcriptHash,
        bytes calldata blsGroupPk,
        bytes calldata secpGroupPk
    ) private {
        ep.transcriptHash = transcriptHash;
        ep.blsGroupPk = blsGroupPk;
        ep.secpGroupPk = secpGroupPk;
        ep.activatedAt = uint64(block.timestamp);
        ep.status = EPOCH_ACTIVE;
        for (uint256 i = 0; i < ep.committee.length; i++) {
            if (confirmationOf[epochNumber][ep.committee[i]] != h) ep.notConfirmed.push(ep.committee[i]);
        }
        if (activeEpoch != 0) epochs[activeEpoch].status = EPOCH_SUPERSEDED;
        activeEpoch = epochNumber;
        pendingEpoch = 0;
        emit EpochActivated(epochNumber, transcriptHash, blsGroupPk, secpGroupPk);
    }

    function _isMember(bytes32[] storage committee, bytes32 nodeId) private view returns (bool) {
        for (uint256 i = 0; i < committee.length; i++) {
            if (committee[i] == nodeId) return true;
        }
        return false;
    }

    // ------------------------------------------------------------------ views

    /// The network-wide attestation policy in one call: the allowed platforms and
    /// `abi.encode(NetworkPolicy)` of the last executed network-policy proposal (empty
    /// before the first).
    function networkPolicy() external view returns (uint32 platforms, bytes memory policy) {
        return (allowedPlatforms, policy_);
    }

    /// Whether `measurement` is currently approved for `appId`.
    function isApproved(bytes32 appId, bytes32 measurement) external view returns (bool) {
        return measurementSlot[appId][measurement] != 0;
    }

    /// An application's owner, council and approved measurements.
    function app(bytes32 appId) external view returns (AppView memory v) {
        App storage a = apps[appId];
        if (!a.exists) revert UnknownApp(appId);
        v.appId = appId;
        v.owner = a.owner;
        v.voters = a.council.voters;
        v.quorum = a.council.quorum;
        v.revokeQuorum = a.council.revokeQuorum;
        v.timelock = a.council.timelock;
        v.measurements = a.measurements;
    }

    /// Whether `account` is a voter of `appId`.
    function isVoter(bytes32 appId, address account) external view returns (bool) {
        return voterOf[appId][account];
    }

    /// A proposal with its current state.
    function proposal(uint256 id) external view returns (ProposalView memory v) {
        Proposal storage p = proposals[id];
        if (p.status == 0) revert UnknownProposal(id);
        v.id = id;
        v.appId = p.appId;
        v.proposer = p.proposer;
        v.kind = p.kind;
        v.state = _state(p);
        v.votes = uint16(_liveVotes(id, p.appId));
        v.required = _required(p);
        v.createdAt = p.createdAt;
        v.eta = p.eta;
        v.expiresAt = p.expiresAt;
        v.payload = p.payload;
    }

    /// A page of proposal ids, newest first: of application `appId`, or of all
    /// applications when `appId` is zero. `total` counts the whole list; at most
    /// MAX_PAGE ids are returned from position `offset` on.
    function proposalIds(bytes32 appId, uint256 offset, uint256 limit)
        external
        view
        returns (uint256 total, uint256[] memory ids)
    {
        uint256[] storage list = appProposals[appId];
        total = appId == bytes32(0) ? proposalCount : list.length;
        if (limit > MAX_PAGE) limit = MAX_PAGE;
        uint256 count = offset >= total ? 0 : total - offset;
        if (count > limit) count = limit;
        ids = new uint256[](count);
        for (uint256 i = 0; i < count; i++) {
            uint256 pos = total - 1 - offset - i;
            ids[i] = appId == bytes32(0) ? pos + 1 : list[pos];
        }
    }

    /// A registered node.
    function node(bytes32 nodeId) external view returns (NodeView memory v) {
        Node storage n = nodes[nodeId];
        if (n.operator == address(0)) revert UnknownNode(nodeId);
        v.nodeId = nodeId;
        v.operator = n.operator;
        v.signer = n.signer;
        v.vendor = n.vendor;
        v.platform = n.platform;
        v.teeFamily = n.teeFamily;
        v.registeredAt = n.registeredAt;
        v.noiseKey = n.noiseKey;
        v.p2pKey = n.p2pKey;
        v.endpoint = n.endpoint;
    }

    /// An epoch (any status). Epoch 0 is "none".
    function epoch(uint64 epochNumber) public view returns (EpochView memory v) {
        Epoch storage ep = epochs[epochNumber];
        v.epoch = epochNumber;
        v.status = ep.status;
        v.threshold = ep.threshold;
        v.createdAt = ep.createdAt;
        v.activatedAt = ep.activatedAt;
        v.transcriptHash = ep.transcriptHash;
        v.blsGroupPk = ep.blsGroupPk;
        v.secpGroupPk = ep.secpGroupPk;
        v.committee = ep.committee;
        v.confirmations = ep.confirmations;
        v.deadline = ep.deadline;
        v.notConfirmed = ep.notConfirmed;
    }

    /// The active epoch, its committee and group keys (epoch 0 before genesis).
    function activeCommittee() external view returns (EpochView memory) {
        return epoch(activeEpoch);
    }

}
