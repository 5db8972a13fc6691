// Shared by measure.mjs and warm.mjs: marp-cli's package, Chromium, and measuring slides;
// tests/watch_page.mjs and tools/docs/present-shot.mjs start and stop their Chromium here too.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

// Measure each page ({html, base}: a bare marp HTML file and the folder its pictures are found
// in) in `page`, a tab of a running Chromium: [{html, slides: [...]}], in order.
export async function measurePages(page, pages) {
  // A PDF that marp-cli made in this browser (build's node shares it) may have left its own tab
  // in front when it failed: in a tab behind, requestAnimationFrame never runs and settle()
  // would wait for it until the protocol's timeout.
  await page.bringToFront();
  const measured = [];
  for (const { html, base } of pages) {
    const source = readFileSync(html, 'utf8');
    const baseTag = `<base href="${pathToFileURL(base).href.replace(/\/?$/, '/')}">`;
    writeFileSync(html, source.replace(/<head>/i, `<head>${baseTag}`));
    // No timeout of puppeteer's own (30 s): livedeck's timeout for the whole request governs.
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load', timeout: 0 });
    await settle(page);
    measured.push({ html, slides: await page.evaluate(measureSlides) });
  }
  return measured;
}

// Why measuring failed, as a line livedeck shows (marp_messages keeps `[ ERROR ]` lines; after
// marp-cli's debug lines it would drop an error's own text).
export function measuringFailed(error) {
  console.error(`[ ERROR ] Chromium could not measure the slides: ${error?.message ?? error}`);
}

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

export async function settle(page) {
  // Fonts, pictures, then two frames for marp's auto-scaling elements to lay themselves out.
  await page.evaluate(async () => {
    await document.fonts.ready;
    await Promise.all([...document.images].map((img) => (img.complete ? null
      : new Promise((done) => { img.onload = done; img.onerror = done; }))));
    await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  });
}

// The @marp-team/marp-cli package whose program `cli` is (or links to), else null.
export function marpPackage(cli) {
  try {
    const root = dirname(realpathSync(cli));
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    return manifest.name === '@marp-team/marp-cli' ? root : null;
  } catch {
    return null;
  }
}

export function runProgram(cli, argv) {
  return new Promise((done) => {
    const child = spawn(cli, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (error) => {
      console.error(`[ ERROR ] ${error.message}`);
      done(1);
    });
    child.on('close', (code) => done(code ?? 1));
  });
}

// Chromium and its throwaway profile are done with: end it as puppeteer does when its script
// exits (SIGKILL to the browser's process group), faster than an orderly shutdown.
export async function endBrowser(browser) {
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

// puppeteer-core from tools/marp/node_modules: its CommonJS build loads faster than its ES modules.
export function loadPuppeteer() {
  return createRequire(import.meta.url)('puppeteer-core');
}

// SIGINT, SIGTERM and SIGHUP end this process; puppeteer's exit handler then kills Chromium's
// process group (startChromium leaves signals to the process).
export function exitOnSignals() {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => process.exit(128 + constants.signals[signal]));
  }
}

// Start headless Chromium with a throwaway profile (a folder named `prefix`... in the temporary
// folder): {launching, opening, profile}, `opening` resolving to its first tab (1280x720) once
// `prepare(tab)` is done with it. stop() ends it.
export function startChromium(puppeteer, chromium, prefix, prepare = async () => {}) {
  const profile = mkdtempSync(join(tmpdir(), prefix));
  const args = ['--disable-gpu', '--disable-background-networking', '--hide-scrollbars'];
  if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
  const launching = puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir: profile,
    args,
    defaultViewport: { width: 1280, height: 720 },
    // Signals end this process (exitOnSignals); its exit handler kills Chromium's process group.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const opening = launching.then(async (browser) => {
    // The tab Chromium opens at start (about:blank), sized by defaultViewport like a new one.
    const page = (await browser.pages())[0] ?? (await browser.newPage());
    await prepare(page);
    return page;
  });
  opening.catch(() => {}); // awaited later; a failure must not end the process before that
  return { launching, opening, profile };
}

// Only local files: a theme's web font (gaia imports one) must not make numbers depend on the
// network, and the PDF marp makes here cannot load it either.
async function onlyLocalFiles(page) {
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    const url = request.url();
    if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) {
      request.continue();
    } else {
      request.abort();
    }
  });
}

// Start Chromium for measuring, with a tab that only loads local files.
export function launch(puppeteer, chromium) {
  return startChromium(puppeteer, chromium, 'livedeck-measure-', onlyLocalFiles);
}

// End Chromium and remove its profile.
export async function stop({ launching, profile }) {
  const browser = await launching.catch(() => null);
  try {
    if (browser) await endBrowser(browser);
  } catch (error) {
    console.error(error);
  }
  rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
}

