// Render Markdown decks with marp-cli (`--template bare`) and measure how far each slide runs
// off the bottom, in one Node.js process: Chromium starts while marp renders.
//
//   node measure.mjs SPEC.json RESULT.json
//   node measure.mjs --serve MARP RESULT.json
//
// SPEC: {"chromium": "/usr/bin/chromium",
//        "marp": {"cli": "/abs/marp", "argv": ["--no-stdin", ..., "--input-dir", IN, "-o", OUT]},
//        "pages": [{"html": "/abs/OUT/0/deck.html", "base": "/abs/dir/"}]}
// `marp.cli` is the marp-cli to render with: when it is (a link to) the marp-cli.js of an
// @marp-team/marp-cli package, its API runs here; anything else runs as a program. `argv` are
// its options, exactly as for the program. `base` is the folder the deck's relative pictures
// are found in. One browser measures every page.
// --serve loads marp-cli (MARP: the spec's "marp.cli") and puppeteer at once, then reads SPEC
// as one line of JSON on stdin and goes on as above: the caller starts it well before the decks
// are ready. Chromium starts only then: starting it beside the commands of a deck slows them
// down about as much as it would save. Input that ends without a SPEC ends the process (exit
// status 0).
// RESULT: {"pages": [{"html": ..., "slides": [{number, overflow, height, culprit, code}]}]}
// (called by tools/livedeck/overflow.py, which documents the fields).
// Exit status: 0; 3 (RENDER_FAILED) if marp failed (its messages are on stderr); else 1.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const RENDER_FAILED = 3;

// Runs inside the page: one entry per slide (svg), measured on the section that holds the content.
function measureSlides() {
  const kinds = { P: 'paragraph', UL: 'list', OL: 'list', PRE: 'code block', TABLE: 'table',
    BLOCKQUOTE: 'quote', IMG: 'picture', H1: 'heading', H2: 'heading', H3: 'heading',
    H4: 'heading', H5: 'heading', H6: 'heading' };
  const slides = [];
  document.querySelectorAll('svg[data-marpit-svg]').forEach((svg, i) => {
    // Advanced backgrounds split a slide into background/content/pseudo sections.
    const sections = [...svg.querySelectorAll(':scope > foreignObject > section')];
    const section = sections.find((s) => {
      const role = s.getAttribute('data-marpit-advanced-background');
      return !role || role === 'content';
    }) || sections[0];
    if (!section) return;
    const box = section.getBoundingClientRect();
    const scale = box.height / section.offsetHeight || 1;
    const style = getComputedStyle(section);
    const bottom = section.clientHeight - parseFloat(style.paddingBottom); // in section px
    // marp's browser script swaps <pre is="marp-pre"> and <h1>... for <marp-pre>, <marp-h1>...
    const tag = (el) => el.tagName.replace(/^MARP-/, '');
    const pres = [...section.querySelectorAll('pre, marp-pre')];
    const code = pres.map((pre, index) => {
      const el = pre.querySelector('code') || pre;
      const text = el.textContent.replace(/\n$/, '');
      // marp's auto-scaling draws a block wider (or, in gaia, taller) than the slide smaller:
      // offsetHeight is the block's own layout height, the bounding box the drawn one.
      const drawn = el.getBoundingClientRect().height / scale;
      return {
        index,
        lines: text === '' ? 0 : text.split('\n').length,
        height: pre.getBoundingClientRect().height / scale,
        font_px: parseFloat(getComputedStyle(el).fontSize),
        scale: el.offsetHeight ? Math.min(1, drawn / el.offsetHeight) : 1,
      };
    });
    // The culprit: the first block of the slide whose bottom edge lies below the content area.
    let culprit = null;
    for (const child of section.children) {
      const pos = getComputedStyle(child).position;
      if (tag(child) === 'HEADER' || tag(child) === 'FOOTER') continue;
      if (pos === 'absolute' || pos === 'fixed') continue;
      const rect = child.getBoundingClientRect();
      const childBottom = (rect.bottom - box.top) / scale;
      if (childBottom > bottom + 0.5) {
        const pre = tag(child) === 'PRE' ? child : child.querySelector('pre, marp-pre');
        const img = child.querySelector('img');
        culprit = {
          kind: pre ? 'code block' : img && tag(child) === 'P' && !child.textContent.trim()
            ? 'picture' : kinds[tag(child)] || tag(child).toLowerCase(),
          code_index: pre ? pres.indexOf(pre) : null,
          past_bottom: childBottom - bottom,
        };
        break;
      }
    }
    slides.push({
      number: i + 1,
      overflow: section.scrollHeight - section.clientHeight,
      height: section.clientHeight,
      culprit,
      code,
    });
  });
  return slides;
}

async function settle(page) {
  // Fonts, pictures, then two frames for marp's auto-scaling elements to lay themselves out.
  await page.evaluate(async () => {
    await document.fonts.ready;
    await Promise.all([...document.images].map((img) => (img.complete ? null
      : new Promise((done) => { img.onload = done; img.onerror = done; }))));
    await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  });
}

// The @marp-team/marp-cli package whose program `cli` is (or links to), else null.
function marpPackage(cli) {
  try {
    const root = dirname(realpathSync(cli));
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    return manifest.name === '@marp-team/marp-cli' ? root : null;
  } catch {
    return null;
  }
}

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

function runProgram(cli, argv) {
  return new Promise((done) => {
    const child = spawn(cli, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (error) => {
      console.error(`[ ERROR ] ${error.message}`);
      done(1);
    });
    child.on('close', (code) => done(code ?? 1));
  });
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

// Chromium and its throwaway profile are done with: end it as puppeteer does when its script
// exits (SIGKILL to the browser's process group), faster than an orderly shutdown.
async function endBrowser(browser) {
  const child = browser.process();
  if (!child?.pid) {
    await browser.close();
    return;
  }
  const exited = child.exitCode !== null || child.signalCode !== null ? null
    : new Promise((done) => child.once('exit', done));
  try {
    process.kill(-child.pid, 'SIGKILL'); // puppeteer starts Chromium as a group leader
  } catch {
    child.kill('SIGKILL');
  }
  await exited;
}

// Load what does not depend on the decks: marp-cli in a worker thread (when `cli` is its
// package), and puppeteer here.
function load(cli) {
  const root = marpPackage(cli);
  return {
    cli,
    marp: root ? startWorker(root) : null,
    // The CommonJS build of the same puppeteer-core loads faster than its ES modules.
    puppeteer: createRequire(import.meta.url)('puppeteer-core'),
  };
}

// Start Chromium, with a tab that only loads local files.
function launch(puppeteer, chromium) {
  const profile = mkdtempSync(join(tmpdir(), 'livedeck-measure-'));
  const args = ['--disable-gpu', '--disable-background-networking', '--hide-scrollbars'];
  if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
  const launching = puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir: profile,
    args,
    defaultViewport: { width: 1280, height: 720 },
    // Signals end this process (below); its exit handler kills Chromium's process group.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const opening = launching.then(async (browser) => {
    // The tab Chromium opens at start (about:blank), sized by defaultViewport like a new one.
    const page = (await browser.pages())[0] ?? (await browser.newPage());
    // Only local files: a theme's web font (gaia imports one) must not make numbers depend on
    // the network, and the PDF marp makes here cannot load it either.
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      const url = request.url();
      if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) {
        request.continue();
      } else {
        request.abort();
      }
    });
    return page;
  });
  opening.catch(() => {}); // awaited later; a failure must not end the process before that
  return { launching, opening, profile };
}

// End Chromium and remove its profile.
async function stop({ launching, profile }) {
  const browser = await launching.catch(() => null);
  try {
    if (browser) await endBrowser(browser);
  } catch (error) {
    console.error(error);
  }
  rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
}

// Render the decks of `spec` (with what `load` loaded) while Chromium starts, then measure them.
async function measure(loaded, spec, resultPath) {
  const rendering = render(loaded, spec.marp.argv);
  const chromium = launch(loaded.puppeteer, spec.chromium);
  try {
    const page = await chromium.opening;
    if ((await rendering) !== 0) return RENDER_FAILED;
    const pages = [];
    for (const { html, base } of spec.pages) {
      const source = readFileSync(html, 'utf8');
      const baseTag = `<base href="${pathToFileURL(base).href.replace(/\/?$/, '/')}">`;
      writeFileSync(html, source.replace(/<head>/i, `<head>${baseTag}`));
      await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
      await settle(page);
      pages.push({ html, slides: await page.evaluate(measureSlides) });
    }
    writeFileSync(resultPath, JSON.stringify({ pages }));
    return 0;
  } catch (error) {
    console.error(error);
    return (await rendering) === 0 ? 1 : RENDER_FAILED;
  } finally {
    await stop(chromium);
  }
}

// The first line of a stream, or null if it ends without one.
function firstLine(stream) {
  return new Promise((done) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      text += chunk;
      if (text.includes('\n')) {
        stream.pause();
        done(text.slice(0, text.indexOf('\n')));
      }
    });
    stream.on('end', () => done(text.trim() ? text : null));
    stream.on('error', () => done(null));
  });
}

async function main() {
  const serving = process.argv[2] === '--serve';
  const args = process.argv.slice(serving ? 3 : 2);
  if (args.length !== 2) {
    console.error('usage: node measure.mjs SPEC.json RESULT.json\n'
      + '       node measure.mjs --serve MARP RESULT.json  (SPEC on stdin)');
    return 2;
  }
  if (!serving) {
    const [specPath, resultPath] = args;
    const spec = JSON.parse(readFileSync(specPath, 'utf8'));
    return measure(load(spec.marp.cli), spec, resultPath);
  }
  const [cli, resultPath] = args;
  const loaded = load(cli);
  const line = await firstLine(process.stdin);
  if (line === null) return 0;
  let spec;
  try {
    spec = JSON.parse(line);
  } catch (error) {
    console.error(`[ ERROR ] the spec on stdin is not JSON: ${error.message}`);
    return 2;
  }
  return measure(loaded, spec, resultPath);
}

if (isMainThread) {
  // SIGTERM (the caller's timeout or cleanup) ends the process; its exit handlers end Chromium.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => process.exit(128 + constants.signals[signal]));
  }
  process.exit(await main());
} else {
  parentPort.postMessage(await renderHere(workerData));
}
