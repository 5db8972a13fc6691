// Render Markdown decks with marp-cli (`--template bare`) and measure how far each slide runs
// off the bottom, in one Node.js process: Chromium starts while marp renders.
//
//   node measure.mjs SPEC.json RESULT.json
//
// SPEC: {"chromium": "/usr/bin/chromium",
//        "marp": {"cli": "/abs/marp", "argv": ["--no-stdin", ..., "--input-dir", IN, "-o", OUT]},
//        "pages": [{"html": "/abs/OUT/0/deck.html", "base": "/abs/dir/"}]}
// `marp.cli` is the marp-cli to render with: when it is (a link to) the marp-cli.js of an
// @marp-team/marp-cli package, its API runs here; anything else runs as a program. `argv` are
// its options, exactly as for the program. `base` is the folder the deck's relative pictures
// are found in. One browser measures every page.
// RESULT: {"pages": [{"html": ..., "slides": [{number, overflow, height, culprit, code}]}]}
// (called by tools/livedeck/overflow.py, which documents the fields).
// Exit status: 0; 3 (RENDER_FAILED) if marp failed (its messages are on stderr); else 1.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  exitOnSignals, launch, loadPuppeteer, marpPackage, measurePages, measuringFailed, runProgram,
  stop,
} from './browser.mjs';

const RENDER_FAILED = 3;

// Worker thread: loads marp-cli's API, and the marp-core it loads only when it first renders,
// then renders the decks as its program would once the main thread sends the argv. Posts its
// exit status, or null (nothing rendered) if the package has no such API.
async function renderHere({ root }) {
  const argv = new Promise((done) => parentPort.once('message', done));
  let marpCli;
  try {
    ({ marpCli } = createRequire(import.meta.url)(root));
    const core = createRequire(join(root, 'package.json')).resolve('@marp-team/marp-core');
    await import(pathToFileURL(core).href); // the same module marp-cli imports: now cached
  } catch {
    // The program (or marp-cli itself) will say what is wrong with its package.
  }
  if (typeof marpCli !== 'function') return null;
  try {
    return await marpCli(await argv); // throws a CLIError where the program prints it and fails
  } catch (error) {
    console.error(`[ ERROR ] ${error.message}`);
    return 1;
  }
}

// The worker that loads marp-cli now and renders later; `status` resolves to what it posted
// once it has exited (after its messages, and stderr, came through).
function startWorker(root) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { root } });
  const status = new Promise((done) => {
    let code = 1;
    worker.on('message', (message) => { code = message; });
    worker.on('error', (error) => {
      console.error(`[ ERROR ] ${error.message}`);
      code = 1;
    });
    worker.on('exit', () => done(code));
  });
  return { worker, status };
}

// Render the decks to HTML as the marp-cli program would: in the worker thread with marp-cli's
// API (this thread starts Chromium meanwhile), or else by running the program. Resolves to
// its exit status.
async function render(loaded, argv) {
  if (loaded.marp) loaded.marp.worker.postMessage(argv);
  const status = loaded.marp ? await loaded.marp.status : null;
  return status ?? runProgram(loaded.cli, argv);
}

// Load what does not depend on the decks: marp-cli in a worker thread (when `cli` is its
// package), and puppeteer here.
function load(cli) {
  const root = marpPackage(cli);
  return {
    cli,
    marp: root ? startWorker(root) : null,
    puppeteer: loadPuppeteer(),
  };
}

// Render the decks of `spec` (with what `load` loaded) while Chromium starts, then measure them.
async function measure(loaded, spec, resultPath) {
  const rendering = render(loaded, spec.marp.argv);
  const chromium = launch(loaded.puppeteer, spec.chromium);
  try {
    const page = await chromium.opening;
    if ((await rendering) !== 0) return RENDER_FAILED;
    const pages = await measurePages(page, spec.pages);
    writeFileSync(resultPath, JSON.stringify({ pages }));
    return 0;
  } catch (error) {
    measuringFailed(error);
    return (await rendering) === 0 ? 1 : RENDER_FAILED;
  } finally {
    await stop(chromium);
  }
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length !== 2) {
    console.error('usage: node measure.mjs SPEC.json RESULT.json');
    return 2;
  }
  const [specPath, resultPath] = args;
  const spec = JSON.parse(readFileSync(specPath, 'utf8'));
  return measure(load(spec.marp.cli), spec, resultPath);
}

if (isMainThread) {
  exitOnSignals(); // SIGTERM (the caller's timeout or cleanup) ends Chromium too
  process.exit(await main());
} else {
  parentPort.postMessage(await renderHere(workerData));
}
