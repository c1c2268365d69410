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
    uint8 public constant KIND_APPROVE = 1;
    uint8 public constant KIND_REVOKE = 2;
    uint8 public constant KIND_COUNCIL = 3;
    uint8 public constant KIND_COMMITTEE = 4;
    uint8 public constant KIND_CANCEL_TRANSITION = 5;
    uint8 public constant KIND_FAMILY_CAP = 6;
    uint8 public constant KIND_PLATFORMS = 7;

    /// Proposal states returned by `proposalState` (ABI: uint8).
    uint8 public constant STATE_UNKNOWN = 0;
    uint8 public constant STATE_PENDING = 1; // fewer votes than its quorum
    uint8 public constant STATE_QUEUED = 2; // quorum reached, timelock running
    uint8 public constant STATE_READY = 3; // executable now
    uint8 public constant STATE_EXECUTED = 4;
    uint8 public constant STATE_CANCELLED = 5;
    uint8 public constant STATE_EXPIRED = 6;

    /// Epoch states (ABI: uint8).
    uint8 public constant EPOCH_NONE = 0;
    uint8 public constant EPOCH_PENDING = 1;
    uint8 public constant EPOCH_ACTIVE = 2;
    uint8 public constant EPOCH_SUPERSEDED = 3;
    uint8 public constant EPOCH_CANCELLED = 4;

    /// Diversity rules named by `DiversityViolation`.
    uint8 public constant RULE_VENDOR = 1;
    uint8 public constant RULE_OPERATOR = 2;
    uint8 public constant RULE_FAMILY = 3;

    /// Bounds that keep every loop of this contract cheap.
    uint256 public constant MAX_VOTERS = 64;
    uint256 public constant MAX_COMMITTEE = 64;
    uint256 public constant MAX_P2P_KEY = 256;
    uint256 public constant MAX_ENDPOINT = 512;

    // Internal proposal status (the stored part of the state).
    uint8 private constant STATUS_OPEN = 1;
    uint8 private constant STATUS_EXECUTED = 2;
    uint8 private constant STATUS_CANCELLED = 3;

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
        bytes payload;
    }

    struct Node {
        address operator;
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
        bytes32 transcriptHash;
        bytes32 firstConfirmation;
        uint16 confirmations;
        bytes blsGroupPk;
        bytes secpGroupPk;
        bytes32[] committee;
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
    error AlreadyApproved(bytes32 appId, bytes32 measurement);
    error NotApproved(bytes32 appId, bytes32 measurement);
    error InvalidMeasurement();
    error UnknownNode(bytes32 nodeId);
    error NodeExists(bytes32 nodeId);
    error NotOperator(bytes32 nodeId, address account);
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
    event MeasurementApproved(bytes32 indexed appId, bytes32 indexed measurement, uint256 proposalId);
    event MeasurementRevoked(bytes32 indexed appId, bytes32 indexed measurement, uint256 proposalId);
    event NodeRegistered(
        bytes32 indexed nodeId, address indexed operator, uint8 vendor, uint8 platform, uint8 teeFamily
    );
    event NodeEndpointChanged(bytes32 indexed nodeId, string endpoint);
    event EpochProposed(uint64 indexed epoch, uint16 threshold, bytes32[] committee);
    event EpochConfirmed(uint64 indexed epoch, bytes32 indexed nodeId, bytes32 valuesHash);
    event EpochConfirmationMismatch(uint64 indexed epoch, bytes32 indexed nodeId, bytes32 expected, bytes32 got);
    event EpochActivated(uint64 indexed epoch, bytes32 transcriptHash, bytes blsGroupPk, bytes secpGroupPk);
    event EpochCancelled(uint64 indexed epoch);
    event FamilyCapChanged(bool enabled);
    event PlatformsChanged(uint32 allowedPlatforms);

    // ------------------------------------------------------------------ storage

    /// The network's own application: the kms-node builds, governed by the network
    /// voters, who also vote committee changes. keccak256(abi.encode(this, bytes32(0))).
    bytes32 public immutable nodeAppId;
    /// Seconds a proposal stays open after its timelock would end if voted at once.
    uint64 public immutable proposalLifetime;
    /// Whether no TEE family may hold `t` seats either.
    bool public familyCap;
    /// Platforms whose evidence nodes accept (bit `code` set for each allowed platform
    /// code; bit 5 = simulated, which only development networks allow). DESIGN.md §5.
    uint32 public allowedPlatforms;

    mapping(bytes32 => App) private apps;
    mapping(bytes32 => mapping(address => bool)) private voterOf;
    mapping(bytes32 => mapping(bytes32 => uint256)) private measurementSlot; // 1-based
    bytes32[] private appIds;

    uint256 public proposalCount;
    mapping(uint256 => Proposal) private proposals;
    mapping(uint256 => mapping(address => bool)) public hasVoted;

    mapping(bytes32 => Node) private nodes;
    bytes32[] private nodeIds;

    uint64 public activeEpoch;
    uint64 public pendingEpoch;
    uint64 public lastEpoch;
    mapping(uint64 => Epoch) private epochs;
    mapping(uint64 => mapping(bytes32 => bytes32)) public confirmationOf;

    // ------------------------------------------------------------------ construction

    constructor(
        address[] memory voters,
        uint16 quorum,
        uint16 revokeQuorum,
        uint64 timelock,
        uint64 lifetime,
        bool familyCapEnabled,
        uint32 platforms
    ) {
        if (lifetime == 0) revert InvalidLifetime(lifetime);
        proposalLifetime = lifetime;
        familyCap = familyCapEnabled;
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
        appIds.push(appId);
        emit AppRegistered(appId, owner, salt);
        _setCouncil(appId, voters, quorum, revokeQuorum, timelock);
    }

    function _checkCouncil(address[] memory voters, uint16 quorum, uint16 revokeQuorum) private pure {
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
        _checkCouncil(voters, quorum, revokeQuorum);
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
        _checkCouncil(voters, quorum, revokeQuorum);
        return _propose(appId, KIND_COUNCIL, abi.encode(voters, quorum, revokeQuorum, timelock));
    }

    /// Proposes the next committee: ordered node ids (party index = position + 1) and
    /// threshold. Refused at once if it breaks the diversity rule or has t <= n/2.
    function proposeCommittee(bytes32[] calldata committee, uint16 threshold) external returns (uint256) {
        if (pendingEpoch != 0) revert TransitionPending(pendingEpoch);
        _checkCommittee(committee, threshold);
        return _propose(nodeAppId, KIND_COMMITTEE, abi.encode(committee, threshold));
    }

    /// Proposes cancelling the pending (stuck) transition to `epochNumber`.
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

    function _propose(bytes32 appId, uint8 kind, bytes memory payload) private returns (uint256 id) {
        Council storage c = apps[appId].council;
        if (!voterOf[appId][msg.sender]) revert NotVoter(appId, msg.sender);
        id = ++proposalCount;
        Proposal storage p = proposals[id];
        p.appId = appId;
        p.proposer = msg.sender;
        p.kind = kind;
        p.status = STATUS_OPEN;
        p.delay = kind == KIND_REVOKE ? 0 : c.timelock;
        p.createdAt = uint64(block.timestamp);
        p.expiresAt = uint64(block.timestamp) + p.delay + proposalLifetime;
        p.payload = payload;
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
    }

    function _required(Proposal storage p) private view returns (uint16) {
        Council storage c = apps[p.appId].council;
        return p.kind == KIND_REVOKE ? c.revokeQuorum : c.quorum;
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
        if (block.timestamp > p.expiresAt) return STATE_EXPIRED;
        if (p.eta == 0) return STATE_PENDING;
        if (block.timestamp < p.eta) return STATE_QUEUED;
        return STATE_READY;
    }

    function _requireApp(bytes32 appId) private view {
        if (!apps[appId].exists) revert UnknownApp(appId);
    }

    // ------------------------------------------------------------------ nodes

    /// Registers a node operated by the caller. `nodeId = keccak256(p2pKey)`.
    /// `vendor`: 1 intel, 2 amd, 3 aws, 128..255 simulated labels (each distinct).
    /// `platform`: 1 tdx, 2 sgx, 3 sev-snp, 4 nitro, 5 simulated.
    /// `teeFamily`: 1 memory-encryption CPU, 2 hypervisor-isolated, 128..255 simulated.
    function registerNode(
        bytes calldata p2pKey,
        bytes32 noiseKey,
        uint8 vendor,
        uint8 platform,
        uint8 teeFamily,
        string calldata endpoint
    ) external returns (bytes32 nodeId) {
        if (p2pKey.length == 0 || p2pKey.length > MAX_P2P_KEY) revert InvalidNodeRecord(1);
        if (noiseKey == bytes32(0)) revert InvalidNodeRecord(2);
        if (vendor == 0) revert InvalidNodeRecord(3);
        if (platform == 0) revert InvalidNodeRecord(4);
        if (teeFamily == 0) revert InvalidNodeRecord(5);
        if (bytes(endpoint).length == 0 || bytes(endpoint).length > MAX_ENDPOINT) revert InvalidNodeRecord(6);
        nodeId = keccak256(p2pKey);
        Node storage n = nodes[nodeId];
        if (n.operator != address(0)) revert NodeExists(nodeId);
        n.operator = msg.sender;
        n.vendor = vendor;
        n.platform = platform;
        n.teeFamily = teeFamily;
        n.registeredAt = uint64(block.timestamp);
        n.noiseKey = noiseKey;
        n.p2pKey = p2pKey;
        n.endpoint = endpoint;
        nodeIds.push(nodeId);
        emit NodeRegistered(nodeId, msg.sender, vendor, platform, teeFamily);
        emit NodeEndpointChanged(nodeId, endpoint);
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

    /// Checks a committee: known distinct nodes, n/2 < t <= n, and no vendor, operator
    /// or (with `familyCap`) TEE family holding `t` or more seats (DESIGN.md §2).
    function _checkCommittee(bytes32[] memory committee, uint16 threshold) private view {
        uint256 n = committee.length;
        if (n == 0 || n > MAX_COMMITTEE) revert InvalidCommittee(n);
        if (threshold > n) revert ThresholdTooHigh(threshold, n);
        if (2 * uint256(threshold) <= n) revert ThresholdTooLow(threshold, n);
        uint8[] memory vendors = new uint8[](n);
        uint8[] memory families = new uint8[](n);
        address[] memory operators = new address[](n);
        for (uint256 i = 0; i < n; i++) {
            Node storage nd = nodes[committee[i]];
            if (nd.operator == address(0)) revert UnknownNode(committee[i]);
            for (uint256 j = 0; j < i; j++) {
                if (committee[j] == committee[i]) revert DuplicateNode(committee[i]);
            }
            vendors[i] = nd.vendor;
            families[i] = nd.teeFamily;
            operators[i] = nd.operator;
        }
        bool families_ = familyCap;
        for (uint256 i = 0; i < n; i++) {
            uint256 sameVendor = 0;
            uint256 sameOperator = 0;
            uint256 sameFamily = 0;
            for (uint256 j = 0; j < n; j++) {
                if (vendors[j] == vendors[i]) sameVendor++;
                if (operators[j] == operators[i]) sameOperator++;
                if (families[j] == families[i]) sameFamily++;
            }
            if (sameVendor >= threshold) {
                revert DiversityViolation(RULE_VENDOR, bytes32(uint256(vendors[i])), sameVendor, threshold);
            }
            if (sameOperator >= threshold) {
                revert DiversityViolation(
                    RULE_OPERATOR, bytes32(uint256(uint160(operators[i]))), sameOperator, threshold
                );
            }
            if (families_ && sameFamily >= threshold) {
                revert DiversityViolation(RULE_FAMILY, bytes32(uint256(families[i])), sameFamily, threshold);
            }
        }
    }

    /// A member of the pending committee confirms the outcome of the DKG (or reshare)
    /// for `nodeId`, which the caller operates. The epoch activates when every member
    /// has confirmed the same values; after genesis the group keys must be unchanged.
    function confirm(
        uint64 epochNumber,
        bytes32 nodeId,
        bytes32 transcriptHash,
        bytes calldata blsGroupPk,
        bytes calldata secpGroupPk
    ) external {
        if (pendingEpoch == 0 || epochNumber != pendingEpoch) revert WrongEpoch(epochNumber, pendingEpoch);
        Node storage nd = nodes[nodeId];
        if (nd.operator == address(0)) revert UnknownNode(nodeId);
        if (nd.operator != msg.sender) revert NotOperator(nodeId, msg.sender);
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
        emit EpochConfirmed(epochNumber, nodeId, h);
        if (ep.firstConfirmation == bytes32(0)) {
            ep.firstConfirmation = h;
        } else if (ep.firstConfirmation != h) {
            // Never activates: members disagree. Governance cancels the transition.
            emit EpochConfirmationMismatch(epochNumber, nodeId, ep.firstConfirmation, h);
            return;
        }
        ep.confirmations += 1;
        if (ep.confirmations == ep.committee.length) {
            ep.transcriptHash = transcriptHash;
            ep.blsGroupPk = blsGroupPk;
            ep.secpGroupPk = secpGroupPk;
            ep.activatedAt = uint64(block.timestamp);
            ep.status = EPOCH_ACTIVE;
            if (activeEpoch != 0) epochs[activeEpoch].status = EPOCH_SUPERSEDED;
            activeEpoch = epochNumber;
            pendingEpoch = 0;
            emit EpochActivated(epochNumber, transcriptHash, blsGroupPk, secpGroupPk);
        }
    }

    function _isMember(bytes32[] storage committee, bytes32 nodeId) private view returns (bool) {
        for (uint256 i = 0; i < committee.length; i++) {
            if (committee[i] == nodeId) return true;
        }
        return false;
    }

    // ------------------------------------------------------------------ views

    /// Whether evidence of platform `code` (1 tdx, 2 sgx, 3 sev-snp, 4 nitro,
    /// 5 simulated) is accepted.
    function isPlatformAllowed(uint8 code) external view returns (bool) {
        return code < 32 && (allowedPlatforms >> code) & 1 == 1;
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

    /// Number of registered applications (the network's own included).
    function appCount() external view returns (uint256) {
        return appIds.length;
    }

    /// The `index`-th registered application id.
    function appIdAt(uint256 index) external view returns (bytes32) {
        return appIds[index];
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

    /// A proposal's state (STATE_* constants; 0 if unknown).
    function proposalState(uint256 id) external view returns (uint8) {
        return _state(proposals[id]);
    }

    /// A registered node.
    function node(bytes32 nodeId) external view returns (NodeView memory v) {
        Node storage n = nodes[nodeId];
        if (n.operator == address(0)) revert UnknownNode(nodeId);
        v.nodeId = nodeId;
        v.operator = n.operator;
        v.vendor = n.vendor;
        v.platform = n.platform;
        v.teeFamily = n.teeFamily;
        v.registeredAt = n.registeredAt;
        v.noiseKey = n.noiseKey;
        v.p2pKey = n.p2pKey;
        v.endpoint = n.endpoint;
    }

    /// Number of registered nodes.
    function nodeCount() external view returns (uint256) {
        return nodeIds.length;
    }

    /// The `index`-th registered node id.
    function nodeIdAt(uint256 index) external view returns (bytes32) {
        return nodeIds[index];
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
    }

    /// The active epoch, its committee and group keys (epoch 0 before genesis).
    function activeCommittee() external view returns (EpochView memory) {
        return epoch(activeEpoch);
    }

    /// The group keys of the active epoch: BLS12-381 G1 (48 bytes), secp256k1 (33 bytes).
    function groupKeys() external view returns (bytes memory blsGroupPk, bytes memory secpGroupPk) {
        Epoch storage ep = epochs[activeEpoch];
        return (ep.blsGroupPk, ep.secpGroupPk);
    }
}
