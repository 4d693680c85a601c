#!/usr/bin/env node
// A `solc`-compatible command line over solc-js, the official compiler built to
// WebAssembly (npm `solc`).
//
// Why this exists: no native solc can be downloaded on our machines, while
// py-solc-x, brownie and slither all shell out to a `solc` executable. The stock
// `solcjs` CLI is not a drop-in (it prints an SMT notice before the JSON, cuts
// piped stdout at 64 KiB, and rejects --allow-paths and --combined-json), so this
// file speaks the subset of solc's interface those tools use:
//   --version, --help, --standard-json, --combined-json LIST, --optimize,
//   --optimize-runs N, --evm-version V, --via-ir, --base-path P,
//   --include-path P, --allow-paths P (accepted), remappings `prefix=target`,
//   source files (or `-` for stdin).
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

const COMBINED_OUTPUTS = {
  abi: { contract: 'abi' },
  asm: { contract: 'evm.legacyAssembly' },
  ast: { source: 'ast' },
  bin: { contract: 'evm.bytecode.object' },
  'bin-runtime': { contract: 'evm.deployedBytecode.object' },
  devdoc: { contract: 'devdoc' },
  'function-debug': { contract: 'evm.bytecode.functionDebugData' },
  'function-debug-runtime': { contract: 'evm.deployedBytecode.functionDebugData' },
  'generated-sources': { contract: 'evm.bytecode.generatedSources' },
  'generated-sources-runtime': { contract: 'evm.deployedBytecode.generatedSources' },
  hashes: { contract: 'evm.methodIdentifiers' },
  metadata: { contract: 'metadata' },
  opcodes: { contract: 'evm.bytecode.opcodes' },
  srcmap: { contract: 'evm.bytecode.sourceMap' },
  'srcmap-runtime': { contract: 'evm.deployedBytecode.sourceMap' },
  'storage-layout': { contract: 'storageLayout' },
  userdoc: { contract: 'userdoc' },
};
// Older tools (crytic-compile for old compilers) still ask for this; solc
// ignores it since 0.4.x, and so do we.
const IGNORED_OUTPUTS = new Set(['compact-format']);

class UsageError extends Error {}

// Write everything, synchronously: a pipe reader may be slow, and
// console.log followed by process.exit is what truncates solcjs at 64 KiB.
function writeAll(fd, text) {
  const buffer = Buffer.from(text, 'utf8');
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += fs.writeSync(fd, buffer, offset, buffer.length - offset);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
    }
  }
}

function readStdin() {
  const chunks = [];
  const chunk = Buffer.alloc(65536);
  for (;;) {
    let n;
    try {
      n = fs.readSync(0, chunk, 0, chunk.length, null);
    } catch (err) {
      if (err.code === 'EAGAIN') continue;
      if (err.code === 'EOF') break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(chunk.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseArgs(argv) {
  const opts = {
    mode: 'combined', files: [], remappings: [], includePaths: [], allowPaths: [],
    basePath: '', optimize: false, runs: 200, evmVersion: null, viaIR: false, combined: null,
  };
  const withValue = (i, name) => {
    if (i + 1 >= argv.length) throw new UsageError(`option ${name} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline = null;
    if (arg.startsWith('--') && arg.includes('=')) {
      inline = arg.slice(arg.indexOf('=') + 1);
      arg = arg.slice(0, arg.indexOf('='));
    }
    const value = (name) => {
      if (inline !== null) return inline;
      const v = withValue(i, name);
      i += 1;
      return v;
    };
    switch (arg) {
      case '--version': opts.mode = 'version'; break;
      case '--help': opts.mode = 'help'; break;
      case '--standard-json': opts.mode = 'standard'; break;
      case '--combined-json': opts.combined = value(arg).split(',').filter(Boolean); break;
      case '--optimize': opts.optimize = true; break;
      case '--optimize-runs': opts.runs = Number.parseInt(value(arg), 10); break;
      case '--evm-version': opts.evmVersion = value(arg); break;
      case '--via-ir': opts.viaIR = true; break;
      case '--base-path': opts.basePath = value(arg); break;
      case '--include-path': opts.includePaths.push(value(arg)); break;
      case '--allow-paths': opts.allowPaths.push(...value(arg).split(',').filter(Boolean)); break;
      case '--no-color': case '--color': case '--pretty-json': break;
      default:
        if (arg === '-') opts.files.push('-');
        else if (arg.startsWith('-')) throw new UsageError(`unrecognised option '${arg}'`);
        else if (arg.includes('=') && !fs.existsSync(arg)) opts.remappings.push(arg);
        else opts.files.push(arg);
    }
  }
  if (Number.isNaN(opts.runs) || opts.runs < 0) throw new UsageError('--optimize-runs needs a whole number');
  return opts;
}

function helpText() {
  return [
    'solc, the solidity compiler commandline interface (solc-js wrapper)',
    `Version: ${solc.version()}`,
    '',
    'Usage: solc [options] [input_file...]',
    '',
    '  --help                Show help message and exit.',
    '  --version             Show version and exit.',
    '  --standard-json       Switch to Standard JSON input / output mode (stdin -> stdout).',
    '  --base-path path      Use the given path as the root of the source tree.',
    '  --include-path path   Make an additional source directory available to the default import callback.',
    '  --allow-paths list    Accepted for compatibility; imports are read from the base and include paths.',
    '  --evm-version ver     Select desired EVM version (london, paris, shanghai, cancun, prague).',
    '  --optimize            Enable bytecode optimizer.',
    '  --optimize-runs n     The number of runs the optimizer tunes for (default 200).',
    '  --via-ir              Use the IR-based code generator.',
    `  --combined-json arg   Output a single json document containing the specified information. Available options: ${Object.keys(COMBINED_OUTPUTS).join(',')}`,
    '',
  ].join('\n');
}

// Where to look for a file the compiler asks for: the way solc's default
// import callback does it, base path first, then include paths.
function makeImportCallback(opts) {
  const roots = [opts.basePath || process.cwd(), ...opts.includePaths, ...opts.allowPaths];
  return (requested) => {
    const candidates = path.isAbsolute(requested) ? [requested] : roots.map((r) => path.resolve(r, requested));
    for (const candidate of candidates) {
      try {
        if (fs.statSync(candidate).isFile()) return { contents: fs.readFileSync(candidate, 'utf8') };
      } catch (_) { /* try the next root */ }
    }
    return { error: `File not found. Searched: ${candidates.join(', ')}` };
  };
}

function runStandardJson(opts) {
  const input = readStdin();
  const output = solc.compile(input, { import: makeImportCallback(opts) });
  writeAll(1, output);
  return 0;
}

// Source unit names like solc's CLI: relative to the base path (or the working
// directory when none is given) for files inside it, absolute otherwise.
function sourceUnitName(file, opts) {
  const root = path.resolve(opts.basePath || process.cwd());
  const absolute = path.resolve(file);
  const relative = path.relative(root, absolute);
  const inside = relative && !relative.startsWith('..') && !path.isAbsolute(relative);
  return (inside ? relative : absolute).split(path.sep).join('/');
}

function buildCombinedInput(opts) {
  if (opts.files.length === 0) throw new UsageError('no input files given (use --help)');
  for (const name of opts.combined) {
    if (!(name in COMBINED_OUTPUTS) && !IGNORED_OUTPUTS.has(name)) {
      throw new UsageError(`invalid option to --combined-json: ${name}`);
    }
  }
  const sources = {};
  for (const file of opts.files) {
    if (file === '-') sources['<stdin>'] = { content: readStdin() };
    else sources[sourceUnitName(file, opts)] = { content: fs.readFileSync(file, 'utf8') };
  }
  const contractOutputs = opts.combined.filter((n) => COMBINED_OUTPUTS[n] && COMBINED_OUTPUTS[n].contract)
    .map((n) => COMBINED_OUTPUTS[n].contract);
  const sourceOutputs = opts.combined.filter((n) => COMBINED_OUTPUTS[n] && COMBINED_OUTPUTS[n].source)
    .map((n) => COMBINED_OUTPUTS[n].source);
  const settings = {
    optimizer: { enabled: opts.optimize, runs: opts.runs },
    remappings: opts.remappings,
    outputSelection: { '*': { '*': contractOutputs, '': sourceOutputs } },
  };
  if (opts.evmVersion) settings.evmVersion = opts.evmVersion;
  if (opts.viaIR) settings.viaIR = true;
  return { language: 'Solidity', sources, settings };
}

function pick(object, dotted) {
  return dotted.split('.').reduce((o, key) => (o === undefined ? undefined : o[key]), object);
}

function runCombinedJson(opts) {
  const input = buildCombinedInput(opts);
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: makeImportCallback(opts) }));
  const diagnostics = output.errors || [];
  for (const d of diagnostics) writeAll(2, `${d.formattedMessage || d.message}\n`);
  if (diagnostics.some((d) => d.severity === 'error')) return 1;

  const result = { contracts: {}, sourceList: [], sources: {}, version: solc.version() };
  const sourceNames = Object.keys(output.sources || {}).sort((a, b) => output.sources[a].id - output.sources[b].id);
  for (const name of sourceNames) {
    result.sourceList.push(name);
    result.sources[name] = { id: output.sources[name].id };
    if (opts.combined.includes('ast')) result.sources[name].AST = output.sources[name].ast;
  }
  for (const [file, contracts] of Object.entries(output.contracts || {})) {
    for (const [name, data] of Object.entries(contracts)) {
      const entry = {};
      for (const key of opts.combined) {
        const spec = COMBINED_OUTPUTS[key];
        if (spec && spec.contract) entry[key] = pick(data, spec.contract);
      }
      result.contracts[`${file}:${name}`] = entry;
    }
  }
  writeAll(1, JSON.stringify(result));
  return 0;
}

function main(argv) {
  const opts = parseArgs(argv);
  if (opts.mode === 'version') {
    writeAll(1, `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return 0;
  }
  if (opts.mode === 'help') {
    writeAll(1, helpText());
    return 0;
  }
  if (opts.mode === 'standard') return runStandardJson(opts);
  if (opts.combined === null) {
    throw new UsageError('only --standard-json and --combined-json output are supported by this wrapper');
  }
  return runCombinedJson(opts);
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  writeAll(2, `Error: ${err instanceof UsageError ? err.message : err.stack || err}\n`);
  process.exitCode = 1;
}
