// Shared helpers for the LogAnchor and LicenceRegistry tests: deployment, EIP-712
// signing of checkpoints, retirements, grants and revocations (EIP-2098 compact form),
// hex/base64 conversion, the RFC 9162 probe files, the Python fixtures and a tiny
// RFC 9162 hasher for the gas report. No tests here.

const { execFileSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { ethers } = require("hardhat");

const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** The private key of the tests' log key (scripts/contract_fixtures.py TEST_LOG_KEY). */
const TEST_LOG_KEY = ethers.sha256(ethers.toUtf8Bytes("model-ledger test log key"));

/**
 * Deploys a LogAnchor owned by the first signer; returns the contract, the signers, and
 * `logKey`: a wallet that is no account of the node (the log key signs checkpoints, it
 * never sends a transaction). `admin`, the admin the tests give their logs, signs
 * retirements (signRetire) and, as an account, sends transferLogAdmin.
 */
async function deployLogAnchor() {
  const [owner, admin, anchorer, other] = await ethers.getSigners();
  const logAnchor = await ethers.deployContract("LogAnchor", owner);
  await logAnchor.waitForDeployment();
  const logKey = new ethers.Wallet(TEST_LOG_KEY);
  return { logAnchor, owner, admin, anchorer, other, logKey };
}

/** The EIP-712 types of a signed checkpoint (what LogAnchor.anchor checks). */
const CHECKPOINT_TYPES = {
  Checkpoint: [
    { name: "logId", type: "bytes32" },
    { name: "treeSize", type: "uint64" },
    { name: "root", type: "bytes32" },
    { name: "indexRoot", type: "bytes32" },
  ],
};

/**
 * The EIP-712 domain of everything `contract` (a LogAnchor or a LicenceRegistry) checks
 * on the node's chain: {name: "model-ledger", version: "1", chainId, verifyingContract:
 * the contract}. `overrides` replace fields, to sign for another chain or contract.
 */
async function typedDomain(contract, overrides = {}) {
  const { chainId } = await ethers.provider.getNetwork();
  return {
    name: "model-ledger",
    version: "1",
    chainId,
    verifyingContract: await contract.getAddress(),
    ...overrides,
  };
}

/** The EIP-712 domain of checkpoints anchored by `logAnchor` (see typedDomain). */
function checkpointDomain(logAnchor, overrides = {}) {
  return typedDomain(logAnchor, overrides);
}

/** A 65-byte signature as the contract takes it: {r, vs} (EIP-2098 compact form). */
function compactSignature(signature) {
  const { r, yParityAndS } = ethers.Signature.from(signature);
  return { r, vs: yParityAndS };
}

/** The checkpoint message of the EIP-712 typed data (CHECKPOINT_TYPES). */
function checkpointMessage(logId, size, root, indexRoot = ethers.ZeroHash) {
  return { logId, treeSize: size, root, indexRoot };
}

/**
 * The log key's signature over checkpoint (logId, size, root, indexRoot) of
 * `logAnchor`, as the contract takes it: {r, vs} (EIP-2098 compact form). `indexRoot`
 * defaults to zero (the log commits to no index). `domainOverrides` sign for another
 * domain (see checkpointDomain). `logKey` may be any ethers signer.
 */
async function signCheckpoint(
  logAnchor,
  logKey,
  logId,
  size,
  root,
  indexRoot = ethers.ZeroHash,
  domainOverrides = {},
) {
  if (typeof indexRoot !== "string") {
    throw new TypeError("signCheckpoint(..., root, indexRoot, domainOverrides): indexRoot is a bytes32");
  }
  const domain = await checkpointDomain(logAnchor, domainOverrides);
  const message = checkpointMessage(logId, size, root, indexRoot);
  return compactSignature(await logKey.signTypedData(domain, CHECKPOINT_TYPES, message));
}

/**
 * Anchors checkpoint (logId, size, root, indexRoot) with `proof`, signed by `logKey`
 * and sent by `sender` (any account: anchoring needs no role); returns the
 * transaction. `indexRoot` defaults to zero (no index).
 */
async function anchorSigned(logAnchor, sender, logKey, logId, size, root, proof, indexRoot = ethers.ZeroHash) {
  const { r, vs } = await signCheckpoint(logAnchor, logKey, logId, size, root, indexRoot);
  return logAnchor.connect(sender).anchor(logId, size, root, indexRoot, proof, r, vs);
}

/** The EIP-712 types of a signed retirement (what LogAnchor.retireLog checks). */
const RETIRE_TYPES = {
  Retire: [
    { name: "logId", type: "bytes32" },
    { name: "trustedSize", type: "uint64" },
  ],
};

/**
 * `key`'s signature over message `message` of `types` in `contract`'s domain
 * (`domainOverrides` sign for another one), as the contracts take it: {r, vs}. `key`
 * may be any ethers signer: a Wallet, or an account of the node (eth_signTypedData_v4).
 */
async function signTyped(contract, key, types, message, domainOverrides = {}) {
  const domain = await typedDomain(contract, domainOverrides);
  return compactSignature(await key.signTypedData(domain, types, message));
}

/** `adminKey`'s signature retiring log `logId` of `logAnchor`, trusting it up to `trustedSize`. */
function signRetire(logAnchor, adminKey, logId, trustedSize, domainOverrides = {}) {
  return signTyped(logAnchor, adminKey, RETIRE_TYPES, { logId, trustedSize }, domainOverrides);
}

/**
 * Retires log `logId` trusting it up to `trustedSize`, signed by `adminKey` and sent by
 * `sender` (any account: retiring needs the admin's signature, not the admin's gas);
 * returns the transaction. `overrides` are the transaction's (a gas limit).
 */
async function retireSigned(logAnchor, sender, adminKey, logId, trustedSize, overrides = {}) {
  const { r, vs } = await signRetire(logAnchor, adminKey, logId, trustedSize);
  return logAnchor.connect(sender).retireLog(logId, trustedSize, r, vs, overrides);
}

/** The EIP-712 types of a signed grant (what LicenceRegistry.grant checks). */
const GRANT_TYPES = {
  Grant: [
    { name: "commitment", type: "bytes32" },
    { name: "validFrom", type: "uint64" },
    { name: "validUntil", type: "uint64" },
  ],
};

/** The EIP-712 types of a signed revocation (what LicenceRegistry.revoke checks). */
const REVOKE_TYPES = {
  Revoke: [
    { name: "commitment", type: "bytes32" },
    { name: "revocation", type: "bytes32" },
  ],
};

/**
 * Deploys a LicenceRegistry from the first signer (the deployer's gas key, which gets no
 * role: the registry has no owner) with `issuerKey`, the tests' log key (a wallet that
 * is no account of the node: it signs, it never sends), as its one issuer. Returns the
 * registry, the signers (`owner`, the deployer, as well as `relayer` and `other` hold no
 * role) and the key.
 */
async function deployLicenceRegistry() {
  const [owner, relayer, other] = await ethers.getSigners();
  const issuerKey = new ethers.Wallet(TEST_LOG_KEY);
  const registry = await ethers.deployContract("LicenceRegistry", [issuerKey.address], owner);
  await registry.waitForDeployment();
  return { registry, owner, relayer, other, issuerKey };
}

/** `key`'s signature granting `commitment` for [validFrom, validUntil) on `registry`: {r, vs}. */
function signGrant(registry, key, commitment, validFrom, validUntil, domainOverrides = {}) {
  return signTyped(registry, key, GRANT_TYPES, { commitment, validFrom, validUntil }, domainOverrides);
}

/** `key`'s signature revoking `commitment` for log record `revocation` on `registry`: {r, vs}. */
function signRevoke(registry, key, commitment, revocation, domainOverrides = {}) {
  return signTyped(registry, key, REVOKE_TYPES, { commitment, revocation }, domainOverrides);
}

/**
 * Grant `{commitment, validFrom, validUntil}` signed by `key`, as grantMany takes it:
 * `{commitment, validFrom, validUntil, r, vs}`.
 */
async function signedGrant(registry, key, { commitment, validFrom, validUntil }) {
  const { r, vs } = await signGrant(registry, key, commitment, validFrom, validUntil);
  return { commitment, validFrom, validUntil, r, vs };
}

/** Grants `commitment`, signed by `key` and sent by `sender`; returns the transaction. */
async function grantSigned(registry, sender, key, commitment, validFrom, validUntil, overrides = {}) {
  const { r, vs } = await signGrant(registry, key, commitment, validFrom, validUntil);
  return registry.connect(sender).grant(commitment, validFrom, validUntil, r, vs, overrides);
}

/** Grants every `{commitment, validFrom, validUntil}` of `grants` in one grantMany, each signed by `key`. */
async function grantManySigned(registry, sender, key, grants, overrides = {}) {
  const signed = await Promise.all(grants.map((g) => signedGrant(registry, key, g)));
  return registry.connect(sender).grantMany(signed, overrides);
}

/** Revokes `commitment` for record `revocation`, signed by `key` and sent by `sender`. */
async function revokeSigned(registry, sender, key, commitment, revocation, overrides = {}) {
  const { r, vs } = await signRevoke(registry, key, commitment, revocation);
  return registry.connect(sender).revoke(commitment, revocation, r, vs, overrides);
}

/** Gives `address` 1 ether on the Hardhat node, so that it can send transactions. */
async function fund(address) {
  await ethers.provider.send("hardhat_setBalance", [address, ethers.toBeHex(10n ** 18n)]);
}

/**
 * A funded account that is no account of the node and holds no role anywhere: an
 * outsider who relays or attacks. The same `label` gives the same account.
 */
async function newStranger(label) {
  const stranger = new ethers.Wallet(ethers.id(`stranger/${label}`), ethers.provider);
  await fund(stranger.address);
  return stranger;
}

/** Creates log `logId` administered by `admin`, with `logKey` as its log key. */
async function createLog(logAnchor, logId, admin, logKey) {
  await (await logAnchor.createLog(logId, admin.address, logKey.address)).wait();
}

/** A bytes32 log id derived from a readable name, as the service does (SHA-256). */
function logIdOf(name) {
  return ethers.sha256(ethers.toUtf8Bytes(name));
}

/**
 * A byte string from a probe file as bytes32 hex. The probes hold a few strings that
 * are not 32 bytes (empty "garbage" nodes, "don't care" roots); a bytes32 cannot carry
 * them, so they are right-padded with zeros (or cut), which keeps them wrong.
 */
function b64ToBytes32(b64) {
  const bytes = Buffer.from(b64 ?? "", "base64");
  const out = Buffer.alloc(32);
  bytes.copy(out, 0, 0, 32);
  return "0x" + out.toString("hex");
}

/** Whether a base64 string from a probe file decodes to exactly 32 bytes. */
function isHash(b64) {
  return Buffer.from(b64 ?? "", "base64").length === 32;
}

/** Directory of the RFC 9162 probes: $LEDGER_VECTORS_DIR or tests/vectors/tlog-proofs. */
function vectorsDir() {
  const dir =
    process.env.LEDGER_VECTORS_DIR ||
    path.resolve(REPO_ROOT, "tests", "vectors", "tlog-proofs");
  if (!fs.existsSync(dir)) {
    throw new Error(
      `RFC 9162 probes not found at ${dir}: set LEDGER_VECTORS_DIR to the tlog-proofs folder`,
    );
  }
  return dir;
}

/** Every probe file under `vectorsDir()/kind` (recursively), as {file, ...probe}. */
function loadProbes(kind) {
  const root = path.join(vectorsDir(), kind);
  const probes = [];
  const walk = (dir) => {
    for (const entry of fs
      .readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(full);
      } else if (entry.name.endsWith(".json")) {
        // Integers beyond 2^53 (a leafIdx of 2^64 - 1) would lose precision as numbers:
        // read them as strings, to be passed on as BigInt.
        const text = fs.readFileSync(full, "utf8").replace(/:\s*(\d{16,})/g, ': "$1"');
        probes.push({ file: path.relative(root, full), ...JSON.parse(text) });
      }
    }
  };
  walk(root);
  return probes;
}

/**
 * Runs scripts/contract_fixtures.py with $LEDGER_PYTHON (default .venv/bin/python) from
 * the repository root, with the root on PYTHONPATH so that this checkout's ledger.core.merkle
 * is the one tested; returns its JSON. Throws (failing the suite) if Python fails. Runs
 * once per set of arguments: the test files share the result (do not modify it).
 */
function pythonFixtures(args = []) {
  const key = JSON.stringify(args);
  if (!fixtureCache.has(key)) {
    const python = process.env.LEDGER_PYTHON || path.join(REPO_ROOT, ".venv", "bin", "python");
    const pythonPath = [REPO_ROOT, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);
    const out = execFileSync(python, [path.join("scripts", "contract_fixtures.py"), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, PYTHONPATH: pythonPath },
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    fixtureCache.set(key, JSON.parse(out));
  }
  return fixtureCache.get(key);
}

const fixtureCache = new Map();

/** SHA-256(0x01 || left || right) of two 0x-hex hashes, as 0x-hex. */
function hashNode(left, right) {
  const h = crypto.createHash("sha256");
  h.update(Buffer.from([1]));
  h.update(Buffer.from(left.slice(2), "hex"));
  h.update(Buffer.from(right.slice(2), "hex"));
  return "0x" + h.digest("hex");
}

/**
 * A consistency proof from size1 to size2 with the exact shape RFC 9162 gives it, made
 * of pseudo-random nodes, and the two roots those nodes commit to (worked out with the
 * verification walk of RFC 9162 2.1.4.2). The contract cannot tell it from a proof of
 * a real tree, so it serves to measure gas at sizes (2^24) too large to build in a test.
 *
 * With `oldSubtrees`, the hashes of the complete subtrees that make up an existing tree
 * of size1 leaves (left to right, as contract_fixtures.py prints them), the nodes the
 * walk folds into the old root are those subtrees, so root1 is that tree's real root,
 * and only the new part is made up: a forged extension of a real log to any size2.
 */
function syntheticConsistency(size1, size2, seed, oldSubtrees) {
  let counter = 0;
  const randomNode = () => ethers.sha256(ethers.toUtf8Bytes(`${seed}/${counter++}`));
  const remaining = oldSubtrees ? [...oldSubtrees] : null;
  // A node of the old tree, right to left (each also enters the new root).
  const oldNode = () => (remaining ? remaining.pop() : randomNode());
  let fn = BigInt(size1) - 1n;
  let sn = BigInt(size2) - 1n;
  while (fn & 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  const proof = [];
  // Drawn first, whether used or not, so the synthetic proofs (and the gas they cost)
  // stay what they were.
  const randomRoot1 = randomNode();
  let fr;
  if (fn === 0n) {
    // size1 is a power of two: the RFC prepends root1 itself.
    fr = remaining ? remaining.pop() : randomRoot1;
  } else {
    fr = oldNode();
    proof.push(fr);
  }
  let sr = fr;
  while (sn !== 0n) {
    if (fn & 1n || fn === sn) {
      const c = oldNode();
      proof.push(c);
      fr = hashNode(c, fr);
      sr = hashNode(c, sr);
      while (!(fn & 1n) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      const c = randomNode();
      proof.push(c);
      sr = hashNode(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (remaining && remaining.length !== 0) {
    throw new Error(`${oldSubtrees.length} subtrees given, not the tree of ${size1} leaves`);
  }
  return { root1: fr, root2: sr, proof };
}

/** `hex` (0x + 64 hex digits) with bit `bit` (0 = most significant) flipped. */
function flipBit(hex, bit) {
  const bytes = Buffer.from(hex.slice(2), "hex");
  bytes[bit >> 3] ^= 0x80 >> (bit & 7);
  return "0x" + bytes.toString("hex");
}

module.exports = {
  REPO_ROOT,
  CHECKPOINT_TYPES,
  GRANT_TYPES,
  RETIRE_TYPES,
  REVOKE_TYPES,
  TEST_LOG_KEY,
  anchorSigned,
  b64ToBytes32,
  checkpointDomain,
  checkpointMessage,
  compactSignature,
  createLog,
  deployLicenceRegistry,
  deployLogAnchor,
  flipBit,
  fund,
  grantManySigned,
  grantSigned,
  hashNode,
  isHash,
  loadProbes,
  logIdOf,
  newStranger,
  pythonFixtures,
  retireSigned,
  revokeSigned,
  signCheckpoint,
  signGrant,
  signRetire,
  signRevoke,
  signTyped,
  signedGrant,
  syntheticConsistency,
  typedDomain,
  vectorsDir,
};
