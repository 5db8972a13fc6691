// Keep marp-cli and Chromium running between renders, for `livedeck watch`: each save then
// costs a render (tens of milliseconds) and a measurement in an open tab, not a process start,
// a module load and a browser start.
//
//   node warm.mjs MARP CHROMIUM
//
// MARP is the marp-cli to render with: its API runs here when it is (a link to) the marp-cli.js
// of an @marp-team/marp-cli package, anything else runs as a program. Chromium starts at once.
// Requests, one JSON line each on stdin, are handled one after the other:
//   {"id": 1, "render": [ARGV, ...], "measure": [{"html": "/abs/deck.html", "base": "/abs/dir"}]}
// Each ARGV holds marp-cli's options exactly as for the program; they run in order, then the
// pages (bare HTML rendered by them) are measured as measure.mjs does.
// Answers, one JSON line each on stdout:
//   {"id": 1, "status": 0, "pages": [{"html": ..., "slides": [...]}]}
// status 3 (RENDER_FAILED): marp failed, its messages are on stderr; 1: anything else.
// The end of stdin, SIGTERM, SIGINT or SIGHUP end the process and Chromium with it.
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import {
  exitOnSignals, launch, loadPuppeteer, marpPackage, measurePages, measuringFailed, runProgram,
  stop,
} from './browser.mjs';

const RENDER_FAILED = 3;

// Only answers go to stdout: marp-cli's messages (and anything else) go to stderr.
const answer = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
console.log = console.error;
console.info = console.error;

function marpRenderer(cli) {
  const root = marpPackage(cli);
  if (!root) return (argv) => runProgram(cli, argv);
  // The program turns --debug=marp-cli into DEBUG before marp-cli loads (marp-cli.js); its API
  // reads DEBUG alone. Without it the line naming a missing picture ("Failed request: file://
  // ...") is never written, and publish could not say which picture is missing.
  process.env.DEBUG = [process.env.DEBUG, 'marp-cli'].filter(Boolean).join(',');
  const { marpCli } = createRequire(import.meta.url)(root);
  return async (argv) => {
    try {
      return await marpCli(argv); // throws a CLIError where the program prints it and fails
    } catch (error) {
      console.error(`[ ERROR ] ${error.message}`);
      return 1;
    }
  };
}

// marp-cli starts a Chromium of its own for every PDF (or PPTX, PNG) call, about 2 CPU-seconds:
// its browser manager gets this process's running Chromium instead, through a connection of its
// own that marp-cli's "close" only ends. A marp-cli that is not the package this process loaded
// puppeteer-core beside keeps launching its own.
function shareBrowser(puppeteer, chromium) {
  const launchOwn = puppeteer.launch;
  puppeteer.launch = async (options = {}) => {
    let browser;
    try {
      browser = await chromium.launching;
    } catch {
      return launchOwn(options);
    }
    const connection = await puppeteer.connect({
      browserWSEndpoint: browser.wsEndpoint(),
      defaultViewport: options.defaultViewport ?? null,
      protocolTimeout: options.protocolTimeout,
    });
    connection.close = () => connection.disconnect();
    return connection;
  };
}

async function handle(request, render, chromium) {
  for (const argv of request.render ?? []) {
    if ((await render(argv)) !== 0) return { id: request.id, status: RENDER_FAILED };
  }
  if (!request.measure?.length) return { id: request.id, status: 0, pages: [] };
  try {
    const page = await chromium.opening;
    const pages = await measurePages(page, request.measure);
    // A deck left open goes on costing CPU (marp's page scripts: about a tenth of a core,
    // measured with the flagship); the tab waits for the next request on a blank page instead.
    await page.goto('about:blank');
    return { id: request.id, status: 0, pages };
  } catch (error) {
    measuringFailed(error);
    return { id: request.id, status: 1 };
  }
}

async function main() {
  const [cli, chromiumPath] = process.argv.slice(2);
  if (!cli || !chromiumPath) {
    console.error('usage: node warm.mjs MARP CHROMIUM  (requests on stdin)');
    return 2;
  }
  const puppeteer = loadPuppeteer();
  const chromium = launch(puppeteer, chromiumPath);
  shareBrowser(puppeteer, chromium);
  const render = marpRenderer(cli);
  try {
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      if (!line.trim()) continue;
      let request;
      try {
        request = JSON.parse(line);
      } catch (error) {
        console.error(`[ ERROR ] a request is not JSON: ${error.message}`);
        return 2;
      }
      answer(await handle(request, render, chromium));
    }
    return 0;
  } finally {
    await stop(chromium);
  }
}

exitOnSignals();
process.exit(await main());
