#!/usr/bin/env node
// Compiles contracts/Governance.sol with the solcjs pinned in package-lock.json and
// writes artifacts/Governance.json (abi, bytecode, deployedBytecode, compiler).
//   node scripts/compile.mjs           write the artifact
//   node scripts/compile.mjs --check   fail (exit 1) if the committed artifact differs
// Nothing is downloaded: the compiler is the `solc` npm package's bundled soljson.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const solc = require('solc');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = 'contracts/Governance.sol';
const name = 'Governance';

const input = {
  language: 'Solidity',
  sources: { [source]: { content: readFileSync(join(root, source), 'utf8') } },
  settings: {
    optimizer: { enabled: true, runs: 1 },
    viaIR: false,
    evmVersion: 'cancun',
    metadata: { bytecodeHash: 'none', appendCBOR: false },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  },
};

const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length > 0) process.exit(1);
const c = output.contracts[source][name];
const artifact = {
  contractName: name,
  compiler: `solc ${solc.version()}`,
  settings: input.settings,
  abi: c.abi,
  bytecode: '0x' + c.evm.bytecode.object,
  deployedBytecode: '0x' + c.evm.deployedBytecode.object,
};
const text = JSON.stringify(artifact, null, 2) + '\n';
const out = join(root, 'artifacts', `${name}.json`);
if (process.argv.includes('--check')) {
  let committed = '';
  try { committed = readFileSync(out, 'utf8'); } catch { /* missing counts as different */ }
  if (committed !== text) {
    console.error(`${out} differs from a fresh compile of ${source}; run: node scripts/compile.mjs`);
    process.exit(1);
  }
  console.log(`${out} matches a fresh compile (${artifact.compiler})`);
} else {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, text);
  console.log(`wrote ${out} (${artifact.compiler}, ${c.evm.deployedBytecode.object.length / 2} bytes deployed)`);
}
